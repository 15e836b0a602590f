"""Read every SQuAD v1.1 dev question's top-k passages one passage at a time and keep each passage's candidates.

The cache lets the cascade's stopping rule be tuned and scored for any stopping point without reading again: reading
passages ``1..m`` gives exactly the candidates of those passages, so reading all ``k`` is the ``m = k`` case.

    nice .venv/bin/python benchmarks/cascade_signals.py --squad ../shared/data/squad/dev-v1.1.json

Writes benchmarks/results/cascade-signals.npz (not committed: about 30 MB).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from openbook.evaluation.squad import exact_match, f1, load_squad
from openbook.ingest.loaders import read_squad
from openbook.qa.pipeline import CANDIDATES, OpenBook
from openbook.retrieval.retriever import Retriever

RESULTS = Path(__file__).resolve().parent / "results"
CHUNK = 64


def dev_index(squad: Path, mode: str = "hybrid") -> Retriever:
    """The benchmarks' index of the SQuAD dev paragraphs (built on first use, as benchmarks/ask.py builds it)."""
    retriever = Retriever(RESULTS / "index-dev", mode=mode)
    retriever.add(read_squad(squad), passage_tokens=382)
    return retriever


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=Path, default=Path("../shared/data/squad/dev-v1.1.json"))
    parser.add_argument("-k", type=int, default=5)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--out", type=Path, default=RESULTS / "cascade-signals.npz")
    parser.add_argument("--every", type=int, default=8, help="read questions i, i+every, ... first (a uniform sample early)")
    parser.add_argument("--from-article", type=int, default=1, help="only questions of this article (1-based) and later")
    args = parser.parse_args()

    every = load_squad(args.squad)
    articles = {t: n for n, t in enumerate(dict.fromkeys(q.title for q in every))}
    kept = [i for i, q in enumerate(every) if articles[q.title] >= args.from_article - 1]
    order = [kept[i] for r in range(args.every) for i in range(r, len(kept), args.every)][: args.limit]
    questions = [every[i] for i in order]
    book = OpenBook(retriever=dev_index(args.squad), k=args.k)
    n, k, c = len(questions), args.k, CANDIDATES
    ret = np.full((n, k), -np.inf, dtype=np.float32)
    tokens = np.zeros((n, k), dtype=np.int32)
    null = np.zeros((n, k), dtype=np.float32)
    span = np.full((n, k, c), -np.inf, dtype=np.float32)
    em = np.zeros((n, k, c), dtype=np.float32)
    f = np.zeros((n, k, c), dtype=np.float32)
    began = time.perf_counter()
    for at in range(0, n, CHUNK):
        chunk = questions[at : at + CHUNK]
        hits = book.retriever.search_many([q.question for q in chunk], k)
        pairs = [(q.question, [h.passage]) for q, found in zip(chunk, hits) for h in found]
        read = book.reader.read_batch(pairs, top_k=c)
        windows = book.reader.preprocess([(q, [p.text for p in ps]) for q, ps in pairs])
        lengths = np.zeros(len(pairs), dtype=np.int32)
        for w in windows:
            lengths[w.query] += w.length
        row = 0
        for i, (q, found) in enumerate(zip(chunk, hits)):
            for j, h in enumerate(found):
                qi = at + i
                ret[qi, j], tokens[qi, j] = h.score, lengths[row]
                answers = read[row]
                row += 1
                if answers:
                    null[qi, j] = answers[0].no_answer_score
                for a_i, a in enumerate(answers):
                    span[qi, j, a_i] = a.score
                    em[qi, j, a_i] = exact_match(a.text, q.answers)
                    f[qi, j, a_i] = f1(a.text, q.answers)
        print(f"{at + len(chunk)}/{n} questions, {time.perf_counter() - began:.0f} s", flush=True)
        if (at // CHUNK) % 2 == 1 or at + CHUNK >= n:
            save(args.out, at + len(chunk), order, ret, tokens, null, span, em, f, questions, articles, book)


def save(out, done, order, ret, tokens, null, span, em, f, questions, articles, book) -> None:
    """Keep the first ``done`` questions read (in reading order) and where they sit in the dev file."""
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out,
        question=np.array(order[:done], dtype=np.int32),
        done=done,
        ret=ret[:done],
        tokens=tokens[:done],
        null=null[:done],
        span=span[:done],
        em=em[:done],
        f1=f[:done],
        article=np.array([articles[q.title] for q in questions[:done]], dtype=np.int16),
        margin_weight=book.weights.margin,
        retrieval_weight=book.weights.retrieval,
    )


if __name__ == "__main__":
    main()
