"""An index folder: SQLite text, FAISS vectors and a manifest, changed atomically one generation at a time.

Layout of ``indexes/NAME/``::

    index.json            manifest: format, generation N, the model that built it, settings
    store-N.sqlite        documents and passages (PassageStore)
    vectors-N.faiss       passage vectors keyed by passage id (VectorIndex)
    .lock                 taken by writers

A write copies generation N to N+1, changes the copy, saves it, then replaces ``index.json`` (one atomic rename): that
rename is the commit. An interrupted write leaves generation N, still named by ``index.json``, untouched; its leftovers
are removed by the next writer. Readers check on open that the store and the vectors hold the same passage ids.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from openbook.errors import OpenbookError
from openbook.models.manifest import ModelManifest
from openbook.index.store import PassageStore
from openbook.index.vectors import KINDS, VectorIndex, choose_kind

FORMAT = 1
MANIFEST = "index.json"


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def model_mismatch(built: dict[str, Any], model: ModelManifest) -> str | None:
    """Why ``model`` cannot query an index built with ``built`` (None when it can)."""
    mine = model.identity()
    for key in ("source_sha256", "name", "dimension", "metric"):
        if built.get(key) and mine.get(key) and built[key] != mine[key]:
            return (
                f"it was built with {built.get('name')} ({built.get('dimension')}-d, {built.get('metric')}), "
                f"not {mine.get('name')} ({mine.get('dimension')}-d, {mine.get('metric')})"
            )
    return None


def fit_kind(vectors: VectorIndex, settings: dict[str, Any]) -> VectorIndex:
    """The vectors in the index type the settings ask for (``index_type``: auto, flat or ivf; ``nlist``)."""
    wanted = settings.get("index_type") or "auto"
    if wanted not in ("auto", *KINDS):
        raise OpenbookError(f"unknown index type {wanted!r} (use auto, {', '.join(KINDS)})")
    if wanted == "auto":
        wanted = "ivf" if vectors.kind == "ivf" else choose_kind(len(vectors))  # once approximate, it stays so
    if wanted == vectors.kind:
        return vectors
    if vectors.kind == "ivf":
        raise OpenbookError("an ivf index cannot become flat again (it keeps compressed vectors): build a new index")
    return vectors.converted(wanted, settings.get("nlist"))


class _Discard(Exception):
    """Ends a transaction that has nothing to write."""


@dataclass
class Transaction:
    """The next generation being written: change ``store`` (in ``with store.conn``) and ``vectors``."""

    store: PassageStore
    vectors: VectorIndex
    generation: int
    settings: dict[str, Any]
    discard: bool = False  # set when there turned out to be nothing to write


class Index:
    """One index folder, opened at its current generation."""

    def __init__(self, path: Path, manifest: dict[str, Any]) -> None:
        self.path = Path(path)
        self.manifest = manifest
        self.store: PassageStore | None = None
        self.vectors: VectorIndex | None = None
        self._load()

    # --- opening --------------------------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, model: ModelManifest | None = None) -> Index:
        """Open an existing index; refuse it when ``model`` is not the one that built it."""
        path = Path(path)
        file = path / MANIFEST
        if not file.is_file():
            raise OpenbookError(f"no index at {path} (build one with: openbook index PATH --index {path.name})")
        try:
            manifest = json.loads(file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise OpenbookError(f"malformed {file}: {exc.msg}") from None
        if manifest.get("format") != FORMAT:
            raise OpenbookError(f"index {path} has format {manifest.get('format')}, this openbook reads {FORMAT}")
        if model is not None:
            why = model_mismatch(manifest.get("model", {}), model)
            if why:
                raise OpenbookError(f"index {path.name} cannot be searched with this model: {why}")
        return cls(path, manifest)

    @classmethod
    def create(cls, path: str | Path, model: ModelManifest, model_path: Path, settings: dict[str, Any]) -> Index:
        """Open the index at ``path``, creating an empty one (generation 0) for ``model`` if there is none."""
        path = Path(path)
        if (path / MANIFEST).is_file():
            return cls.open(path, model)
        path.mkdir(parents=True, exist_ok=True)
        manifest = {
            "format": FORMAT,
            "generation": 0,
            "model": {**model.identity(), "path": str(Path(model_path).resolve())},
            "settings": settings,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        write_json_atomic(path / MANIFEST, manifest)
        return cls(path, manifest)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def generation(self) -> int:
        return int(self.manifest["generation"])

    @property
    def model(self) -> dict[str, Any]:
        return self.manifest["model"]

    def _files(self, generation: int) -> tuple[Path, Path]:
        return self.path / f"store-{generation}.sqlite", self.path / f"vectors-{generation}.faiss"

    def _load(self) -> None:
        self.close()
        if self.generation == 0:
            return
        db, vec = self._files(self.generation)
        if not db.is_file() or not vec.is_file():
            raise OpenbookError(f"index {self.name} is damaged: generation {self.generation} files are missing")
        self.store = PassageStore(db, readonly=True)
        self.vectors = VectorIndex.load(vec, self.model.get("metric") or "ip")
        if self.manifest.get("settings", {}).get("nprobe"):
            self.vectors.nprobe = int(self.manifest["settings"]["nprobe"])
        self.check()

    def check(self) -> None:
        """Raise unless the store, the vectors and the lexical index (when there is one) hold the same passage ids."""
        if self.store is None or self.vectors is None:
            return
        rows = np.asarray(self.store.passage_ids(), dtype=np.int64)
        ids = np.sort(self.vectors.ids())
        if len(rows) != len(ids) or not np.array_equal(rows, ids):
            raise OpenbookError(
                f"index {self.name} is inconsistent: {len(rows)} passages in SQLite, {len(ids)} vectors in FAISS"
            )
        words = self.store.lexical_ids()
        if words is not None and (len(words) != len(rows) or not np.array_equal(rows, np.asarray(words))):
            raise OpenbookError(
                f"index {self.name} is inconsistent: {len(rows)} passages in SQLite, {len(words)} in its lexical index"
            )

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
        self.store = None
        self.vectors = None

    # --- reading --------------------------------------------------------------------------------------------------
    def count_documents(self) -> int:
        return self.store.count_documents() if self.store else 0

    def count_passages(self) -> int:
        return self.store.count_passages() if self.store else 0

    def size_bytes(self) -> int:
        if self.generation == 0:
            return 0
        return sum(p.stat().st_size for p in self._files(self.generation))

    # --- writing --------------------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self, dimension: int) -> Iterator[Transaction]:
        """Write the next generation; it becomes current only if the block finishes without an exception."""
        with self._lock():
            self._reload_if_changed()
            self._remove_leftovers()
            new = self.generation + 1
            db, vec = self._files(new)
            target = sqlite3.connect(db)
            if self.store is not None:
                self.store.conn.backup(target)
            target.close()
            if self.vectors is not None:
                import faiss

                vectors = VectorIndex(self.vectors.dimension, self.vectors.metric, faiss.clone_index(self.vectors.index))
            else:
                vectors = VectorIndex(dimension, self.model.get("metric") or "ip")
            store = PassageStore(db)
            try:
                tx = Transaction(store, vectors, new, dict(self.manifest.get("settings", {})))
                yield tx
                if tx.discard:
                    raise _Discard
                vectors = tx.vectors = fit_kind(tx.vectors, tx.settings)
                if store.count_passages() != len(vectors):
                    raise OpenbookError("internal error: passages and vectors differ; nothing was written")
                store.conn.commit()
                store.close()
                vectors.save(vec)
                manifest = {
                    **self.manifest,
                    "generation": new,
                    "settings": tx.settings,
                    "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                }
                write_json_atomic(self.path / MANIFEST, manifest)  # the commit point
            except BaseException as exc:
                store.close()
                for leftover in (db, vec, vec.with_name(vec.name + ".tmp")):
                    leftover.unlink(missing_ok=True)
                if isinstance(exc, _Discard):
                    return
                raise
            old = self.generation
            self.manifest = manifest
            self._load()
            for stale in self._files(old):
                stale.unlink(missing_ok=True)

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        with open(self.path / ".lock", "w") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise OpenbookError(f"index {self.name} is being written by another process") from None
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _reload_if_changed(self) -> None:
        current = json.loads((self.path / MANIFEST).read_text(encoding="utf-8"))
        if current.get("generation") != self.generation:
            self.manifest = current
            self._load()

    def _remove_leftovers(self) -> None:
        keep = {p.name for p in self._files(self.generation)}
        for pattern in ("store-*.sqlite*", "vectors-*.faiss*", "*.tmp"):
            for path in self.path.glob(pattern):
                if path.name not in keep:
                    path.unlink(missing_ok=True)

    def info(self) -> dict[str, Any]:
        return {
            "index": self.name,
            "path": str(self.path),
            "documents": self.count_documents(),
            "passages": self.count_passages(),
            "model": self.model.get("name"),
            "dimension": self.model.get("dimension"),
            "metric": self.model.get("metric"),
            "generation": self.generation,
            "index_type": self.vectors.kind if self.vectors is not None else None,
            "nprobe": self.vectors.nprobe if self.vectors is not None else None,
            "size_bytes": self.size_bytes(),
            "settings": self.manifest.get("settings", {}),
            "updated": self.manifest.get("updated"),
        }
