"""Single-question search latency by mode (dense, lexical, hybrid) on an index of SQuAD v1.1 dev paragraphs, in-process.

Uses the index under benchmarks/results/index-dev (shared with benchmarks/ask.py; built on first use, and given its
lexical index if it predates it), then times ``Retriever.search(question, k)`` one question at a time, the modes
interleaved question by question, over --repeats passes. Prints p50/p95 per mode (the median of the passes) and writes
benchmarks/results/search.json.

    .venv/bin/python benchmarks/search.py --squad ../shared/data/squad/dev-v1.1.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
from pathlib import Path

import numpy as np

from openbook.retrieval.fusion import MODES
from openbook.ingest.loaders import read_squad
from openbook.retrieval.retriever import Retriever
from openbook.evaluation.squad import load_squad

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=Path, default=Path("../shared/data/squad/dev-v1.1.json"))
    parser.add_argument("--index", type=Path, default=RESULTS / "index-dev")
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("-k", type=int, default=5)
    args = parser.parse_args()

    retriever = Retriever(args.index)
    if not (args.index / "index.json").is_file() or not retriever.index.store or not retriever.index.store.has_lexical:
        retriever.add(read_squad(args.squad), passage_tokens=382)
    questions = [q.question for q in load_squad(args.squad)]
    random.Random(0).shuffle(questions)
    questions = questions[: args.questions]
    for mode in MODES:  # warm up
        retriever.search_many(questions[:8], args.k, mode)

    runs: dict[str, list[tuple[float, float]]] = {mode: [] for mode in MODES}
    for _ in range(args.repeats):
        times: dict[str, list[float]] = {mode: [] for mode in MODES}
        for q in questions:
            for mode in MODES:
                start = time.perf_counter()
                retriever.search(q, args.k, mode)
                times[mode].append(1000 * (time.perf_counter() - start))
        for mode in MODES:
            runs[mode].append((float(np.percentile(times[mode], 50)), float(np.percentile(times[mode], 95))))

    result = {
        "index_passages": retriever.index.count_passages(),
        "questions": len(questions),
        "repeats": args.repeats,
        "k": args.k,
        "depth": retriever.depth,
        "fusion": retriever.fusion.label,
        **{
            mode: {
                "ms_p50": round(statistics.median(p50 for p50, _ in runs[mode]), 2),
                "ms_p95": round(statistics.median(p95 for _, p95 in runs[mode]), 2),
                "ms_p50_runs": [round(p50, 2) for p50, _ in runs[mode]],
            }
            for mode in MODES
        },
        "cores": len(os.sched_getaffinity(0)),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "search.json").write_text(json.dumps(result, indent=2) + "\n")
    for mode in MODES:
        print(f"{mode:<8}  p50 {result[mode]['ms_p50']:7.2f} ms   p95 {result[mode]['ms_p95']:7.2f} ms")
    print(
        f"{result['index_passages']} passages, {len(questions)} questions x {args.repeats}, k={args.k}, {result['fusion']}"
    )


if __name__ == "__main__":
    main()
