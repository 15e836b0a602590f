"""Every setting openbook reads from its environment, in one place, and where models and indexes live.

:func:`settings` parses the ``OPENBOOK_*`` variables into a frozen :class:`Settings` (a bad value is a one-line
:class:`~openbook.errors.OpenbookError`); the rest of openbook takes its settings from there, never from ``os.environ``.

========================  =====================================================================================
``OPENBOOK_MODELS``       folder of the models looked up by name (default: a checkout's ``models/``; installed, the
                          models shipped inside the package)
``OPENBOOK_INDEXES``      folder of the indexes looked up by name (default: a checkout's ``indexes/``; installed, the
                          user's data folder, ``~/.local/share/openbook/indexes`` on Linux)
``OPENBOOK_MODEL_CACHE``  OpenVINO's cache of compiled models (default: ``~/.cache/openbook/openvino``; ``off``: none)
``OPENBOOK_LOCK_TIMEOUT`` seconds a writer waits for another writer of the same index (default 60)
``OPENBOOK_RAY``          the Ray cluster that searches sharded indexes (an address, or ``local``; unset: threads)
``OPENBOOK_RESHAPE``      ``1``/``true``/``yes``: run a model of static shape at dynamic shape where its graph allows
``OPENBOOK_PRECISION``    OpenVINO inference precision hint (``f32``, ``bf16``, ``f16``); default: the device's
``OPENBOOK_THREADS``      inference threads (a whole number; 0 or unset: all cores)
``OPENBOOK_HINT``         OpenVINO performance hint: ``LATENCY`` (default), ``THROUGHPUT``, ``CUMULATIVE_THROUGHPUT``
``OPENBOOK_HISTORY``      history file of the interactive mode (default: ``~/.openbook_history``)
========================  =====================================================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from openbook.errors import OpenbookError

DEFAULT_RETRIEVER = "retriever-minilm-squad11-int8"
DEFAULT_READER = "reader-minilm-squad11-int8"
DEFAULT_INDEX = "default"

VARIABLES = (
    "OPENBOOK_MODELS",
    "OPENBOOK_INDEXES",
    "OPENBOOK_RESHAPE",
    "OPENBOOK_PRECISION",
    "OPENBOOK_THREADS",
    "OPENBOOK_HINT",
    "OPENBOOK_HISTORY",
    "OPENBOOK_MODEL_CACHE",
    "OPENBOOK_LOCK_TIMEOUT",
    "OPENBOOK_RAY",
)
HINTS = ("LATENCY", "THROUGHPUT", "CUMULATIVE_THROUGHPUT")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")


@dataclass(frozen=True)
class RuntimeSettings:
    """How OpenVINO compiles and runs models (see :class:`openbook.models.runtime.CompiledModel`)."""

    reshape: bool = False
    precision: str | None = None
    threads: int = 0  # 0: every core
    hint: str = "LATENCY"


@dataclass(frozen=True)
class Settings:
    """openbook's settings, as the environment gives them."""

    models: Path
    indexes: Path
    history: Path
    runtime: RuntimeSettings
    model_cache: Path | None = None
    lock_timeout: float = 60.0
    ray: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``env`` (default ``os.environ``); unset or empty variables take the defaults."""
        env = os.environ if env is None else env
        return cls(
            models=Path(env.get("OPENBOOK_MODELS") or _default_models()),
            indexes=Path(env.get("OPENBOOK_INDEXES") or _default_indexes()),
            history=Path(env.get("OPENBOOK_HISTORY") or Path.home() / ".openbook_history"),
            runtime=RuntimeSettings(
                reshape=_flag(env, "OPENBOOK_RESHAPE"),
                precision=env.get("OPENBOOK_PRECISION") or None,
                threads=_count(env, "OPENBOOK_THREADS"),
                hint=_choice(env, "OPENBOOK_HINT", HINTS, "LATENCY"),
            ),
            model_cache=_model_cache(env),
            lock_timeout=_seconds(env, "OPENBOOK_LOCK_TIMEOUT", 60.0),
            ray=env.get("OPENBOOK_RAY") or None,
        )


_cache: dict[tuple[str | None, ...], Settings] = {}


def settings() -> Settings:
    """The process's settings, parsed once per set of ``OPENBOOK_*`` values (a change, as tests make, is seen)."""
    key = tuple(os.environ.get(name) for name in VARIABLES)
    found = _cache.get(key)
    if found is None:
        found = _cache[key] = Settings.from_env()
    return found


def _checkout() -> Path | None:
    """The source checkout this code runs from (``src/openbook`` beside ``pyproject.toml``), if any."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() and (root / "src" / "openbook").is_dir() else None


def _default_models() -> Path:
    checkout = _checkout()
    return checkout / "models" if checkout else Path(__file__).resolve().parent / "default_models"


def _default_indexes() -> Path:
    checkout = _checkout()
    if checkout:
        return checkout / "indexes"
    from platformdirs import user_data_path

    return user_data_path("openbook") / "indexes"


def _model_cache(env: Mapping[str, str]) -> Path | None:
    value = env.get("OPENBOOK_MODEL_CACHE")
    if value is not None and value.strip().lower() in _FALSE + ("off",):
        return None
    if value:
        return Path(value)
    from platformdirs import user_cache_path

    return user_cache_path("openbook") / "openvino"


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    value = env.get(name, "").strip()
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if seconds < 0:
        raise OpenbookError(f"{name}={env[name]!r} is not a number of seconds")
    return seconds


def _flag(env: Mapping[str, str], name: str) -> bool:
    value = env.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise OpenbookError(f"{name}={env[name]!r} is not a yes/no value (use 1 or 0)")


def _count(env: Mapping[str, str], name: str) -> int:
    value = env.get(name, "").strip() or "0"
    if not value.isdigit():
        raise OpenbookError(f"{name}={env[name]!r} is not a whole number")
    return int(value)


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    value = (env.get(name) or default).strip().upper()
    if value not in choices:
        raise OpenbookError(f"{name}={env[name]!r} is not one of {', '.join(choices)}")
    return value


def models_dir() -> Path:
    return settings().models


def indexes_dir() -> Path:
    return settings().indexes


def lock_timeout() -> float:
    """Seconds a writer waits for another writer of the same index (``OPENBOOK_LOCK_TIMEOUT``, default 60)."""
    return settings().lock_timeout


def model_cache_dir() -> Path | None:
    """Where OpenVINO keeps compiled models between runs (``OPENBOOK_MODEL_CACHE``; None: no cache)."""
    return settings().model_cache


def ray_address() -> str | None:
    """The Ray cluster that searches sharded indexes (``OPENBOOK_RAY``: an address, or ``local``); None: threads."""
    return settings().ray


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
