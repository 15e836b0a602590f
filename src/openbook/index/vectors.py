"""Passage vectors in FAISS, keyed by stable passage ids, never by FAISS positions.

Index types, by name or by FAISS ``index_factory`` string:

- ``flat``: exact search (``IndexIDMap2`` over ``IndexFlat``), for small and medium collections;
- ``ivf``: approximate search for large ones: an inverted file of ``nlist`` k-means cells trained on a sample, vectors
  stored as 8-bit scalar-quantised codes (a quarter of float32), ``nprobe`` cells searched per question;
- any other ``index_factory`` string (``HNSW32``, ``IVF1024,PQ32``...), wrapped by id when it has no ids of its own.

All add, remove and search by id. :func:`choose_kind` picks ``ivf`` from :data:`IVF_THRESHOLD` vectors up. Files are
written atomically and read back only when their checksum, dimension and count match what the index recorded.
"""

from __future__ import annotations

import hashlib
import math
import os
from pathlib import Path

import numpy as np

from openbook.errors import OpenbookError
from openbook.lazy import LazyModule

faiss = LazyModule("faiss")  # 50 ms of import that lexical search never needs

METRICS = {"ip": "METRIC_INNER_PRODUCT", "l2": "METRIC_L2"}  # names of FAISS constants
KINDS = ("flat", "ivf")
IVF_THRESHOLD = 100_000  # below this, exact search is fast enough and needs no training
TRAIN_PER_CELL = 40  # k-means sample: this many vectors per cell (FAISS warns below 39)
KMEANS_ITERATIONS = 15
DEFAULT_NPROBE = 32


def check_kind(kind: str, dimension: int) -> str:
    """``kind`` when it is ``auto``, ``flat``, ``ivf`` or an ``index_factory`` string FAISS accepts for ``dimension``."""
    if kind in ("auto", *KINDS):
        return kind
    try:
        faiss.index_factory(dimension, kind)
    except RuntimeError:
        raise OpenbookError(
            f"unknown index type {kind!r} (use auto, flat, ivf or a FAISS index_factory string such as HNSW32)"
        ) from None
    return kind


def choose_kind(count: int) -> str:
    return "ivf" if count >= IVF_THRESHOLD else "flat"


def default_nlist(count: int) -> int:
    """About 4·√n cells, a power of two between 256 and 65,536."""
    return int(min(65536, max(256, 2 ** round(math.log2(4 * math.sqrt(max(count, 1)))))))


class VectorIndex:
    """Search over id-keyed vectors; scores are higher-is-better for both metrics (negative distance for l2)."""

    def __init__(self, dimension: int, metric: str = "ip", index: faiss.Index | None = None) -> None:
        if metric not in METRICS:
            raise OpenbookError(f"unknown metric {metric!r} (use ip or l2)")
        self.dimension = dimension
        self.metric = metric
        if index is None:
            flat = faiss.IndexFlatIP(dimension) if metric == "ip" else faiss.IndexFlatL2(dimension)
            index = faiss.IndexIDMap2(flat)
        self.index = index
        self._ivf = faiss.try_extract_index_ivf(index)
        if self._ivf is not None:
            self._ivf.nprobe = min(DEFAULT_NPROBE, self._ivf.nlist)

    kind_name: str | None = None  # the factory string this index was built from, when not flat or ivf

    @property
    def kind(self) -> str:
        if self.kind_name:
            return self.kind_name
        return "flat" if self._ivf is None else "ivf"

    @property
    def nprobe(self) -> int | None:
        return None if self._ivf is None else int(self._ivf.nprobe)

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        if self._ivf is not None:
            self._ivf.nprobe = max(1, min(int(value), self._ivf.nlist))

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def ids(self) -> np.ndarray:
        """All stored passage ids (int64)."""
        if self._ivf is None:
            return faiss.vector_to_array(self.index.id_map).astype(np.int64)
        lists = self._ivf.invlists
        parts = [
            faiss.rev_swig_ptr(lists.get_ids(c), lists.list_size(c)).copy()
            for c in range(self._ivf.nlist)
            if lists.list_size(c)
        ]
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)

    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of a flat index, in storage order."""
        if self._ivf is not None:
            raise OpenbookError("an ivf index keeps compressed codes, not the vectors")
        inner = faiss.downcast_index(self.index.index)
        return self.ids(), inner.reconstruct_n(0, len(self))

    def add(self, ids: np.ndarray | list[int], vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dimension:
            raise OpenbookError(f"vectors of shape {vectors.shape} do not fit an index of dimension {self.dimension}")
        self.index.add_with_ids(vectors, np.asarray(ids, dtype=np.int64))

    def remove(self, ids: np.ndarray | list[int]) -> int:
        if len(ids) == 0:
            return 0
        return int(self.index.remove_ids(np.asarray(ids, dtype=np.int64)))

    def search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (scores, ids) for each query row; missing slots have id -1.

        ``allowed`` (passage ids) restricts the search before ranking (a FAISS id selector), so ``k`` hits come back
        whenever ``k`` allowed vectors exist (an ivf index then searches every cell when its probed cells fall short).
        """
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        k = max(1, min(k, len(self))) if len(self) else 1
        if allowed is None:
            scores, ids = self.index.search(queries, k)
        else:
            scores, ids = self._search_allowed(queries, k, np.unique(np.asarray(allowed, dtype=np.int64)))
        if self.metric == "l2":
            scores = -scores
        return scores, ids

    def _search_allowed(self, queries: np.ndarray, k: int, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if len(allowed) == 0:
            return np.full((len(queries), k), -np.inf, np.float32), np.full((len(queries), k), -1, np.int64)
        selector = faiss.IDSelectorBatch(len(allowed), faiss.swig_ptr(allowed))
        if self._ivf is None:
            return self.index.search(queries, k, params=faiss.SearchParameters(sel=selector))
        params = faiss.SearchParametersIVF(sel=selector, nprobe=self._ivf.nprobe)
        scores, ids = self.index.search(queries, k, params=params)
        if (ids < 0).any() and len(allowed) > int((ids >= 0).sum(axis=1).min()):
            params = faiss.SearchParametersIVF(sel=selector, nprobe=self._ivf.nlist)
            scores, ids = self.index.search(queries, k, params=params)
        return scores, ids

    def save(self, path: Path) -> str:
        """Write atomically (a temporary file, flushed to disk, renamed over ``path``); returns its checksum."""
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        faiss.write_index(self.index, str(tmp))
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        checksum = file_checksum(tmp)
        os.replace(tmp, path)
        return checksum

    @classmethod
    def load(
        cls, path: Path, metric: str, checksum: str | None = None, dimension: int | None = None,
        count: int | None = None,
    ) -> VectorIndex:
        """Read ``path``; with ``checksum``/``dimension``/``count`` given, refuse a file that does not match them."""
        if checksum is not None and file_checksum(path) != checksum:
            raise OpenbookError(f"vectors {path} are damaged (checksum mismatch)")
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as exc:
            raise OpenbookError(f"cannot read vectors {path}: {str(exc).splitlines()[0]}") from None
        if dimension is not None and index.d != dimension:
            raise OpenbookError(f"vectors {path} have dimension {index.d}, not {dimension}")
        if count is not None and index.ntotal != count:
            raise OpenbookError(f"vectors {path} hold {index.ntotal} vectors, not {count}")
        return cls(index.d, metric, index)

    @classmethod
    def empty(cls, kind: str, dimension: int, metric: str, sample: np.ndarray | None = None,
              nlist: int | None = None) -> VectorIndex:
        """An empty index of ``kind`` (flat, ivf or a factory string), trained on ``sample`` when it needs training."""
        if kind == "flat":
            return cls(dimension, metric)
        if sample is None or len(sample) == 0:
            raise OpenbookError(f"a {kind} index is trained on the vectors: add documents first")
        if kind == "ivf":
            return cls.ivf(dimension, metric, sample, nlist)
        index = faiss.index_factory(dimension, kind, getattr(faiss, METRICS[metric]))
        if not index.is_trained:
            index.train(np.ascontiguousarray(sample, dtype=np.float32))
        if faiss.try_extract_index_ivf(index) is None and not isinstance(index, (faiss.IndexIDMap, faiss.IndexIDMap2)):
            index = faiss.IndexIDMap2(index)
        out = cls(dimension, metric, index)
        out.kind_name = kind
        return out

    @classmethod
    def ivf(
        cls, dimension: int, metric: str, sample: np.ndarray, nlist: int | None = None, seed: int = 0
    ) -> VectorIndex:
        """An empty ivf index with ``nlist`` cells trained on ``sample`` (at most TRAIN_PER_CELL vectors per cell are used)."""
        nlist = nlist or default_nlist(len(sample))
        nlist = max(1, min(nlist, len(sample) // 39))  # k-means wants at least 39 points per cell
        quantizer = faiss.IndexFlatIP(dimension) if metric == "ip" else faiss.IndexFlatL2(dimension)
        index = faiss.IndexIVFScalarQuantizer(
            quantizer, dimension, nlist, faiss.ScalarQuantizer.QT_8bit, getattr(faiss, METRICS[metric])
        )
        index.cp.seed = seed
        index.cp.niter = KMEANS_ITERATIONS
        take = min(len(sample), nlist * TRAIN_PER_CELL)
        rows = np.random.default_rng(seed).choice(len(sample), size=take, replace=False)
        index.train(np.ascontiguousarray(sample[np.sort(rows)], dtype=np.float32))
        index.own_fields = True
        quantizer.this.disown()
        return cls(dimension, metric, index)

    def converted(self, kind: str, nlist: int | None = None) -> VectorIndex:
        """The same ids and vectors in an index of ``kind`` (from flat only: an ivf index has lost the vectors)."""
        if kind == self.kind:
            return self
        if kind not in KINDS:
            raise OpenbookError(f"unknown index type {kind!r} (use {', '.join(KINDS)})")
        ids, vectors = self.vectors()
        if kind == "ivf":
            if len(ids) == 0:
                raise OpenbookError("an ivf index is trained on the vectors: add documents first")
            out = VectorIndex.ivf(self.dimension, self.metric, vectors, nlist or default_nlist(len(ids)))
        else:
            out = VectorIndex(self.dimension, self.metric)
        out.add(ids, vectors)
        return out


def file_checksum(path: Path) -> str:
    """blake2b (128-bit) of a file's bytes, read in 8 MiB blocks."""
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        while block := fh.read(8 << 20):
            digest.update(block)
    return digest.hexdigest()
