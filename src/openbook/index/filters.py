"""Metadata filters: which passages a search may return, decided in SQLite before any ranking.

Two ways to write one, turned into the same :class:`Filter`:

- clauses (``--where`` on the command line), all of which must hold: ``KEY OP VALUE`` with ``OP`` one of
  ``= != < <= > >=``, or ``KEY in A,B,C`` / ``KEY not in A,B,C``. A value that reads as a number is a number
  (``year>=2020``), ``true``/``false`` are booleans, anything else is a string; quote it to keep it a string
  (``code="007"``). Keys are metadata keys (``author``, nested ``pdf.author``; a leading ``meta.`` is allowed).
- a dict in the style of Haystack's filters: ``{"field": "meta.year", "operator": ">=", "value": 2020}``, and
  ``{"operator": "AND" | "OR" | "NOT", "conditions": [...]}`` (NOT holds when not all its conditions do).

A passage's metadata is its document's merged with its own (page, section), the passage's winning. Comparisons:
numbers with numbers (``year=2020`` also matches the string ``"2020"``), strings with strings (ISO dates order as
text); ``<``/``>`` never match a missing key or a value of the other kind, ``!=`` and ``not in`` do match a missing key.
:meth:`Filter.passage_ids` runs the filter as one SQL query over ``documents.metadata`` (and ``passages.metadata``
where the store has it) with ``json_extract``.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Union

import numpy as np

from openbook.errors import OpenbookError

Scalar = Union[str, int, float, bool]
COMPARISONS = ("=", "!=", "<", "<=", ">", ">=", "in", "not in")
LOGIC = ("AND", "OR", "NOT")
_DICT_OPERATORS = {"==": "=", **{op: op for op in COMPARISONS}}
_KEY = re.compile(r"[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*")
_CLAUSE = re.compile(
    rf"\s*(?P<key>{_KEY.pattern})\s*(?:(?P<op>!=|<=|>=|==|=|<|>)|\s(?P<word>not\s+in|in)\s)\s*(?P<value>.*?)\s*",
    re.IGNORECASE | re.DOTALL,
)
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
GRAMMAR = "KEY OP VALUE with OP one of = != < <= > >=, or KEY in A,B"


@dataclass(frozen=True)
class Value:
    """A value to compare with: ``data`` as typed, ``text`` as written (a number also matches its written form)."""

    data: Scalar
    text: str

    @classmethod
    def of(cls, data: Any, where: str) -> Value:
        if isinstance(data, bool) or isinstance(data, str):
            return cls(data, data if isinstance(data, str) else json.dumps(data))
        if isinstance(data, (int, float)) and math.isfinite(data):
            return cls(data, json.dumps(data))
        raise OpenbookError(f"bad filter {where}: a value must be a string, a number or a boolean, not {data!r}")


@dataclass(frozen=True)
class Condition:
    """``key op value``; ``value`` is a tuple for ``in`` and ``not in``."""

    key: str
    op: str
    value: Value | tuple[Value, ...]

    def sql(self, value_of: str) -> tuple[str, list[Any]]:
        v = value_of
        if self.op in ("in", "not in"):
            assert isinstance(self.value, tuple)
            parts = [_equal(v, item) for item in self.value]
            sql = " OR ".join(p for p, _ in parts) or "0"
            params = [x for _, ps in parts for x in ps]
            return (f"({sql})", params) if self.op == "in" else (f"({v} IS NULL OR NOT ({sql}))", params)
        assert isinstance(self.value, Value)
        if self.op == "=":
            return _equal(v, self.value)
        if self.op == "!=":
            sql, params = _equal(v, self.value)
            return f"({v} IS NULL OR NOT {sql})", params
        kinds = "'text'" if isinstance(self.value.data, str) else "'integer', 'real'"
        return f"(typeof({v}) IN ({kinds}) AND {v} {self.op} ?)", [self.value.data]

    def to_dict(self) -> dict[str, Any]:
        value = [x.data for x in self.value] if isinstance(self.value, tuple) else self.value.data
        return {"field": f"meta.{self.key}", "operator": "==" if self.op == "=" else self.op, "value": value}

    def __str__(self) -> str:
        if isinstance(self.value, tuple):
            return f"{self.key} {self.op} {','.join(x.text for x in self.value)}"
        return f"{self.key}{self.op}{self.value.text}"


@dataclass(frozen=True)
class Logic:
    """``AND``/``OR`` of conditions; ``NOT``: not all of them."""

    op: str
    conditions: tuple[Node, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"operator": self.op, "conditions": [c.to_dict() for c in self.conditions]}

    def __str__(self) -> str:
        inner = f" {'OR' if self.op == 'OR' else 'AND'} ".join(
            f"({c})" if isinstance(c, Logic) else str(c) for c in self.conditions
        )
        return f"NOT ({inner})" if self.op == "NOT" else inner


Node = Union[Condition, Logic]


class Filter:
    """A metadata filter; :meth:`passage_ids` gives the passages of a store that it lets through."""

    def __init__(self, root: Node) -> None:
        self.root = root

    @classmethod
    def parse(cls, clauses: Iterable[str]) -> Filter:
        """All of ``clauses`` (see the module's grammar)."""
        conditions = tuple(_clause(c) for c in clauses)
        return cls(conditions[0] if len(conditions) == 1 else Logic("AND", conditions))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Filter:
        """A Haystack-style filter dict."""
        return cls(_node(data))

    def to_dict(self) -> dict[str, Any]:
        return self.root.to_dict()

    def __str__(self) -> str:
        return str(self.root)

    def __repr__(self) -> str:
        return f"Filter({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Filter) and self.root == other.root

    def sql(self, passage_metadata: bool = True) -> tuple[str, list[Any]]:
        """A WHERE condition over ``passages p JOIN documents d`` and its parameters; ``passage_metadata``: the store's
        passages have a ``metadata`` column."""
        return _sql(self.root, passage_metadata)

    def passage_ids(self, conn: sqlite3.Connection) -> np.ndarray:
        """Ids (int64, ascending) of the passages whose metadata passes the filter."""
        where, params = self.sql(has_passage_metadata(conn))
        rows = conn.execute(
            f"SELECT p.id FROM passages p JOIN documents d ON d.id = p.doc_id WHERE {where} ORDER BY p.id", params
        )
        return np.fromiter((r[0] for r in rows), dtype=np.int64)

    def document_ids(self, conn: sqlite3.Connection) -> set[str]:
        """Ids of the documents holding at least one passage whose metadata passes the filter."""
        where, params = self.sql(has_passage_metadata(conn))
        rows = conn.execute(
            f"SELECT DISTINCT p.doc_id FROM passages p JOIN documents d ON d.id = p.doc_id WHERE {where}", params
        )
        return {r[0] for r in rows}


def parse_where(clauses: Sequence[str]) -> Filter:
    """A filter from ``--where`` clauses, all of which must hold."""
    return Filter.parse(clauses)


def as_filter(where: Filter | Mapping[str, Any] | Sequence[str] | str | None) -> Filter | None:
    """``where`` as a :class:`Filter`: a filter, a Haystack-style dict, clauses or one clause; None and an empty list
    mean no filter."""
    if where is None or isinstance(where, Filter):
        return where
    if isinstance(where, Mapping):
        return Filter.from_dict(where)
    if isinstance(where, str):
        return parse_where([where])
    if isinstance(where, Sequence) and all(isinstance(c, str) for c in where):
        return parse_where(where) if where else None
    raise OpenbookError(f"bad filter {where!r}: use a dict, a list of clauses like 'year>=2020', or a Filter")


def has_passage_metadata(conn: sqlite3.Connection) -> bool:
    """Whether the store's passages keep metadata of their own (page, section)."""
    return any(row[1] == "metadata" for row in conn.execute("PRAGMA table_info(passages)"))


def metadata(conn: sqlite3.Connection, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Each passage's metadata: its document's merged with its own, by passage id (unknown ids left out)."""
    own = "p.metadata" if has_passage_metadata(conn) else "NULL"
    out: dict[int, dict[str, Any]] = {}
    unique = list(dict.fromkeys(int(i) for i in ids))
    for start in range(0, len(unique), 500):
        part = unique[start : start + 500]
        rows = conn.execute(
            f"SELECT p.id, d.metadata, {own} FROM passages p JOIN documents d ON d.id = p.doc_id "
            f"WHERE p.id IN ({','.join('?' * len(part))})",
            part,
        )
        for pid, doc, mine in rows:
            out[pid] = {**_object(doc), **_object(mine)}
    return out


def _object(text: str | None) -> dict[str, Any]:
    try:
        data = json.loads(text) if text else {}
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


# --- parsing -----------------------------------------------------------------------------------------------------
def _clause(clause: str) -> Condition:
    if not isinstance(clause, str):
        raise OpenbookError(f"bad filter clause {clause!r}: expected {GRAMMAR}")
    m = _CLAUSE.fullmatch(clause)
    if m is None or not m.group("value"):
        raise OpenbookError(f"bad filter clause {clause!r}: expected {GRAMMAR}")
    key = _key(m.group("key"), clause)
    if m.group("word"):
        op = "not in" if m.group("word").lower().startswith("not") else "in"
        items = _split(m.group("value"), clause)
        return Condition(key, op, tuple(_literal(x, clause) for x in items))
    op = "=" if m.group("op") == "==" else m.group("op")
    if m.group("value")[0] in "=<>!":
        raise OpenbookError(f"bad filter clause {clause!r}: expected {GRAMMAR}")
    value = _literal(m.group("value"), clause)
    _check_order(op, value, clause)
    return Condition(key, op, value)


def _literal(text: str, clause: str) -> Value:
    text = text.strip()
    if text[:1] in ("'", '"'):
        if len(text) < 2 or text[-1] != text[0] or text[0] in text[1:-1]:
            raise OpenbookError(f"bad filter clause {clause!r}: a quoted value needs its closing quote")
        return Value(text[1:-1], text)
    if _NUMBER.fullmatch(text):
        number = float(text)
        if number.is_integer() and re.fullmatch(r"[-+]?\d+", text):
            return Value(int(text), text)
        return Value(number, text)
    if text.lower() in ("true", "false"):
        return Value(text.lower() == "true", text.lower())
    return Value(text, text)


_ITEM = re.compile(r"""\s*("[^"]*"|'[^']*'|[^,"']*?)\s*(,|\Z)""")


def _split(text: str, clause: str) -> list[str]:
    """Comma-separated items, each possibly quoted."""
    items: list[str] = []
    pos = 0
    while True:
        m = _ITEM.match(text, pos)
        if m is None or not m.group(1):
            raise OpenbookError(f"bad filter clause {clause!r}: 'in' takes a list of values like A,B,C")
        items.append(m.group(1))
        if m.group(2) != ",":
            return items
        pos = m.end()


def _key(field: Any, where: str) -> str:
    if not isinstance(field, str):
        raise OpenbookError(f"bad filter {where}: a field must be a string")
    key = field[5:] if field.startswith("meta.") else field
    if not _KEY.fullmatch(key):
        raise OpenbookError(f"bad filter {where}: {field!r} is not a metadata key (letters, digits, _, -, dots)")
    return key


def _check_order(op: str, value: Value, where: str) -> None:
    if op in ("<", "<=", ">", ">=") and isinstance(value.data, bool):
        raise OpenbookError(f"bad filter {where!r}: {op} compares numbers or strings, not booleans")


def _node(data: Any) -> Node:
    if not isinstance(data, Mapping):
        raise OpenbookError(f"bad filter {data!r}: expected a dict with 'operator'")
    op = data.get("operator")
    if isinstance(op, str) and op.upper() in LOGIC and "conditions" in data:
        conditions = data["conditions"]
        if not isinstance(conditions, list) or not conditions:
            raise OpenbookError(f"bad filter {op}: 'conditions' must be a non-empty list")
        return Logic(op.upper(), tuple(_node(c) for c in conditions))
    if op not in _DICT_OPERATORS or "field" not in data or "value" not in data:
        raise OpenbookError(
            f"bad filter {dict(data)!r}: expected field, operator ({', '.join(_DICT_OPERATORS)}) and value, "
            f"or operator ({', '.join(LOGIC)}) and conditions"
        )
    where = f"on {data['field']!r}"
    key = _key(data["field"], where)
    op = _DICT_OPERATORS[op]
    if op in ("in", "not in"):
        if not isinstance(data["value"], list):
            raise OpenbookError(f"bad filter {where}: '{op}' takes a list of values")
        return Condition(key, op, tuple(Value.of(v, where) for v in data["value"]))
    value = Value.of(data["value"], where)
    _check_order(op, value, where)
    return Condition(key, op, value)


# --- SQL -----------------------------------------------------------------------------------------------------------
def _value_sql(key: str, passage_metadata: bool) -> str:
    path = "'$" + "".join(f'."{part}"' for part in key.split(".")) + "'"  # the key's characters are checked: no quotes
    doc = f"json_extract(d.metadata, {path})"
    return f"COALESCE(json_extract(p.metadata, {path}), {doc})" if passage_metadata else doc


def _equal(v: str, value: Value) -> tuple[str, list[Any]]:
    if isinstance(value.data, (int, float)) and not isinstance(value.data, bool):
        return f"({v} = ? OR {v} = ?)", [value.data, value.text]
    return f"({v} = ?)", [int(value.data) if isinstance(value.data, bool) else value.data]


def _sql(node: Node, passage_metadata: bool) -> tuple[str, list[Any]]:
    if isinstance(node, Condition):
        return node.sql(_value_sql(node.key, passage_metadata))
    parts = [_sql(c, passage_metadata) for c in node.conditions]
    joined = f" {'OR' if node.op == 'OR' else 'AND'} ".join(f"({s})" for s, _ in parts) or "1"
    params = [x for _, ps in parts for x in ps]
    return (f"NOT ({joined})", params) if node.op == "NOT" else (f"({joined})", params)
