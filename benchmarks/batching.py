"""How the reader batches one question's windows: one batch padded to the longest against batches of similar length
(:func:`openbook.reading.reader.length_groups` at several slacks), on the top-5 passages of dev questions from the dev index.

The variants take turns on each question's windows, so they meet the same load; the ratio is the median over
questions of each variant's time over the one-batch time. Writes benchmarks/results/batching.json.

    .venv/bin/python benchmarks/batching.py --squad ../shared/data/squad/dev-v1.1.json
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import numpy as np
from common import RESULTS, SQUAD_DEV, machine

from openbook.ingest.loaders import read_squad
from openbook.config import DEFAULT_READER, resolve_model
from openbook.reading.reader import Reader, call_model
from openbook.retrieval.retriever import Retriever
from openbook.evaluation.squad import load_squad

SLACKS = {"one batch": float("inf"), "slack 1.15": 1.15, "slack 1.3 (default)": 1.3, "slack 1.5": 1.5}


def read(reader: Reader, windows: list, slack: float) -> None:
    call_model(reader.model, reader.tokenizer, windows, reader.batch_size, reader.outputs, reader.max_length, slack)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=Path, default=SQUAD_DEV)
    parser.add_argument("--questions", type=int, default=80)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    retriever = Retriever(RESULTS / "index-dev")
    retriever.add(read_squad(args.squad), passage_tokens=382)  # a no-op once the index holds them
    reader = Reader(resolve_model(None, DEFAULT_READER))
    questions = [q.question for q in load_squad(args.squad)]
    random.Random(5).shuffle(questions)
    questions = questions[: args.questions]
    found = retriever.search_many(questions, 5)
    windows = [reader.preprocess([(q, [h.passage.text for h in hits])]) for q, hits in zip(questions, found)]
    for w in windows[:10]:  # warm up shapes
        for slack in SLACKS.values():
            read(reader, w, slack)
    host = machine()
    times: dict[str, list[float]] = {name: [] for name in SLACKS}
    for _ in range(args.repeats):
        for w in windows:
            for name, slack in SLACKS.items():
                began = time.perf_counter()
                read(reader, w, slack)
                times[name].append(1000 * (time.perf_counter() - began))
    base = np.array(times["one batch"])
    result = {
        "machine": host,
        "questions": len(questions),
        "windows_per_question": round(float(np.mean([len(w) for w in windows])), 2),
        "variants": {
            name: {
                "ms_p50": round(float(np.median(t)), 1),
                "time_vs_one_batch": round(float(np.median(np.array(t) / base)), 3),
            }
            for name, t in times.items()
        },
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "batching.json").write_text(json.dumps(result, indent=2) + "\n")
    for name, row in result["variants"].items():
        print(f"{name:<20}  p50 {row['ms_p50']:6.1f} ms   time vs one batch {row['time_vs_one_batch']:.3f}")


if __name__ == "__main__":
    main()
