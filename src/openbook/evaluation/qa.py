"""Open-book QA on a SQuAD file: index every paragraph, then retrieve, read and rerank; EM/F1 of the top answer.

Every candidate answer keeps its span, no-answer and retrieval scores, so the fusion weights can be chosen on one part
of the file (``tune_articles``, the first 24 articles by default) and reported on the rest without reading again.
"""

from __future__ import annotations

import itertools
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from openbook.qa.rerank import Weights
from openbook.retrieval.fusion import DEFAULT_MODE
from openbook.ingest.loaders import read_squad
from openbook.qa.pipeline import OpenBook
from openbook.reading.reader import Reader
from openbook.retrieval.retriever import Retriever
from openbook.evaluation.squad import exact_match, f1, load_squad

MARGIN_GRID = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
RETRIEVAL_GRID = (0.0, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 40.0, 80.0)
CHUNK = 64


def _signals(candidates, golds) -> tuple[np.ndarray, ...]:
    """[questions, candidates] arrays of span, null, retrieval scores and each candidate's EM and F1 (-inf padded)."""
    width = max(1, max(len(c) for c in candidates))
    shape = (len(candidates), width)
    span, null, ret = (np.full(shape, -np.inf), np.zeros(shape), np.zeros(shape))
    em, f = np.zeros(shape), np.zeros(shape)
    for i, (cands, gold) in enumerate(zip(candidates, golds)):
        for j, c in enumerate(cands):
            span[i, j], null[i, j], ret[i, j] = c.span_score, c.no_answer_score, c.retrieval_score
            em[i, j], f[i, j] = exact_match(c.text, gold), f1(c.text, gold)
    return span, null, ret, em, f


def _score(signals, weights: Weights, rows: np.ndarray) -> dict[str, float]:
    span, null, ret, em, f = (s[rows] for s in signals)
    fused = span + weights.margin * (span - null) + weights.retrieval * ret
    best = np.argmax(fused, axis=1)
    pick = np.arange(len(rows))
    return {
        "exact_match": round(100 * float(em[pick, best].mean()), 2),
        "f1": round(100 * float(f[pick, best].mean()), 2),
    }


def _tune(signals, rows: np.ndarray, margins, retrievals) -> Weights:
    grid = [Weights(m, r) for m, r in itertools.product(margins, retrievals)]
    return max(grid, key=lambda w: (_score(signals, w, rows)["f1"], -w.margin - w.retrieval))


def evaluate_qa(
    squad_file: Path,
    retriever_model: str | Path | None = None,
    reader: Reader | None = None,
    k: int = 5,
    mode: str = DEFAULT_MODE,
    weights: Weights | None = None,
    tune_articles: int = 24,
    limit: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """EM/F1 of the top answer with ``weights``, and what each fused signal adds (tuned on the first articles)."""
    questions = load_squad(squad_file)
    articles = {title: n for n, title in enumerate(dict.fromkeys(q.title for q in questions))}
    if limit:
        questions = questions[:limit]
    docs = read_squad(Path(squad_file))
    with tempfile.TemporaryDirectory(prefix="openbook-eval-") as tmp:
        t0 = time.perf_counter()
        retriever = Retriever(Path(tmp) / "qa", model=retriever_model, mode=mode)
        retriever.add(docs, passage_tokens=retriever.manifest.passage_length - 2, progress=progress)
        passages = retriever.index.count_passages()
        book = OpenBook(retriever=retriever, reader=reader, k=k, weights=weights)
        weights = book.weights
        t1 = time.perf_counter()
        candidates = []
        for start in range(0, len(questions), CHUNK):
            chunk = questions[start : start + CHUNK]
            candidates += book.candidates([q.question for q in chunk])
            if progress:
                progress("questions", start + len(chunk), len(questions))
        t2 = time.perf_counter()
        single = []
        for q in questions[:50]:
            s = time.perf_counter()
            book.ask(q.question)
            single.append(time.perf_counter() - s)
    signals = _signals(candidates, [q.answers for q in questions])
    every = np.arange(len(questions))
    tune_rows = np.array([i for i, q in enumerate(questions) if articles[q.title] < tune_articles], dtype=np.int64)
    held_rows = np.array([i for i, q in enumerate(questions) if articles[q.title] >= tune_articles], dtype=np.int64)
    variants: dict[str, Any] = {}
    if len(tune_rows):
        for name, w in (
            ("span", Weights()),
            ("span+margin", _tune(signals, tune_rows, MARGIN_GRID, (0.0,))),
            ("span+retrieval", _tune(signals, tune_rows, (0.0,), RETRIEVAL_GRID)),
            ("span+margin+retrieval", _tune(signals, tune_rows, MARGIN_GRID, RETRIEVAL_GRID)),
        ):
            variants[name] = {
                "weights": {"margin": w.margin, "retrieval": w.retrieval},
                f"articles 1-{tune_articles} (tuning)": _score(signals, w, tune_rows),
                **({f"articles {tune_articles + 1}+ (held out)": _score(signals, w, held_rows)} if len(held_rows) else {}),
                "all": _score(signals, w, every),
            }
    return {
        **_score(signals, weights, every),
        "weights": {"margin": weights.margin, "retrieval": weights.retrieval},
        "k": k,
        "mode": mode,
        "questions": len(questions),
        "paragraphs": len(docs),
        "passages": passages,
        "index_seconds": round(t1 - t0, 1),
        "read_seconds": round(t2 - t1, 1),
        "questions_per_second": round(len(questions) / (t2 - t1), 1),
        "ask_ms_median": round(1000 * float(np.median(single)), 1),
        "variants": variants,
    }
