"""The confidence of answers read by the cascade against reading all five passages: the calibrator was fitted on reads
of all five, so this checks that its figures hold for how ``ask`` reads by default.

SQuAD v1.1 dev articles 25-48 (held out from the calibrator's fit), every ``--every``-th question, asked of the
benchmarks' dev index (all paragraphs) both ways: accuracy (top answer F1 >= 0.5), ECE (15 equal-mass bins), AUROC,
abstention at the default threshold and the share of right answers kept.

    .venv/bin/python benchmarks/cascade_confidence.py --every 4
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from cascade_signals import dev_index
from common import SQUAD_DEV, machine, write_result

from openbook.evaluation.squad import f1, load_squad
from openbook.qa.confidence import auroc, expected_calibration_error
from openbook.qa.pipeline import OpenBook


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=Path, default=SQUAD_DEV)
    parser.add_argument("--every", type=int, default=4)
    parser.add_argument("--out", default="cascade-confidence", help="Result name under benchmarks/results/.")
    args = parser.parse_args()
    questions = load_squad(args.squad)
    titles = list(dict.fromkeys(q.title for q in questions))
    asked = [q for q in questions if 24 <= titles.index(q.title) < 48][:: args.every]
    book = OpenBook(retriever=dev_index(args.squad), k=5)
    result = {"machine": machine(), "questions": len(asked), "articles": "25-48", "every": args.every,
              "threshold": book.min_confidence}
    for name, read_all in (("read all five", True), ("cascade", False)):
        p, right, abstain = [], [], []
        for q in asked:
            best = book.ask(q.question, read_all=read_all)[0]
            p.append(best.confidence)
            right.append(f1(best.text, q.answers) >= 0.5)
            abstain.append(best.abstain)
        p, y, a = np.array(p), np.array(right), np.array(abstain)
        result[name] = {
            "accuracy": round(float(y.mean()), 4),
            "mean_confidence": round(float(p.mean()), 4),
            "ece": round(expected_calibration_error(p, y), 4),
            "auroc": round(auroc(p, y), 4),
            "abstained": round(float(a.mean()), 4),
            "right_kept": round(float((y & ~a).sum() / max(1, y.sum())), 4),
        }
        print(name, result[name], flush=True)
    write_result(args.out, result)


if __name__ == "__main__":
    main()
