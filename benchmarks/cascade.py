"""The reading cascade: choose its stopping thresholds on cached reader signals, then time it against reading all five.

    nice .venv/bin/python benchmarks/cascade_signals.py          # read every question's 5 passages once, cache them
    .venv/bin/python benchmarks/cascade.py tune                   # thresholds on articles 1-24, scored on 25-48 and all
    .venv/bin/python benchmarks/cascade.py time --questions 500   # ask: read all five against the cascade, interleaved

The default cascade is now tuned with ``benchmarks/cascade_dev.py score --retune`` (for the reranking weights in
force, on every dev question read); ``tune`` here is the first tuning, for the default weights of the npz cache.
``time`` times ``OpenBook`` as ``ask`` reads by default against ``read_all=True``, after
:meth:`~openbook.qa.pipeline.OpenBook.warm_up` (as ``openbook serve`` and an interactive ``ask`` do in the background;
``--cold``: without it, so the first question meeting each batch shape pays its set-up, 10-15 ms).

``tune`` simulates the cascade exactly on the cache (reading passages 1..m gives those passages' candidates, cut to the
best 50 by span score as one read of them keeps) and writes benchmarks/results/cascade-tune.json; ``time`` writes
benchmarks/results/cascade.json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import random
import statistics
import time
from pathlib import Path

import numpy as np
from common import RESULTS, SQUAD_DEV, latency_summary, machine, write_result

CANDIDATES = 50
FIRST = (1, 2)
MOST = (3, 4, 5)
SLACK = 0.15  # F1 points below reading all five allowed on the tuning articles (the target is 0.3 on all of dev)


# ---------------------------------------------------------------------------------------------------- simulation


def prefix_reads(cache) -> dict[str, np.ndarray]:
    """For each m = 1..k: the best fused candidate after reading passages 1..m: its fused score, margin, EM, F1."""
    span, null, ret = cache["span"], cache["null"], cache["ret"]
    a, b = float(cache["margin_weight"]), float(cache["retrieval_weight"])
    n, k, c = span.shape
    fused = span + a * (span - null[..., None]) + b * ret[..., None]
    margin = span - null[..., None]
    out = {x: np.zeros((n, k)) for x in ("fused", "margin", "em", "f1")}
    rows = np.arange(n)[:, None]
    for m in range(1, k + 1):
        s = span[:, :m].reshape(n, -1)
        keep = np.argpartition(-s, min(CANDIDATES, s.shape[1]) - 1, axis=1)[:, :CANDIDATES]
        fz = fused[:, :m].reshape(n, -1)[rows, keep]
        fz = np.where(np.isfinite(s[rows, keep]), fz, -np.inf)
        best = keep[np.arange(n), np.argmax(fz, axis=1)]
        for name, values in (("fused", fused), ("margin", margin), ("em", cache["em"]), ("f1", cache["f1"])):
            out[name][:, m - 1] = values[:, :m].reshape(n, -1)[np.arange(n), best]
    return out


def simulate(cache, reads, first: int, lead: float, margin: float, most: int) -> np.ndarray:
    """Passages read per question by ``Cascade(first, lead, margin, most)``."""
    ret, b = cache["ret"], float(cache["retrieval_weight"])
    n, k = ret.shape
    best = reads["fused"][:, first - 1]
    more = ((best[:, None] - b * ret[:, first:]) < lead).sum(axis=1)
    more = np.where(reads["margin"][:, first - 1] >= margin, more, k - first)
    return np.minimum(first + more, max(most, first))


def score(cache, reads, read: np.ndarray, rows: np.ndarray, first: int) -> dict[str, float]:
    """EM/F1 of the cascade's answers on ``rows``, the passages and window tokens it reads, its model calls."""
    pick = read[rows] - 1
    tokens = cache["tokens"][rows]
    k = tokens.shape[1]
    read_tokens = np.array([t[:m].sum() for t, m in zip(tokens, read[rows])])
    return {
        "exact_match": round(100 * float(reads["em"][rows, pick].mean()), 2),
        "f1": round(100 * float(reads["f1"][rows, pick].mean()), 2),
        "full_exact_match": round(100 * float(reads["em"][rows, k - 1].mean()), 2),
        "full_f1": round(100 * float(reads["f1"][rows, k - 1].mean()), 2),
        "passages_read_mean": round(float(read[rows].mean()), 3),
        "passages_read_histogram": np.bincount(read[rows], minlength=k + 1)[1:].tolist(),
        "tokens_read_fraction": round(float(read_tokens.sum() / tokens.sum()), 3),
        "tokens_read_p50": round(float(np.percentile(read_tokens, 50)), 1),
        "tokens_read_p95": round(float(np.percentile(read_tokens, 95)), 1),
        "full_tokens_p50": round(float(np.percentile(tokens.sum(axis=1), 50)), 1),
        "full_tokens_p95": round(float(np.percentile(tokens.sum(axis=1), 95)), 1),
        "questions": int(len(rows)),
    }


def tune(args) -> None:
    parts_ = [dict(np.load(c)) for c in args.cache]
    keys = ("ret", "tokens", "null", "span", "em", "f1", "article")
    cache = {key: np.concatenate([p[key] for p in parts_]) for key in keys}
    cache.update({key: parts_[0][key] for key in ("margin_weight", "retrieval_weight")})
    reads = prefix_reads(cache)
    article = cache["article"]
    n, k = cache["ret"].shape
    parts = {
        "articles 1-24 (tuning)": np.flatnonzero(article < 24),
        "articles 25-48 (held out)": np.flatnonzero(article >= 24),
        "all": np.arange(n),
    }
    tune_rows = parts["articles 1-24 (tuning)"]
    full = 100 * reads["f1"][tune_rows, k - 1].mean()
    first_lead = reads["fused"][tune_rows, 0] - float(cache["retrieval_weight"]) * cache["ret"][tune_rows, 1]
    leads = np.quantile(first_lead, np.linspace(0, 1, 81))  # the grid from the tuning rows alone
    margins = (-math.inf, 0.0, 2.0, 4.0, 6.0, 8.0)
    best: dict[tuple[int, int], tuple] = {}
    for first, most, lead, margin in itertools.product(FIRST, MOST, leads, margins):
        read = simulate(cache, reads, first, float(lead), margin, most)
        s = score(cache, reads, read, tune_rows, first)
        cost = (s["tokens_read_p95"], s["tokens_read_fraction"])
        if s["f1"] >= full - SLACK and ((first, most) not in best or cost < best[first, most][0]):
            best[first, most] = (cost, float(lead), margin)
    result = {"cache": [str(c) for c in args.cache], "questions": int(n), "slack_f1_on_tuning": SLACK, "plans": []}
    for (first, most), (_, lead, margin) in sorted(best.items(), key=lambda x: x[1][0]):
        read = simulate(cache, reads, first, lead, margin, most)
        row = {"first": first, "most": most, "lead": round(lead, 2), "margin": margin}
        row.update({name: score(cache, reads, read, rows, first) for name, rows in parts.items() if len(rows)})
        result["plans"].append(row)
        print(json.dumps(row))
    write_result("cascade-tune", result)


# ---------------------------------------------------------------------------------------------------- timing


def time_it(args) -> None:
    from cascade_signals import dev_index

    from openbook.evaluation.squad import f1, load_squad
    from openbook.qa.cascade import Cascade
    from openbook.qa.pipeline import OpenBook

    retriever = dev_index(args.squad)
    full = OpenBook(retriever=retriever, k=5, read_all=True)
    cascade = OpenBook(retriever=retriever, reader=full.reader, k=5)  # the default: the cascade tuned for its weights
    sides = {"read all five": full, "cascade": cascade}
    for spec in args.also:  # LEAD:MOST[:WINDOW], the default cascade's other fields
        lead, most, *window = spec.split(":")
        rule = Cascade(
            first=1,
            lead=float(lead),
            most=int(most),
            window=int(window[0]) if window else None,
            weights=cascade.cascade.weights,
        )
        sides[f"cascade {spec}"] = OpenBook(retriever=retriever, reader=full.reader, k=5, cascade=rule)
    questions = load_squad(args.squad)
    random.Random(0).shuffle(questions)
    questions = questions[: args.questions]
    for q in questions[:10]:  # the first question pays for the first inference of each model
        for side in sides.values():
            side.ask(q.question)
    if not args.cold:  # every batch shape a question meets, run once, as a server or an interactive session does
        cascade.warm_up()
    host = machine()
    read_before = {name: side.passages_read for name, side in sides.items()}
    ms: dict[str, list[float]] = {s: [] for s in sides}
    scores: dict[str, list[float]] = {s: [] for s in sides}
    same = dict.fromkeys(sides, 0)
    names = list(sides)
    for i, q in enumerate(questions):
        tops = {}
        for name in names[i % len(names) :] + names[: i % len(names)]:  # each side first in turn
            began = time.perf_counter()
            answers = sides[name].ask(q.question)
            ms[name].append(1000 * (time.perf_counter() - began))
            tops[name] = answers[0].text if answers else ""
            scores[name].append(f1(tops[name], q.answers))
        for name in names:
            same[name] += tops[name] == tops["read all five"]
        if (i + 1) % 50 == 0 or i + 1 == len(questions):
            report(args.out, host, i + 1, retriever.mode, sides, ms, scores, same, read_before, not args.cold)


def report(out, host, n, mode, sides, ms, scores, same, read_before, warmed) -> None:
    """Write benchmarks/results/OUT.json from the first ``n`` questions asked."""

    def rule(side) -> dict:
        c = side.cascade
        return {"first": c.first, "lead": c.lead, "margin": c.margin, "most": c.most, "window": c.window}

    result = {
        "machine": host,
        "load_average_at_last_write": [round(x, 2) for x in os.getloadavg()],
        "questions": n,
        "mode": mode,
        "warmed_up": warmed,
        "cascade": rule(sides["cascade"]),
        "sides": {
            name: {
                **latency_summary(ms[name], 1),
                "mean_ms": round(statistics.fmean(ms[name]), 1),
                "f1": round(100 * statistics.fmean(scores[name]), 2),
                "same_top_answer_as_read_all": round(same[name] / n, 3),
                "passages_read_mean": round((sides[name].passages_read - read_before[name]) / n, 3),
                **({} if name == "read all five" else {"rule": rule(sides[name])}),
            }
            for name in ms
        },
    }
    write_result(out, result)
    print(
        json.dumps({k: {m: v[m] for m in ("p50_ms", "p95_ms", "f1") if m in v} for k, v in result["sides"].items()}),
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("tune", help="choose the stopping thresholds on the cached signals")
    t.add_argument("--cache", type=Path, nargs="+", default=[RESULTS / "cascade-signals.npz"])
    m = sub.add_parser("time", help="ask latency: read all five against the cascade, interleaved")
    m.add_argument("--squad", type=Path, default=SQUAD_DEV)
    m.add_argument("--questions", type=int, default=500)
    m.add_argument("--cold", action="store_true", help="no warm-up: each batch shape's first run falls on a question")
    m.add_argument("--also", nargs="*", default=[], help="other cascades, LEAD:MOST[:WINDOW], timed alongside")
    m.add_argument("--out", default="cascade", help="benchmarks/results/OUT.json")
    args = parser.parse_args()
    tune(args) if args.command == "tune" else time_it(args)


if __name__ == "__main__":
    main()
