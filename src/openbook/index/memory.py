"""An index in plain Python and numpy: the passage store, lexical index and vector index protocols without files.

For tests and evaluation: the same behaviour as SQLite / FTS5 / FAISS (held to it by ``tests/index/contract.py``),
with exact search and BM25 over lower-cased words (no stemming).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from openbook.errors import OpenbookError
from openbook.index.lexical import _WORD, query_terms
from openbook.index.store import _own, now
from openbook.types import Document, Passage

BM25_K1 = 1.2
BM25_B = 0.75


class MemoryStore:
    """Documents and passages in dicts; passage ids handed out in order and never reused."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}
        self.rows: dict[int, Passage] = {}
        self.vectors: dict[int, np.ndarray] = {}
        self._next = 1
        self.lexical = MemoryLexical(self)

    def count_documents(self) -> int:
        return len(self.docs)

    def count_passages(self) -> int:
        return len(self.rows)

    def document(self, doc_id: str) -> Document | None:
        d = self.docs.get(doc_id)
        return None if d is None else Document(doc_id, d["text"], d["title"], d["source"], dict(d["metadata"]))

    def document_hash(self, doc_id: str) -> str | None:
        d = self.docs.get(doc_id)
        return None if d is None else d["hash"]

    def documents(self, where: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        out = []
        for doc_id in sorted(self.docs):
            d = self.docs[doc_id]
            if where and not any(where in (x or "") for x in (doc_id, d["title"], d["source"])):
                continue
            out.append({"id": doc_id, "title": d["title"], "source": d["source"], "passages": len(d["ids"]),
                        "metadata": dict(d["metadata"]), "indexed_at": d["indexed_at"]})
        return out[:limit] if limit is not None else out

    def passage_ids(self, doc_ids: Iterable[str] | None = None) -> list[int]:
        if doc_ids is None:
            return sorted(self.rows)
        return sorted(i for d in doc_ids if d in self.docs for i in self.docs[d]["ids"])

    def passages(self, ids: Sequence[int]) -> dict[int, Passage]:
        out = {}
        for i in dict.fromkeys(int(x) for x in ids):
            p = self.rows.get(i)
            if p is not None:
                doc = self.docs[p.doc_id]
                out[i] = Passage(p.text, p.doc_id, p.start, p.end, p.title, i, doc["source"],
                                 {**doc["metadata"], **p.metadata})
        return out

    def add_document(
        self, doc: Document, digest: str, passages: Sequence[Passage], vectors: np.ndarray | None = None
    ) -> list[int]:
        if doc.id in self.docs:
            raise OpenbookError(f"document {doc.id!r} is already stored")
        ids = list(range(self._next, self._next + len(passages)))
        self._next += len(passages)
        self.docs[doc.id] = {"text": doc.text, "title": doc.title, "source": doc.source, "hash": digest,
                             "metadata": dict(doc.metadata), "ids": ids, "indexed_at": now()}
        for n, (pid, p) in enumerate(zip(ids, passages)):
            p.id = pid
            self.rows[pid] = Passage(p.text, doc.id, p.start, p.end, p.title, pid, doc.source,
                                     _own(p.metadata, doc.metadata))
            if vectors is not None:
                self.vectors[pid] = np.asarray(vectors[n], dtype=np.float32)
        return ids

    def delete_documents(self, doc_ids: Iterable[str]) -> list[int]:
        removed: list[int] = []
        for doc_id in doc_ids:
            d = self.docs.pop(doc_id, None)
            if d is None:
                continue
            for pid in d["ids"]:
                self.rows.pop(pid, None)
                self.vectors.pop(pid, None)
            removed += d["ids"]
        return sorted(removed)


class MemoryLexical:
    """BM25 over the words of a :class:`MemoryStore`'s passages (title and text), computed at query time."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    def ids(self) -> np.ndarray:
        return np.asarray(sorted(self.store.rows), dtype=np.int64)

    def search(self, question: str, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        terms = query_terms(question)
        if not terms or k < 1:
            return []
        keep = None if allowed is None else set(np.asarray(allowed, dtype=np.int64).tolist())
        bags = {pid: Counter(_WORD.findall(f"{p.title} {p.text}".lower())) for pid, p in self.store.rows.items()}
        if not bags:
            return []
        average = sum(sum(b.values()) for b in bags.values()) / len(bags)
        scored = []
        for pid, bag in bags.items():
            if keep is not None and pid not in keep:
                continue
            length = sum(bag.values())
            score = 0.0
            for t in terms:
                if bag[t]:
                    df = sum(1 for b in bags.values() if b[t])
                    idf = math.log(1 + (len(bags) - df + 0.5) / (df + 0.5))
                    tf = bag[t]
                    score += idf * tf * (BM25_K1 + 1) / (tf + BM25_K1 * (1 - BM25_B + BM25_B * length / average))
            if score > 0:
                scored.append((pid, score))
        scored.sort(key=lambda x: (-x[1], x[0]))
        return scored[:k]


class MemoryVectors:
    """Exact search over id-keyed vectors in a numpy matrix (inner product, or negative L2 distance)."""

    def __init__(self, dimension: int, metric: str = "ip") -> None:
        if metric not in ("ip", "l2"):
            raise OpenbookError(f"unknown metric {metric!r} (use ip or l2)")
        self.dimension = dimension
        self.metric = metric
        self._ids = np.zeros(0, dtype=np.int64)
        self._vectors = np.zeros((0, dimension), dtype=np.float32)

    def __len__(self) -> int:
        return len(self._ids)

    def ids(self) -> np.ndarray:
        return self._ids.copy()

    def add(self, ids: np.ndarray | list[int], vectors: np.ndarray) -> None:
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dimension:
            raise OpenbookError(f"vectors of shape {vectors.shape} do not fit an index of dimension {self.dimension}")
        self._ids = np.concatenate([self._ids, np.asarray(ids, dtype=np.int64)])
        self._vectors = np.concatenate([self._vectors, vectors])

    def remove(self, ids: np.ndarray | list[int]) -> int:
        gone = np.isin(self._ids, np.asarray(ids, dtype=np.int64))
        self._ids, self._vectors = self._ids[~gone], self._vectors[~gone]
        return int(gone.sum())

    def search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        queries = np.asarray(queries, dtype=np.float32)
        ids, vectors = self._ids, self._vectors
        if allowed is not None:
            keep = np.isin(ids, np.asarray(allowed, dtype=np.int64))
            ids, vectors = ids[keep], vectors[keep]
        k = max(1, min(k, len(self))) if len(self) else 1
        if self.metric == "ip":
            scores = queries @ vectors.T
        else:
            scores = -((queries[:, None, :] - vectors[None, :, :]) ** 2).sum(-1)
        out_s = np.full((len(queries), k), -np.inf, dtype=np.float32)
        out_i = np.full((len(queries), k), -1, dtype=np.int64)
        take = min(k, len(ids))
        if take:
            order = np.argsort(-scores, axis=1, kind="stable")[:, :take]
            out_s[:, :take] = np.take_along_axis(scores, order, axis=1)
            out_i[:, :take] = ids[order]
        return out_s, out_i
