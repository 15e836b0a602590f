"""Filters through the real retriever (default INT8 model, an index folder): k hits from passages that rank below the
unfiltered top 100 in dense, lexical and hybrid search, metadata in every result, and a lexical search that never loads
or compiles the embedding model."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from openbook.cli.app import app
from openbook.errors import OpenbookError
from openbook.qa.pipeline import OpenBook
from openbook.retrieval.retriever import Retriever
from tests.conftest import DEFAULT_READER, DEFAULT_RETRIEVER
from tests.retrieval.filtered_corpus import BEES, QUESTION, TAX, TAX_IDS



@pytest.fixture(scope="module")
def retriever(tmp_path_factory, vocab) -> Retriever:
    r = Retriever(tmp_path_factory.mktemp("filtered") / "index", model=DEFAULT_RETRIEVER)
    r.add(BEES + TAX)
    return r


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_filter_returns_k_hits_from_below_the_unfiltered_top_100(retriever, mode):
    top = retriever.search(QUESTION, k=100, mode=mode)
    assert len(top) == 100 and not {r.passage.doc_id for r in top} & TAX_IDS
    found = retriever.search(QUESTION, k=3, mode=mode, where=["year>=2024"])
    assert len(found) == 3 and {r.passage.doc_id for r in found} <= TAX_IDS
    assert [r.rank for r in found] == [1, 2, 3]
    assert all(r.passage.metadata["topic"] == "tax" and r.passage.metadata["year"] == 2024 for r in found)
    every = retriever.search(QUESTION, k=10, mode=mode, where={"field": "meta.topic", "operator": "==", "value": "tax"})
    assert {r.passage.doc_id for r in every} == TAX_IDS  # all five, no more: only five pass


def test_filters_combine_and_metadata_comes_back(retriever):
    found = retriever.search(QUESTION, k=5, where=["topic=bees", "year in 2003,2004"])
    assert len(found) == 5 and all(r.passage.metadata["year"] in (2003, 2004) for r in found)
    plain = retriever.search(QUESTION, k=1)[0]
    assert plain.passage.metadata == {"year": 2000 + int(plain.passage.doc_id.split("-")[1]) % 20, "topic": "bees"}
    assert retriever.search(QUESTION, k=5, where=["year>3000"]) == []
    many = retriever.search_many([QUESTION, "customs forms"], k=2, where=["office<=1"])
    assert [sorted(r.passage.doc_id for r in row) for row in many] == [["tax-0", "tax-1"], ["tax-0", "tax-1"]]
    with pytest.raises(OpenbookError, match="bad filter clause 'year>>1'"):
        retriever.search(QUESTION, where=["year>>1"])


def test_ask_with_a_filter_answers_from_the_passing_passages(retriever):
    book = OpenBook(retriever=retriever, reader=DEFAULT_READER)
    answers = book.ask("What do customs offices list forms for?", where=["topic=tax", "office>=3"])
    assert answers and {a.passage.doc_id for a in answers} <= {"tax-3", "tax-4"}
    data = answers[0].to_dict()["passage"]
    assert data == answers[0].passage.to_dict() and data["metadata"]["topic"] == "tax"


@pytest.fixture
def no_model(monkeypatch):
    """Loading or compiling any model fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("a model was loaded")

    monkeypatch.setattr("openbook.models.embedder.Embedder.__init__", refuse)
    monkeypatch.setattr("openbook.models.runtime.CompiledModel.__init__", refuse)


def test_lexical_search_never_loads_the_embedder(retriever, no_model):
    lexical = Retriever(retriever.index_path, mode="lexical")
    found = lexical.search(QUESTION, k=3, where=["year>=2024"])
    assert len(found) == 3 and lexical._embedder is None
    with pytest.raises(AssertionError, match="a model was loaded"):
        lexical.search(QUESTION, k=3, mode="dense")


def test_cli_lexical_search_with_where_loads_no_model(retriever, no_model):
    where = ["--index", retriever.index_path.name, "--index-dir", str(retriever.index_path.parent)]
    args = ["search", QUESTION, *where, "--mode", "lexical", "-k", "2", "--json"]
    result = CliRunner().invoke(app, [*args, "--where", "topic=tax"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["where"] == {"field": "meta.topic", "operator": "==", "value": "tax"}
    rows = data["results"]
    assert [r["rank"] for r in rows] == [1, 2] and all(r["found_by"] == {"lexical": r["rank"]} for r in rows)
    assert set(rows[0]) == {"rank", "score", "found_by", "scores", "passage"}
    passage = rows[0]["passage"]
    assert set(passage) == {"id", "doc_id", "title", "source", "start", "end", "text", "metadata"}
    assert passage["doc_id"] in TAX_IDS and passage["metadata"]["topic"] == "tax"
    text = CliRunner().invoke(app, args[:-1] + ["-w", "year=2024"])
    assert text.exit_code == 0 and "topic: tax" in text.stdout and "year: 2024" in text.stdout
