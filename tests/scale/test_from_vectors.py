"""openbook index --from-vectors: an index from encoded passages, no encoding; vectors of another model refused."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from openbook.ingest.loaders import load_documents
from openbook.retrieval.retriever import Retriever
from openbook.scale.encode import encode
from tests.conftest import DEFAULT_RETRIEVER
from tests.scale.conftest import CORPUS, QUESTIONS, SMALL_PASSAGES


def run(*args: str, indexes) -> subprocess.CompletedProcess:
    env = {**os.environ, "OPENBOOK_INDEXES": str(indexes), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "openbook.cli", *args], capture_output=True, text=True, env=env, timeout=300, check=False
    )


needs_add_encoded = pytest.mark.skipif(
    not hasattr(Retriever, "add_encoded"),
    reason="Retriever.add_encoded (the storage write path for precomputed vectors) is not in this openbook yet",
)


@pytest.fixture(scope="module")
def encoded(tmp_path_factory, vocab):
    out = tmp_path_factory.mktemp("encoded") / "vectors"
    encode([CORPUS], out, DEFAULT_RETRIEVER, passage_tokens=SMALL_PASSAGES)
    return out


def test_vectors_of_another_model_are_refused(tmp_path, standin_dir, pyarrow, vocab):
    indexes = tmp_path / "indexes"
    Retriever(indexes / "notes", model=DEFAULT_RETRIEVER).add(load_documents([CORPUS / "chess.txt"]))
    other = tmp_path / "other"
    encode([CORPUS / "coffee.txt"], other, standin_dir / "dynamic")
    result = run("index", "--from-vectors", str(other), "--index", "notes", indexes=indexes)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot go into index notes" in lines[0] and "standin" not in result.stdout
    assert Retriever(indexes / "notes").index.count_documents() == 1  # untouched


def test_paths_and_from_vectors_together_are_refused(tmp_path, encoded):
    result = run("index", str(CORPUS), "--from-vectors", str(encoded), indexes=tmp_path / "indexes")
    assert result.returncode == 1 and "not both" in result.stderr and len(result.stderr.strip().splitlines()) == 1


@needs_add_encoded
def test_index_from_vectors_searches_like_an_index_built_directly(tmp_path, encoded):
    indexes = tmp_path / "indexes"
    direct = Retriever(indexes / "direct", model=DEFAULT_RETRIEVER)
    direct.add(load_documents([CORPUS]), passage_tokens=SMALL_PASSAGES)
    result = run("index", "--from-vectors", str(encoded), "--index", "loaded", indexes=indexes)
    assert result.returncode == 0, result.stderr
    loaded = Retriever(indexes / "loaded")
    assert loaded.index.count_passages() == direct.index.count_passages()
    for mode in ("dense", "lexical", "hybrid"):
        for a, b in zip(direct.search_many(QUESTIONS, 5, mode), loaded.search_many(QUESTIONS, 5, mode)):
            assert [(h.passage.doc_id, h.passage.start, h.passage.end) for h in a] == [
                (h.passage.doc_id, h.passage.start, h.passage.end) for h in b
            ]


@needs_add_encoded
def test_shards_built_from_vectors_search_like_an_index_built_directly(tmp_path, encoded):
    from openbook.scale.shards import ShardedRetriever, split_encoded

    direct = Retriever(tmp_path / "direct", model=DEFAULT_RETRIEVER)
    direct.add(load_documents([CORPUS]), passage_tokens=SMALL_PASSAGES)
    report = split_encoded(encoded, tmp_path / "sharded", 2)
    assert sum(s["passages"] for s in report.shards) == direct.index.count_passages()
    sharded = ShardedRetriever(tmp_path / "sharded", mode="dense")
    for a, b in zip(direct.search_many(QUESTIONS, 5, "dense"), sharded.search_many(QUESTIONS, 5)):
        assert [(h.passage.doc_id, h.passage.start) for h in a] == [(h.passage.doc_id, h.passage.start) for h in b]
    sharded.close()
