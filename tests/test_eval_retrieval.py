"""Retrieval recall of the committed INT8 retriever on SQuAD v1.1 dev: the published figure, reproduced."""

from __future__ import annotations

import json

import numpy as np
import pytest

from openbook.embedder import Embedder
from openbook.errors import OpenbookError
from openbook.evaluation.retrieval import evaluate_retrieval, load_paragraphs, recall_at


def test_recall_at_counts_gold_in_top_k():
    ranked = np.array([[3, 1, 2], [0, 2, 1], [2, 0, 1]])
    gold = np.array([1, 1, 2])
    assert recall_at(ranked, gold, (1, 2, 3)) == {"recall@1": 33.33, "recall@2": 66.67, "recall@3": 100.0}


def test_load_paragraphs_rejects_other_json(tmp_path):
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"rows": []}))
    with pytest.raises(OpenbookError, match="not a SQuAD-format"):
        load_paragraphs(path)


@pytest.mark.slow
def test_default_retriever_recall_on_squad_dev(vocab, squad_dev):
    result = evaluate_retrieval(Embedder(vocab.parent), squad_dev, latency_questions=50)
    assert (result["questions"], result["passages"]) == (10570, 2067)
    assert result["recall@5"] >= 89.5
    assert result["recall@1"] >= 67.0 and result["recall@20"] >= 96.5
