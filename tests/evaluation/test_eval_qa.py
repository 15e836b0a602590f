"""Open-book QA evaluation on a slice of SQuAD v1.1 dev with the default models: accuracy, confidence, abstention."""

from __future__ import annotations

import itertools
import json

import pytest

from openbook.evaluation.qa import evaluate_qa


@pytest.mark.slow
def test_open_book_qa_on_three_articles(tmp_path, squad_dev, vocab):
    data = json.loads(squad_dev.read_text(encoding="utf-8"))
    data["data"] = data["data"][1:4]  # three articles (the first is the hardest, about American football)
    subset = tmp_path / "dev-3.json"
    subset.write_text(json.dumps(data), encoding="utf-8")
    cache = tmp_path / "cache"
    result = evaluate_qa(subset, tune_articles=2, limit=240, cache=cache)
    assert result["questions"] == 240 and result["mode"] == "hybrid"
    assert result["f1"] >= 60.0 and result["exact_match"] >= 45.0
    variants = result["variants"]
    span = variants["span"]["articles 1-2 (tuning)"]["f1"]
    fused = variants["span+margin+retrieval"]["articles 1-2 (tuning)"]["f1"]
    assert fused >= span  # tuned on these rows: it can only match or beat the span score alone
    assert {"span", "span+margin", "span+retrieval", "span+margin+retrieval"} <= set(variants)
    calibration = result["calibration"]
    assert calibration["auroc"] > 0.75 and calibration["ece"] < 0.15  # confidence tells right from wrong
    curve = result["curve"]
    assert curve[0]["threshold"] == 0.0 and curve[0]["abstained"] == 0.0 and curve[0]["coverage"] == 1.0
    assert all(a["abstained"] <= b["abstained"] for a, b in itertools.pairwise(curve))  # abstaining grows with the bar

    # articles 1-2 indexed, questions of article 3 asked: none has its answer in the index
    absent = evaluate_qa(subset, index_articles=range(2), ask_articles=range(2, 3), limit=40, cache=cache)
    assert absent["questions"] == 40 and absent["no_answer_questions"] == 40
    assert absent["at_threshold"]["abstained_no_answer"] >= 0.8
    assert absent["curve"][0]["abstained_no_answer"] == 0.0
