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


def lock_timeout() -> float:
    """Seconds a writer waits for another writer of the same index (``OPENBOOK_LOCK_TIMEOUT``, default 60)."""
    return float(os.environ.get("OPENBOOK_LOCK_TIMEOUT") or 60)


def resolve_model(name_or_path: str | Path | None, default: str) -> Path:
    """A model path as given, or a model name looked up under :func:`models_dir`."""
    if name_or_path is None:
        return models_dir() / default
    path = Path(name_or_path)
    if path.exists() or path.is_absolute() or len(path.parts) > 1:
        return path
    return models_dir() / path


def resolve_index(name: str | Path | None, index_dir: Path | None = None) -> Path:
    """An index folder from a validated name (see :func:`openbook.index.names.resolve_index`)."""
    from openbook.index.names import resolve_index as resolve

    return resolve(name, index_dir)
