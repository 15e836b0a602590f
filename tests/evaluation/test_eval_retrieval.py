"""Retrieval recall on SQuAD files: metrics, the fusion grid on a tiny file, and the committed INT8 retriever on SQuAD
v1.1 dev (dense, lexical and hybrid): the published figures, reproduced."""

from __future__ import annotations

import json

import numpy as np
import pytest

from openbook.models.embedder import Embedder
from openbook.errors import OpenbookError
from openbook.evaluation.retrieval import (
    evaluate_retrieval,
    fusion_grid,
    gold_ranks,
    load_paragraphs,
    recall_at,
    scores_of,
    tune_fusion,
)

TINY = {
    "data": [
        {"title": "Mars", "paragraphs": [
            {"context": "Mars has two moons, Phobos and Deimos.", "qas": [{"question": "What are the moons of Mars?"}]},
            {"context": "Olympus Mons on Mars is the tallest volcano.", "qas": [{"question": "Which volcano is tallest?"}]},
        ]},
        {"title": "Rivers", "paragraphs": [
            {"context": "The Thames flows through London.", "qas": [{"question": "Which river flows through London?"}]},
            {"context": "The Seine flows through Paris.", "qas": [{"question": "Where does the Seine flow?"},
                                                                 {"question": "what is it?"}]},
        ]},
    ]
}


def test_recall_at_counts_gold_in_top_k():
    ranked = np.array([[3, 1, 2], [0, 2, 1], [2, 0, 1]])
    gold = np.array([1, 1, 2])
    assert recall_at(ranked, gold, (1, 2, 3)) == {"recall@1": 33.33, "recall@2": 66.67, "recall@3": 100.0}


def test_load_paragraphs_rejects_other_json(tmp_path):
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"rows": []}))
    with pytest.raises(OpenbookError, match="not a SQuAD file"):
        load_paragraphs(path)


def test_gold_ranks_and_scores():
    ranks = gold_ranks([[3, 1, 2], [0, 2], [5]], np.array([1, 2, 7]))
    assert ranks.tolist() == [2, 2, 0]
    assert scores_of(ranks, (1, 2)) == {"recall@1": 0.0, "recall@2": 66.67, "mrr@2": 33.33}


def test_fusion_grid_is_tuned_on_the_first_articles():
    dense = [[(1, 0.9), (2, 0.1)], [(1, 0.8), (2, 0.7)], [(2, 0.9), (1, 0.2)]]
    words = [[(2, 5.0)], [(2, 4.0), (1, 1.0)], [(1, 3.0)]]
    result = tune_fusion(dense, words, np.array([1, 2, 1]), np.array([0, 0, 1]), tune_articles=1, ks=(1, 2))
    rows = {r["retrieval"]: r for r in result["rows"]}
    assert len(rows) == 2 + len(fusion_grid())
    assert rows["dense"]["articles 1-1 (tuning)"] == {"recall@1": 50.0, "recall@2": 100.0, "mrr@2": 75.0}
    assert rows["lexical"]["articles 2+ (held out)"]["recall@1"] == 100.0
    assert result["selected_by"] == "mrr@2 on articles 1-1 (tuning)"
    best = rows[result["chosen"]]["articles 1-1 (tuning)"]["mrr@2"]
    assert best == max(r["articles 1-1 (tuning)"]["mrr@2"] for r in result["rows"][2:])


def test_every_mode_on_a_tiny_file(tmp_path, standin_dir):
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(TINY))
    embedder = Embedder(standin_dir / "dynamic")
    lexical = evaluate_retrieval(embedder, path, ks=(1, 2), latency_questions=2, mode="lexical")
    assert lexical["mode"] == "lexical" and lexical["model"] is None
    assert lexical["recall@1"] == 80.0  # every question but the one with no searchable words
    hybrid = evaluate_retrieval(embedder, path, ks=(1, 2), latency_questions=2, mode="hybrid", tune=True)
    assert hybrid["lexical"] == {k: lexical[k] for k in ("recall@1", "recall@2", "mrr@2")}
    assert set(hybrid["dense"]) == {"recall@1", "recall@2", "mrr@2"} and hybrid["fusion"]
    assert [r["retrieval"] for r in hybrid["tuning"]["rows"][:2]] == ["dense", "lexical"]
    with pytest.raises(OpenbookError, match="unknown retrieval mode"):
        evaluate_retrieval(embedder, path, mode="sparse")


@pytest.mark.slow
def test_default_retriever_recall_on_squad_dev(vocab, squad_dev):
    result = evaluate_retrieval(Embedder(vocab.parent), squad_dev, latency_questions=50, mode="hybrid")
    assert (result["questions"], result["passages"]) == (10570, 2067)
    dense, lexical = result["dense"], result["lexical"]
    assert dense["recall@5"] >= 89.5 and dense["recall@1"] >= 67.0 and dense["recall@20"] >= 96.5
    assert lexical["recall@5"] >= 93.0 and lexical["recall@1"] >= 78.0
    assert result["recall@5"] >= 95.5 and result["recall@1"] >= 81.0 and result["recall@20"] >= 98.5


def test_any_encoder_or_none_for_lexical(tmp_path):
    """The evaluation takes any Encoder (here the hashed bag of words) and no model at all for BM25 alone."""
    from tests.encoders import HashEncoder

    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(TINY))
    dense = evaluate_retrieval(HashEncoder(64), path, ks=(1, 2), latency_questions=2, mode="dense")
    assert dense["model"] == "hash-bow-64" and 0 < dense["recall@2"] <= 100
    lexical = evaluate_retrieval(None, path, ks=(1, 2), latency_questions=2, mode="lexical")
    assert lexical["recall@1"] == 80.0 and lexical["model"] is None
    with pytest.raises(OpenbookError, match="needs an embedding model"):
        evaluate_retrieval(None, path, mode="hybrid")
