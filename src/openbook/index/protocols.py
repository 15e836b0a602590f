"""The seams of an index: what a passage store, a lexical index and a vector index must do.

The SQLite store (:mod:`openbook.index.store`), FTS5 (:mod:`openbook.index.lexical`) and FAISS
(:mod:`openbook.index.vectors`) implement them for real indexes; :mod:`openbook.index.memory` implements them in plain
Python for tests and evaluation. ``tests/index/contract.py`` holds the behaviour every implementation must show.
Passage ids are stable integers shared by all three: a store hands them out, never reuses them, and the lexical and
vector indexes are keyed by them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from openbook.types import Document, Passage


@runtime_checkable
class PassageStore(Protocol):
    """Documents and their passages, by document id and passage id."""

    def count_documents(self) -> int: ...

    def count_passages(self) -> int: ...

    def document(self, doc_id: str) -> Document | None: ...

    def document_hash(self, doc_id: str) -> str | None: ...

    def documents(self, where: str | None = None, limit: int | None = None) -> list[dict[str, Any]]: ...

    def passage_ids(self, doc_ids: Iterable[str] | None = None) -> list[int]: ...

    def passages(self, ids: Sequence[int]) -> dict[int, Passage]:
        """Passages by id; ids it does not hold are left out; metadata is the document's merged with the passage's."""
        ...

    def add_document(
        self, doc: Document, digest: str, passages: Sequence[Passage], vectors: np.ndarray | None = None
    ) -> list[int]:
        """Store a document and its passages under fresh ids (set on the passages too); returns the ids."""
        ...

    def delete_documents(self, doc_ids: Iterable[str]) -> list[int]:
        """Remove documents and their passages; returns the removed passage ids."""
        ...


@runtime_checkable
class LexicalIndex(Protocol):
    """Word search over the passages of a store (BM25: higher is better)."""

    def search(self, question: str, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Top-``k`` (passage id, score), best first; ``allowed`` restricts the candidates before ranking."""
        ...

    def ids(self) -> np.ndarray:
        """Ids of the passages indexed."""
        ...


@runtime_checkable
class VectorIndex(Protocol):
    """Nearest-neighbour search over vectors keyed by passage id (scores: higher is better)."""

    dimension: int
    metric: str

    def __len__(self) -> int: ...

    def ids(self) -> np.ndarray: ...

    def add(self, ids: np.ndarray | list[int], vectors: np.ndarray) -> None: ...

    def remove(self, ids: np.ndarray | list[int]) -> int: ...

    def search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (scores, ids) per query row, missing slots id -1; ``allowed`` restricts before ranking."""
        ...
