"""Documents, passages, their vectors and the vector log in one SQLite database: the index's source of truth.

Every change is one SQLite transaction (WAL mode): rows of ``documents`` and ``passages``, the FTS5 lexical index over
them (:mod:`openbook.index.lexical`), each passage's float32 vector as a BLOB in ``vectors`` and one ``vector_log`` row
per vector added or removed. The FAISS index is derived from these (see :mod:`openbook.index.folder`). Passage ids
are never reused, so one id names the same passage in every table and in FAISS.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from openbook.index import lexical
from openbook.types import Document, Passage

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY, title TEXT, source TEXT, text TEXT, hash TEXT, metadata TEXT, passages INTEGER,
    indexed_at TEXT
);
CREATE TABLE IF NOT EXISTS passages (
    id INTEGER PRIMARY KEY, doc_id TEXT REFERENCES documents(id), ordinal INTEGER, start INTEGER, "end" INTEGER,
    title TEXT, text TEXT, metadata TEXT
);
CREATE INDEX IF NOT EXISTS idx_passages_doc_id ON passages(doc_id);
CREATE TABLE IF NOT EXISTS vectors (id INTEGER PRIMARY KEY, vector BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS idx_vectors_id ON vectors(id);  -- counts and id lists without reading the BLOBs
CREATE TABLE IF NOT EXISTS vector_log (seq INTEGER PRIMARY KEY AUTOINCREMENT, op INTEGER NOT NULL, id INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoints (
    seq INTEGER PRIMARY KEY, file TEXT NOT NULL, kind TEXT, count INTEGER, checksum TEXT, state TEXT NOT NULL,
    created TEXT
);
CREATE TABLE IF NOT EXISTS pending_documents (
    id TEXT PRIMARY KEY, hash TEXT NOT NULL, segments INTEGER NOT NULL, passages INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS pending_passages (
    doc_id TEXT NOT NULL, ordinal INTEGER NOT NULL, start INTEGER, "end" INTEGER, title TEXT, text TEXT,
    metadata TEXT, vector BLOB, PRIMARY KEY (doc_id, ordinal)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
"""
ADD, REMOVE = 1, -1  # vector_log ops


def connect(path: str | Path, readonly: bool = False) -> sqlite3.Connection:
    """A connection in WAL mode (autocommit; transactions are opened explicitly with ``BEGIN``)."""
    if str(path) == ":memory:":
        return sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    if readonly:
        if not Path(path).is_file():
            raise sqlite3.OperationalError(f"unable to open database file {path}")
        conn = _open_reader(Path(path))
    else:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def _open_reader(path: Path) -> sqlite3.Connection:
    """A reader's connection: read-write open (so the WAL's shared memory can be made) kept to queries; in a folder
    this process cannot write, read-only; on a read-only file system, where no writer can exist, immutable."""
    uri = path.resolve().as_uri()
    tries = [(str(path), False), (f"{uri}?mode=ro", True)]
    if not os.access(path.parent, os.W_OK) or _read_only_fs(path):
        tries.append((f"{uri}?mode=ro&immutable=1", True))
    error: sqlite3.Error | None = None
    for target, as_uri in tries:
        conn = sqlite3.connect(target, uri=as_uri, isolation_level=None, check_same_thread=False, timeout=30)
        try:
            conn.execute("PRAGMA query_only=ON")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return conn
        except sqlite3.OperationalError as exc:
            conn.close()
            error = exc
    assert error is not None
    raise error


def _read_only_fs(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def to_blob(vector: np.ndarray) -> bytes:
    return np.ascontiguousarray(vector, dtype=np.float32).tobytes()


class PassageStore:
    """The text side of an index and its vectors: ``documents``, ``passages`` (with the FTS5 index), ``vectors``,
    ``vector_log``, ``checkpoints``, the staged passages of documents being written, and ``meta``.

    Writes go inside ``with store.transaction():`` (one SQLite transaction); reads see the last commit."""

    def __init__(self, path: str | Path, readonly: bool = False, conn: sqlite3.Connection | None = None) -> None:
        self.path = Path(path)
        self.conn = conn or connect(path, readonly)
        if not readonly:
            self.conn.executescript(SCHEMA)
            if not lexical.has_table(self.conn):
                lexical.create_table(self.conn)
        self.lexical = lexical.LexicalIndex(self.conn)

    def close(self) -> None:
        self.conn.close()

    # --- transactions -----------------------------------------------------------------------------------------------
    def transaction(self) -> _Transaction:
        return _Transaction(self.conn)

    # --- meta -------------------------------------------------------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    # --- reads ------------------------------------------------------------------------------------------------------
    def count_documents(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM documents").fetchone()[0])

    def count_passages(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM passages").fetchone()[0])

    def count_vectors(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM vectors").fetchone()[0])

    @property
    def has_lexical(self) -> bool:
        return lexical.has_table(self.conn)

    def lexical_ids(self) -> list[int] | None:
        """Ids of the passages in the lexical index, ascending."""
        return lexical.indexed_ids(self.conn) if self.has_lexical else None

    def vector_ids(self) -> list[int]:
        return [r[0] for r in self.conn.execute("SELECT id FROM vectors ORDER BY id")]

    def lexical_search(self, question: str, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Top-``k`` (passage id, BM25 score) for ``question``, best first (see :func:`openbook.index.lexical.search`)."""
        return lexical.search(self.conn, question, k, allowed)

    def document_hash(self, doc_id: str) -> str | None:
        row = self.conn.execute("SELECT hash FROM documents WHERE id = ?", (doc_id,)).fetchone()
        return row[0] if row else None

    def document_source(self, doc_id: str) -> str | None:
        row = self.conn.execute("SELECT source FROM documents WHERE id = ?", (doc_id,)).fetchone()
        return row[0] if row else None

    def document(self, doc_id: str) -> Document | None:
        row = self.conn.execute(
            "SELECT id, text, title, source, metadata FROM documents WHERE id = ?", (doc_id,)
        ).fetchone()
        if row is None:
            return None
        return Document(id=row[0], text=row[1], title=row[2], source=row[3], metadata=json.loads(row[4] or "{}"))

    def documents(self, where: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Documents as dicts (id, title, source, passages, metadata, indexed_at), by id; ``where`` keeps those whose
        id, title or source contains it."""
        sql = "SELECT id, title, source, passages, metadata, indexed_at FROM documents"
        args: list[Any] = []
        if where:
            sql += " WHERE instr(id, ?) OR instr(title, ?) OR instr(source, ?)"
            args += [where] * 3
        sql += " ORDER BY id"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(int(limit))
        keys = ("id", "title", "source", "passages", "metadata", "indexed_at")
        out = []
        for row in self.conn.execute(sql, args):
            item = dict(zip(keys, row))
            item["metadata"] = json.loads(item["metadata"] or "{}")
            out.append(item)
        return out

    def document_ids(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT id FROM documents ORDER BY id")]

    def sources(self) -> Iterator[tuple[str, str]]:
        """(document id, source) of every document."""
        yield from self.conn.execute("SELECT id, source FROM documents ORDER BY id").fetchall()

    def passage_ids(self, doc_ids: Iterable[str] | None = None) -> list[int]:
        """Ids of the passages of ``doc_ids`` (all passages when None), ascending."""
        if doc_ids is None:
            return [r[0] for r in self.conn.execute("SELECT id FROM passages ORDER BY id")]
        ids: list[int] = []
        for doc_id in doc_ids:
            ids += [r[0] for r in self.conn.execute("SELECT id FROM passages WHERE doc_id = ?", (doc_id,))]
        return sorted(ids)

    def passages(self, ids: Sequence[int]) -> dict[int, Passage]:
        """Passages by id (ids not in the store are left out), metadata = the document's merged with the passage's."""
        out: dict[int, Passage] = {}
        unique = list(dict.fromkeys(int(i) for i in ids))
        for chunk in range(0, len(unique), 500):
            part = unique[chunk : chunk + 500]
            marks = ",".join("?" * len(part))
            rows = self.conn.execute(
                'SELECT p.id, p.text, p.doc_id, p.start, p."end", p.title, d.source, d.metadata, p.metadata '
                f"FROM passages p JOIN documents d ON d.id = p.doc_id WHERE p.id IN ({marks})",
                part,
            )
            for r in rows:
                metadata = {**json.loads(r[7] or "{}"), **json.loads(r[8] or "{}")}
                out[r[0]] = Passage(r[1], r[2], r[3], r[4], title=r[5], id=r[0], source=r[6], metadata=metadata)
        return out

    def vectors_of(self, ids: Sequence[int], dimension: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids found, their vectors) for ``ids``."""
        found: list[int] = []
        blobs: list[bytes] = []
        unique = [int(i) for i in ids]
        for start in range(0, len(unique), 500):
            part = unique[start : start + 500]
            marks = ",".join("?" * len(part))
            for pid, blob in self.conn.execute(f"SELECT id, vector FROM vectors WHERE id IN ({marks})", part):
                found.append(pid)
                blobs.append(blob)
        return _stack(found, blobs, dimension)

    def iter_vectors(self, dimension: int, batch: int = 20_000) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Every (ids, vectors) in id order, ``batch`` rows at a time."""
        last = -1
        while True:
            rows = self.conn.execute(
                "SELECT id, vector FROM vectors WHERE id > ? ORDER BY id LIMIT ?", (last, batch)
            ).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            yield _stack([r[0] for r in rows], [r[1] for r in rows], dimension)

    def sample_vectors(self, count: int, dimension: int, seed: int = 0) -> np.ndarray:
        """About ``count`` vectors spread over the ids (for training an approximate index)."""
        total = self.count_vectors()
        step = max(1, total // max(count, 1))
        rows = self.conn.execute(
            "SELECT id, vector FROM (SELECT id, vector, row_number() OVER (ORDER BY id) AS n FROM vectors) "
            "WHERE (n + ?) % ? = 0 LIMIT ?",
            (seed, step, count),
        ).fetchall()
        return _stack([r[0] for r in rows], [r[1] for r in rows], dimension)[1]

    def log_seq(self) -> int:
        """The sequence number of the last vector change (0 when none)."""
        row = self.conn.execute("SELECT max(seq) FROM vector_log").fetchone()
        return int(row[0] or 0)

    def log_since(self, after: int, upto: int) -> tuple[set[int], set[int]]:
        """Net vector changes in ``(after, upto]``: (ids to add, ids to remove)."""
        added: set[int] = set()
        removed: set[int] = set()
        for op, pid in self.conn.execute(
            "SELECT op, id FROM vector_log WHERE seq > ? AND seq <= ? ORDER BY seq", (after, upto)
        ):
            if op == ADD:
                added.add(pid)
                removed.discard(pid)
            else:
                removed.add(pid)
                added.discard(pid)
        return added, removed

    # --- writes (inside ``with store.transaction():``) --------------------------------------------------------------
    def next_id(self) -> int:
        return int(self.get_meta("next_passage_id", "1"))

    def delete_documents(self, doc_ids: Iterable[str]) -> list[int]:
        """Remove documents with their passages, lexical rows and vectors; returns the removed passage ids."""
        doc_ids = list(doc_ids)
        removed = self.passage_ids(doc_ids)
        lexical.remove(self.conn, removed)
        for start in range(0, len(removed), 500):
            part = removed[start : start + 500]
            marks = ",".join("?" * len(part))
            gone = [r[0] for r in self.conn.execute(f"SELECT id FROM vectors WHERE id IN ({marks})", part)]
            self.conn.execute(f"DELETE FROM vectors WHERE id IN ({marks})", part)
            self.conn.executemany("INSERT INTO vector_log(op, id) VALUES (?, ?)", ((REMOVE, i) for i in gone))
        for doc_id in doc_ids:
            self.conn.execute("DELETE FROM passages WHERE doc_id = ?", (doc_id,))
            self.conn.execute("DELETE FROM documents WHERE id = ?", (doc_id,))
        return removed

    def add_document(
        self, doc: Document, digest: str, passages: Sequence[Passage], vectors: np.ndarray | None = None
    ) -> list[int]:
        """Insert a document and its passages (text, lexical index and, when given, one vector each), giving each
        passage a fresh stable id; returns the ids."""
        first = self.next_id()
        ids = list(range(first, first + len(passages)))
        self.conn.execute(
            "INSERT INTO documents(id, title, source, text, hash, metadata, passages, indexed_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (doc.id, doc.title, doc.source, doc.text, digest, _json(doc.metadata), len(passages), now()),
        )
        self.conn.executemany(
            'INSERT INTO passages(id, doc_id, ordinal, start, "end", title, text, metadata) '
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (pid, doc.id, n, p.start, p.end, p.title, p.text, _json(_own(p.metadata, doc.metadata)))
                for n, (pid, p) in enumerate(zip(ids, passages))
            ),
        )
        lexical.add(self.conn, ids)
        if vectors is not None:
            self._add_vectors(ids, vectors)
        for pid, p in zip(ids, passages):
            p.id = pid
        self.set_meta("next_passage_id", str(first + len(passages)))
        return ids

    def _add_vectors(self, ids: Sequence[int], vectors: np.ndarray) -> None:
        self.conn.executemany("INSERT INTO vectors(id, vector) VALUES (?, ?)", zip(ids, map(to_blob, vectors)))
        self.conn.executemany("INSERT INTO vector_log(op, id) VALUES (?, ?)", ((ADD, i) for i in ids))

    def set_source(self, doc_id: str, source: str) -> None:
        self.conn.execute("UPDATE documents SET source = ? WHERE id = ?", (source, doc_id))

    # --- staged passages of a document written over several commits ------------------------------------------------
    def pending(self, doc_id: str) -> tuple[str, int, int] | None:
        """(hash, segments done, passages staged) of a document being written, or None."""
        row = self.conn.execute(
            "SELECT hash, segments, passages FROM pending_documents WHERE id = ?", (doc_id,)
        ).fetchone()
        return (row[0], int(row[1]), int(row[2])) if row else None

    def pending_count(self) -> int:
        return int(self.conn.execute("SELECT coalesce(sum(passages), 0) FROM pending_documents").fetchone()[0])

    def discard_pending(self, doc_id: str) -> None:
        self.conn.execute("DELETE FROM pending_passages WHERE doc_id = ?", (doc_id,))
        self.conn.execute("DELETE FROM pending_documents WHERE id = ?", (doc_id,))

    def stage(self, doc_id: str, digest: str, segments: int, passages: Sequence[Passage], vectors: np.ndarray) -> None:
        """Keep ``passages`` and their vectors for ``doc_id`` (not searchable yet); ``segments`` are now done."""
        state = self.pending(doc_id)
        if state is not None and state[0] != digest:
            self.discard_pending(doc_id)
            state = None
        first = state[2] if state else 0
        self.conn.executemany(
            'INSERT INTO pending_passages(doc_id, ordinal, start, "end", title, text, metadata, vector) '
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (doc_id, first + n, p.start, p.end, p.title, p.text, _json(p.metadata), to_blob(v))
                for n, (p, v) in enumerate(zip(passages, vectors))
            ),
        )
        self.conn.execute(
            "INSERT OR REPLACE INTO pending_documents(id, hash, segments, passages) VALUES (?, ?, ?, ?)",
            (doc_id, digest, segments, first + len(passages)),
        )

    def publish(self, doc: Document, digest: str) -> list[int]:
        """Move a document's staged passages into the searchable tables (one transaction); returns their ids."""
        state = self.pending(doc.id)
        count = state[2] if state else 0
        first = self.next_id()
        ids = list(range(first, first + count))
        self.conn.execute(
            "INSERT INTO documents(id, title, source, text, hash, metadata, passages, indexed_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (doc.id, doc.title, doc.source, doc.text, digest, _json(doc.metadata), count, now()),
        )
        self.conn.execute(
            'INSERT INTO passages(id, doc_id, ordinal, start, "end", title, text, metadata) '
            'SELECT ? + ordinal, doc_id, ordinal, start, "end", title, text, metadata FROM pending_passages '
            "WHERE doc_id = ? ORDER BY ordinal",
            (first, doc.id),
        )
        self.conn.execute(
            f"INSERT INTO {lexical.TABLE}(rowid, title, text) SELECT id, title, text FROM passages "
            "WHERE id >= ? AND id < ?",
            (first, first + count),
        )
        self.conn.execute(
            "INSERT INTO vectors(id, vector) SELECT ? + ordinal, vector FROM pending_passages WHERE doc_id = ?",
            (first, doc.id),
        )
        self.conn.executemany("INSERT INTO vector_log(op, id) VALUES (?, ?)", ((ADD, i) for i in ids))
        self.discard_pending(doc.id)
        self.set_meta("next_passage_id", str(first + count))
        return ids


class _Transaction:
    """``BEGIN IMMEDIATE`` … ``COMMIT`` (``ROLLBACK`` on any exception, Ctrl-C included)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, kind: type | None, exc: BaseException | None, tb: object) -> None:
        if kind is None:
            self.conn.execute("COMMIT")
        elif self.conn.in_transaction:
            self.conn.execute("ROLLBACK")


def _json(data: dict[str, Any] | None) -> str:
    return json.dumps(data or {}, ensure_ascii=False)


def _own(passage: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    """The passage's metadata without what it repeats of its document's (page, section stay)."""
    return {k: v for k, v in (passage or {}).items() if k not in document or document[k] != v}


def _stack(ids: list[int], blobs: list[bytes], dimension: int) -> tuple[np.ndarray, np.ndarray]:
    if not ids:
        return np.zeros(0, dtype=np.int64), np.zeros((0, dimension), dtype=np.float32)
    data = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(ids), dimension)
    return np.asarray(ids, dtype=np.int64), data
