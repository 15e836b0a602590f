"""The settings an index keeps, typed: :class:`IndexSettings`.

They live as one JSON object in the store (``meta`` key ``settings``; a format-1 index kept them in ``index.json``,
from where the upgrade copies them). Every key is optional, and one that is absent (or ``null``) takes its default:

=================  ====================================================================================================
``passage_tokens`` word pieces per passage when documents are split (a whole number from 1; default 256)
``index_type``     the vector index: ``auto`` (the default: flat, ivf from 100,000 vectors), ``flat``, ``ivf`` or a
                   FAISS ``index_factory`` string such as ``HNSW32``
``nlist``          k-means cells of an ivf index (a whole number from 1; default: about 4·√n, ``default_nlist``)
``nprobe``         cells an ivf index searches per question (a whole number from 1; default 32)
=================  ====================================================================================================

A malformed value (wrong type, a number below 1, an unknown index type) is a one-line
:class:`~openbook.errors.OpenbookError`. Keys this openbook does not know (written by a newer one) are kept: read into
:attr:`IndexSettings.extra` and written back unchanged, never acted on. A newer openbook that needs an older one to
stop raises the index ``format`` instead (``index.json``), which an older one refuses.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from openbook.errors import OpenbookError
from openbook.index.vectors import check_kind

DEFAULT_PASSAGE_TOKENS = 256
DEFAULT_INDEX_TYPE = "auto"
KEYS = ("passage_tokens", "index_type", "nlist", "nprobe")


@dataclass(frozen=True)
class IndexSettings:
    """An index's settings; None: the key is absent, the default applies (:attr:`tokens`, :attr:`kind`)."""

    passage_tokens: int | None = None
    index_type: str | None = None
    nlist: int | None = None
    nprobe: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)  # keys of a newer openbook, kept as they were

    def __post_init__(self) -> None:
        for name in ("passage_tokens", "nlist", "nprobe"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise OpenbookError(f"{name!r} must be a whole number from 1, not {shown(value)}")
        kind = self.index_type
        if kind is not None and (not isinstance(kind, str) or not kind.strip()):
            raise OpenbookError(
                f"'index_type' must be auto, flat, ivf or a FAISS index_factory string, not {shown(kind)}"
            )
        if not isinstance(self.extra, Mapping):
            raise OpenbookError(f"'extra' must be a mapping of setting names to values, not {shown(self.extra)}")
        clash = sorted(set(self.extra) & set(KEYS))
        if clash:
            raise OpenbookError(f"{clash[0]!r} is a known setting, not an extra one")
        try:
            json.dumps(dict(self.extra))
        except (TypeError, ValueError):
            raise OpenbookError(f"extra settings must be JSON values, not {shown(dict(self.extra))}") from None
        object.__setattr__(self, "extra", MappingProxyType(copy.deepcopy(dict(self.extra))))

    @property
    def tokens(self) -> int:
        """Word pieces per passage (``passage_tokens``, else :data:`DEFAULT_PASSAGE_TOKENS`)."""
        return self.passage_tokens or DEFAULT_PASSAGE_TOKENS

    @property
    def kind(self) -> str:
        """The vector index type asked for (``index_type``, else ``auto``)."""
        return self.index_type or DEFAULT_INDEX_TYPE

    @classmethod
    def from_dict(
        cls, data: Any, dimension: int | None = None, source: str = "index settings"
    ) -> IndexSettings:
        """Settings from their JSON object; with ``dimension``, an ``index_factory`` string is checked against FAISS.
        A malformed one is an :class:`OpenbookError` naming ``source``."""
        if not isinstance(data, Mapping):
            raise OpenbookError(f"{source}: expected a JSON object, not {shown(data)}")
        try:
            bad = next((k for k in data if not isinstance(k, str)), None)
            if bad is not None:
                raise OpenbookError(f"setting names must be strings, not {shown(bad)}")
            known = {k: data[k] for k in KEYS if data.get(k) is not None}
            settings = cls(**known, extra={k: v for k, v in data.items() if k not in KEYS})
            if dimension is not None and settings.index_type is not None:
                check_kind(settings.index_type, dimension)
        except OpenbookError as exc:
            raise OpenbookError(f"{source}: {exc}") from None
        return settings

    @classmethod
    def from_json(cls, text: str | None, dimension: int | None = None, source: str = "index settings") -> IndexSettings:
        """Settings from their stored JSON text (None or empty: all defaults)."""
        if not text:
            return cls()
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise OpenbookError(f"{source}: not JSON ({exc.msg} at character {exc.pos})") from None
        return cls.from_dict(data, dimension, source)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object to store: the keys that are set, then the extra ones (``from_dict`` gives this back)."""
        out: dict[str, Any] = {k: getattr(self, k) for k in KEYS if getattr(self, k) is not None}
        out.update(copy.deepcopy(dict(self.extra)))
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict())


def shown(value: Any, limit: int = 60) -> str:
    """``value`` for a one-line message (its repr, cut short)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
