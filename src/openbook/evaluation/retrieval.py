"""Retrieval recall on a SQuAD file: each paragraph is one passage; a question's hit is its own paragraph.

The paragraphs go into in-memory indexes (FAISS vectors, an SQLite/FTS5 store) searched by the same
:class:`~openbook.retrieval.search.Searcher` that ``openbook search`` uses. Dense, lexical and hybrid retrieval are
measured from the same candidate lists, so ``--tune`` can compare every fusion on the first 24 articles (where the
default was chosen), the other 24 and all, without searching again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from openbook.errors import OpenbookError
from openbook.index.store import PassageStore
from openbook.index.vectors import VectorIndex
from openbook.ingest.squad import parse_squad
from openbook.models.encoder import Encoder
from openbook.retrieval.dense import DenseSearcher
from openbook.retrieval.fusion import DEFAULT_DEPTH, DEFAULT_FUSION, DEFAULT_MODE, Fusion, Hit, check_mode
from openbook.retrieval.lexical import LexicalSearcher
from openbook.retrieval.search import Searcher, sides
from openbook.types import Document, Passage

TUNE_ARTICLES = 24
RRF_GRID = (1, 2, 5, 10, 20, 30, 60, 100)
ALPHA_GRID = (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7)


def load_squad_paragraphs(path: Path) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
    """Paragraph texts, question texts, each question's paragraph number and its article number (0-based)."""
    paragraphs: list[str] = []
    questions: list[str] = []
    gold: list[int] = []
    articles: list[int] = []
    for number, _, _, para in parse_squad(path).paragraphs():
        for qa in para.questions:
            questions.append(qa.question)
            gold.append(len(paragraphs))
            articles.append(number)
        paragraphs.append(para.context)
    return paragraphs, questions, np.asarray(gold, dtype=np.int64), np.asarray(articles, dtype=np.int64)


def load_paragraphs(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    """Paragraph texts, question texts and each question's paragraph number, from a SQuAD-format file."""
    paragraphs, questions, gold, _ = load_squad_paragraphs(path)
    return paragraphs, questions, gold


def recall_at(ranked: np.ndarray, gold: np.ndarray, ks: tuple[int, ...]) -> dict[str, float]:
    """Percentage of rows whose gold id is among the first k ranked ids, for each k."""
    return {f"recall@{k}": round(100.0 * float(np.mean((ranked[:, :k] == gold[:, None]).any(axis=1))), 2) for k in ks}


def gold_ranks(ranked: Sequence[Sequence[int]], gold: np.ndarray) -> np.ndarray:
    """1-based rank of each row's gold id in its ranked ids (0 when it is not there)."""
    out = np.zeros(len(gold), dtype=np.int64)
    for n, (ids, g) in enumerate(zip(ranked, gold)):
        for rank, pid in enumerate(ids, start=1):
            if pid == g:
                out[n] = rank
                break
    return out


def scores_of(ranks: np.ndarray, ks: tuple[int, ...]) -> dict[str, float]:
    """Recall@k for each k and MRR@max(k), as percentages, from gold ranks (0: not found)."""
    found = ranks > 0
    out = {f"recall@{k}": round(100.0 * float(np.mean(found & (ranks <= k))), 2) for k in ks}
    reciprocal = np.where(found & (ranks <= max(ks)), 1.0 / np.maximum(ranks, 1), 0.0)
    out[f"mrr@{max(ks)}"] = round(100.0 * float(np.mean(reciprocal)), 2)
    return out


def lexical_store(paragraphs: Sequence[str]) -> PassageStore:
    """An in-memory store (with its lexical index) of the paragraphs, paragraph n as passage id n + 1."""
    store = PassageStore(":memory:")
    with store.conn:
        for n, text in enumerate(paragraphs):
            store.add_document(Document(str(n), text), "", [Passage(text, str(n), 0, len(text))])
    return store


def fusion_grid() -> list[Fusion]:
    """The fusions ``--tune`` compares: RRF over ``RRF_GRID``, both weighted sums over ``ALPHA_GRID``."""
    return [Fusion("rrf", k=k) for k in RRF_GRID] + [
        Fusion(method, alpha=a) for method in ("minmax", "zscore") for a in ALPHA_GRID
    ]


def tune_fusion(
    dense: Sequence[Sequence[Hit]],
    words: Sequence[Sequence[Hit]],
    gold: np.ndarray,
    articles: np.ndarray,
    tune_articles: int = TUNE_ARTICLES,
    ks: tuple[int, ...] = (1, 5, 20),
) -> dict[str, Any]:
    """Every fusion of ``fusion_grid`` scored on the first ``tune_articles`` articles, the rest and all; the one with
    the best MRR on the tuning articles is ``chosen``."""
    halves = {
        f"articles 1-{tune_articles} (tuning)": articles < tune_articles,
        f"articles {tune_articles + 1}+ (held out)": articles >= tune_articles,
        "all": np.ones(len(gold), dtype=bool),
    }
    tuning = next(iter(halves))
    criterion = f"mrr@{max(ks)}"

    def row(name: str, ranked: Sequence[Sequence[int]]) -> dict[str, Any]:
        ranks = gold_ranks(ranked, gold)
        return {"retrieval": name, **{h: scores_of(ranks[rows], ks) for h, rows in halves.items() if rows.any()}}

    rows = [row(name, [[i for i, _ in hits] for hits in lists]) for name, lists in (("dense", dense), ("lexical", words))]
    for fusion in fusion_grid():
        fused = [fusion.fuse({"dense": d, "lexical": w}) for d, w in zip(dense, words)]
        rows.append(row(f"hybrid {fusion.label}", [[f.id for f in hits[: max(ks)]] for hits in fused]))
    best = max(rows[2:], key=lambda r: r[tuning][criterion])
    return {"selected_by": f"{criterion} on {tuning}", "chosen": best["retrieval"], "rows": rows}


def evaluate_retrieval(
    embedder: Encoder | None,
    squad_file: Path,
    ks: tuple[int, ...] = (1, 5, 20),
    latency_questions: int = 200,
    progress: Callable[[str, int, int], None] | None = None,
    mode: str = DEFAULT_MODE,
    fusion: Fusion = DEFAULT_FUSION,
    depth: int = DEFAULT_DEPTH,
    tune: bool = False,
    tune_articles: int = TUNE_ARTICLES,
) -> dict[str, Any]:
    """Recall@k of each question's own paragraph among all paragraphs by ``mode``, with indexing and search timings.

    ``embedder`` may be any :class:`~openbook.models.encoder.Encoder` (None for lexical runs). Hybrid runs report the
    dense and lexical figures beside the fused ones; ``tune`` adds every fusion of
    ``fusion_grid`` on the first ``tune_articles`` articles, the rest and all (``tune_fusion``).
    """
    check_mode(mode)
    paragraphs, questions, gold, articles = load_squad_paragraphs(squad_file)
    if not questions:
        raise OpenbookError(f"{squad_file}: no questions")
    gold = gold + 1  # passage ids are paragraph numbers + 1
    measured = "hybrid" if tune else mode  # --tune compares fusions: it needs both sides' lists
    done = 0

    def step(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress("passages", done, len(paragraphs))

    t0 = time.perf_counter()
    searcher = Searcher(fusion=fusion, depth=depth)
    store: PassageStore | None = None
    if "dense" in sides(measured):
        if embedder is None:
            raise OpenbookError(f"{measured} retrieval needs an embedding model")
        vectors = VectorIndex(embedder.dimension, embedder.manifest.metric or "ip")
        vectors.add(np.arange(1, len(paragraphs) + 1), embedder.encode_passages(paragraphs, step))
        searcher.dense = DenseSearcher(vectors, embedder.encode_questions)
    if "lexical" in sides(measured):
        store = lexical_store(paragraphs)
        searcher.lexical = LexicalSearcher(store.conn)
    t1 = time.perf_counter()
    k = max(ks)
    ranked = searcher.candidates(questions, k, measured)
    fused = searcher.fuse(ranked, mode)
    width = searcher.width(k, measured)
    t2 = time.perf_counter()
    latencies = []
    for q in questions[:latency_questions]:  # one question at a time: encode, search, fuse, as `openbook search` does
        s = time.perf_counter()
        searcher.search([q], k, mode)
        latencies.append(time.perf_counter() - s)
    if progress:
        progress("done", 1, 1)
    result: dict[str, Any] = {
        "mode": mode,
        **({"fusion": fusion.label, "depth": width} if mode == "hybrid" else {}),
        **scores_of(gold_ranks([[f.id for f in hits[: max(ks)]] for hits in fused], gold), ks),
    }
    if mode == "hybrid":
        for name in ("dense", "lexical"):
            result[name] = scores_of(gold_ranks([[i for i, _ in lists[name][:k]] for lists in ranked], gold), ks)
    result.update(
        {
            "questions": len(questions),
            "passages": len(paragraphs),
            "model": embedder.manifest.name if embedder is not None and "dense" in sides(measured) else None,
            "index_seconds": round(t1 - t0, 3),
            "passages_per_second": round(len(paragraphs) / (t1 - t0), 1),
            "questions_per_second": round(len(questions) / (t2 - t1), 1),
            "search_seconds": round(t2 - t1, 3),
            "single_question_ms_median": round(1000 * float(np.median(latencies)), 2),
            "single_question_ms_p95": round(1000 * float(np.percentile(latencies, 95)), 2),
        }
    )
    if tune:
        dense = [lists["dense"] for lists in ranked]
        words = [lists["lexical"] for lists in ranked]
        result["tuning"] = tune_fusion(dense, words, gold, articles, tune_articles, ks)
    if store is not None:
        store.close()
    return result
