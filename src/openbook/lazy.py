"""Modules imported on first use, so that a command pays only for the libraries it touches (``search --mode lexical``
never imports OpenVINO or FAISS)."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any


class LazyModule:
    """Stands in for a module until an attribute is read, then imports it (once, thread-safe) and forwards to it."""

    def __init__(self, name: str, load: Callable[[], ModuleType] | None = None) -> None:
        self._name = name
        self._load = load or (lambda: importlib.import_module(name))
        self._module: ModuleType | None = None
        self._lock = threading.Lock()

    def module(self) -> ModuleType:
        """The module itself, imported now if it was not yet."""
        if self._module is None:
            with self._lock:
                if self._module is None:
                    self._module = self._load()
        return self._module

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.module(), attr)

    def __repr__(self) -> str:
        state = "imported" if self._module is not None else "not imported yet"
        return f"<lazy module {self._name!r} ({state})>"
