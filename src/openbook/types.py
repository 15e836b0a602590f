"""Small result and record types shared across openbook."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Document:
    """A document to index: ``id`` is stable across runs (re-indexing the same id replaces, never duplicates)."""

    id: str
    text: str
    title: str = ""
    source: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class Passage:
    """A piece of a document that fits the encoder; ``start``/``end`` are character offsets into the document text."""

    text: str
    doc_id: str
    start: int
    end: int
    title: str = ""
    id: int | None = None  # stable passage id, shared by the SQLite row and the FAISS vector
    source: str = ""


@dataclass
class SearchResult:
    """A retrieved passage with its score (inner product or negative L2 distance: higher is better) and rank (1-based)."""

    passage: Passage
    score: float
    rank: int
