"""Small result and record types shared across openbook.

``Passage.to_dict`` and ``SearchResult.to_dict`` are the one JSON shape of passages and search results, used by the
command line's ``--json``, the answers' ``passage`` and the Python API (see docs/schema.md).
"""

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

    def to_dict(self) -> dict[str, Any]:
        """The passage as JSON: id, doc_id, title, source, start, end, text, metadata."""
        return {
            "id": self.id,
            "doc_id": self.doc_id,
            "title": self.title,
            "source": self.source,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "metadata": dict(self.metadata),
        }


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

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON: rank, score, found_by, scores and the passage (:meth:`Passage.to_dict`)."""
        return {
            "rank": self.rank,
            "score": round(float(self.score), 6),
            "found_by": dict(self.found_by),
            "scores": {name: round(float(v), 6) for name, v in self.scores.items()},
            "passage": self.passage.to_dict(),
        }
