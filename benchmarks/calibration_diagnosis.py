"""Why the confidence's AUROC on SQuAD v1.1 dev articles 25-48 is what it is: feature sets and question sets compared.

Fits, the way ``openbook eval calibrate`` does (articles 1-24: every question with every paragraph indexed, plus the
absent-answer questions of 13-24 with 1-12 indexed), three calibrators at the weights in force: the issue's quick set
(fused, span and retrieval scores, margin, rank, gap, answer length), last round's features, and this round's (every
feature, with hinges); and a Platt layer on top of the last. Each is scored on articles 25-48 twice: the questions with every paragraph indexed (the answer is
in the index), and the questions of 25-48 with articles 1-40 indexed (those of 41-48 have no answer there and count as
wrong). Also the AUROC of every feature alone. Reads only the cache (``python -m openbook.evaluation.signals``).

    .venv/bin/python benchmarks/calibration_diagnosis.py --cache cache
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from common import RESULTS, SHARED

from openbook.config import DEFAULT_READER, resolve_model
from openbook.evaluation.calibrate import L2
from openbook.evaluation.qa import _weights_in_force, run_setting, tops
from openbook.qa.confidence import HINGED, HYBRID_FEATURES, RETRIEVAL_FEATURES, auroc, expected_calibration_error, fit
from openbook.reading.reader import Reader

QUICK = ("fused", "span", "retrieval", "margin", "log_rank", "gap", "answer_words")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=SHARED / "data" / "squad")
    args = parser.parse_args()
    squad = args.data / "dev-v1.1.json"
    reader = Reader(resolve_model(None, DEFAULT_READER))
    weights = _weights_in_force(reader, "hybrid", False)
    every = run_setting(squad, reader, args.cache)
    partial = run_setting(squad, reader, args.cache, range(12), range(24))
    absent_topic = run_setting(squad, reader, args.cache, range(40), range(24, 48))
    tune = [i for i in every if i.asked.article < 24]
    held = [i for i in every if i.asked.article >= 24]
    absent = [i for i in partial if i.asked.absent]
    names = HYBRID_FEATURES
    t_tune, t_absent = tops(tune, weights, names, None), tops(absent, weights, names, None)
    t_held, t_topic = tops(held, weights, names, None), tops(absent_topic, weights, names, None)
    x = np.vstack([t_tune.x, t_absent.x])
    y = np.concatenate([t_tune.right, np.zeros(len(absent), dtype=bool)]).astype(float)
    y_topic = t_topic.right & ~t_topic.impossible
    out: dict = {"weights": {"margin": weights.margin, "retrieval": weights.retrieval},
                 "questions": {"fit 1-24": len(y), "25-48 all indexed": len(held), "25-48, 1-40 indexed": len(absent_topic)}}
    for label, chosen, hinged, l2 in (
        ("quick set (the issue's)", QUICK, (), 1.0),
        ("last round's features", RETRIEVAL_FEATURES, (), 1.0),
        ("this round's features, no hinges", HYBRID_FEATURES, (), L2),
        ("this round's features and hinges", HYBRID_FEATURES, HINGED, L2),
    ):
        cols = [names.index(n) for n in chosen]
        cal = fit(x[:, cols], y, chosen, l2=l2, hinged=hinged)
        p_held, p_topic = cal.predict(t_held.x[:, cols]), cal.predict(t_topic.x[:, cols])
        out[label] = {
            "25-48, answer in the index": {"auroc": round(auroc(p_held, t_held.right), 4),
                                           "ece": round(expected_calibration_error(p_held, t_held.right.astype(float)), 4)},
            "25-48 with 1-40 indexed, 41-48 counted wrong": {"auroc": round(auroc(p_topic, y_topic), 4),
                                                             "ece": round(expected_calibration_error(p_topic, y_topic.astype(float)), 4)},
        }
    # a Platt layer (a logistic curve of the calibrator's log-odds) fitted on the present-answer questions of 1-24
    cal = fit(x, y, names, l2=L2, hinged=HINGED)

    def logit(p):
        p = np.clip(p, 1e-6, 1 - 1e-6)
        return np.log(p / (1 - p))[:, None]

    p_tune, p_held = cal.predict(t_tune.x), cal.predict(t_held.x)
    platt = fit(logit(p_tune), t_tune.right.astype(float), ("log_odds",), l2=0.0)
    out["Platt layer on top (fitted on 1-24, answer in the index)"] = {
        "ece 1-24 (fitted on), without / with": [
            round(expected_calibration_error(p_tune, t_tune.right.astype(float)), 4),
            round(expected_calibration_error(platt.predict(logit(p_tune)), t_tune.right.astype(float)), 4),
        ],
        "ece 25-48, without / with": [
            round(expected_calibration_error(p_held, t_held.right.astype(float)), 4),
            round(expected_calibration_error(platt.predict(logit(p_held)), t_held.right.astype(float)), 4),
        ],
    }
    single = {}
    for j, n in enumerate(names):
        a = auroc(t_held.x[:, j], t_held.right)
        single[n] = round(max(a, 1 - a), 3)
    out["each feature alone, 25-48 (AUROC, either direction)"] = dict(sorted(single.items(), key=lambda kv: -kv[1]))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "calibration_diagnosis.json").write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
