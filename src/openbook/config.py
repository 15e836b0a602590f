"""Where models and indexes live: ``OPENBOOK_MODELS`` / ``OPENBOOK_INDEXES``, else the checkout's folders."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_RETRIEVER = "retriever-minilm-squad11-int8"
DEFAULT_READER = "reader-minilm-squad11-int8"
DEFAULT_INDEX = "default"


def _root() -> Path:
    checkout = Path(__file__).resolve().parents[2]
    return checkout if (checkout / "pyproject.toml").is_file() else Path.cwd()


def models_dir() -> Path:
    return Path(os.environ.get("OPENBOOK_MODELS") or _root() / "models")


def indexes_dir() -> Path:
    return Path(os.environ.get("OPENBOOK_INDEXES") or _root() / "indexes")


def ray_address() -> str | None:
    """The Ray cluster that searches sharded indexes (``OPENBOOK_RAY``: an address, or ``local``); None: threads."""
    return os.environ.get("OPENBOOK_RAY") or None


def resolve_model(name_or_path: str | Path | None, default: str) -> Path:
    """A model path as given, or a model name looked up under :func:`models_dir`."""
    if name_or_path is None:
        return models_dir() / default
    path = Path(name_or_path)
    if path.exists() or path.is_absolute() or len(path.parts) > 1:
        return path
    return models_dir() / path


def resolve_index(name_or_path: str | Path | None) -> Path:
    """An index folder: a path as given, or a name under :func:`indexes_dir`."""
    if name_or_path is None:
        return indexes_dir() / DEFAULT_INDEX
    path = Path(name_or_path)
    if len(path.parts) > 1 or path.is_absolute():
        return path
    return indexes_dir() / path
