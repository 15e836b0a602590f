"""An index folder: SQLite as the one transaction log, FAISS as a derived, checkpointed index.

Layout of ``indexes/NAME/``::

    index.json            manifest: format 2, the model that built the index (written once, at creation)
    store.sqlite          documents, passages, FTS5, one float32 vector per passage, the vector log, settings (WAL)
    vectors-SEQ.faiss     a checkpoint: the FAISS index as of vector-log sequence SEQ (named in ``checkpoints``)
    .lock                 taken by writers

A write is one SQLite transaction (a few KB for a small document): rows, FTS5 entries, vector BLOBs and one
``vector_log`` row per vector added or removed. FAISS is never loaded to write. A reader loads the newest checkpoint
whose checksum, dimension and count check out, then replays the log from its SEQ to the present (a missing or damaged
checkpoint is rebuilt from the BLOBs), and replays new log rows before each search: it always sees whole commits.
The writer writes a new checkpoint when the log since the last one outgrows a fraction of the index, records its
checksum, and removes old checkpoint files only through their ``checkpoints`` rows.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from openbook.config import lock_timeout
from openbook.errors import OpenbookError
from openbook.index.names import MANIFEST, STORE, check_folder
from openbook.index.settings import IndexSettings, shown
from openbook.index.store import PassageStore, connect, now
from openbook.index.vectors import (
    IVF_THRESHOLD, METRICS, TRAIN_PER_CELL, VectorIndex, check_kind, choose_kind, default_nlist
)
from openbook.models.manifest import ModelManifest

FORMAT = 2
LOCK = ".lock"
CHECKPOINT_MIN = 10_000  # log rows since the last checkpoint before a new one is worth writing...
CHECKPOINT_FRACTION = 0.1  # ...or this fraction of the index, whichever is larger
KEEP_CHECKPOINTS = 2  # the newest and the one before, for readers still loading it
_RETRIES = 20

step_hook: Callable[[str], None] | None = None  # called at each named step of the commit path (crash tests)


def step(name: str) -> None:
    if step_hook is not None:
        step_hook(name)


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def model_mismatch(built: dict[str, Any], model: ModelManifest | dict[str, Any]) -> str | None:
    """Why ``model`` cannot query an index built with ``built`` (None when it can)."""
    mine = model.identity() if isinstance(model, ModelManifest) else model
    for key in ("source_sha256", "name", "dimension", "metric"):
        if built.get(key) and mine.get(key) and built[key] != mine[key]:
            return (
                f"it was built with {built.get('name')} ({built.get('dimension')}-d, {built.get('metric')}), "
                f"not {mine.get('name')} ({mine.get('dimension')}-d, {mine.get('metric')})"
            )
    return None


@contextlib.contextmanager
def storage_errors(name: str) -> Iterator[None]:
    """Environmental and corrupt-file errors as one-line :class:`OpenbookError` messages."""
    try:
        yield
    except sqlite3.Error as exc:
        raise OpenbookError(_sqlite_message(name, exc)) from None
    except OSError as exc:
        raise OpenbookError(_os_message(name, exc)) from None


def _sqlite_message(name: str, exc: sqlite3.Error) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    low = text.lower()
    code = getattr(exc, "sqlite_errorname", "") or ""
    if code.startswith("SQLITE_IOERR") and any(w in code for w in ("WRITE", "FSYNC", "TRUNCATE", "SHMSIZE")):
        return f"index {name}: could not write (the disk is full or failing: {text}); the last commit is kept"
    if "disk is full" in low:
        return f"index {name}: the disk is full; nothing was written by the failed step (free space and run again)"
    if "readonly" in low or "read-only" in low:
        return f"index {name} is read-only here ({text})"
    if "unable to open" in low:
        return f"index {name}: cannot open its store ({text}; check the folder's permissions)"
    if "locked" in low or "busy" in low:
        return f"index {name} is busy: another process holds it ({text})"
    if "not a database" in low or "malformed" in low or "disk i/o" in low or "corrupt" in low:
        return f"index {name} is damaged: store.sqlite cannot be read ({text})"
    return f"index {name}: storage error ({text})"


def _os_message(name: str, exc: OSError) -> str:
    where = f" ({exc.filename})" if exc.filename else ""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return f"index {name}: the disk is full{where}; the index is as it was before the failed step"
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return f"index {name}: permission denied or read-only{where}"
    return f"index {name}: {exc.strerror or exc}{where}"


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of the index at ``path``, checked for shape."""
    file = path / MANIFEST
    try:
        manifest = json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise OpenbookError(f"malformed {file}: {exc.msg}") from None
    except UnicodeDecodeError:
        raise OpenbookError(f"malformed {file}: not UTF-8 text") from None
    except OSError as exc:
        raise OpenbookError(_os_message(path.name, exc)) from None
    if not isinstance(manifest, dict):
        raise OpenbookError(f"malformed {file}: expected a JSON object")
    fmt = manifest.get("format")
    if not isinstance(fmt, int) or isinstance(fmt, bool):
        raise OpenbookError(f"malformed {file}: no integer 'format'")
    if not isinstance(manifest.get("model"), dict):
        raise OpenbookError(f"malformed {file}: no 'model' object")
    if fmt == 1 and (not isinstance(manifest.get("generation"), int) or isinstance(manifest["generation"], bool)):
        raise OpenbookError(f"malformed {file}: 'generation' must be an integer")
    if fmt > FORMAT:
        raise OpenbookError(f"index {path.name} has format {fmt}: it was written by a newer openbook")
    dimension, metric = manifest["model"].get("dimension"), manifest["model"].get("metric")
    if isinstance(dimension, bool) or not isinstance(dimension, int) or dimension < 1:
        why = f"'model.dimension' must be a whole number from 1, not {shown(dimension)}"
        raise OpenbookError(f"malformed {file}: {why}")
    if metric not in (None, *METRICS):
        why = f"'model.metric' must be one of {', '.join(METRICS)}, not {shown(metric)}"
        raise OpenbookError(f"malformed {file}: {why}")
    return manifest


@dataclass
class Checkpoint:
    seq: int
    file: str
    kind: str
    count: int
    checksum: str | None
    state: str


class Index:
    """One index folder: ``store`` (read connection) and, loaded on first use, ``vectors`` kept current by the log."""

    def __init__(self, path: Path, manifest: dict[str, Any]) -> None:
        self.path = Path(path)
        self.manifest = manifest
        self._guard = threading.RLock()
        self._vectors: VectorIndex | None = None
        self._seq = 0  # the vector-log position ``_vectors`` reflects
        self.rebuilt = False  # set when no valid checkpoint could be read and the vectors came from the BLOBs
        self.nprobe: int | None = None
        with storage_errors(self.name):
            self.store = PassageStore(self.path / STORE, readonly=True)
            self._check_store()

    # --- opening --------------------------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, model: ModelManifest | None = None) -> Index:
        """Open an existing index; refuse it when ``model`` is not the one that built it."""
        path = Path(path)
        if not (path / MANIFEST).is_file():
            if (path / STORE).is_file():
                _restore_manifest(path)
            else:
                raise OpenbookError(f"no index at {path} (build one with: openbook index PATH --index {path.name})")
        manifest = read_manifest(path)
        if manifest["format"] == 1:
            from openbook.index.upgrade import upgrade

            manifest = upgrade(path, manifest)
        if model is not None:
            why = model_mismatch(manifest["model"], model)
            if why:
                raise OpenbookError(f"index {path.name} cannot be searched with this model: {why}")
        return cls(path, manifest)

    @classmethod
    def create(cls, path: str | Path, model: ModelManifest, model_path: Path, settings: IndexSettings) -> Index:
        """Open the index at ``path``, creating an empty one for ``model`` with ``settings`` if there is none (only in a
        missing or empty folder: a folder holding other files is refused)."""
        path = Path(path)
        check_folder(path)
        if (path / MANIFEST).is_file() or (path / STORE).is_file():
            return cls.open(path, model)
        with storage_errors(path.name):
            path.mkdir(parents=True, exist_ok=True)
            with _locked(path, lock_timeout()):
                if not (path / MANIFEST).is_file():
                    manifest = {
                        "format": FORMAT,
                        "model": {**model.identity(), "path": str(Path(model_path).resolve())},
                        "created": now(),
                    }
                    store = PassageStore(path / STORE)
                    try:
                        with store.transaction():
                            store.set_meta("format", str(FORMAT))
                            store.set_meta("manifest", json.dumps(manifest))
                            store.set_meta("settings", settings.to_json())
                    finally:
                        store.close()
                    write_json_atomic(path / MANIFEST, manifest)  # the index exists from here
        return cls.open(path, model)

    def _check_store(self) -> None:
        if self.store.get_meta("format") != str(FORMAT):
            raise OpenbookError(f"index {self.name} is damaged: store.sqlite is not an openbook store")
        self.check(full=False)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def model(self) -> dict[str, Any]:
        return self.manifest["model"]

    @property
    def settings(self) -> IndexSettings:
        """The settings as last committed (a malformed value: :class:`OpenbookError`)."""
        return read_settings(self.store, self.name, self.dimension)

    @property
    def dimension(self) -> int:
        return int(self.model["dimension"])

    @property
    def metric(self) -> str:
        return self.model.get("metric") or "ip"

    @property
    def generation(self) -> int:
        """The vector-log position of the last commit (grows with every write that adds or removes passages)."""
        return self.store.log_seq()

    # --- vectors: newest valid checkpoint + log replay ---------------------------------------------------------------
    @property
    def vectors(self) -> VectorIndex:
        """The FAISS index as of the last commit (loaded on first use, brought up to date on each access)."""
        with self._guard, storage_errors(self.name):
            if self._vectors is None:
                self._load_vectors()
            else:
                self.refresh()
            assert self._vectors is not None
            nprobe = self.nprobe or self.settings.nprobe
            if nprobe:
                self._vectors.nprobe = nprobe
            return self._vectors

    def refresh(self) -> None:
        """Replay the vector log written since the vectors were loaded (no-op when none are loaded)."""
        with self._guard:
            if self._vectors is None:
                return
            try:
                self._replay()
            except _Stale:
                self._load_vectors()

    def _load_vectors(self) -> None:
        for _ in range(_RETRIES):
            try:
                self._vectors, self._seq = self._from_checkpoint()
                self._replay()
                return
            except _Stale:
                continue
        raise OpenbookError(f"index {self.name} kept changing while being opened; try again")

    def _from_checkpoint(self) -> tuple[VectorIndex, int]:
        with self._snapshot():
            upto = self.store.log_seq()
            found = [c for c in checkpoints(self.store.conn) if c.state == "ready" and c.seq <= upto]
        for ck in sorted(found, key=lambda c: -c.seq):
            try:
                vectors = VectorIndex.load(self.path / ck.file, self.metric, ck.checksum, self.dimension, ck.count)
            except FileNotFoundError:
                if self._named(ck):  # still named yet gone: lost; else a writer replaced it: list them again
                    self.rebuilt = True
                    continue
                raise _Stale from None
            except (OpenbookError, OSError):  # damaged or foreign: an older one, else the BLOBs
                self.rebuilt = True
                continue
            if ck.kind not in ("flat", "ivf"):
                vectors.kind_name = ck.kind
            return vectors, ck.seq
        with self._snapshot():
            return build_vectors(self.store, self.dimension, self.metric, self.settings, None), self.store.log_seq()

    def _named(self, ck: Checkpoint) -> bool:
        """Whether ``ck`` is still a ready checkpoint in the table."""
        row = self.store.conn.execute("SELECT state FROM checkpoints WHERE seq = ?", (ck.seq,)).fetchone()
        return row is not None and row[0] == "ready"

    def _replay(self) -> None:
        with self._snapshot():
            upto = self.store.log_seq()
            if upto == self._seq:
                return
            if int(self.store.get_meta("log_floor", "0")) > self._seq:
                raise _Stale
            added, removed = self.store.log_since(self._seq, upto)
            ids, vectors = self.store.vectors_of(sorted(added), self.dimension)
        assert self._vectors is not None
        try:
            self._vectors.remove(sorted(removed | set(ids.tolist())))
        except RuntimeError:  # an index type that cannot remove (HNSW): build it again from the BLOBs
            kind = self._vectors.kind
            with self._snapshot():
                self._vectors = build_vectors(self.store, self.dimension, self.metric, self.settings, kind)
                self._seq = self.store.log_seq()
            return
        if len(ids):
            self._vectors.add(ids, vectors)
        self._seq = upto

    @contextlib.contextmanager
    def _snapshot(self) -> Iterator[None]:
        """One SQLite read transaction: everything read inside sees the same commit."""
        conn = self.store.conn
        conn.execute("BEGIN")
        try:
            yield
        finally:
            conn.execute("COMMIT")

    # --- checks and figures -----------------------------------------------------------------------------------------
    def check(self, full: bool = True) -> None:
        """Raise unless SQLite, FTS5 and the vectors hold the same passage ids (counts only unless ``full``; with
        ``full`` the loaded FAISS index is compared too)."""
        with self._guard, storage_errors(self.name), self._snapshot():
            conn = self.store.conn
            rows = conn.execute("SELECT count(*) FROM passages").fetchone()[0]
            vecs = conn.execute("SELECT count(*) FROM vectors").fetchone()[0]
            words = conn.execute("SELECT count(*) FROM passages_fts_docsize").fetchone()[0]
            if not rows == vecs == words:
                raise OpenbookError(
                    f"index {self.name} is inconsistent: {rows} passages, {vecs} vectors, {words} in the lexical index"
                )
            if not full:
                return
            ids = self.store.passage_ids()
            if ids != self.store.vector_ids() or ids != self.store.lexical_ids():
                raise OpenbookError(f"index {self.name} is inconsistent: passage, vector and lexical ids differ")
        faiss_ids = np.sort(self.vectors.ids())
        if not np.array_equal(faiss_ids, np.asarray(self.store.passage_ids(), dtype=np.int64)):
            raise OpenbookError(f"index {self.name} is inconsistent: FAISS holds {len(faiss_ids)} vectors")

    def count_documents(self) -> int:
        with storage_errors(self.name):
            return self.store.count_documents()

    def count_passages(self) -> int:
        with storage_errors(self.name):
            return self.store.count_passages()

    def files(self) -> list[Path]:
        """The files this index owns (manifest, store and its WAL, checkpoints, lock)."""
        names = [MANIFEST, STORE, STORE + "-wal", STORE + "-shm", LOCK]
        names += [c.file for c in checkpoints(self.store.conn)]
        return [self.path / n for n in names if (self.path / n).exists()]

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.files())

    def info(self) -> dict[str, Any]:
        with storage_errors(self.name):
            cks = [c for c in checkpoints(self.store.conn) if c.state == "ready"]
            newest = max(cks, key=lambda c: c.seq) if cks else None
            settings = self.settings
            return {
                "index": self.name,
                "path": str(self.path),
                "documents": self.count_documents(),
                "passages": self.count_passages(),
                "pending_passages": self.store.pending_count(),
                "model": self.model.get("name"),
                "dimension": self.model.get("dimension"),
                "metric": self.model.get("metric"),
                "format": self.manifest.get("format"),
                "log_seq": self.store.log_seq(),
                "checkpoint_seq": newest.seq if newest else None,
                "index_type": newest.kind if newest else target_kind(settings, self.count_passages(), None),
                "nprobe": self._vectors.nprobe if self._vectors is not None else settings.nprobe,
                "size_bytes": self.size_bytes(),
                "settings": settings.to_dict(),
                "created": self.manifest.get("created"),
                "updated": self.store.get_meta("updated"),
            }

    def close(self) -> None:
        self.store.close()
        self._vectors = None

    # --- writing ----------------------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def writer(self, timeout: float | None = None) -> Iterator[Writer]:
        """Hold the write lock (waiting up to ``timeout`` s for another writer) with a write connection; leftovers of
        a failed writer are cleaned first; a checkpoint is written at the end when the log has grown enough."""
        with storage_errors(self.name), _locked(self.path, lock_timeout() if timeout is None else timeout):
            store = PassageStore(self.path / STORE)
            try:
                writer = Writer(self, store)
                read_settings(store, self.name, self.dimension)  # malformed settings: stop before any change
                writer.clean()
                yield writer
                writer.maybe_checkpoint()
            finally:
                store.close()


class _Stale(Exception):
    """The log rows a reader needs were compacted away or its checkpoint vanished: load again."""


class Writer:
    """The write side of an index under its lock: commit through ``store.transaction()``, then checkpoint."""

    def __init__(self, index: Index, store: PassageStore) -> None:
        self.index = index
        self.store = store

    @property
    def path(self) -> Path:
        return self.index.path

    @property
    def settings(self) -> IndexSettings:
        return read_settings(self.store, self.index.name, self.index.dimension)

    def set_settings(self, settings: IndexSettings) -> None:
        """Record ``settings`` (inside a transaction)."""
        self.store.set_meta("settings", settings.to_json())

    def touch(self) -> None:
        """Record the time of this commit (inside a transaction)."""
        self.store.set_meta("updated", now())

    def clean(self) -> None:
        """Remove what a failed writer left: checkpoint files whose rows say ``writing`` or ``obsolete``."""
        for ck in checkpoints(self.store.conn):
            if ck.state in ("writing", "obsolete"):
                for leftover in (self.path / ck.file, self.path / (ck.file + ".tmp")):
                    leftover.unlink(missing_ok=True)
                with self.store.transaction() as conn:
                    conn.execute("DELETE FROM checkpoints WHERE seq = ?", (ck.seq,))
        (self.path / (MANIFEST + ".tmp")).unlink(missing_ok=True)

    def maybe_checkpoint(self, force: bool = False) -> bool:
        """Write a new FAISS checkpoint when the log since the last one is long enough; True when one was written."""
        store = self.store
        upto = store.log_seq()
        ready = [c for c in checkpoints(store.conn) if c.state == "ready"]
        last = max(ready, key=lambda c: c.seq) if ready else None
        count = store.count_vectors()
        kind = target_kind(self.settings, count, last)
        since = upto - (last.seq if last else 0)
        if last is not None and last.seq == upto and last.kind == kind and not force:
            return False
        needed = (
            force
            or (last is None and (count >= CHECKPOINT_MIN or (kind != "flat" and count > 0)))
            or since > max(CHECKPOINT_MIN, CHECKPOINT_FRACTION * count)
            or (last is not None and last.kind != kind)
        )
        if not needed or count == 0:
            return False
        vectors = self._current(last, kind, upto)
        self._write_checkpoint(vectors, kind, upto)
        return True

    def _current(self, last: Checkpoint | None, kind: str, upto: int) -> VectorIndex:
        dimension, metric = self.index.dimension, self.index.metric
        if last is not None and last.kind == kind:
            try:
                vectors = VectorIndex.load(self.path / last.file, metric, last.checksum, dimension, last.count)
                added, removed = self.store.log_since(last.seq, upto)
                ids, vecs = self.store.vectors_of(sorted(added), dimension)
                vectors.remove(sorted(removed | set(ids.tolist())))
                if len(ids):
                    vectors.add(ids, vecs)
                if kind not in ("flat", "ivf"):
                    vectors.kind_name = kind
                return vectors
            except (OpenbookError, OSError, RuntimeError):
                pass  # damaged or missing: rebuild from the BLOBs
        return build_vectors(self.store, dimension, metric, self.settings, kind)

    def _write_checkpoint(self, vectors: VectorIndex, kind: str, seq: int) -> None:
        name = f"vectors-{seq}.faiss"
        step("checkpoint:intent")
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM checkpoints WHERE seq = ?", (seq,))
            conn.execute(
                "INSERT INTO checkpoints(seq, file, kind, count, checksum, state, created) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (seq, name, kind, len(vectors), None, "writing", now()),
            )
        step("checkpoint:writing")
        checksum = vectors.save(self.path / name)
        _fsync_dir(self.path)
        step("checkpoint:written")
        with self.store.transaction() as conn:
            conn.execute("UPDATE checkpoints SET state = 'ready', checksum = ? WHERE seq = ?", (checksum, seq))
        step("checkpoint:ready")
        self._prune()

    def _prune(self) -> None:
        """Keep the newest KEEP_CHECKPOINTS checkpoints; drop the log rows older than the oldest one kept."""
        ready = sorted((c for c in checkpoints(self.store.conn) if c.state == "ready"), key=lambda c: -c.seq)
        old = ready[KEEP_CHECKPOINTS:]
        if not old:
            return
        floor = ready[KEEP_CHECKPOINTS - 1].seq
        with self.store.transaction() as conn:
            conn.executemany("UPDATE checkpoints SET state = 'obsolete' WHERE seq = ?", [(c.seq,) for c in old])
            conn.execute("DELETE FROM vector_log WHERE seq <= ?", (floor,))
            conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('log_floor', ?)", (str(floor),))
        step("checkpoint:obsolete")
        for ck in old:
            (self.path / ck.file).unlink(missing_ok=True)
            step("checkpoint:unlinked")
            with self.store.transaction() as conn:
                conn.execute("DELETE FROM checkpoints WHERE seq = ?", (ck.seq,))


def checkpoints(conn: sqlite3.Connection) -> list[Checkpoint]:
    rows = conn.execute("SELECT seq, file, kind, count, checksum, state FROM checkpoints ORDER BY seq").fetchall()
    return [Checkpoint(*r) for r in rows]


def read_settings(store: PassageStore, name: str, dimension: int) -> IndexSettings:
    """The settings committed in ``store`` (of the index ``name``, whose vectors have ``dimension``)."""
    return _parse_settings(store.get_meta("settings"), name, dimension)


@functools.lru_cache(maxsize=64)
def _parse_settings(text: str | None, name: str, dimension: int) -> IndexSettings:
    """Parsed once per stored text: readers look at the settings before every search."""
    return IndexSettings.from_json(text, dimension, f"index {name}: malformed settings in {STORE}")


def target_kind(settings: IndexSettings, count: int, last: Checkpoint | None) -> str:
    """The vector index type the settings ask for at ``count`` vectors (auto: flat, ivf from IVF_THRESHOLD; once ivf,
    auto stays ivf)."""
    wanted = settings.kind
    if wanted != "auto":
        return wanted
    if last is not None and last.kind == "ivf":
        return "ivf"
    return choose_kind(count)


def build_vectors(
    store: PassageStore, dimension: int, metric: str, settings: IndexSettings, kind: str | None
) -> VectorIndex:
    """A FAISS index of every vector BLOB in ``store`` (trained on a sample when the kind needs it)."""
    count = store.count_vectors()
    kind = kind or target_kind(settings, count, None)
    if kind == "ivf" and count < 39:
        kind = "flat"
    sample = None
    if kind != "flat":
        nlist = settings.nlist or default_nlist(count)
        sample = store.sample_vectors(max(nlist * TRAIN_PER_CELL, 10_000), dimension)
    try:
        vectors = VectorIndex.empty(kind, dimension, metric, sample, settings.nlist)
    except RuntimeError:  # a factory string FAISS cannot train on this few vectors: exact search until it can
        vectors = VectorIndex.empty("flat", dimension, metric)
    for ids, batch in store.iter_vectors(dimension):
        vectors.add(ids, batch)
    return vectors


@contextlib.contextmanager
def _locked(path: Path, timeout: float) -> Iterator[None]:
    """The folder's writer lock, waited for up to ``timeout`` seconds."""
    with open(path / LOCK, "a") as fh:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise OpenbookError(
                        f"index {path.name} is being written by another process (waited {timeout:g} s; "
                        "OPENBOOK_LOCK_TIMEOUT sets the wait)"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _restore_manifest(path: Path) -> None:
    """Write ``index.json`` again from the copy its store keeps (a lost manifest never costs the data)."""
    try:
        conn = connect(path / STORE, readonly=True)
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = 'manifest'").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        row = None
    if row is None:
        raise OpenbookError(f"{path} holds a store.sqlite that is not an openbook index: refusing to use it")
    with storage_errors(path.name), _locked(path, lock_timeout()):
        if not (path / MANIFEST).is_file():
            write_json_atomic(path / MANIFEST, json.loads(row[0]))


__all__ = [
    "FORMAT", "Index", "IndexSettings", "Writer", "IVF_THRESHOLD", "check_kind", "model_mismatch", "storage_errors"
]
