"""Open-book QA evaluation on a slice of SQuAD v1.1 dev with the default models."""

from __future__ import annotations

import json

import pytest

from openbook.evaluation.qa import evaluate_qa


@pytest.mark.slow
def test_open_book_qa_on_three_articles(tmp_path, squad_dev, vocab):
    data = json.loads(squad_dev.read_text(encoding="utf-8"))
    data["data"] = data["data"][1:4]  # three articles (the first is the hardest, about American football)
    subset = tmp_path / "dev-3.json"
    subset.write_text(json.dumps(data), encoding="utf-8")
    result = evaluate_qa(subset, tune_articles=2, limit=240)
    assert result["questions"] == 240 and result["mode"] == "hybrid"
    assert result["f1"] >= 60.0 and result["exact_match"] >= 45.0
    variants = result["variants"]
    span = variants["span"]["articles 1-2 (tuning)"]["f1"]
    fused = variants["span+margin+retrieval"]["articles 1-2 (tuning)"]["f1"]
    assert fused >= span  # tuned on these rows: it can only match or beat the span score alone
    assert set(variants) == {"span", "span+margin", "span+retrieval", "span+margin+retrieval"}
