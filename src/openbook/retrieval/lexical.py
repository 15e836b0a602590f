"""Lexical search: BM25 over the passages' words (SQLite FTS5), within the allowed passages."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

import numpy as np

from openbook.index import lexical
from openbook.retrieval.fusion import Hit


class LexicalSearcher:
    """Top passages by BM25 over the FTS5 index kept in the store's database ``conn``."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def search(self, questions: Sequence[str], k: int, allowed: np.ndarray | None = None) -> list[list[Hit]]:
        """Top-``k`` (passage id, score) for each question, best first; only ``allowed`` ids when given."""
        return [search_words(self.conn, q, k, allowed) for q in questions]


def search_words(conn: sqlite3.Connection, question: str, k: int, allowed: np.ndarray | None = None) -> list[Hit]:
    """:func:`openbook.index.lexical.search` restricted to the ``allowed`` passage ids before ranking (one SQL
    condition on the FTS5 rowid), so ``k`` hits come back whenever ``k`` allowed passages share a word with the
    question."""
    if allowed is None:
        return lexical.search(conn, question, k)
    query = lexical.match_expression(question)
    if query is None or k < 1 or len(allowed) == 0:
        return []
    table = lexical.TABLE
    # The matches are ranked once, then kept if allowed: a rowid condition inside the MATCH query makes SQLite run the
    # full-text query once per allowed id (42 s for 1,000 ids of 20,000 passages, against 0.4 s this way).
    rows = conn.execute(
        f"WITH hits AS MATERIALIZED (SELECT rowid AS id, rank FROM {table} WHERE {table} MATCH ?) "
        "SELECT id, rank FROM hits WHERE id IN (SELECT value FROM json_each(?)) ORDER BY rank LIMIT ?",
        (query, json.dumps([int(i) for i in allowed]), k),
    )
    return [(int(pid), -float(rank)) for pid, rank in rows]
