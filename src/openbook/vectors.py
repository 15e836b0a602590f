"""Passage vectors in FAISS, keyed by stable passage ids (``IndexIDMap2``), never by FAISS positions."""

from __future__ import annotations

import os
from pathlib import Path

import faiss
import numpy as np

from openbook.errors import OpenbookError

METRICS = {"ip": faiss.METRIC_INNER_PRODUCT, "l2": faiss.METRIC_L2}


class VectorIndex:
    """Exact nearest-neighbour search over id-keyed vectors; scores are higher-is-better for both metrics."""

    def __init__(self, dimension: int, metric: str = "ip", index: faiss.Index | None = None) -> None:
        if metric not in METRICS:
            raise OpenbookError(f"unknown metric {metric!r} (use ip or l2)")
        self.dimension = dimension
        self.metric = metric
        if index is None:
            flat = faiss.IndexFlatIP(dimension) if metric == "ip" else faiss.IndexFlatL2(dimension)
            index = faiss.IndexIDMap2(flat)
        self.index = index

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def ids(self) -> np.ndarray:
        """All stored passage ids (int64), in insertion order."""
        return faiss.vector_to_array(self.index.id_map).astype(np.int64)

    def add(self, ids: np.ndarray | list[int], vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dimension:
            raise OpenbookError(f"vectors of shape {vectors.shape} do not fit an index of dimension {self.dimension}")
        self.index.add_with_ids(vectors, np.asarray(ids, dtype=np.int64))

    def remove(self, ids: np.ndarray | list[int]) -> int:
        if len(ids) == 0:
            return 0
        return int(self.index.remove_ids(np.asarray(ids, dtype=np.int64)))

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (scores, ids) for each query row; missing slots have id -1."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        k = max(1, min(k, len(self))) if len(self) else 1
        scores, ids = self.index.search(queries, k)
        if self.metric == "l2":
            scores = -scores
        return scores, ids

    def save(self, path: Path) -> None:
        """Write atomically: a temporary file, flushed to disk, then renamed over ``path``."""
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        faiss.write_index(self.index, str(tmp))
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path, metric: str) -> VectorIndex:
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as exc:
            raise OpenbookError(f"cannot read vectors {path}: {str(exc).splitlines()[0]}") from None
        return cls(index.d, metric, index)
