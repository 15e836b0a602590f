"""The few library calls whose final form is still arriving, each behind one small function.

- JSON of results and answers: ``SearchResult.to_dict`` / ``RankedAnswer.to_dict`` (the CLI's ``--json`` schema); until
  ``SearchResult.to_dict`` and ``Passage.to_dict`` exist, the same fields are built here.
- ``Retriever.remove`` / ``Retriever.documents``: until they exist, a minimal stand-in over the index's own store and
  vectors inside one ``Index.transaction``.
- ``where=`` and ``min_confidence=``: passed on only where the library takes them; asked for where it does not, they
  are refused with a clear message rather than silently ignored.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import asdict
from typing import Any

from openbook.errors import OpenbookError
from openbook.types import Passage, SearchResult


# --- JSON ------------------------------------------------------------------------------------------------------------
def passage_json(passage: Passage) -> dict[str, Any]:
    if hasattr(passage, "to_dict"):
        return passage.to_dict()
    data = asdict(passage)
    return {key: data[key] for key in ("id", "doc_id", "title", "source", "start", "end", "text", "metadata")}


def result_json(result: SearchResult) -> dict[str, Any]:
    if hasattr(result, "to_dict"):
        return result.to_dict()
    return {
        "passage": passage_json(result.passage),
        "score": round(float(result.score), 6),
        "rank": result.rank,
        "found_by": result.found_by,
        "scores": {k: round(float(v), 6) for k, v in result.scores.items()},
    }


def answer_json(answer: Any) -> dict[str, Any]:
    """An answer as the CLI's ``--json`` prints it, with ``passage`` as the passage object of the shared schema."""
    data = answer.to_dict()
    if not isinstance(data.get("passage"), dict):
        data["passage"] = passage_json(answer.passage)
    return data


# --- optional keyword arguments ---------------------------------------------------------------------------------------
def accepts(function: Any, name: str) -> bool:
    return name in inspect.signature(function).parameters


def options(function: Any, **given: Any) -> dict[str, Any]:
    """The keyword arguments in ``given`` that are set; one that ``function`` does not take yet is refused."""
    out = {}
    for name, value in given.items():
        if value is None:
            continue
        if not accepts(function, name):
            what = {"where": "metadata filters", "min_confidence": "a confidence threshold"}.get(name, name)
            raise OpenbookError(f"this openbook does not support {what} yet")
        out[name] = value
    return out


# --- documents: list and remove ---------------------------------------------------------------------------------------
def list_documents(retriever: Any, where: Any = None, limit: int | None = None) -> list[dict[str, Any]]:
    if hasattr(retriever, "documents"):
        return retriever.documents(**options(retriever.documents, where=where, limit=limit))
    if where:
        raise OpenbookError("this openbook does not support metadata filters yet")
    store = retriever.index.store
    if store is None:
        return []
    rows = store.conn.execute(
        "SELECT id, title, source, passages, metadata FROM documents ORDER BY id LIMIT ?", (limit or -1,)
    )
    return [
        {"id": r[0], "title": r[1], "source": r[2], "passages": r[3], "metadata": json.loads(r[4] or "{}")}
        for r in rows
    ]


def remove_documents(retriever: Any, doc_ids: list[str]) -> int:
    """Remove documents (text, lexical index and vectors) in one atomic write; returns the passages removed."""
    if hasattr(retriever, "remove"):
        return int(retriever.remove(doc_ids))
    index = retriever.index
    with index.transaction(retriever.embedder.dimension) as tx:
        with tx.store.conn:
            removed = tx.store.delete_documents(doc_ids)
            tx.vectors.remove(removed)
        tx.discard = not removed
    return len(removed)
