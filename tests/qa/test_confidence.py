"""The answer-confidence calibrator: a probability in [0, 1], monotone in the fused score, fitted by numpy alone."""

from __future__ import annotations

import json

import numpy as np
import pytest

from openbook.qa.confidence import (
    FALLBACK,
    HINGED,
    HYBRID_FEATURES,
    OWN_FEATURES,
    READER_FEATURES,
    Calibrator,
    Confidence,
    auroc,
    expected_calibration_error,
    fit,
)
from tests.conftest import DEFAULT_READER


def _synthetic(n: int = 4000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Features where being right depends on the fused score and the margin through a known logistic curve."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, len(READER_FEATURES))) * 3 + 5
    fused = x[:, READER_FEATURES.index("fused")]
    margin = x[:, READER_FEATURES.index("margin")]
    truth = 1 / (1 + np.exp(-(0.8 * (fused - 5) + 0.5 * (margin - 5))))
    return x, (rng.random(n) < truth).astype(float)


def test_fitted_calibrator_is_calibrated_and_discriminates():
    x, y = _synthetic()
    cal = fit(x[:3000], y[:3000], READER_FEATURES)
    p = cal.predict(x[3000:])
    assert ((p >= 0) & (p <= 1)).all()
    assert expected_calibration_error(p, y[3000:]) < 0.05
    assert auroc(p, y[3000:]) > 0.85
    again = Calibrator.from_dict(json.loads(json.dumps(cal.to_dict())))  # as kept in a manifest
    np.testing.assert_allclose(again.predict(x[3000:]), p, atol=1e-5)


def test_a_negative_weight_on_the_fused_score_is_refused():
    x, y = _synthetic()
    fused = READER_FEATURES.index("fused")
    x[:, fused] = -x[:, fused]  # now a higher fused score means *less* often right
    cal = fit(x, y, READER_FEATURES)
    assert cal.weights[fused] >= 0


def _monotone_in_fused(cal: Calibrator) -> None:
    i = cal.names.index("fused")
    base = np.tile(cal.mean, (201, 1))
    base[:, i] = cal.mean[i] + np.linspace(-6, 6, 201) * cal.scale[i]
    rng = np.random.default_rng(1)
    for row in (cal.mean, cal.mean + rng.normal(size=len(cal.mean)) * cal.scale):  # at the mean and elsewhere
        grid = np.tile(row, (201, 1))
        grid[:, i] = base[:, i]
        p = cal.predict(grid)
        assert ((p >= 0) & (p <= 1)).all()
        assert (np.diff(p) >= 0).all()


def test_fitted_calibrator_is_monotone_in_the_fused_score():
    x, y = _synthetic()
    _monotone_in_fused(fit(x, y, READER_FEATURES))


def test_default_reader_calibrators_are_monotone_and_bounded():
    manifest = json.loads((DEFAULT_READER / "manifest.json").read_text(encoding="utf-8"))
    section = manifest.get("confidence")
    if not section:
        pytest.skip("the default reader has no calibrator (run: openbook eval calibrate dev-v1.1.json --record)")
    assert 0 < section["threshold"] < 1
    for mode, names in (("hybrid", HYBRID_FEATURES), ("dense", OWN_FEATURES), (None, OWN_FEATURES)):
        conf = Confidence.for_reader(section, mode)
        assert conf.calibrator.names == names
        _monotone_in_fused(conf.calibrator)


def test_metrics_on_known_inputs():
    y = np.array([0, 0, 1, 1], dtype=float)
    assert auroc(np.array([0.1, 0.2, 0.8, 0.9]), y) == 1.0
    assert auroc(np.array([0.9, 0.8, 0.2, 0.1]), y) == 0.0
    assert auroc(np.full(4, 0.5), y) == 0.5
    assert expected_calibration_error(np.array([0.0, 0.0, 1.0, 1.0]), y, bins=2) == 0.0
    assert expected_calibration_error(np.full(4, 0.75), y, bins=1) == pytest.approx(0.25)


def test_a_reader_without_a_calibrator_falls_back_to_its_margin():
    conf = Confidence.for_reader({}, "hybrid")
    assert conf.calibrator is FALLBACK and conf.threshold == 0.5


def test_hinged_calibrator_keeps_to_the_fused_score_and_round_trips():
    """Hinges give other features a piecewise-linear effect; ``fused`` stays linear with a weight ≥ 0."""
    x, y = _synthetic()
    margin = x[:, READER_FEATURES.index("margin")]
    y = np.where(margin > 7, 0.0, y)  # a bend the plain logistic cannot follow
    cal = fit(x[:3000], y[:3000], READER_FEATURES, l2=10.0, hinged=HINGED)
    assert "fused" not in cal.knots and "margin" in cal.knots and len(cal.knot_weights) == sum(map(len, cal.knots.values()))
    _monotone_in_fused(cal)
    plain = fit(x[:3000], y[:3000], READER_FEATURES, l2=10.0)
    assert auroc(cal.predict(x[3000:]), y[3000:]) > auroc(plain.predict(x[3000:]), y[3000:])
    again = Calibrator.from_dict(json.loads(json.dumps(cal.to_dict())))
    np.testing.assert_allclose(again.predict(x[3000:]), cal.predict(x[3000:]), atol=1e-5)


def test_agreement_and_sentence_features():
    """Three passages; two propose "Paris" as their best answer. The sentence holding the answer is the one read."""
    from types import SimpleNamespace as NS

    from openbook.qa.confidence import features

    texts = ["Lyon is big. The capital of France is Paris. Rome is old.", "Paris is the capital.", "Berlin, Germany."]
    hits = [NS(score=s, scores={"dense": 0.5, "lexical": 3.0}) for s in (2.0, 1.5, 0.5)]

    def cand(text, passage, score):
        start = texts[passage].index(text)
        return NS(text=text, score=score, span_score=score, no_answer_score=0.0, retrieval_score=hits[passage].score,
                  retrieval_rank=passage + 1, start=start, end=start + len(text))

    candidates = [cand("Paris", 0, 9.0), cand("Paris", 1, 7.0), cand("Berlin", 2, 6.0), cand("Lyon", 0, 2.0)]
    answers = [candidates[0], candidates[2]]
    names = ("top_share", "span_share", "agree_passages", "sentence_overlap", "answer_in_question", "retrieval_gap", "q_what")
    x = features("What is the capital of France?", answers, candidates, hits, texts, [0, 2], [0, 1, 2, 0], names)
    row = dict(zip(names, x[0]))
    w = np.exp(np.array([9.0, 7.0, 6.0, 2.0]) - 9.0)
    assert row["top_share"] == pytest.approx(w[0] / w.sum())
    assert row["span_share"] == pytest.approx((w[0] + w[1]) / w.sum())
    assert row["agree_passages"] == 2.0  # passages 1 and 2 propose Paris first
    assert row["sentence_overlap"] == pytest.approx(1.0)  # "capital", "France" in "The capital of France is Paris."
    assert row["answer_in_question"] == 0.0 and row["retrieval_gap"] == pytest.approx(0.5) and row["q_what"] == 1.0
    assert dict(zip(names, x[1]))["agree_passages"] == 1.0


def test_question_names_missing_from_the_passage_and_the_sentence():
    """The question names France and 1990: the passage holds France (not in the answer's sentence) but not 1990."""
    from types import SimpleNamespace as NS

    from openbook.qa.confidence import QUESTION_FEATURES, features

    texts = ["France is in Europe. Its capital is Paris."]
    hits = [NS(score=1.0, scores={})]
    start = texts[0].index("Paris")
    paris = NS(text="Paris", score=5.0, span_score=5.0, no_answer_score=0.0, retrieval_score=1.0, retrieval_rank=1,
               start=start, end=start + 5)
    x = features("What was the capital of France in 1990?", [paris], [paris], hits, texts, [0], [0], QUESTION_FEATURES)
    assert dict(zip(QUESTION_FEATURES, x[0])) == {"names_missing": 0.5, "names_off_sentence": 1.0}
    x = features("what is the capital?", [paris], [paris], hits, texts, [0], [0], QUESTION_FEATURES)
    assert x.tolist() == [[0.0, 0.0]]  # no names asked about: nothing missing
