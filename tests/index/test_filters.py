"""Metadata filters: the --where grammar, Haystack-style dicts, and the passages they let through in a real store."""

from __future__ import annotations

import json

import numpy as np
import pytest

from openbook.errors import OpenbookError
from openbook.index import filters
from openbook.index.filters import Filter, as_filter, parse_where
from openbook.index.store import PassageStore
from openbook.types import Document, Passage

DOCS = [  # (id, metadata); each document gets two passages
    ("a", {"author": "Ann", "year": 2019, "lang": "en", "draft": True}),
    ("b", {"author": "Bob", "year": 2021, "lang": "fr", "draft": False}),
    ("c", {"author": "Ann", "year": 2024, "lang": "en", "pdf": {"pages": 12}}),
    ("d", {"author": "Cy", "year": "2021", "date": "2021-06-01"}),  # year as a string
    ("e", {}),
]


@pytest.fixture
def store() -> PassageStore:
    store = PassageStore(":memory:")
    with store.conn:
        for doc_id, meta in DOCS:
            text = f"Text of {doc_id}. More of {doc_id}."
            parts = [Passage(text[:10], doc_id, 0, 10), Passage(text[10:], doc_id, 10, len(text))]
            store.add_document(Document(doc_id, text, metadata=meta), "", parts)
    return store


def names(store: PassageStore, f: Filter) -> str:
    """The documents (by id, in order) whose passages ``f`` lets through; both passages of each pass together."""
    ids = f.passage_ids(store.conn).tolist()
    found = store.passages(ids)
    doc_ids = [found[i].doc_id for i in ids]
    assert doc_ids == sorted(doc_ids) and all(doc_ids.count(n) == 2 for n in doc_ids)
    return "".join(dict.fromkeys(doc_ids))


def docs(store: PassageStore, *clauses: str) -> str:
    return names(store, parse_where(list(clauses)))


def test_each_operator(store):
    assert docs(store, "author=Ann") == "ac"
    assert docs(store, "author==Ann") == "ac"
    assert docs(store, "author!=Ann") == "bde"  # != matches a missing key too
    assert docs(store, "year<2021") == "a"
    assert docs(store, "year<=2021") == "ab"  # d's year is the string "2021": only = and in compare its text
    assert docs(store, "year>2021") == "c"
    assert docs(store, "year>=2021") == "bc"
    assert docs(store, "lang in en,fr") == "abc"
    assert docs(store, "lang not in fr") == "acde"


def test_numbers_and_strings(store):
    assert docs(store, "year=2021") == "bd"  # a number also matches the same number written as a string
    assert docs(store, 'year="2021"') == "d"  # quoted: the string only
    assert docs(store, "date>=2021-01-01") == "d"  # strings order as text (ISO dates)
    assert docs(store, "date>2022") == ""
    assert docs(store, "author>=B") == "bd"  # strings compare with strings, never with numbers
    assert docs(store, "draft=true") == "a" and docs(store, "draft=false") == "b"
    assert docs(store, "year in 2019, 2024") == "ac"
    assert docs(store, "pdf.pages>10") == "c" and docs(store, "meta.pdf.pages=12") == "c"


def test_clauses_all_hold(store):
    assert docs(store, "author=Ann", "year>2020") == "c"
    assert docs(store, "author=Nobody") == ""
    assert docs(store) == "abcde"  # no clause: every passage


def test_haystack_style_dicts(store):
    def ids(d):
        return names(store, Filter.from_dict(d))

    assert ids({"field": "meta.year", "operator": ">=", "value": 2021}) == "bc"
    assert ids({"field": "meta.author", "operator": "in", "value": ["Bob", "Cy"]}) == "bd"
    both = {"operator": "AND", "conditions": [
        {"field": "meta.author", "operator": "==", "value": "Ann"},
        {"field": "meta.year", "operator": ">", "value": 2020},
    ]}
    assert ids(both) == "c"
    either = {"operator": "OR", "conditions": [
        {"field": "meta.lang", "operator": "==", "value": "fr"},
        {"field": "meta.year", "operator": "<", "value": 2020},
    ]}
    assert ids(either) == "ab"
    assert ids({"operator": "NOT", "conditions": [both]}) == "abde"
    # the grammar and the dict give the same filter, and a filter survives to_dict
    assert parse_where(["author=Ann", "year>2020"]) == Filter.from_dict(both)
    assert Filter.from_dict(both.copy()).to_dict() == both


def test_passage_metadata_overrides_the_documents(store):
    """Stores that keep the passage's own metadata (page, section) merge it over the document's."""
    first, second = store.passage_ids(["c"])
    store.conn.execute("UPDATE passages SET metadata = ? WHERE id = ?", (json.dumps({"page": 1}), first))
    store.conn.execute("UPDATE passages SET metadata = ? WHERE id = ?", (json.dumps({"page": 2, "year": 1999}), second))
    assert parse_where(["page=2"]).passage_ids(store.conn).tolist() == [second]
    assert parse_where(["year=2024"]).passage_ids(store.conn).tolist() == [first]
    merged = filters.metadata(store.conn, [first, second, 999])
    assert merged[second] == {"author": "Ann", "year": 1999, "lang": "en", "pdf": {"pages": 12}, "page": 2}
    assert merged[first]["page"] == 1 and 999 not in merged


def test_metadata_of_a_store_without_passage_metadata(store):
    (pid, _) = store.passage_ids(["b"])
    assert filters.metadata(store.conn, [pid]) == {pid: dict(DOCS[1][1])}


@pytest.mark.parametrize(
    "clause",
    ["year>>2020", "year", "=2020", "year=", "year in ", "year in a,,b", "year in a,", "two words=1", "a.=1",
     "draft<true", "x=\"unclosed", "1abc=2"],
)
def test_bad_clauses_are_one_line_errors(clause):
    with pytest.raises(OpenbookError) as err:
        parse_where([clause])
    message = str(err.value)
    assert "\n" not in message and repr(clause) in message


@pytest.mark.parametrize(
    "bad",
    [{"field": "meta.year", "operator": "~", "value": 1}, {"field": "meta.year", "operator": "in", "value": 3},
     {"operator": "AND", "conditions": []}, {"field": "meta.x", "operator": "==", "value": [1]},
     {"field": "meta.a b", "operator": "==", "value": 1}, {"field": "meta.y", "operator": ">", "value": True},
     {"field": "meta.y", "operator": "==", "value": float("nan")}, "year"],
)
def test_bad_dicts_are_one_line_errors(bad):
    with pytest.raises(OpenbookError) as err:
        Filter.from_dict(bad) if isinstance(bad, dict) else as_filter(3.5)  # type: ignore[arg-type]
    assert "\n" not in str(err.value)


def test_as_filter_accepts_every_form():
    f = parse_where(["year>=2020"])
    assert as_filter(None) is None and as_filter([]) is None and as_filter(f) is f
    assert as_filter("year>=2020") == f and as_filter(["year>=2020"]) == f
    assert as_filter({"field": "year", "operator": ">=", "value": 2020}) == f
    assert str(parse_where(["author=Ann", "lang in en,fr"])) == "author=Ann AND lang in en,fr"


def test_keys_and_values_never_reach_sql_as_text(store):
    """Values are bound parameters; a key can only hold letters, digits, _, - and dots."""
    evil = "x'); DROP TABLE passages; --"
    assert parse_where([f"author={evil}"]).passage_ids(store.conn).size == 0
    assert store.count_passages() == 2 * len(DOCS)
    with pytest.raises(OpenbookError):
        parse_where([f"{evil}=1"])
    assert isinstance(parse_where(["author=Ann"]).passage_ids(store.conn), np.ndarray)
