"""The reading cascade and evidence windows on all of SQuAD v1.1 dev: open-book F1 and tokens read, from cached reads.

    nice -n 10 .venv/bin/python benchmarks/cascade_dev.py read      # every question's top-5 passages, read whole, once
    nice -n 10 .venv/bin/python benchmarks/cascade_dev.py windows --tokens 96 --from-rank 2 --cache cache/dev-w96
    .venv/bin/python benchmarks/cascade_dev.py score                # read all five / the default cascade, all of dev

``read`` and ``windows`` keep what the reader saw in each (question, text) pair in ``cache/pairs.pkl`` (the format of
:mod:`openbook.evaluation.signals`, so a copy of another setting's ``pairs.pkl`` is reused, never read again) and each
question's hits in ``cache/dev-hits.pkl``. ``score`` replays :class:`openbook.qa.cascade.Cascade` and
:func:`openbook.qa.pipeline.rerank` exactly on those reads (a window's spans shifted to passage offsets) with the
reranking weights in force (``--weights``: the reader manifest's, else the defaults) and writes
benchmarks/results/cascade-dev.json (``--window N``: the cascade's windows of N word pieces, from ``cache/dev-wN``; 0:
whole passages). After the weights change, ``score --retune --window 96`` chooses the cascade's lead threshold
on articles 1-24 for the new weights from the same cache, in seconds.
"""

from __future__ import annotations

import argparse
import json
import math
import pickle
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from cascade_signals import dev_index
from common import SQUAD_DEV, write_result

from openbook.evaluation.signals import PairCache
from openbook.evaluation.squad import load_squad

CACHE = Path(__file__).resolve().parents[1] / "cache" / "dev"
CHUNK = 64
K = 5
WINDOW_TOKENS = 128  # the evidence window's cap (word pieces)
SLACK = 0.25  # F1 points below reading all five allowed on the tuning articles (the budget: 0.3 on all of dev)


def _load_hits(cache: Path) -> dict[int, list]:
    path = cache / "dev-hits.pkl"
    return pickle.loads(path.read_bytes()) if path.is_file() else {}


def _save_hits(cache: Path, hits: dict[int, list]) -> None:
    tmp = cache / "dev-hits.tmp"
    tmp.write_bytes(pickle.dumps(hits, protocol=pickle.HIGHEST_PROTOCOL))
    tmp.replace(cache / "dev-hits.pkl")


def order(n: int, every: int = 8) -> list[int]:
    """Questions 0, every, 2·every, … first, so that a run stopped early holds a uniform sample."""
    return [i for r in range(every) for i in range(r, n, every)]


def read(args) -> None:
    """Search every dev question and read each of its top-``K`` passages (or their windows) that the cache lacks."""
    from openbook.config import DEFAULT_READER, resolve_model
    from openbook.reading.reader import Reader

    if args.command == "windows":
        from openbook.reading.window import evidence_window

    args.cache.mkdir(parents=True, exist_ok=True)
    questions = load_squad(args.squad)
    hits = _load_hits(args.cache) or _load_hits(CACHE)  # a new windows cache starts from the whole reads' hits
    pairs = PairCache(args.cache / "pairs.pkl")
    reader = Reader(resolve_model(None, DEFAULT_READER))
    retriever = None
    todo = order(len(questions))[: args.limit]
    began = time.perf_counter()
    for at in range(0, len(todo), CHUNK):
        chunk = todo[at : at + CHUNK]
        missing = [i for i in chunk if i not in hits]
        if missing:
            retriever = retriever or dev_index(args.squad)
            for i, found in zip(missing, retriever.search_many([questions[i].question for i in missing], K)):
                hits[i] = found
        texts = []
        for i in chunk:
            for rank, h in enumerate(hits[i]):
                text = h.passage.text
                if args.command == "windows":
                    if rank < args.from_rank - 1:
                        continue
                    a, b = evidence_window(questions[i].question, text, reader.tokenizer, args.tokens)
                    if (a, b) == (0, len(text)):
                        continue  # the whole passage: ``read`` reads it
                    text = text[a:b]
                texts.append((questions[i].question, text))
        pairs.read(reader, texts)
        done = at + len(chunk)
        print(f"{args.command}: {done}/{len(todo)} questions, {done / (time.perf_counter() - began):.1f}/s", flush=True)
        if (at // CHUNK) % 8 == 7 or done == len(todo):
            pairs.save()
            _save_hits(args.cache, hits)


# ---------------------------------------------------------------------------------------------------- scoring

UNITS = {  # how each rank's passage is read: whole (w) or its evidence window (e)
    "whole": "wwwww",
    "windows after the first": "weeee",
    "windows": "eeeee",
}


@dataclass
class Prefixes:
    """Per question and m = 1..K: the top answer after reading ranks 1..m (its fused score, margin, EM, F1) and the
    passage tokens read."""

    fused: np.ndarray
    margin: np.ndarray
    em: np.ndarray
    f1: np.ndarray
    tokens: np.ndarray
    ret: np.ndarray


def prefixes(questions, hits, rows, units: str, weights, whole: PairCache, windows, tokenizer, tokens: int) -> Prefixes:
    """Replay reading ranks 1..m for every question of ``rows`` and m = 1..K, each rank read as ``units`` says."""
    from openbook.evaluation.qa import _em_f1
    from openbook.evaluation.signals import Pair
    from openbook.qa.pipeline import CANDIDATES, join
    from openbook.reading.reader import Spans, rank
    from openbook.reading.window import evidence_window

    n = len(rows)
    out = Prefixes(*(np.full((n, K), -np.inf) for _ in range(2)), *(np.zeros((n, K)) for _ in range(4)))
    for r, i in enumerate(rows):
        q, found = questions[i], hits[i]
        pairs, counts = [], []
        for j, h in enumerate(found):
            text = h.passage.text
            a, b = (0, len(text))
            if units[j] == "e":
                a, b = evidence_window(q.question, text, tokenizer, tokens)
            if (a, b) == (0, len(text)):
                pair = whole.pairs[_pair_key(q.question, text)]
            else:
                w = windows.pairs[_pair_key(q.question, text[a:b])]
                pair = Pair(w.null, w.start + a, w.end + a, w.score)
            pairs.append(pair)
            counts.append(len(tokenizer.ids(text[a:b])[0]))
            out.ret[r, j] = h.score
        for m in range(1, len(found) + 1):
            parts = [(np.full(len(p.score), j), p.start, p.end, p.score) for j, p in enumerate(pairs[:m])]
            p_, s_, e_, sc = (np.concatenate(x) for x in zip(*parts))
            spans = Spans(p_, s_, e_, sc, {j: p.null for j, p in enumerate(pairs[:m])})
            cands = join(found[:m], rank(spans, [h.passage for h in found[:m]], CANDIDATES, False, 0.0))
            out.tokens[r, m - 1] = sum(counts[:m])
            if not cands:
                continue
            best = max(cands, key=lambda c: weights.score(c.span_score, c.no_answer_score, c.retrieval_score))
            out.fused[r, m - 1] = weights.score(best.span_score, best.no_answer_score, best.retrieval_score)
            out.margin[r, m - 1] = best.margin
            out.em[r, m - 1], out.f1[r, m - 1] = _em_f1(best.text, tuple(q.answers))
    return out


def _pair_key(question: str, text: str) -> bytes:
    from openbook.evaluation.signals import _key

    return _key(question, text)


def simulate(pre: Prefixes, cascade, weights) -> np.ndarray:
    """Passages read per question by ``cascade`` (as :meth:`openbook.qa.cascade.Cascade.more` decides)."""
    first = min(cascade.first, K)
    best = pre.fused[:, first - 1]
    more = ((best[:, None] - weights.retrieval * pre.ret[:, first:]) < cascade.lead).sum(axis=1)
    more = np.where(pre.margin[:, first - 1] >= cascade.margin, more, K - first)
    return first + np.minimum(more, max(cascade.most - first, 0))


def summary(pre: Prefixes, read: np.ndarray, rows: np.ndarray) -> dict:
    pick = read[rows] - 1
    tokens = pre.tokens[rows, pick]
    return {
        "questions": len(rows),
        "exact_match": round(100 * float(pre.em[rows, pick].mean()), 2),
        "f1": round(100 * float(pre.f1[rows, pick].mean()), 2),
        "passages_read_mean": round(float(read[rows].mean()), 3),
        "tokens_read_mean": round(float(tokens.mean()), 1),
        "tokens_read_p50": round(float(np.percentile(tokens, 50)), 1),
        "tokens_read_p95": round(float(np.percentile(tokens, 95)), 1),
    }


def retune(pre: Prefixes, weights, tune_rows: np.ndarray, slack: float, full: float | None = None):
    """The cheapest cascade (p95 then mean tokens read on ``tune_rows``) whose F1 there is within ``slack`` of
    reading all ``K`` (``full``: that F1, when ``pre`` reads another unit); the grid of ``benchmarks/cascade.py tune``
    for a first passage, on this cache."""
    from openbook.qa.cascade import Cascade

    full = 100 * pre.f1[tune_rows, K - 1].mean() if full is None else full
    lead0 = pre.fused[tune_rows, 0] - weights.retrieval * pre.ret[tune_rows, 1]
    best = None
    for lead in np.quantile(lead0[np.isfinite(lead0)], np.linspace(0, 1, 81)):
        for most in (3, 4, 5):
            for margin in (-math.inf, 0.0, 2.0, 4.0):
                c = Cascade(first=1, lead=round(float(lead), 2), margin=margin, most=most, weights=weights)
                s = summary(pre, simulate(pre, c, weights), tune_rows)
                cost = (s["tokens_read_p95"], s["tokens_read_mean"])
                if s["f1"] >= full - slack and (best is None or cost < best[0]):
                    best = (cost, c)
    if best is None:
        raise SystemExit(f"no cascade of the grid is within {slack} F1 of reading all {K} on the tuning questions")
    return best[1]


def score(args) -> None:
    from openbook.config import DEFAULT_READER, resolve_model
    from openbook.qa.cascade import DEFAULT_CASCADES, READ_ALL
    from openbook.qa.rerank import DEFAULT_WEIGHTS, Weights
    from openbook.reading.reader import Reader

    questions = load_squad(args.squad)
    hits = _load_hits(args.cache)
    missing = [i for i in range(len(questions)) if i not in hits]
    if missing:  # searching is cheap: every question whose passages were read (here or in a copied cache) counts
        retriever = dev_index(args.squad)
        for at in range(0, len(missing), 256):
            part = missing[at : at + 256]
            hits.update(zip(part, retriever.search_many([questions[i].question for i in part], K)))
        _save_hits(args.cache, hits)
    whole = PairCache(args.cache / "pairs.pkl")
    rows = [
        i
        for i in range(len(questions))
        if all(_pair_key(questions[i].question, h.passage.text) in whole.pairs for h in hits[i])
    ]
    print(f"{len(rows)} of {len(questions)} questions have every passage read", flush=True)
    reader = Reader(resolve_model(None, DEFAULT_READER))
    chosen = (reader.manifest.confidence or {}).get("weights", {}).get("hybrid")
    if args.weights == "manifest" and chosen:
        weights = Weights(**chosen)
    elif args.weights in ("manifest", "default"):
        weights = DEFAULT_WEIGHTS["hybrid"]
    else:
        weights = Weights(*map(float, args.weights.split(",")))
    titles = {t: n for n, t in enumerate(dict.fromkeys(q.title for q in questions))}
    article = np.array([titles[questions[i].title] for i in rows])
    every = np.arange(len(rows))
    third = np.flatnonzero(np.array(rows) % 3 == 0)  # a uniform sample: every 3rd question of the file
    tune_rows = np.flatnonzero(article < 24)
    began = time.perf_counter()
    kept = args.cache / f"prefixes-{weights.margin}-{weights.retrieval}-{len(rows)}.pkl"  # the replay, for reruns
    if kept.is_file():
        pre = pickle.loads(kept.read_bytes())
    else:
        pre = prefixes(questions, hits, rows, UNITS["whole"], weights, whole, None, reader.tokenizer, args.tokens)
        kept.write_bytes(pickle.dumps(pre, protocol=pickle.HIGHEST_PROTOCOL))
    print(f"replayed {len(rows)} questions in {time.perf_counter() - began:.0f} s", flush=True)
    cascade = DEFAULT_CASCADES.get("hybrid", READ_ALL)
    window = cascade.window if args.window is None else (args.window or None)
    read = pre  # the reads the cascade replays: whole passages, or windows after the first
    if window:
        read = windowed(args, questions, hits, rows, weights, whole, reader.tokenizer, window)
    if args.retune:
        full = 100 * pre.f1[tune_rows, K - 1].mean()
        cascade = replace(retune(read, weights, tune_rows, args.slack, full), window=window)
        print(f"retuned for {weights}: {cascade}", flush=True)
    else:
        cascade = replace(cascade, window=window, most=args.most or cascade.most)

    def both(part: np.ndarray) -> dict:
        return {
            "read all five": summary(pre, np.full(len(rows), K), part),
            "cascade": summary(read, simulate(read, cascade, weights), part),
        }

    held_out = np.flatnonzero((article >= 24) & (article < 48))
    result = {
        "command": "benchmarks/cascade_dev.py score"
        + (f" --retune --slack {args.slack}" if args.retune else "")
        + (f" --window {args.window}" if args.window is not None else "")
        + (f" --most {args.most}" if args.most is not None else ""),
        "weights": {"margin": weights.margin, "retrieval": weights.retrieval},
        "cascade": {
            "first": cascade.first,
            "lead": cascade.lead,
            "margin": cascade.margin,
            "most": cascade.most,
            "window": cascade.window,
        },
        "retuned": bool(args.retune),
        "retune_slack_f1_on_articles_1_24": args.slack if args.retune else None,
        "k": K,
        "questions_read": len(rows),
        "questions_in_dev": len(questions),
        "all_read": both(every),
        "every_3rd_question": both(third),
        "articles_1_24_tuning": both(tune_rows),
        "articles_25_48": both(held_out),
    }
    if args.windows:
        result["evidence_windows"] = _windows_result(args, questions, hits, rows, weights, whole, reader, pre, cascade)
    write_result(args.out, result)  # benchmarks/results/OUT.json
    print(json.dumps(result, indent=1))


def windowed(args, questions, hits, rows, weights, whole, tokenizer, window: int) -> Prefixes:
    """The replay of every question of ``rows`` with passages 2-5 read as their evidence windows of ``window`` word
    pieces, from the windows cache ``CACHE-wWINDOW`` (``windows --tokens WINDOW --from-rank 2``); kept for reruns."""
    cache = args.cache.with_name(f"{args.cache.name}-w{window}")
    units = UNITS["windows after the first"]
    kept = cache / f"prefixes-{weights.margin}-{weights.retrieval}-w{window}-{len(rows)}.pkl"
    if kept.is_file():
        return pickle.loads(kept.read_bytes())
    windows = PairCache(cache / "pairs.pkl")
    missing = [i for i in rows if not _has_windows(questions[i], hits[i], units, tokenizer, window, whole, windows)]
    if missing:
        raise SystemExit(
            f"{len(missing)} questions lack their windows of {window} tokens: run "
            f"benchmarks/cascade_dev.py windows --tokens {window} --from-rank 2 --cache {cache}"
        )
    began = time.perf_counter()
    pre = prefixes(questions, hits, rows, units, weights, whole, windows, tokenizer, window)
    kept.write_bytes(pickle.dumps(pre, protocol=pickle.HIGHEST_PROTOCOL))
    print(f"replayed {len(rows)} questions with windows of {window} in {time.perf_counter() - began:.0f} s", flush=True)
    return pre


def _windows_result(args, questions, hits, rows, weights, whole, reader, pre, cascade) -> dict:
    """Every question whose windows were read for the units of ``--units``: read all five and the cascade, whole and
    with windows (``score --retune --window N`` retunes the cascade for windows)."""
    windows = PairCache(args.windows / "pairs.pkl")
    tok = reader.tokenizer
    units = UNITS[args.units]
    sample = [
        r for r, i in enumerate(rows) if _has_windows(questions[i], hits[i], units, tok, args.tokens, whole, windows)
    ]
    sub = [rows[r] for r in sample]
    print(f"{len(sub)} questions have their windows read ({args.units}, {args.tokens} tokens)", flush=True)
    p = prefixes(questions, hits, sub, units, weights, whole, windows, tok, args.tokens)
    whole_sub = Prefixes(*(getattr(pre, f)[sample] for f in ("fused", "margin", "em", "f1", "tokens", "ret")))
    at = np.arange(len(sub))
    out = {"questions": len(sub), "window_tokens": args.tokens, "units": args.units}
    out["read all five, whole"] = summary(whole_sub, np.full(len(sub), K), at)
    out["cascade, whole"] = summary(whole_sub, simulate(whole_sub, cascade, weights), at)
    out[f"read all five, {args.units}"] = summary(p, np.full(len(sub), K), at)
    out[f"cascade, {args.units}"] = summary(p, simulate(p, cascade, weights), at)
    return out


def _has_windows(q, found, units, tokenizer, tokens, whole, windows) -> bool:
    from openbook.reading.window import evidence_window

    for h, unit in zip(found, units):
        a, b = (
            evidence_window(q.question, h.passage.text, tokenizer, tokens) if unit == "e" else (0, len(h.passage.text))
        )
        key = _pair_key(q.question, h.passage.text[a:b])
        if key not in (whole.pairs if (a, b) == (0, len(h.passage.text)) else windows.pairs):
            return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("read", "windows"):
        p = sub.add_parser(name)
        p.add_argument("--squad", type=Path, default=SQUAD_DEV)
        p.add_argument("--cache", type=Path, default=CACHE)
        p.add_argument("--limit", type=int, default=None, help="only the first N questions of the sampling order")
        p.add_argument("--tokens", type=int, default=WINDOW_TOKENS)
        p.add_argument("--from-rank", type=int, default=1, help="windows: read the windows of this rank on only")
    p = sub.add_parser("score")
    p.add_argument("--squad", type=Path, default=SQUAD_DEV)
    p.add_argument("--cache", type=Path, default=CACHE)
    p.add_argument(
        "--windows", type=Path, default=None, help="also compare --units windows of --tokens from this cache"
    )
    p.add_argument("--tokens", type=int, default=WINDOW_TOKENS)
    p.add_argument("--weights", default="manifest", help="manifest (as OpenBook), default, or MARGIN,RETRIEVAL")
    p.add_argument("--retune", action="store_true", help="choose the cascade for these weights on articles 1-24")
    p.add_argument("--slack", type=float, default=SLACK, help="F1 allowed below reading all K, articles 1-24")
    p.add_argument(
        "--window", type=int, default=None, help="the cascade's window cap (default: the default cascade's; 0: whole)"
    )
    p.add_argument("--most", type=int, default=None, help="the default cascade with another cap on passages read")
    p.add_argument("--units", choices=UNITS, default="windows after the first", help="how windows are read")
    p.add_argument("--out", default="cascade-dev")
    args = parser.parse_args()
    if args.command == "score":
        score(args)
    else:
        read(args)


if __name__ == "__main__":
    main()
