"""Dense search: encode the questions, rank the passages' vectors by similarity, within the allowed passages."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from openbook.index.vectors import VectorIndex
from openbook.retrieval.fusion import Hit

EncodeFn = Callable[[Sequence[str]], np.ndarray]


class DenseSearcher:
    """Top passages by vector similarity; ``encode`` turns questions into vectors (called only when searching, so an
    encoder that loads lazily is loaded by the first dense search)."""

    def __init__(self, vectors: VectorIndex, encode: EncodeFn) -> None:
        self.vectors = vectors
        self.encode = encode

    def search(self, questions: Sequence[str], k: int, allowed: np.ndarray | None = None) -> list[list[Hit]]:
        """Top-``k`` (passage id, score) for each question, best first; only ``allowed`` ids when given."""
        if not questions:
            return []
        scores, ids = search_vectors(self.vectors, self.encode(questions), k, allowed)
        return [[(int(i), float(s)) for s, i in zip(srow, irow) if i >= 0] for srow, irow in zip(scores, ids)]


def search_vectors(
    vectors: VectorIndex, queries: np.ndarray, k: int, allowed: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``vectors.search`` restricted to the ``allowed`` passage ids before ranking (a FAISS id selector in the vector
    index), so ``k`` hits come back whenever ``k`` allowed passages have vectors (fewer columns when fewer are
    allowed)."""
    if allowed is not None:
        allowed = np.unique(np.asarray(allowed, dtype=np.int64))
        if len(allowed) == 0:
            return np.zeros((len(queries), 0), np.float32), np.zeros((len(queries), 0), np.int64)
        k = min(k, len(allowed))
    return vectors.search(queries, k, allowed)
