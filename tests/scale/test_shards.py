"""Sharded search: N shard indexes searched in parallel and merged, against the unsharded index."""

from __future__ import annotations

import json

import numpy as np
import pytest

from openbook.errors import OpenbookError
from openbook.index.folder import Index
from openbook.ingest.loaders import load_documents
from openbook.retrieval.retriever import Retriever
from openbook.scale.shards import ShardedRetriever, global_bm25, idf, merge_lexical, shard_of, split_index
from tests.conftest import DEFAULT_RETRIEVER
from tests.scale.conftest import CORPUS, QUESTIONS, SMALL_PASSAGES


@pytest.fixture(scope="module")
def indexes(tmp_path_factory, vocab):
    """The bundled corpus in small passages, unsharded and split into 2 and 4 shards."""
    root = tmp_path_factory.mktemp("indexes")
    base = Retriever(root / "base", model=DEFAULT_RETRIEVER)
    base.add(load_documents([CORPUS]), passage_tokens=SMALL_PASSAGES)
    for n in (1, 2, 4):
        split_index(root / "base", root / f"base-{n}", n)
    return root, base


def same_top(a, b) -> bool:
    return [(h.passage.id, h.passage.doc_id) for h in a] == [(h.passage.id, h.passage.doc_id) for h in b]


@pytest.mark.parametrize("shards", [2, 4])
def test_dense_search_over_shards_is_exactly_the_unsharded_top_10(indexes, shards):
    root, base = indexes
    sharded = ShardedRetriever(root / f"base-{shards}", mode="dense")
    assert base.index.count_passages() > 20
    want, got = base.search_many(QUESTIONS, 10, "dense"), sharded.search_many(QUESTIONS, 10)
    for a, b in zip(want, got):
        assert len(a) == len(b) == 10 and same_top(a, b)
        assert np.allclose([h.score for h in a], [h.score for h in b], atol=1e-6)
        assert all(h.passage.text for h in b)
    sharded.close()


def test_shards_partition_the_documents_by_their_id(indexes):
    root, base = indexes
    manifest = json.loads((root / "base-4" / "shards.json").read_text())
    assert (
        manifest["shards"] == [f"shard-{n}" for n in range(4)] and manifest["model"]["name"] == base.index.model["name"]
    )
    sharded = ShardedRetriever(root / "base-4")
    assert sharded.index.count_passages() == base.index.count_passages()
    assert sharded.index.count_documents() == base.index.count_documents() == 12
    for n in range(4):
        shard = Index.open(root / "base-4" / f"shard-{n}")
        ids = [r[0] for r in shard.store.conn.execute("SELECT id FROM documents")]
        assert all(shard_of(d, 4) == n for d in ids)
    sharded.close()


@pytest.mark.parametrize("shards", [1, 2, 4])
@pytest.mark.parametrize("mode", ["lexical", "hybrid"])
def test_lexical_and_hybrid_over_shards_rank_as_the_unsharded_index(indexes, shards, mode):
    root, base = indexes
    sharded = ShardedRetriever(root / f"base-{shards}", mode=mode)
    for want, got in zip(base.search_many(QUESTIONS, 5, mode), sharded.search_many(QUESTIONS, 5)):
        if shards == 1:  # global statistics: one shard scores exactly as the index
            assert same_top(want, got)
            assert np.allclose([h.score for h in want], [h.score for h in got], rtol=1e-9, atol=1e-9)
            continue
        # more shards keep only their own mean passage length: near-ties may swap, the best stays and the top 5 keep
        # at least 4 of the unsharded index's passages
        assert got[0].passage.id == want[0].passage.id
        assert len(got) == len(want)
        assert len({h.passage.id for h in want} & {h.passage.id for h in got}) >= len(want) - 1
        shared = {h.passage.id: h.score for h in want}
        for h in got:
            if h.passage.id in shared:
                assert h.score == pytest.approx(shared[h.passage.id], rel=0.1, abs=0.01)
    sharded.close()


@pytest.mark.parametrize("mode", ["lexical", "hybrid"])
def test_rank_merge_finds_what_the_unsharded_index_finds_first(indexes, mode):
    root, base = indexes
    sharded = ShardedRetriever(root / "base-4", mode=mode, merge="rrf")
    for want, got in zip(base.search_many(QUESTIONS, 5, mode), sharded.search_many(QUESTIONS, 5)):
        # the index's best is first in its own shard, and shard winners tie at the top of a rank merge
        assert want[0].passage.doc_id in {h.passage.doc_id for h in got[:4]}
    sharded.close()


def test_global_bm25_undoes_each_shards_own_document_frequencies():
    # "bee" is in half of shard 0's passages but one of shard 1's: locally, shard 1's match outscores shard 0's by the
    # IDF ratio; with the frequencies summed (51 of 200) the two matches, equal in every other way, score the same
    part = 2.0
    stats = [
        (100, {"bee": 50}, {"bee": {1: idf(100, 50) * part}}),
        (100, {"bee": 1}, {"bee": {10: idf(100, 1) * part}}),
    ]
    lists = [[(1, idf(100, 50) * part)], [(10, idf(100, 1) * part)]]
    assert lists[1][0][1] > 100 * lists[0][0][1]
    (a,), (b,) = global_bm25(lists, stats)
    assert a[1] == pytest.approx(b[1]) == pytest.approx(idf(200, 51) * part)
    assert merge_lexical(lists, 2, "rrf") == [
        (10, 1 / 61),
        (1, 1 / 61),
    ]  # ranks only: first of each shard, tie by score


def test_shard_searchers_on_ray_actors_give_the_thread_results(indexes, ray_cluster):
    root, _ = indexes
    threads = ShardedRetriever(root / "base-2")
    actors = ShardedRetriever(root / "base-2", ray_address="local")
    for mode in ("dense", "hybrid"):
        for a, b in zip(threads.search_many(QUESTIONS, 10, mode), actors.search_many(QUESTIONS, 10, mode)):
            assert same_top(a, b)
    threads.close()
    actors.close()


def test_sharding_refuses_a_used_target_and_a_missing_source(indexes, tmp_path):
    root, _ = indexes
    used = tmp_path / "used"
    used.mkdir()
    (used / "keep.txt").write_text("mine")
    with pytest.raises(OpenbookError, match="not an empty folder"):
        split_index(root / "base", used, 2)
    assert [p.name for p in used.iterdir()] == ["keep.txt"]
    with pytest.raises(OpenbookError, match="no index"):
        split_index(tmp_path / "nothing", tmp_path / "new", 2)
    with pytest.raises(OpenbookError, match="at least 1"):
        split_index(root / "base", tmp_path / "new", 0)


def test_a_split_that_fails_or_is_interrupted_leaves_no_half_made_index(indexes, tmp_path, monkeypatch):
    from openbook.retrieval.indexer import Indexer

    root, _ = indexes
    before = sorted(p.name for p in (root / "base").iterdir())
    calls = []
    remove = Indexer.remove

    def failing(self, ids):
        calls.append(len(ids))
        if len(calls) == 2:
            raise KeyboardInterrupt  # the second shard, after the first was complete
        return remove(self, ids)

    monkeypatch.setattr(Indexer, "remove", failing)
    with pytest.raises(KeyboardInterrupt):
        split_index(root / "base", tmp_path / "split", 2)
    assert len(calls) == 2
    assert list(tmp_path.iterdir()) == []  # neither the target nor the folder it was built in
    assert sorted(p.name for p in (root / "base").iterdir()) == before
    monkeypatch.setattr(Indexer, "remove", remove)
    report = split_index(root / "base", tmp_path / "split", 2)  # the same name works afterwards
    source = Index.open(root / "base")
    assert sum(s["documents"] for s in report.shards) == source.count_documents() > 0
    source.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["split"]


def test_shard_info_and_search_from_the_command_line(indexes, tmp_path):
    import os
    import subprocess
    import sys

    root, base = indexes

    def run(*args):
        env = {**os.environ, "OPENBOOK_INDEXES": str(root), "COLUMNS": "200"}
        return subprocess.run(
            [sys.executable, "-m", "openbook.cli", *args], capture_output=True, text=True, env=env, check=False
        )

    made = run("shard", "base", "--shards", "3", "--index", "three", "--json")
    assert made.returncode == 0, made.stderr
    assert sum(s["passages"] for s in json.loads(made.stdout)["shards"]) == base.index.count_passages()
    info = json.loads(run("info", "--index", "three", "--json").stdout)
    assert info["shards"] == 3 and info["documents"] == 12
    found = json.loads(run("search", QUESTIONS[1], "--index", "three", "-k", "3", "--json").stdout)
    assert found["results"][0]["passage"]["doc_id"] == base.search(QUESTIONS[1], 3)[0].passage.doc_id
    again = run("shard", "base", "--shards", "2", "--index", "three")
    assert (
        again.returncode == 1 and len(again.stderr.strip().splitlines()) == 1 and "not an empty folder" in again.stderr
    )
