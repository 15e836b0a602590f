"""Where models and indexes live: ``OPENBOOK_MODELS`` / ``OPENBOOK_INDEXES``; else, run from a checkout, its
``models/`` and ``indexes/``; else, installed, the models shipped inside the package and the user's data folder
(``~/.local/share/openbook/indexes`` on Linux)."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_RETRIEVER = "retriever-minilm-squad11-int8"
DEFAULT_READER = "reader-minilm-squad11-int8"
DEFAULT_INDEX = "default"


def _checkout() -> Path | None:
    """The source checkout this code runs from (``src/openbook`` beside ``pyproject.toml``), if any."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() and (root / "src" / "openbook").is_dir() else None


def models_dir() -> Path:
    if os.environ.get("OPENBOOK_MODELS"):
        return Path(os.environ["OPENBOOK_MODELS"])
    checkout = _checkout()
    return checkout / "models" if checkout else Path(__file__).resolve().parent / "default_models"


def indexes_dir() -> Path:
    if os.environ.get("OPENBOOK_INDEXES"):
        return Path(os.environ["OPENBOOK_INDEXES"])
    checkout = _checkout()
    if checkout:
        return checkout / "indexes"
    from platformdirs import user_data_path

    return user_data_path("openbook") / "indexes"


def model_cache_dir() -> Path | None:
    """Where OpenVINO keeps compiled models between runs: ``OPENBOOK_MODEL_CACHE`` (``off`` for none), else the user's
    cache folder (``~/.cache/openbook/openvino`` on Linux)."""
    value = os.environ.get("OPENBOOK_MODEL_CACHE")
    if value is not None and value.strip().lower() in ("", "0", "off", "no", "false"):
        return None
    if value:
        return Path(value)
    from platformdirs import user_cache_path

    return user_cache_path("openbook") / "openvino"


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
