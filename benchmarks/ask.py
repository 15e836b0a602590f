"""Latency of `ask` (one question at a time) and throughput of `ask_many`, on an index of SQuAD v1.1 dev paragraphs.

Builds the index once under benchmarks/results/index-dev (reused on later runs), then times single questions (p50,
p95) and batches of questions through ask_many, interleaved, in one process. Writes benchmarks/results/ask.json.

    .venv/bin/python benchmarks/ask.py --squad ../shared/data/squad/dev-v1.1.json
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path

import numpy as np
from common import machine

from openbook.retrieval.fusion import DEFAULT_MODE
from openbook.ingest.loaders import read_squad
from openbook.qa.pipeline import OpenBook
from openbook.retrieval.retriever import Retriever
from openbook.evaluation.squad import load_squad

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=Path, default=Path("../shared/data/squad/dev-v1.1.json"))
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--batch", type=int, default=64, help="questions per ask_many call")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("-k", type=int, default=5)
    parser.add_argument("--mode", default=None, help="retrieval mode, when the retriever offers several")
    parser.add_argument("--index-type", default="flat", choices=("flat", "ivf"), help="vector index of the dev index")
    parser.add_argument("--read-all", action="store_true", help="read all k passages (the figures before the cascade)")
    args = parser.parse_args()

    folder = RESULTS / ("index-dev" if args.index_type == "flat" else f"index-dev-{args.index_type}")
    retriever = Retriever(folder, mode=args.mode or DEFAULT_MODE)
    # a no-op once the index holds them
    retriever.add(read_squad(args.squad), passage_tokens=382, index_type=args.index_type)
    book = OpenBook(retriever=retriever, k=args.k, read_all=args.read_all)
    questions = [q.question for q in load_squad(args.squad)]
    random.Random(0).shuffle(questions)
    questions = questions[: args.questions]
    book.ask_many(questions[:16])  # warm up shapes
    host = machine()  # taken after loading, before timing: other work on the machine skews every figure

    single_rates, many_rates, latencies = [], [], []
    for _ in range(args.repeats):  # interleaved: one-at-a-time, then batched, each repeat
        start = time.perf_counter()
        for q in questions:
            s = time.perf_counter()
            book.ask(q)
            latencies.append(1000 * (time.perf_counter() - s))
        single_rates.append(len(questions) / (time.perf_counter() - start))
        start = time.perf_counter()
        for i in range(0, len(questions), args.batch):
            book.ask_many(questions[i : i + args.batch])
        many_rates.append(len(questions) / (time.perf_counter() - start))

    single, many = statistics.median(single_rates), statistics.median(many_rates)
    # What makes a question slow: the tokens its reader windows hold (its k passages, question included).
    tokens = np.array(
        [
            sum(w.length for w in book.reader.preprocess([(q, [h.passage.text for h in found])]))
            for q, found in zip(questions, retriever.search_many(questions, args.k))
        ]
    )
    per_question = np.median(np.reshape(latencies, (args.repeats, len(questions))), axis=0)
    slow = per_question >= np.percentile(per_question, 90)
    result = {
        "machine": host,
        "passages": retriever.index.count_passages(),
        "index_type": retriever.index.vectors.kind,
        "k": args.k,
        "mode": retriever.mode,
        "weights": {"margin": book.weights.margin, "retrieval": book.weights.retrieval},
        "reading": "all k" if book.cascade.reads_all else str(book.cascade),
        "questions": len(questions),
        "ask_ms_p50": round(float(np.percentile(latencies, 50)), 1),
        "ask_ms_p95": round(float(np.percentile(latencies, 95)), 1),
        "window_tokens_mean": round(float(tokens.mean()), 1),
        "window_tokens_slowest_tenth": round(float(tokens[slow].mean()), 1),
        "latency_tokens_correlation": round(float(np.corrcoef(per_question, tokens)[0, 1]), 2),
        "ask_questions_per_second": round(single, 2),
        "ask_many_questions_per_second": round(many, 2),
        "ask_many_speedup": round(many / single, 2),
        "ask_many_batch": args.batch,
    }
    RESULTS.mkdir(exist_ok=True)
    name = "-".join(
        [
            "ask",
            *([args.mode] if args.mode else []),
            *([args.index_type] if args.index_type != "flat" else []),
            *(["read-all"] if args.read_all else []),
        ]
    )
    name += ".json"
    (RESULTS / name).write_text(json.dumps(result, indent=2) + "\n")
    width = max(map(len, result))
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
