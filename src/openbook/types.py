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
    # Where a page or section begins: (character offset into ``text``, "page" | "section", value); splitting gives each
    # passage the page and section in force at its start (and ``last_page`` where it runs onto later pages).
    marks: list[tuple[int, str, Any]] = field(default_factory=list)


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
    metadata: dict[str, Any] = field(default_factory=dict)  # the document's metadata plus the passage's own (page, section)


@dataclass
class SearchResult:
    """A retrieved passage with its score (higher is better) and rank (1-based).

    The score is the dense retriever's (inner product or negative L2 distance), the lexical one's (negative BM25) or,
    in hybrid search, the fused score. ``found_by`` gives the passage's rank in each retriever's candidate list that
    held it (e.g. ``{"dense": 3, "lexical": 1}``) and ``scores`` its score there.
    """

    passage: Passage
    score: float
    rank: int
    found_by: dict[str, int] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)
