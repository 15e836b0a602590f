"""Dense search: encode the questions, rank the passages' vectors by similarity, within the allowed passages."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import faiss
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
    """``vectors.search`` restricted to the ``allowed`` passage ids before ranking (FAISS ``IDSelectorBatch``), so
    ``k`` hits come back whenever ``k`` allowed passages have vectors. An ivf index that finds fewer in the cells it
    probes searches every cell again."""
    if allowed is None:
        return vectors.search(queries, k)
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    allowed = np.ascontiguousarray(allowed, dtype=np.int64)
    k = max(1, min(k, len(allowed), len(vectors)))
    if len(allowed) == 0 or len(vectors) == 0:
        return np.zeros((len(queries), 0), np.float32), np.zeros((len(queries), 0), np.int64)
    selector = faiss.IDSelectorBatch(allowed)
    if vectors.kind == "ivf":
        params = faiss.SearchParametersIVF(sel=selector, nprobe=vectors.nprobe)
        scores, ids = vectors.index.search(queries, k, params=params)
        if (ids < 0).any():  # an allowed passage may sit in a cell not probed
            params = faiss.SearchParametersIVF(sel=selector, nprobe=vectors.index.nlist)
            scores, ids = vectors.index.search(queries, k, params=params)
    else:
        scores, ids = vectors.index.search(queries, k, params=faiss.SearchParameters(sel=selector))
    return (-scores if vectors.metric == "l2" else scores), ids
