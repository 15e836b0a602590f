"""BM25 over the passages with SQLite FTS5: the lexical retriever, kept in the same database as the passage text.

The FTS5 table is an external-content index over ``passages`` (its rowid is the passage id), tokenised with Porter
stemming over ``unicode61`` with diacritics removed. Questions are tokenised here, stop words dropped and every word
quoted, so nothing a user types is read as FTS5 syntax.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Sequence

import numpy as np

TABLE = "passages_fts"
TOKENIZE = "porter unicode61 remove_diacritics 2"

STOP_WORDS = frozenset(
    """
    a about above after again against all also am an and any are as at be because been before being below between
    both but by can could did do does doing down during each few for from further had has have having he her here
    hers herself him himself his how i if in into is it its itself just me more most my myself no nor not now of off
    on once only or other our ours ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were what when where which
    while who whom whose why will with would you your yours yourself yourselves s t d ll m re ve don doesn didn isn
    wasn aren weren won
    """.split()
)

_WORD = re.compile(r"[^\W_]+")  # runs of letters and digits, as unicode61 splits text


def query_terms(question: str) -> list[str]:
    """The question's searchable words: lower-cased runs of letters and digits, stop words left out, each once."""
    words = (w for w in _WORD.findall(question.lower()) if w not in STOP_WORDS)
    return list(dict.fromkeys(words))


def match_expression(question: str) -> str | None:
    """An FTS5 query matching any of the question's words, each quoted as a plain string; None when there are none."""
    terms = query_terms(question)
    return " OR ".join(f'"{t}"' for t in terms) if terms else None


def has_table(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (TABLE,)).fetchone() is not None


def create_table(conn: sqlite3.Connection) -> None:
    """Create the index over ``passages(title, text)`` and fill it from the rows already there."""
    conn.execute(
        f"CREATE VIRTUAL TABLE {TABLE} USING fts5(title, text, content='passages', content_rowid='id', "
        f"tokenize='{TOKENIZE}')"
    )
    conn.execute(f"INSERT INTO {TABLE}({TABLE}) VALUES ('rebuild')")


def add(conn: sqlite3.Connection, ids: Sequence[int]) -> None:
    """Index the passages ``ids`` (already inserted into ``passages``)."""
    for part in _chunks(ids):
        marks = ",".join("?" * len(part))
        conn.execute(
            f"INSERT INTO {TABLE}(rowid, title, text) SELECT id, title, text FROM passages WHERE id IN ({marks})", part
        )


def remove(conn: sqlite3.Connection, ids: Sequence[int]) -> None:
    """Unindex the passages ``ids``; call it before their rows leave ``passages`` (it needs their text)."""
    for part in _chunks(ids):
        marks = ",".join("?" * len(part))
        conn.execute(
            f"INSERT INTO {TABLE}({TABLE}, rowid, title, text) "
            f"SELECT 'delete', id, title, text FROM passages WHERE id IN ({marks})",
            part,
        )


def indexed_ids(conn: sqlite3.Connection) -> list[int]:
    """Ids of the passages in the lexical index, ascending (from FTS5's own per-row table, not the content)."""
    return [r[0] for r in conn.execute(f"SELECT id FROM {TABLE}_docsize ORDER BY id")]


def search(
    conn: sqlite3.Connection, question: str, k: int, allowed: np.ndarray | None = None
) -> list[tuple[int, float]]:
    """Top-``k`` (passage id, BM25 score) for ``question``, best first; the score is ``-bm25()``, so higher is better.

    ``allowed`` (passage ids) restricts the match before ranking, so ``k`` hits come back whenever ``k`` allowed
    passages match."""
    query = match_expression(question)
    if query is None or k < 1:
        return []
    if allowed is None:
        rows = conn.execute(
            f"SELECT rowid, rank FROM {TABLE} WHERE {TABLE} MATCH ? ORDER BY rank LIMIT ?", (query, k)
        ).fetchall()
    else:
        ids = np.unique(np.asarray(allowed, dtype=np.int64))
        if len(ids) == 0:
            return []
        rows = conn.execute(
            f"SELECT rowid, rank FROM {TABLE} WHERE {TABLE} MATCH ? AND rowid IN (SELECT value FROM json_each(?)) "
            "ORDER BY rank LIMIT ?",
            (query, json.dumps(ids.tolist()), k),
        ).fetchall()
    return [(int(pid), -float(rank)) for pid, rank in rows]


class LexicalIndex:
    """BM25 search over the FTS5 table of one SQLite connection (the lexical index protocol)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def search(self, question: str, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        return search(self.conn, question, k, allowed)

    def ids(self) -> np.ndarray:
        return np.asarray(indexed_ids(self.conn), dtype=np.int64)


def _chunks(ids: Iterable[int], size: int = 500) -> Iterable[list[int]]:
    ids = [int(i) for i in ids]
    for start in range(0, len(ids), size):
        yield ids[start : start + size]
