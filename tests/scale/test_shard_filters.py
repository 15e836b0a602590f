"""Metadata filters on sharded indexes: every shard filters before its own ranking (threads and Ray actors), so the
merged top k is the unsharded filtered top k, and k hits come back even when the matches rank far down."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from openbook.cli.app import app
from openbook.errors import OpenbookError
from openbook.retrieval.retriever import Retriever
from openbook.scale.shards import ShardedRetriever, split_index
from tests.conftest import DEFAULT_RETRIEVER
from tests.retrieval.filtered_corpus import BEES, QUESTION, TAX, TAX_IDS

SOME_YEARS = ["year in 2003,2004,2005,2010,2017"]  # 30 of the 120 bee documents


@pytest.fixture(scope="module")
def indexes(tmp_path_factory, vocab):
    """125 one-passage documents with metadata, unsharded and split into 2 and 4 shards."""
    root = tmp_path_factory.mktemp("filtered-shards")
    base = Retriever(root / "base", model=DEFAULT_RETRIEVER)
    base.add(BEES + TAX)
    for n in (2, 4):
        split_index(root / "base", root / f"base-{n}", n)
    return root, base


def key(results) -> list[tuple[str, int]]:
    return [(r.passage.doc_id, r.passage.start) for r in results]


@pytest.mark.parametrize("shards", [2, 4])
def test_filtered_dense_search_over_shards_is_exactly_the_unsharded_filtered_top_10(indexes, shards):
    root, base = indexes
    sharded = ShardedRetriever(root / f"base-{shards}", mode="dense")
    questions = [QUESTION, "How far do foragers fly?", "customs forms for flowers"]
    want = base.search_many(questions, 10, "dense", where=SOME_YEARS)
    got = sharded.search_many(questions, 10, where=SOME_YEARS)
    unfiltered = base.search_many(questions, 10, "dense")
    for a, b, plain in zip(want, got, unfiltered):
        assert len(a) == len(b) == 10 and key(a) == key(b)
        assert np.allclose([h.score for h in a], [h.score for h in b], atol=1e-6)
        assert all(h.passage.metadata["year"] in (2003, 2004, 2005, 2010, 2017) for h in b)
        assert key(plain) != key(a)  # the filter changed the answer
    sharded.close()


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_filter_whose_matches_rank_below_the_top_100_returns_k_hits_over_shards(indexes, mode):
    root, base = indexes
    sharded = ShardedRetriever(root / "base-4", mode=mode)
    top = sharded.search(QUESTION, k=100)
    assert len(top) == 100 and not {r.passage.doc_id for r in top} & TAX_IDS
    found = sharded.search(QUESTION, k=3, where=["year>=2024"])
    assert len(found) == 3 and {r.passage.doc_id for r in found} <= TAX_IDS
    assert [r.rank for r in found] == [1, 2, 3]
    assert all(r.passage.metadata["topic"] == "tax" for r in found)
    every = sharded.search(QUESTION, k=10, where={"field": "meta.topic", "operator": "==", "value": "tax"})
    assert {r.passage.doc_id for r in every} == TAX_IDS  # all five, from several shards, no more
    assert sharded.search(QUESTION, k=5, where=["year>3000"]) == []
    if mode == "dense":  # the unsharded filtered ranking (BM25 keeps each shard's mean length: near ties may swap)
        assert key(found) == key(base.search(QUESTION, k=3, mode=mode, where=["year>=2024"]))
    sharded.close()


def test_filter_on_ray_actors_gives_the_thread_results(indexes, ray_cluster):
    root, _ = indexes
    threads = ShardedRetriever(root / "base-2")
    actors = ShardedRetriever(root / "base-2", ray_address="local")
    for mode in ("dense", "lexical", "hybrid"):
        for where in (SOME_YEARS, ["topic=tax", "office>=2"]):
            a = threads.search_many([QUESTION, "cut flowers by lorry"], 10, mode, where=where)
            b = actors.search_many([QUESTION, "cut flowers by lorry"], 10, mode, where=where)
            assert a == b and all(row for row in b)
    assert {d["id"] for d in actors.documents(where=["office>=2"])} == {"tax-2", "tax-3", "tax-4"}
    threads.close()
    actors.close()


def test_documents_of_a_sharded_index_by_metadata(indexes):
    root, base = indexes
    sharded = ShardedRetriever(root / "base-4")
    assert [d["id"] for d in sharded.documents()] == [d["id"] for d in base.documents()]
    assert [d["id"] for d in sharded.documents(where=["topic=tax", "office<2"])] == ["tax-0", "tax-1"]
    assert [d["id"] for d in sharded.documents("bees-1", limit=3)] == ["bees-1", "bees-10", "bees-100"]
    with pytest.raises(OpenbookError, match="bad filter clause 'year>>1'"):
        sharded.search(QUESTION, where=["year>>1"])
    sharded.close()


def test_cli_search_and_ask_with_where_on_a_sharded_index(indexes):
    root, _ = indexes
    where = ["--index", "base-4", "--index-dir", str(root)]
    found = CliRunner().invoke(app, ["search", QUESTION, *where, "-k", "3", "--where", "topic=tax", "--json"])
    assert found.exit_code == 0, found.output
    data = json.loads(found.stdout)
    assert data["where"] == {"field": "meta.topic", "operator": "==", "value": "tax"}
    assert len(data["results"]) == 3 and {r["passage"]["doc_id"] for r in data["results"]} <= TAX_IDS
    asked = CliRunner().invoke(app, ["ask", "What do customs offices list?", *where, "-w", "office>=3", "--json"])
    assert asked.exit_code == 0, asked.output
    answers = json.loads(asked.stdout)["answers"]
    assert answers and {a["passage"]["doc_id"] for a in answers} <= {"tax-3", "tax-4"}
    bad = CliRunner().invoke(app, ["search", QUESTION, *where, "--where", "year>>1"])
    assert bad.exit_code == 1 and "bad filter clause" in str(bad.exception)


def test_server_reads_a_sharded_index_with_filters_and_refuses_writes(indexes):
    pytest.importorskip("fastapi", reason="the server needs the serve extra (pip install -e '.[serve]')")
    from fastapi.testclient import TestClient

    from openbook.server.app import create_app
    from openbook.server.settings import ServerSettings
    from tests.server.conftest import wait_ready

    root, base = indexes
    with TestClient(create_app(ServerSettings(index=root / "base-4")), raise_server_exceptions=False) as client:
        wait_ready(client)
        info = client.get("/info").json()
        assert info["shards"] == 4 and info["passages"] == base.index.count_passages()
        for mode in ("dense", "lexical", "hybrid"):
            r = client.post("/search", json={"question": QUESTION, "k": 3, "mode": mode, "where": ["year>=2024"]})
            assert r.status_code == 200, r.json()
            assert len(r.json()["results"]) == 3 and {h["passage"]["doc_id"] for h in r.json()["results"]} <= TAX_IDS
        asked = client.post("/ask", json={"question": "What do customs offices list?", "where": "office>=3"})
        assert asked.status_code == 200, asked.json()
        assert asked.json()["answers"] and {a["passage"]["doc_id"] for a in asked.json()["answers"]} <= {
            "tax-3",
            "tax-4",
        }
        listed = client.get("/documents", params={"where": "office>=3"}).json()
        assert [d["id"] for d in listed["documents"]] == ["tax-3", "tax-4"]
        bad = client.post("/search", json={"question": QUESTION, "where": ["year>>1"]})
        assert bad.status_code == 400 and "bad filter" in bad.json()["error"]
        added = client.post("/documents", json={"documents": [{"id": "new", "text": "A new note."}]})
        removed = client.delete("/documents/tax-0")
        for r in (added, removed):
            assert r.status_code == 405 and "sharded" in r.json()["error"] and "\n" not in r.json()["error"]
    assert not (root / "base-4" / "index.json").exists()
    assert [d["id"] for d in ShardedRetriever(root / "base-4").documents(where=["topic=tax"])] == sorted(TAX_IDS)
