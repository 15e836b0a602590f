"""Sharded indexes: N ordinary index folders searched in parallel (threads, or one Ray actor per shard), merged.

Layout of a sharded index ``indexes/NAME/``::

    shards.json           format, the shard folders, how documents were assigned, the model
    shard-0/ … shard-N-1/ ordinary index folders (index.json, store-G.sqlite, vectors-G.faiss)

A document lives in shard ``sha1(document id) mod N``. A question is encoded once, here; each shard returns its own
dense and lexical candidates (ids and scores only), and only the merged top k passages are fetched from the shards
that hold them. Merging:

- dense: inner products (or negative L2) from one model compare across shards, so the shards' lists are merged by
  score: exactly the unsharded top k (a flat index searches every vector; an ivf one as closely as its nprobe allows);
- lexical: a BM25 score depends on its shard's statistics (row count, each word's document frequency), so each shard
  also returns its statistics and each question word's part of its candidates' scores, and the coordinator rescores
  them with the statistics summed over all shards (IDF as one index would compute it; only the length normalisation
  keeps each shard's mean passage length), then merges by score (``merge="bm25"``, the default). ``merge="rrf"``
  merges by reciprocal rank in each shard's own list instead, 1 / (60 + rank), which needs no statistics;
- hybrid: the retriever's fusion (default: z-score, alpha 0.55) over the merged dense list and the merged lexical list
  (``bm25``), or reciprocal rank fusion of the two (``rrf``).

A metadata filter (``where``) goes to every shard, which runs it in its own SQLite and restricts both its dense search
(a FAISS id selector) and its lexical search to the passages that pass, before ranking, as one index does: each shard
returns its best ``depth`` passing candidates, so the merged list holds ``k`` whenever ``k`` pass across the shards.
BM25 statistics stay those of the whole shards, as one index's FTS5 keeps those of the whole index.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from openbook.config import DEFAULT_RETRIEVER, resolve_index, resolve_model
from openbook.errors import OpenbookError
from openbook.index import lexical
from openbook.index.filters import Filter, as_filter
from openbook.index.folder import MANIFEST as INDEX_MANIFEST
from openbook.index.folder import Index, model_mismatch, write_json_atomic
from openbook.models.embedder import Embedder
from openbook.models.manifest import ModelManifest
from openbook.retrieval.dense import search_vectors
from openbook.retrieval.fusion import DEFAULT_DEPTH, DEFAULT_FUSION, DEFAULT_MODE, Fusion, Hit, check_mode
from openbook.retrieval.indexer import Indexer
from openbook.retrieval.lexical import search_words
from openbook.types import Passage, SearchResult

SHARDS = "shards.json"
FORMAT = 1
MERGES = ("bm25", "rrf")
DEFAULT_MERGE = "bm25"
RRF_K = 60.0
PARTITION = "sha1(document id) mod N"


def shard_of(doc_id: str, shards: int) -> int:
    """The shard a document belongs to: stable across runs and machines."""
    return int.from_bytes(hashlib.sha1(doc_id.encode("utf-8")).digest()[:8], "big") % shards


def is_sharded(path: str | Path) -> bool:
    return (Path(path) / SHARDS).is_file()


def read_manifest(path: Path) -> dict[str, Any]:
    file = path / SHARDS
    try:
        manifest = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise OpenbookError(f"no sharded index at {path} (make one with: openbook shard SOURCE --shards N)") from None
    except json.JSONDecodeError as exc:
        raise OpenbookError(f"malformed {file}: {exc.msg}") from None
    if manifest.get("format") != FORMAT or not manifest.get("shards"):
        raise OpenbookError(f"{file} is not a shard manifest this openbook reads (format {FORMAT})")
    return manifest


# --- writing ---------------------------------------------------------------------------------------------------------
@dataclass
class ShardReport:
    """What one split wrote: per shard, its folder, documents and passages."""

    index: str
    shards: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0


@contextmanager
def _new_target(target: Path, shards: int) -> Iterator[Path]:
    """A new folder beside ``target`` to build the shards in, moved to ``target`` (absent or an empty folder) once
    complete: a split that fails or is interrupted removes it (openbook made it) and leaves no half-made index."""
    if shards < 1:
        raise OpenbookError(f"--shards must be at least 1, not {shards}")
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise OpenbookError(f"{target} exists and is not an empty folder: shard into a new index name")
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.building-", dir=target.parent))
    try:
        yield work
        os.replace(work, target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def _write_manifest(target: Path, shards: int, model: dict[str, Any], source: str) -> None:
    manifest = {
        "format": FORMAT,
        "shards": [f"shard-{i}" for i in range(shards)],
        "partition": PARTITION,
        "model": model,
        "source": source,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    write_json_atomic(target / SHARDS, manifest)


def split_index(source: str | Path, target: str | Path, shards: int) -> ShardReport:
    """Split the index ``source`` into ``shards`` shard indexes under ``target`` (a new name): each shard starts as a
    snapshot of the source's store and drops the other shards' documents in one ordinary write, so passage ids,
    vectors and settings are kept and nothing is encoded again."""
    start = time.perf_counter()
    src = Index.open(resolve_index(source))
    if src.store is None or src.count_passages() == 0:
        raise OpenbookError(f"index {src.name} is empty: nothing to shard")
    out = resolve_index(target)
    if out.resolve() == src.path.resolve():
        raise OpenbookError("shard into a new index name, not the source itself")
    doc_ids = [r[0] for r in src.store.conn.execute("SELECT id FROM documents ORDER BY id")]
    report = ShardReport(out.name)
    try:
        with _new_target(out, shards) as work:
            for n in range(shards):
                folder = work / f"shard-{n}"
                folder.mkdir()
                shutil.copyfile(src.path / INDEX_MANIFEST, folder / INDEX_MANIFEST)
                copy = sqlite3.connect(folder / "store.sqlite")
                src.store.conn.backup(copy)  # one consistent snapshot of the source's log: rows, FTS5, vectors
                copy.close()
                shard = Index.open(folder)  # FAISS rebuilt from the stored vectors (no checkpoint file was copied)
                try:
                    Indexer(shard).remove([d for d in doc_ids if shard_of(d, shards) != n])
                    shard.refresh()
                    report.shards.append(
                        {"shard": folder.name, "documents": shard.count_documents(), "passages": shard.count_passages()}
                    )
                finally:
                    shard.close()
            _write_manifest(work, shards, src.model, str(src.path))
    finally:
        src.close()
    report.seconds = time.perf_counter() - start
    return report


def split_encoded(folder: str | Path, target: str | Path, shards: int, model: str | Path | None = None) -> ShardReport:
    """Build ``shards`` shard indexes under ``target`` from a folder of encoded passages (``openbook encode``),
    routing each document to its shard; nothing is encoded. Needs ``Retriever.add_encoded``."""
    from openbook.retrieval.retriever import Retriever
    from openbook.scale.encode import iter_encoded, open_encoded

    start = time.perf_counter()
    encoded = open_encoded(folder)
    if not hasattr(Retriever, "add_encoded"):
        raise OpenbookError("this openbook cannot index precomputed vectors (Retriever.add_encoded is missing)")
    out = resolve_index(target)
    report = ShardReport(out.name)
    with _new_target(out, shards) as work:
        for n in range(shards):
            retriever = Retriever(work / f"shard-{n}", model=model or _model_for(encoded.model))
            items = (item for item in iter_encoded(encoded) if shard_of(item[0].id, shards) == n)
            retriever.add_encoded(items, encoded.model)
            index = retriever.index
            report.shards.append(
                {"shard": f"shard-{n}", "documents": index.count_documents(), "passages": index.count_passages()}
            )
            index.close()
        _write_manifest(work, shards, encoded.model, str(encoded.path))
    report.seconds = time.perf_counter() - start
    return report


def _model_for(identity: dict[str, Any]) -> Path:
    """The installed model named by an identity, else the default retriever (then checked against the identity)."""
    named = resolve_model(identity.get("name"), DEFAULT_RETRIEVER) if identity.get("name") else None
    return named if named is not None and named.exists() else resolve_model(None, DEFAULT_RETRIEVER)


# --- searching -------------------------------------------------------------------------------------------------------
class ShardSearcher:
    """One shard: candidate ids and scores by vectors and by words, and passages by id. Runs in a thread here or as a
    Ray actor on the machine that holds the shard."""

    def __init__(self, path: str, nprobe: int | None = None) -> None:
        self.index = Index.open(Path(path))
        self._df: dict[str, int] = {}  # document frequency of each word asked about (the shard is read-only)
        self._rows = self.index.count_passages()
        if nprobe and self.index.vectors is not None:
            self.index.vectors.nprobe = nprobe

    def search(
        self,
        vectors: np.ndarray | None,
        questions: Sequence[str],
        depth: int,
        lexical: bool,
        where: Filter | None = None,
    ) -> list[dict[str, list[Hit]]]:
        """Per question, ``{"dense": [...], "lexical": [...]}``: dense when ``vectors`` are given, lexical if asked;
        only passages whose metadata passes ``where``, chosen before ranking."""
        out: list[dict[str, list[Hit]]] = [{} for _ in questions]
        index = self.index
        if index.store is None or index.vectors is None:
            return out
        allowed = where.passage_ids(index.store.conn) if where is not None else None
        if vectors is not None:
            hits: list[list[Hit]] = [[] for _ in questions]
            if len(index.vectors):
                scores, ids = search_vectors(index.vectors, vectors, depth, allowed)
                hits = [[(int(i), float(s)) for s, i in zip(srow, irow) if i >= 0] for srow, irow in zip(scores, ids)]
            for lists, found in zip(out, hits):
                lists["dense"] = found
        if lexical and index.store.has_lexical:
            for lists, question in zip(out, questions):
                lists["lexical"] = search_words(index.store.conn, question, depth, allowed)
                lists["bm25"] = bm25_parts(
                    index.store.conn, question, [pid for pid, _ in lists["lexical"]], self._rows, self._df
                )
        return out

    def passages(self, ids: Sequence[int]) -> dict[int, Passage]:
        return self.index.store.passages(ids) if self.index.store is not None else {}

    def counts(self) -> tuple[int, int]:
        return self.index.count_documents(), self.index.count_passages()

    def documents(self, contains: str | None, where: Filter | None) -> list[dict[str, Any]]:
        """The shard's documents (``Store.documents``) whose id, title or source contains ``contains`` and which hold
        a passage whose metadata passes ``where``."""
        store = self.index.store
        if store is None:
            return []
        found = store.documents(contains)
        if where is None:
            return found
        passing = where.document_ids(store.conn)
        return [d for d in found if d["id"] in passing]

    def has_lexical(self) -> bool:
        return self.index.store is None or self.index.store.has_lexical


class _Shards:
    """Calls every shard at once: in threads, or on Ray actors (``ray_address``), one per shard."""

    def __init__(self, paths: list[Path], nprobe: int | None, ray_address: str | None) -> None:
        self.ray = None
        if ray_address is None:
            self.local = [ShardSearcher(str(p), nprobe) for p in paths]
            self.pool = ThreadPoolExecutor(max_workers=len(paths), thread_name_prefix="shard")
        else:
            from openbook.scale.encode import connect, ray_module

            self.ray = ray_module()
            connect(ray_address)
            actor = self.ray.remote(num_cpus=1)(ShardSearcher)
            self.actors = [actor.remote(str(p.resolve()), nprobe) for p in paths]

    def __len__(self) -> int:
        return len(self.actors) if self.ray else len(self.local)

    def all(self, method: str, *args: Any) -> list[Any]:
        if self.ray:
            return self.ray.get([getattr(a, method).remote(*args) for a in self.actors])
        return list(self.pool.map(lambda s: getattr(s, method)(*args), self.local))

    def some(self, calls: dict[int, tuple]) -> dict[int, Any]:
        """``method(*args)`` on the shards named in ``calls`` ({shard: (method, *args)}) at once."""
        if self.ray:
            refs = {n: getattr(self.actors[n], c[0]).remote(*c[1:]) for n, c in calls.items()}
            return dict(zip(refs, self.ray.get(list(refs.values()))))
        futures = {n: self.pool.submit(getattr(self.local[n], c[0]), *c[1:]) for n, c in calls.items()}
        return {n: f.result() for n, f in futures.items()}

    def close(self) -> None:
        if self.ray:
            for a in self.actors:
                self.ray.kill(a)
        else:
            self.pool.shutdown(wait=False)


class ShardedIndex:
    """What the CLI and OpenBook read of an index (name, counts, info), for a sharded one."""

    def __init__(self, path: Path, manifest: dict[str, Any], shards: _Shards) -> None:
        self.path = path
        self.manifest = manifest
        self._shards = shards
        self._counts: list[tuple[int, int]] | None = None

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def model(self) -> dict[str, Any]:
        return self.manifest.get("model", {})

    def counts(self) -> list[tuple[int, int]]:
        if self._counts is None:
            self._counts = [tuple(c) for c in self._shards.all("counts")]
        return self._counts

    def count_documents(self) -> int:
        return sum(d for d, _ in self.counts())

    def count_passages(self) -> int:
        return sum(p for _, p in self.counts())

    def info(self) -> dict[str, Any]:
        return {
            "index": self.name,
            "path": str(self.path),
            "shards": len(self.manifest["shards"]),
            "partition": self.manifest.get("partition"),
            "documents": self.count_documents(),
            "passages": self.count_passages(),
            "passages per shard": [p for _, p in self.counts()],
            "model": self.model.get("name"),
        }


def bm25_parts(
    conn, question: str, ids: Sequence[int], rows: int | None = None, known: dict[str, int] | None = None
) -> tuple[int, dict[str, int], dict[str, dict[int, float]]]:
    """What BM25 with statistics over all shards needs from one shard: its row count, each question word's document
    frequency in it, and each word's part of the local BM25 score of each of ``ids`` (FTS5's BM25 is a sum over the
    words, each weighted by its IDF). ``rows`` and ``known`` (document frequencies) may be kept between questions by a
    caller whose index does not change."""
    if rows is None:
        rows = conn.execute(f"SELECT count(*) FROM {lexical.TABLE}_docsize").fetchone()[0]
    known = {} if known is None else known
    frequency: dict[str, int] = {}
    parts: dict[str, dict[int, float]] = {}
    marks = ",".join("?" * len(ids))
    for term in lexical.query_terms(question):
        phrase = f'"{term}"'
        if term not in known:
            count = f"SELECT count(*) FROM {lexical.TABLE} WHERE {lexical.TABLE} MATCH ?"
            known[term] = conn.execute(count, (phrase,)).fetchone()[0]
        frequency[term] = known[term]
        if ids and frequency[term]:
            found = conn.execute(
                f"SELECT rowid, rank FROM {lexical.TABLE} WHERE {lexical.TABLE} MATCH ? AND rowid IN ({marks})",
                (phrase, *ids),
            )
            parts[term] = {int(pid): -float(rank) for pid, rank in found}
    return int(rows), frequency, parts


def idf(rows: int, frequency: int) -> float:
    """FTS5's BM25 IDF: log((N - n + 0.5) / (n + 0.5)), at least 1e-6."""
    value = math.log((rows - frequency + 0.5) / (frequency + 0.5))
    return value if value > 0 else 1e-6


def global_bm25(lists: Sequence[Sequence[Hit]], stats: Sequence[tuple]) -> list[list[Hit]]:
    """Each shard's BM25 scores recomputed with document frequencies and row counts summed over all shards (each
    word's part rescaled from its shard's IDF to the global one), so that they compare across shards as one index's
    would; only the length normalisation keeps each shard's mean passage length."""
    rows = sum(s[0] for s in stats)
    totals: dict[str, int] = {}
    for _, frequency, _ in stats:
        for term, n in frequency.items():
            totals[term] = totals.get(term, 0) + n
    out = []
    for hits, (shard_rows, frequency, parts) in zip(lists, stats):
        scale = {t: idf(rows, totals[t]) / idf(shard_rows, frequency[t]) for t in parts}
        out.append([(pid, sum(p.get(pid, 0.0) * scale[t] for t, p in parts.items())) for pid, _ in hits])
    return out


def merge_dense(lists: Sequence[Sequence[Hit]], depth: int) -> list[Hit]:
    """Shard lists of comparable scores as one list, best first (ties: lower key first)."""
    merged = [hit for hits in lists for hit in hits]
    return sorted(merged, key=lambda h: (-h[1], h[0]))[:depth]


def merge_lexical(
    lists: Sequence[Sequence[Hit]], depth: int, merge: str = DEFAULT_MERGE, stats: Sequence[tuple] = ()
) -> list[Hit]:
    """Shard lists of BM25 scores as one list: rescored with global statistics and merged by score (``bm25``, needs
    each shard's ``stats`` from :func:`bm25_parts`), or merged by reciprocal rank in each shard's own list (``rrf``:
    1 / (60 + rank), ties by BM25 score), which needs no statistics and ignores any difference of scale."""
    if merge == "bm25":
        return merge_dense(global_bm25(lists, stats), depth)
    merged = [(1.0 / (RRF_K + rank), raw, key) for hits in lists for rank, (key, raw) in enumerate(hits, start=1)]
    merged.sort(key=lambda m: (-m[0], -m[1], m[2]))
    return [(key, value) for value, _, key in merged[:depth]]


class ShardedRetriever:
    """Searches a sharded index as :class:`openbook.retrieval.retriever.Retriever` searches one index (same
    ``search``/``search_many``), so :class:`openbook.qa.pipeline.OpenBook` reads its merged top k alike.

    The question model is loaded lazily (lexical search never loads it); ``ray_address`` puts each shard on a Ray actor
    (``local`` starts a Ray here), else shards are searched in threads. ``merge`` is how shard lists combine (module
    docstring)."""

    def __init__(
        self,
        index: str | Path | None = None,
        model: str | Path | None = None,
        batch_size: int = 32,
        precision: str | None = None,
        mode: str = DEFAULT_MODE,
        fusion: Fusion = DEFAULT_FUSION,
        depth: int = DEFAULT_DEPTH,
        nprobe: int | None = None,
        ray_address: str | None = None,
        merge: str = DEFAULT_MERGE,
    ) -> None:
        if merge not in MERGES:
            raise OpenbookError(f"unknown shard merge {merge!r} (use {', '.join(MERGES)})")
        self.mode = check_mode(mode)
        self.fusion = fusion if merge == "bm25" else Fusion("rrf", k=RRF_K)
        self.depth = depth
        self.merge = merge
        self.index_path = resolve_index(index)
        manifest = read_manifest(self.index_path)
        paths = [self.index_path / name for name in manifest["shards"]]
        for path in paths:
            if not (path / INDEX_MANIFEST).is_file():
                raise OpenbookError(f"sharded index {self.index_path.name} is damaged: {path.name} is missing")
        self._model = model
        self._batch_size, self._precision = batch_size, precision
        self._embedder: Embedder | None = None
        self.shards = _Shards(paths, nprobe, ray_address)
        self.index = ShardedIndex(self.index_path, manifest, self.shards)

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            built = self.index.model
            model = self._model
            if model is None:
                model = built.get("path")
                if model is None or not Path(model).exists():
                    model = resolve_model(built.get("name"), DEFAULT_RETRIEVER)
            embedder = Embedder(resolve_model(model, DEFAULT_RETRIEVER), self._batch_size, self._precision)
            why = model_mismatch(built, embedder.manifest)
            if why:
                raise OpenbookError(f"index {self.index.name} cannot be searched with this model: {why}")
            self._embedder = embedder
        return self._embedder

    @property
    def manifest(self) -> ModelManifest:
        return self.embedder.manifest

    def encode_questions(self, questions: Sequence[str]) -> np.ndarray:
        return self.embedder.encode_questions(questions)

    def close(self) -> None:
        self.shards.close()

    def search(self, question: str, k: int = 5, mode: str | None = None, where: Any = None) -> list[SearchResult]:
        return self.search_many([question], k, mode, where)[0]

    def documents(
        self, contains: str | None = None, limit: int | None = None, where: Any = None
    ) -> list[dict[str, Any]]:
        """The documents of every shard, by id, as ``Retriever.documents`` lists them; ``where`` keeps those holding a
        passage whose metadata passes it."""
        rows = self.shards.all("documents", contains, as_filter(where))
        found = sorted((d for shard in rows for d in shard), key=lambda d: d["id"])
        return found if limit is None else found[:limit]

    def search_many(
        self, questions: Sequence[str], k: int = 5, mode: str | None = None, where: Any = None
    ) -> list[list[SearchResult]]:
        """Top-``k`` passages for each question over all shards, best first, by ``mode`` (default: the retriever's),
        among the passages whose metadata passes ``where`` (as ``Retriever.search_many`` takes it), filtered in every
        shard before ranking."""
        mode = check_mode(mode or self.mode)
        wanted = as_filter(where)
        if self.index.count_passages() == 0:
            raise OpenbookError(f"index {self.index.name} is empty (add documents with: openbook index PATH)")
        if mode != "dense" and not all(self.shards.all("has_lexical")):
            raise OpenbookError(
                f"index {self.index.name} has a shard without a lexical index; search with --mode dense"
            )
        depth = k if mode != "hybrid" else max(k, self.depth)
        vectors = self.encode_questions(questions) if mode != "lexical" else None
        per_shard = self.shards.all("search", vectors, list(questions), depth, mode != "dense", wanted)
        n = len(self.shards)
        results = []
        fused_rows = []
        for q in range(len(questions)):
            lists: dict[str, list[Hit]] = {}
            if mode != "lexical":
                lists["dense"] = merge_dense(
                    [_keyed(s[q].get("dense", []), i, n) for i, s in enumerate(per_shard)], depth
                )
            if mode != "dense":
                shard_lists = [_keyed(s[q].get("lexical", []), i, n) for i, s in enumerate(per_shard)]
                stats = [s[q].get("bm25", (0, {}, {})) for s in per_shard]
                stats = [
                    (r, f, {t: {pid * n + i: v for pid, v in p.items()} for t, p in parts.items()})
                    for i, (r, f, parts) in enumerate(stats)
                ]
                lists["lexical"] = merge_lexical(shard_lists, depth, self.merge, stats)
            fused = self.fusion.fuse(lists)[:k]
            if mode != "dense" and self.merge == "rrf":  # each passage shows its BM25 score in its shard
                raw = {key: score for i, s in enumerate(per_shard) for key, score in _keyed(s[q]["lexical"], i, n)}
                for f in fused:
                    if "lexical" in f.scores:
                        f.scores["lexical"] = raw[f.id]
                    if mode == "lexical":
                        f.score = raw[f.id]
            fused_rows.append(fused)
        found = self._fetch([f.id for row in fused_rows for f in row], n)
        for row in fused_rows:
            kept = [f for f in row if f.id in found]
            results.append(
                [SearchResult(found[f.id], f.score, rank, f.ranks, f.scores) for rank, f in enumerate(kept, start=1)]
            )
        return results

    def _fetch(self, keys: Iterable[int], n: int) -> dict[int, Passage]:
        """Passages by key, each asked only of the shard that holds it."""
        wanted: dict[int, list[int]] = {}
        for key in set(keys):
            wanted.setdefault(key % n, []).append(key // n)
        got = self.shards.some({shard: ("passages", ids) for shard, ids in wanted.items()})
        return {pid * n + shard: p for shard, passages in got.items() for pid, p in passages.items()}


def _keyed(hits: Sequence[Hit], shard: int, shards: int) -> list[Hit]:
    """Hits with their passage id made unique across shards: ``id * shards + shard``."""
    return [(pid * shards + shard, score) for pid, score in hits]


def sharded_info(path: str | Path) -> dict[str, Any]:
    """``openbook info`` of a sharded index (its shards opened here, in threads)."""
    path = Path(path)
    manifest = read_manifest(path)
    shards = _Shards([path / name for name in manifest["shards"]], None, None)
    try:
        return ShardedIndex(path, manifest, shards).info()
    finally:
        shards.close()


def open_retriever(index: str | Path | None = None, index_dir: Path | None = None, **options: Any):
    """A :class:`ShardedRetriever` for a sharded index, else a plain ``Retriever`` (same options)."""
    from openbook.config import ray_address
    from openbook.retrieval.retriever import Retriever

    path = resolve_index(index, index_dir)
    if is_sharded(path):
        return ShardedRetriever(path, ray_address=ray_address(), **options)
    return Retriever(path, **options)
