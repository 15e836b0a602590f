"""Indexing throughput and single-question latency of the default retriever on SQuAD v1.1 dev paragraphs.

End to end as `openbook index` does it: tokenise, encode (length-sorted batches), add to FAISS. Median of --repeats.
Prints a table and writes benchmarks/results/encode.json.

    .venv/bin/python benchmarks/encode.py --squad ../shared/data/squad/dev-v1.1.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import time
from pathlib import Path

import numpy as np

from openbook.embedder import Embedder
from openbook.evaluation.retrieval import load_paragraphs
from openbook.paths import DEFAULT_RETRIEVER, resolve_model
from openbook.vectors import VectorIndex

RESULTS = Path(__file__).resolve().parent / "results"


def cpu_name() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        return next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name"))
    except (OSError, StopIteration):
        return platform.processor()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=Path, default=Path("../shared/data/squad/dev-v1.1.json"))
    parser.add_argument("--model", default=None, help="retriever model (default: the embedded INT8 retriever)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--questions", type=int, default=300, help="questions timed one at a time")
    args = parser.parse_args()

    paragraphs, questions, _ = load_paragraphs(args.squad)
    embedder = Embedder(resolve_model(args.model, DEFAULT_RETRIEVER), batch_size=args.batch_size)
    embedder.encode_passages(paragraphs[:256])  # warm up the runtime's shape cache

    rates = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        vectors = embedder.encode_passages(paragraphs)
        index = VectorIndex(vectors.shape[1], embedder.metric)
        index.add(np.arange(len(paragraphs)), vectors)
        rates.append(len(paragraphs) / (time.perf_counter() - start))

    latencies = []
    for q in questions[: args.questions]:
        start = time.perf_counter()
        index.search(embedder.encode_questions([q]), 5)
        latencies.append(1000 * (time.perf_counter() - start))

    result = {
        "model": embedder.manifest.name,
        "passages": len(paragraphs),
        "batch_size": args.batch_size,
        "passages_per_second_median": round(statistics.median(rates), 1),
        "passages_per_second_runs": [round(r, 1) for r in rates],
        "question_ms_median": round(statistics.median(latencies), 2),
        "question_ms_p95": round(float(np.percentile(latencies, 95)), 2),
        "cpu": cpu_name(),
        "cores": len(__import__("os").sched_getaffinity(0)),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "encode.json").write_text(json.dumps(result, indent=2) + "\n")
    width = max(map(len, result))
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
