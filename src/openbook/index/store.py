"""Documents and passages in SQLite (sqlite-utils), keyed by the same stable passage id as the vectors."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

import sqlite_utils

from openbook.index import lexical
from openbook.types import Document, Passage


class PassageStore:
    """The text side of an index: one SQLite file with ``documents``, ``passages`` and ``meta`` tables, and the
    lexical index over the passages (``passages_fts``, see :mod:`openbook.index.lexical`), all written together."""

    def __init__(self, path: str | Path, readonly: bool = False) -> None:
        self.path = Path(path)
        self.upgraded = False  # set when opening for writing added the lexical index to an older store
        if readonly:
            self.conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
        else:
            self.conn = sqlite3.connect(self.path)
        self.db = sqlite_utils.Database(self.conn)
        if not readonly:
            self._ensure_schema()

    def _ensure_schema(self) -> None:
        if "documents" not in self.db.table_names():
            self.db["documents"].create(
                {"id": str, "title": str, "source": str, "text": str, "hash": str, "metadata": str, "passages": int},
                pk="id",
            )
            self.db["passages"].create(
                {"id": int, "doc_id": str, "ordinal": int, "start": int, "end": int, "title": str, "text": str},
                pk="id",
                foreign_keys=[("doc_id", "documents", "id")],
            )
            self.db["passages"].create_index(["doc_id"])
            self.db["meta"].create({"key": str, "value": str}, pk="key")
        if not lexical.has_table(self.conn):  # new, or written before lexical search: build it from the passages
            self.upgraded = self.count_passages() > 0
            lexical.create_table(self.conn)

    def close(self) -> None:
        self.conn.close()

    # --- meta -------------------------------------------------------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        self.db["meta"].upsert({"key": key, "value": value}, pk="key")

    # --- reads ------------------------------------------------------------------------------------------------------
    def count_documents(self) -> int:
        return self.db["documents"].count

    def count_passages(self) -> int:
        return self.db["passages"].count

    @property
    def has_lexical(self) -> bool:
        """Whether the store has its lexical index (stores written before lexical search have none)."""
        return lexical.has_table(self.conn)

    def lexical_ids(self) -> list[int] | None:
        """Ids of the passages in the lexical index, ascending; None when the store has no lexical index."""
        return lexical.indexed_ids(self.conn) if self.has_lexical else None

    def lexical_search(self, question: str, k: int) -> list[tuple[int, float]]:
        """Top-``k`` (passage id, BM25 score) for ``question``, best first (see :func:`openbook.index.lexical.search`)."""
        return lexical.search(self.conn, question, k)

    def document_hash(self, doc_id: str) -> str | None:
        row = self.conn.execute("SELECT hash FROM documents WHERE id = ?", (doc_id,)).fetchone()
        return row[0] if row else None

    def document(self, doc_id: str) -> Document | None:
        row = self.conn.execute(
            "SELECT id, text, title, source, metadata FROM documents WHERE id = ?", (doc_id,)
        ).fetchone()
        if row is None:
            return None
        return Document(id=row[0], text=row[1], title=row[2], source=row[3], metadata=json.loads(row[4] or "{}"))

    def passage_ids(self, doc_ids: Iterable[str] | None = None) -> list[int]:
        """Ids of the passages of ``doc_ids`` (all passages when None), ascending."""
        if doc_ids is None:
            return [r[0] for r in self.conn.execute("SELECT id FROM passages ORDER BY id")]
        ids: list[int] = []
        for doc_id in doc_ids:
            ids += [r[0] for r in self.conn.execute("SELECT id FROM passages WHERE doc_id = ?", (doc_id,))]
        return sorted(ids)

    def passages(self, ids: Sequence[int]) -> dict[int, Passage]:
        """Passages by id (ids not in the store are left out)."""
        out: dict[int, Passage] = {}
        unique = list(dict.fromkeys(int(i) for i in ids))
        for chunk in range(0, len(unique), 500):
            part = unique[chunk : chunk + 500]
            marks = ",".join("?" * len(part))
            rows = self.conn.execute(
                "SELECT p.id, p.text, p.doc_id, p.start, p.end, p.title, d.source FROM passages p "
                f"JOIN documents d ON d.id = p.doc_id WHERE p.id IN ({marks})",
                part,
            )
            for r in rows:
                out[r[0]] = Passage(text=r[1], doc_id=r[2], start=r[3], end=r[4], title=r[5], id=r[0], source=r[6])
        return out

    # --- writes (callers wrap them in ``with store.conn:`` for one transaction) -------------------------------------
    def next_id(self) -> int:
        return int(self.get_meta("next_passage_id", "1"))

    def delete_documents(self, doc_ids: Iterable[str]) -> list[int]:
        """Remove documents and their passages (text and lexical index); returns the removed passage ids."""
        doc_ids = list(doc_ids)
        removed = self.passage_ids(doc_ids)
        lexical.remove(self.conn, removed)
        for doc_id in doc_ids:
            self.conn.execute("DELETE FROM passages WHERE doc_id = ?", (doc_id,))
            self.conn.execute("DELETE FROM documents WHERE id = ?", (doc_id,))
        return removed

    def add_document(self, doc: Document, digest: str, passages: Sequence[Passage]) -> list[int]:
        """Insert a document and its passages (text and lexical index), giving each passage a fresh stable id; returns
        the ids."""
        first = self.next_id()
        ids = list(range(first, first + len(passages)))
        self.db["documents"].insert(
            {
                "id": doc.id,
                "title": doc.title,
                "source": doc.source,
                "text": doc.text,
                "hash": digest,
                "metadata": json.dumps(doc.metadata, ensure_ascii=False),
                "passages": len(passages),
            }
        )
        self.db["passages"].insert_all(
            {"id": pid, "doc_id": doc.id, "ordinal": n, "start": p.start, "end": p.end, "title": p.title, "text": p.text}
            for n, (pid, p) in enumerate(zip(ids, passages))
        )
        lexical.add(self.conn, ids)
        for pid, p in zip(ids, passages):
            p.id = pid
        self.set_meta("next_passage_id", str(first + len(passages)))
        return ids
