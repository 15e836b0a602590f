"""Answer confidence: calibration, the abstention curve and "not in your documents", from ``openbook eval``.

Runs (or reads from ``--cache``) the settings of docs/trust.md and writes ``benchmarks/results/calibration.json`` and
``benchmarks/results/calibration.png`` (the reliability diagram on SQuAD v1.1 dev articles 25-48 and the abstention
curves). Retrieval and reading of each setting are done once and kept in the cache folder; a setting the cache holds
as a sample (``python -m openbook.evaluation.signals``, every 3rd question) is reported as that sample.

    .venv/bin/python benchmarks/calibration.py --cache cache
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from common import RESULTS, SHARED

from openbook.config import DEFAULT_READER, resolve_model
from openbook.evaluation.qa import evaluate_qa
from openbook.reading.reader import Reader

SETTINGS: dict[str, dict[str, Any]] = {
    "v1.1 dev, all indexed": {"file": "dev-v1.1.json"},
    "v1.1 dev, articles 1-40 indexed, 25-48 asked": {
        "file": "dev-v1.1.json",
        "index_articles": range(40),
        "ask_articles": range(24, 48),
    },
    # the cached v2.0 settings also hold answerable questions read for v1.1: their own sample (every 3rd, every 10th
    # question of the file, as signals.SETTINGS reads them) alone is unbiased
    "v2.0 dev, own paragraph (reader alone)": {"file": "dev-v2.0.json", "own_paragraph": True, "every": 3},
    "v2.0 dev, all indexed": {"file": "dev-v2.0.json", "every": 10},
}


def _absent_topic(result: dict[str, Any]) -> dict[str, Any]:
    """The absent-topic figures: abstention on articles 41-48 and the right answers of 25-40 still given."""
    return {
        "abstained_absent (41-48)": result["at_threshold"].get("abstained_no_answer"),
        "right_kept_present (25-40)": result["at_threshold"].get("right_kept"),
    }


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.6))
    held = results["v1.1 dev, all indexed"].get("calibration articles 25+")
    if held:
        bins = held["reliability"]
        left.plot([0, 1], [0, 1], color="grey", lw=1, ls="--")
        left.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], "o-", label="openbook (hybrid, k=5)")
        left.set_title(f"Reliability, SQuAD v1.1 dev articles 25-48\nECE {held['ece']:.3f}, AUROC {held['auroc']:.3f}")
        left.set_xlabel("confidence of the top answer (15 equal-mass bins)")
        left.set_ylabel("share right (F1 ≥ 0.5)")
        left.legend(loc="upper left")
    for name, result in results.items():
        if "curve" not in result:
            continue
        pts = result["curve"]
        if name.startswith("v1.1 dev, all"):
            right.plot([p["threshold"] for p in pts], [p["coverage"] for p in pts], label="v1.1 all: coverage")
            right.plot([p["threshold"] for p in pts], [p["answered_precision"] or 1 for p in pts], label="v1.1 all: answered precision")
        elif "abstained_no_answer" in pts[0]:
            right.plot([p["threshold"] for p in pts], [p["abstained_no_answer"] for p in pts], ls="--", label=f"{name}: abstained, no answer")
    right.axvline(results["v1.1 dev, all indexed"]["min_confidence"], color="grey", lw=1)
    right.set_xlabel("min confidence")
    right.set_title("Abstention by confidence")
    right.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, default=None, help="Folder of cached settings (searched and read once).")
    parser.add_argument("--data", type=Path, default=SHARED / "data" / "squad")
    parser.add_argument("--only", nargs="*", default=None, help="Settings to run (default: all).")
    args = parser.parse_args()
    reader = Reader(resolve_model(None, DEFAULT_READER))
    target = RESULTS / "calibration.json"
    # settings run before stay unless run again (--only runs some)
    results: dict[str, Any] = json.loads(target.read_text(encoding="utf-8")) if args.only and target.is_file() else {}
    for name, s in SETTINGS.items():
        if args.only and name not in args.only:
            continue
        began = time.perf_counter()
        options = {k: v for k, v in s.items() if k != "file"}
        result = evaluate_qa(args.data / s["file"], reader=reader, cache=args.cache, progress=print, **options)
        result["seconds"] = round(time.perf_counter() - began, 1)
        if "index_articles" in s:
            result["absent_topic"] = _absent_topic(result)
        results[name] = result
        print(name, json.dumps({k: v for k, v in result.items() if k not in ("curve", "variants")})[:600], flush=True)
    RESULTS.mkdir(exist_ok=True)
    target.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    if "v1.1 dev, all indexed" in results:
        plot(results, RESULTS / "calibration.png")


if __name__ == "__main__":
    main()
