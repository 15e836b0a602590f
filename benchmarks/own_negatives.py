"""The ``own`` calibrator (the reader alone, one paragraph given) fitted with and without hard negatives: each question
of SQuAD v1.1 dev articles 1-24 read with its own paragraph, the answer removed (``calibrate.HARD_NEGATIVES``).

For each variant: ``calibrate`` on v1.1 dev (weights, the three calibrators and the thresholds, chosen on 1-24 only),
then SQuAD v2.0 dev read with each question's own paragraph (every 3rd question, from the cache) scored with that
variant's ``own`` calibrator at its default threshold and along the curve. v2.0 chooses nothing. Writes
``benchmarks/results/own_negatives.json``.

    .venv/bin/python benchmarks/own_negatives.py --cache cache
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from common import RESULTS, SHARED

from openbook.config import DEFAULT_READER, resolve_model
from openbook.evaluation.calibrate import calibrate
from openbook.evaluation.qa import evaluate_qa
from openbook.qa.confidence import OWN_FEATURES, OWN_PARAGRAPH_FEATURES
from openbook.reading.reader import Reader

VARIANTS = {
    "none (as before)": (),
    "sentence removed": ("sentence",),
    "span removed": ("span",),
    "question entity swapped": ("question",),
    "span removed + question entity swapped": ("span", "question"),
}
# the same with the question's names and numbers that the passage / the answer's sentence lacks as features
NAMED = {
    "question entity swapped + name features": ("question",),
    "span removed + question entity swapped + name features": ("span", "question"),
}
# the calibrator fitted as before (no hard negatives), its threshold chosen on the hard negatives of 1-24
THRESHOLD_ONLY = {
    "none, threshold on span removed": ("span",),
    "none, threshold on span removed + question entity swapped": ("span", "question"),
}
# every variant is also reported on the same held-out v1.1 negatives (articles 25-48), a yardstick that is not v2.0
YARDSTICK = ("span", "question")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=SHARED / "data" / "squad")
    parser.add_argument("--only", nargs="*", default=None, help="Variants to run (default: all).")
    args = parser.parse_args()
    reader = Reader(resolve_model(None, DEFAULT_READER))
    in_manifest = json.loads(json.dumps(reader.manifest.confidence))
    target = RESULTS / "own_negatives.json"
    # variants run before stay unless run again (--only runs some)
    results: dict[str, Any] = json.loads(target.read_text(encoding="utf-8")) if args.only and target.is_file() else {}
    for name, kinds in (VARIANTS | NAMED | THRESHOLD_ONLY).items():
        if args.only and name not in args.only:
            continue
        began = time.perf_counter()
        section, report = calibrate(
            args.data / "dev-v1.1.json", reader, args.cache, progress=print,
            hard_negatives=() if name in THRESHOLD_ONLY else kinds,
            threshold_negatives=kinds if name in THRESHOLD_ONLY else None,
            own_features=OWN_PARAGRAPH_FEATURES if name in NAMED else OWN_FEATURES,
            report_negatives=YARDSTICK,
        )
        section = json.loads(json.dumps(section))
        reader.manifest.confidence = section
        v2 = evaluate_qa(args.data / "dev-v2.0.json", reader=reader, cache=args.cache, own_paragraph=True, every=3)
        reader.manifest.confidence = in_manifest
        results[name] = {
            "hard_negatives (fitted on)": [] if name in THRESHOLD_ONLY else list(kinds),
            "threshold chosen on": list(kinds) or "0.5 (fixed)",
            "own threshold": section["calibrators"]["own"]["threshold"],
            "own features": section["calibrators"]["own"]["features"],
            "same as the manifest": {
                part: section["calibrators"][part] == in_manifest["calibrators"][part]
                for part in ("retrieval", "reader", "own")
            }
            | {"threshold": section["threshold"] == in_manifest["threshold"], "weights": section["weights"] == in_manifest["weights"]},
            "v1.1 (calibrate report)": {k: v for k, v in report.items() if "own" in k},
            "v2.0 own paragraph, every 3rd": {
                k: v2[k] for k in ("questions", "no_answer_questions", "f1_never_abstaining", "at_threshold", "calibration")
            }
            | {
                "best on the curve": max(v2["curve"], key=lambda p: p["f1_with_abstention"]),
                "curve": [
                    {k: p.get(k) for k in ("threshold", "f1_with_abstention", "abstained_no_answer", "right_kept", "coverage")}
                    for p in v2["curve"]
                ],
            },
            "seconds": round(time.perf_counter() - began, 1),
        }
        print(name, json.dumps(results[name]["v2.0 own paragraph, every 3rd"]["at_threshold"]), flush=True)
        RESULTS.mkdir(exist_ok=True)
        target.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
