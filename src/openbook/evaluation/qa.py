"""Open-book QA on a SQuAD file: retrieve, read and rerank; EM/F1 of the top answer, how well its confidence is
calibrated, and what abstaining below a confidence threshold costs and saves.

Retrieval and reading run once per setting (:mod:`openbook.evaluation.signals`); everything else is computed from
the kept candidates with the same functions ``OpenBook.ask`` uses, so reranking weights, the calibrator and the
threshold are chosen in seconds on one part of the file (the first 24 articles) and reported on the rest.

Settings: every paragraph indexed and every question asked (the default); some articles indexed and others asked
(``index_articles``/``ask_articles``: questions whose article is left out have no answer in the index); or each
question read with its own paragraph (``own_paragraph``: the reader alone, as SQuAD v2.0 is scored).
"""

from __future__ import annotations

import itertools
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from openbook.evaluation.signals import Asked, Setting, extract
from openbook.evaluation.squad import load_squad, normalize_answer
from openbook.qa.confidence import (
    Calibrator,
    Confidence,
    auroc,
    expected_calibration_error,
    reliability,
)
from openbook.qa.pipeline import CANDIDATES, RIVALS, RankedAnswer, join, rerank
from openbook.qa.rerank import DEFAULT_WEIGHTS, SPAN_ONLY, Weights
from openbook.reading.reader import Reader, rank
from openbook.retrieval.fusion import DEFAULT_MODE
from openbook.types import SearchResult

MARGIN_GRID = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
RETRIEVAL_GRID = (0.0, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 40.0, 80.0)
# the wider grid the weights are chosen on jointly with the calibrator (today's dense weights sat at the old edge)
WIDE_MARGIN_GRID = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 32.0)
WIDE_RETRIEVAL_GRID = (0.0, 0.5, 1.0, 2.0, 3.0, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 320.0)
RIGHT = 0.5  # an answer is right when its F1 against the gold answers is at least this
THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.0, 1.0, 0.05))


@dataclass
class Item:
    """One asked question, ready to score: its hits, every candidate answer, and each candidate's EM and F1."""

    asked: Asked
    found: list[SearchResult]
    candidates: list[RankedAnswer]
    em: np.ndarray
    f1: np.ndarray

    @property
    def question(self) -> str:
        return self.asked.question.question

    @property
    def impossible(self) -> bool:
        """No right answer is there to find: its article is not indexed, or SQuAD v2.0 marks it unanswerable."""
        return self.asked.absent or self.asked.question.is_impossible


def prepare(setting: Setting) -> list[Item]:
    """Candidates of every question through the reader's own ranking (span cleaning included) and join."""
    items = []
    for asked in setting.questions:
        passages = [h.passage for h in asked.hits]
        answers = rank(asked.spans(), passages, CANDIDATES, no_answer=False, threshold=0.0)
        cands = join(asked.hits, answers)
        scored = [_em_f1(c.text, tuple(asked.question.answers)) for c in cands]
        em = np.array([e for e, _ in scored], dtype=np.float64)
        f = np.array([x for _, x in scored], dtype=np.float64)
        items.append(Item(asked, asked.hits, cands, em, f))
    return items


@lru_cache(maxsize=200_000)
def _normalized(text: str) -> tuple[str, ...]:
    return tuple(normalize_answer(text).split())


@lru_cache(maxsize=200_000)
def _vocabulary(tokens: tuple[str, ...]) -> frozenset[str]:
    return frozenset(tokens)


@lru_cache(maxsize=200_000)
def _bag(tokens: tuple[str, ...]) -> Counter:
    return Counter(tokens)


def _em_f1(prediction: str, golds: tuple[str, ...]) -> tuple[float, float]:
    """The official exact match and F1 (as :func:`exact_match` and :func:`f1`), with normalisation cached."""
    pred = _normalized(prediction)
    truths = [t for t in (_normalized(g) for g in golds) if t] or [()]
    em = max(float(pred == t) for t in truths)
    best = 0.0
    for t in truths:
        if not pred or not t:
            best = max(best, float(pred == t))
            continue
        if _vocabulary(pred).isdisjoint(_vocabulary(t)):
            continue
        common = sum((_bag(pred) & _bag(t)).values())
        if common:
            precision, recall = common / len(pred), common / len(t)
            best = max(best, 2 * precision * recall / (precision + recall))
    return em, best


# ---------------------------------------------------------------------------------------------------- weights


def _matrices(items: Sequence[Item]) -> tuple[np.ndarray, ...]:
    """[questions, candidates] span, null, retrieval, EM and F1 (padded with -inf spans)."""
    width = max(1, max((len(i.candidates) for i in items), default=1))
    shape = (len(items), width)
    span, null, ret, em, f = np.full(shape, -np.inf), np.zeros(shape), np.zeros(shape), np.zeros(shape), np.zeros(shape)
    for r, item in enumerate(items):
        n = len(item.candidates)
        span[r, :n] = [c.span_score for c in item.candidates]
        null[r, :n] = [c.no_answer_score for c in item.candidates]
        ret[r, :n] = [c.retrieval_score for c in item.candidates]
        em[r, :n], f[r, :n] = item.em, item.f1
    return span, null, ret, em, f


def score_weights(matrices, weights: Weights, rows: np.ndarray) -> dict[str, float]:
    """EM and F1 (percent) of the top answer under ``weights`` over ``rows``."""
    span, null, ret, em, f = (m[rows] for m in matrices)
    fused = span + weights.margin * (span - null) + weights.retrieval * ret
    best = np.argmax(fused, axis=1)
    pick = np.arange(len(rows))
    return {"exact_match": round(100 * float(em[pick, best].mean()), 2), "f1": round(100 * float(f[pick, best].mean()), 2)}


def ranked_weights(matrices, rows: np.ndarray, margins, retrievals) -> list[tuple[float, Weights]]:
    """Every weight pair of the grid with its F1 on ``rows``, best first (smaller weights first among equals)."""
    grid = [Weights(m, r) for m, r in itertools.product(margins, retrievals)]
    scored = [(score_weights(matrices, w, rows)["f1"], w) for w in grid]
    return sorted(scored, key=lambda s: (-s[0], s[1].margin + s[1].retrieval))


# ---------------------------------------------------------------------------------------------------- confidence


@dataclass
class Tops:
    """The top answer of each question under one setting of weights and features: features, confidence, EM, F1."""

    x: np.ndarray
    em: np.ndarray
    f1: np.ndarray
    texts: list[str]
    impossible: np.ndarray
    p: np.ndarray | None = None

    @property
    def right(self) -> np.ndarray:
        return self.f1 >= RIGHT


def tops(items: Sequence[Item], weights: Weights, names: Sequence[str], margin_weight: float | None) -> Tops:
    """Features of each question's top answer (as ``OpenBook.ask`` ranks it), with its EM and F1."""
    stub = Confidence(Calibrator(tuple(names), np.zeros(len(names)), np.ones(len(names)), np.zeros(len(names)), 0.0,
                                 {} if margin_weight is None else {"margin_weight": margin_weight}))
    xs, em, f, texts = [], [], [], []
    for item in items:
        kept = rerank(item.candidates, weights, RIVALS)
        if not kept:
            xs.append(np.full(len(names), np.nan))
            e, x = _em_f1("", tuple(item.asked.question.answers))
            em.append(e)
            f.append(x)
            texts.append("")
            continue
        xs.append(stub.features(item.question, kept, item.candidates, item.found)[0])
        best = kept[0]
        e, x = _em_f1(best.text, tuple(item.asked.question.answers))
        em.append(e)
        f.append(x)
        texts.append(best.text)
    x = np.vstack(xs) if xs else np.zeros((0, len(names)))
    x = np.where(np.isnan(x), np.nanmin(x, axis=0, initial=0.0), x)
    return Tops(x, np.array(em), np.array(f), texts, np.array([i.impossible for i in items]))


def calibration(p: np.ndarray, right: np.ndarray) -> dict[str, Any]:
    """ECE (15 equal-mass bins), AUROC, Brier score and the reliability bins of confidences ``p``."""
    return {
        "questions": len(p),
        "accuracy": round(float(right.mean()), 4),
        "mean_confidence": round(float(p.mean()), 4),
        "ece": round(expected_calibration_error(p, right.astype(float)), 4),
        "ece_if_calibrated": round(_ece_if_calibrated(p), 4),
        "auroc": round(auroc(p, right), 4),
        "brier": round(float(np.mean((p - right) ** 2)), 4),
        "reliability": reliability(p, right.astype(float)),
    }


def _ece_if_calibrated(p: np.ndarray, draws: int = 200) -> float:
    """The mean ECE a perfectly calibrated confidence would show on as many questions with these confidences (each
    answer right with probability ``p``): the sampling noise floor of the ECE."""
    rng = np.random.default_rng(0)
    return float(np.mean([expected_calibration_error(p, (rng.random(len(p)) < p).astype(float)) for _ in range(draws)]))


def abstention(t: Tops, threshold: float) -> dict[str, Any]:
    """What answering only at confidence ≥ ``threshold`` gives: abstention where no answer exists, coverage and
    precision where one does, F1 of the answered questions, and F1 counting an abstention as the empty answer."""
    answered = t.p >= threshold
    present = ~t.impossible
    right = t.right & present
    f1_abstain = np.where(answered, t.f1, t.impossible.astype(float))
    out = {
        "threshold": round(float(threshold), 4),
        "abstained": round(float((~answered).mean()), 4),
        "answered_precision": round(float(right[answered].mean()), 4) if answered.any() else None,
        "f1_answered": round(100 * float(t.f1[answered & present].sum() / max(1, answered.sum())), 2),
        "f1_with_abstention": round(100 * float(f1_abstain.mean()), 2),
    }
    if present.any():
        out["coverage"] = round(float((answered & present).sum() / present.sum()), 4)
        out["right_kept"] = round(float((answered & right).sum() / max(1, right.sum())), 4)
    if t.impossible.any():
        out["abstained_no_answer"] = round(float((~answered[t.impossible]).mean()), 4)
        out["no_answer_questions"] = int(t.impossible.sum())
    return out


def curve(t: Tops, thresholds: Sequence[float] = THRESHOLDS) -> list[dict[str, Any]]:
    return [abstention(t, th) for th in thresholds]


# ---------------------------------------------------------------------------------------------------- commands


def _setting_name(squad_file: Path, index_articles, ask_articles, own: bool, mode: str, k: int, limit) -> str:
    def span(r):
        return "all" if r is None else f"{r.start + 1}-{r.stop}"

    where = "own" if own else f"index{span(index_articles)}-{mode}-k{k}"
    return f"{Path(squad_file).stem}-{where}-ask{span(ask_articles)}" + (f"-limit{limit}" if limit else "")


def run_setting(
    squad_file: Path,
    reader: Reader,
    cache: Path | None,
    index_articles: range | None = None,
    ask_articles: range | None = None,
    own_paragraph: bool = False,
    mode: str = DEFAULT_MODE,
    k: int = 5,
    limit: int | None = None,
    retriever_model: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
    every: int = 1,
) -> list[Item]:
    """Search and read a setting (from ``cache`` when it holds it) and prepare its items; ``every`` > 1 keeps only every
    n-th question of the file (an unbiased sample of a cached setting that also holds other questions)."""
    name = _setting_name(squad_file, index_articles, ask_articles, own_paragraph, mode, k, limit)
    with tempfile.TemporaryDirectory(prefix="openbook-eval-") as tmp:
        folder = Path(cache) if cache else Path(tmp)
        setting = extract(
            Path(squad_file), folder, name, reader, index_articles, ask_articles, k, mode, own_paragraph,
            progress, limit=limit, retriever_model=retriever_model,
        )
    if every > 1:
        number = {q.id: n for n, q in enumerate(load_squad(squad_file))}
        setting.questions = [a for a in setting.questions if number[a.question.id] % every == 0]
    return prepare(setting)


def evaluate_qa(
    squad_file: Path,
    retriever_model: str | Path | None = None,
    reader: Reader | None = None,
    k: int = 5,
    mode: str = DEFAULT_MODE,
    weights: Weights | None = None,
    tune_articles: int = 24,
    limit: int | None = None,
    progress: Callable[[str], None] | None = None,
    index_articles: range | None = None,
    ask_articles: range | None = None,
    own_paragraph: bool = False,
    min_confidence: float | None = None,
    cache: Path | None = None,
    every: int = 1,
) -> dict[str, Any]:
    """EM/F1 of the top answer, the calibration of its confidence and the abstention it allows (see the module)."""
    from openbook.config import DEFAULT_READER, resolve_model

    reader = reader or Reader(resolve_model(None, DEFAULT_READER))
    items = run_setting(squad_file, reader, cache, index_articles, ask_articles, own_paragraph, mode, k, limit,
                        retriever_model, progress, every)
    book_mode = "own paragraph" if own_paragraph else mode
    confidence = Confidence.for_reader(reader.manifest.confidence, None if own_paragraph else mode)
    weights = weights or _weights_in_force(reader, mode, own_paragraph)
    threshold = confidence.threshold if min_confidence is None else min_confidence
    matrices = _matrices(items)
    articles = np.array([i.asked.article for i in items])
    every = np.arange(len(items))
    t = tops(items, weights, confidence.calibrator.names, confidence.calibrator.meta.get("margin_weight"))
    t.p = confidence.calibrator.predict(t.x)
    result: dict[str, Any] = {
        **score_weights(matrices, weights, every),
        "weights": {"margin": weights.margin, "retrieval": weights.retrieval},
        "k": k,
        "mode": book_mode,
        "questions": len(items),
        "no_answer_questions": int(t.impossible.sum()),
        "f1_never_abstaining": round(100 * float(t.f1.mean()), 2),
        "calibrator": confidence.calibrator.meta.get("fitted_on", ""),
        "min_confidence": threshold,
        "at_threshold": abstention(t, threshold),
    }
    present = ~t.impossible
    if present.any():
        result["calibration"] = calibration(t.p[present], t.right[present])
    if t.impossible.any() and present.any():
        # every question, those with no answer to find counted as wrong (the first quick fit was scored so)
        result["calibration, no-answer questions included"] = calibration(t.p, t.right & present)
    held = (articles >= tune_articles) & present
    if held.any() and (articles < tune_articles).any():
        result[f"calibration articles {tune_articles + 1}+"] = calibration(t.p[held], t.right[held])
    result["curve"] = curve(t)
    if not own_paragraph and index_articles is None and (articles < tune_articles).any():
        result["variants"] = _variants(matrices, articles, tune_articles)
    return result


def _weights_in_force(reader: Reader, mode: str, own_paragraph: bool) -> Weights:
    chosen = (reader.manifest.confidence or {}).get("weights", {})
    if own_paragraph:
        w = chosen.get("reader")
        return Weights(**w) if w else SPAN_ONLY
    return Weights(**chosen[mode]) if mode in chosen else DEFAULT_WEIGHTS.get(mode, SPAN_ONLY)


def _variants(matrices, articles: np.ndarray, tune_articles: int) -> dict[str, Any]:
    """What each fused signal adds: weights chosen on the tuning articles, scored on both parts."""
    tune_rows = np.flatnonzero(articles < tune_articles)
    held_rows = np.flatnonzero(articles >= tune_articles)
    variants: dict[str, Any] = {}
    for name, margins, retrievals in (
        ("span", (0.0,), (0.0,)),
        ("span+margin", WIDE_MARGIN_GRID, (0.0,)),
        ("span+retrieval", (0.0,), WIDE_RETRIEVAL_GRID),
        ("span+margin+retrieval", WIDE_MARGIN_GRID, WIDE_RETRIEVAL_GRID),
    ):
        w = ranked_weights(matrices, tune_rows, margins, retrievals)[0][1]
        variants[name] = _variant(matrices, w, tune_rows, held_rows, tune_articles)
    # the weights chosen before the wider grid and the calibrator, on the same questions
    former = Weights(1.0, 5.0)
    variants["former default (margin 1, retrieval 5)"] = _variant(matrices, former, tune_rows, held_rows, tune_articles)
    return variants


def _variant(matrices, w: Weights, tune_rows: np.ndarray, held_rows: np.ndarray, tune_articles: int) -> dict[str, Any]:
    every = np.arange(len(matrices[0]))
    held = {f"articles {tune_articles + 1}+ (held out)": score_weights(matrices, w, held_rows)} if len(held_rows) else {}
    return {
        "weights": {"margin": w.margin, "retrieval": w.retrieval},
        f"articles 1-{tune_articles} (tuning)": score_weights(matrices, w, tune_rows),
        **held,
        "all": score_weights(matrices, w, every),
    }
