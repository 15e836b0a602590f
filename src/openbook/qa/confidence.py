"""Answer confidence: the estimated probability that an answer is right, from the signals the pipeline already has.

Each answer gets a feature vector (:func:`features`): the reader's span score and no-answer margin, the fused score,
how far it leads the next distinct answer, how much of the candidates' weight agrees with it and in how many
passages, the retrieval score and rank of its passage, how well the question's words and meaning match the passages
(dense similarity, BM25, term overlap near the answer), and the question's and answer's lengths. A logistic
regression (:class:`Calibrator`, numpy only) maps them to a probability; it was fitted on SQuAD v1.1 dev articles
1-24 read open-book ("right" = F1 ≥ 0.5 against the gold answers), and its parameters live in the reader's
``manifest.json`` under ``confidence`` (``openbook eval calibrate``). An answer whose confidence is below the
threshold in force is marked ``abstain``: when the top answer is, the answer is "not in your documents".

Two feature sets: ``retrieval`` (open-book, hybrid search: every signal) and ``reader`` (the reader's own signals and
the question-passage overlap, for passages given directly or searched in another mode).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from openbook.index.lexical import query_terms

READER_FEATURES = (
    "span",
    "margin",
    "fused",
    "gap",
    "share",
    "soft_share",
    "passages",
    "expects_number",
    "type_match",
    "best_margin",
    "overlap",
    "local_overlap",
    "question_words",
    "answer_words",
)
RETRIEVAL_FEATURES = READER_FEATURES + (
    "retrieval",
    "log_rank",
    "dense",
    "dense_top",
    "lexical",
    "lexical_top",
    "spread",
)
# further signals, computed for every answer (a calibrator uses those named in its manifest)
EXTRA_FEATURES = (
    "top_share",
    "span_share",
    "entropy",
    "agree_passages",
    "sentence_overlap",
    "answer_in_question",
    "retrieval_gap",
    "first_margin",
    "q_who",
    "q_when",
    "q_number",
    "q_what",
    "q_which",
    "q_why_how",
    "answer_digits",
    "answer_capital",
)
# the share of the question's names and numbers (a capitalised word not opening it, a word with a digit) that the
# answer's passage / the answer's sentence lacks: a question about something the passage does not mention
QUESTION_FEATURES = ("names_missing", "names_off_sentence")
# what ``openbook eval calibrate`` fits: every feature for hybrid search, the reader's own (and the question's) else
HYBRID_FEATURES = RETRIEVAL_FEATURES + EXTRA_FEATURES
OWN_FEATURES = READER_FEATURES + tuple(n for n in EXTRA_FEATURES if n != "retrieval_gap")
OWN_PARAGRAPH_FEATURES = OWN_FEATURES + QUESTION_FEATURES
# features whose effect is fitted piecewise-linear (hinges at their quintiles)
HINGED = (
    "margin",
    "gap",
    "soft_share",
    "best_margin",
    "first_margin",
    "entropy",
    "local_overlap",
    "sentence_overlap",
    "overlap",
    "span",
    "lexical",
    "lexical_top",
    "dense",
    "dense_top",
)
MONOTONE = "fused"  # the calibrator never lowers confidence as the fused score rises (its weight is kept ≥ 0)
GAP_CAP = 20.0
LOCAL = 150  # characters either side of the answer for ``local_overlap``
_WORD = re.compile(r"[^\W_]+")
# questions whose answer is a number, a date or an amount
_NUMBER_QUESTION = re.compile(
    r"\b(how (many|much|long|old|far|large|big|tall|high|often)|when|what (year|decade|century|date|day|month|time|percentage)|which year)\b",
    re.IGNORECASE,
)
_WHO_QUESTION = re.compile(r"\b(who|whom|whose)\b", re.IGNORECASE)
_WHEN_QUESTION = re.compile(r"\b(when|what (year|decade|century|date|day|month)|which year)\b", re.IGNORECASE)
_COUNT_QUESTION = re.compile(r"\bhow (many|much|long|old|far|large|big|tall|high|often)\b", re.IGNORECASE)
_WHY_HOW_QUESTION = re.compile(r"\b(why|how)\b", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?](?=\s)|\n")
_NUMBER_WORDS = frozenset(
    "one two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty hundred thousand "
    "million billion half century decade january february march april may june july august september october "
    "november december".split()
)


class Candidate(Protocol):
    """What :func:`features` reads of an answer (``RankedAnswer`` has it)."""

    text: str
    score: float
    span_score: float
    no_answer_score: float
    retrieval_score: float
    retrieval_rank: int
    start: int
    end: int


class Hit(Protocol):
    score: float
    scores: dict[str, float]


def _stem(word: str) -> str:
    return word[:5]


def _terms(text: str) -> set[str]:
    return {_stem(w) for w in _WORD.findall(text.lower())}


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def features(
    question: str,
    answers: Sequence[Candidate],
    candidates: Sequence[Candidate],
    hits: Sequence[Hit],
    passage_texts: Sequence[str],
    passage_of: Sequence[int],
    candidate_passage: Sequence[int],
    names: Sequence[str] = RETRIEVAL_FEATURES,
    margin_weight: float | None = None,
) -> np.ndarray:
    """``[len(answers), len(names)]`` features of ``answers`` (ranked, distinct) among all scored ``candidates``.

    ``passage_of[i]`` / ``candidate_passage[j]`` are the indices (into ``hits`` and ``passage_texts``) of the passage
    of answer ``i`` / candidate ``j``. The fused score is each one's ``score``, or with ``margin_weight`` the reader's
    own ``span + margin_weight × (span − null)`` (no retrieval term, so that it means the same in every mode).
    """
    if not answers:
        return np.zeros((0, len(names)))

    def fused(c: Candidate) -> float:
        if margin_weight is None:
            return c.score
        return c.span_score + margin_weight * (c.span_score - c.no_answer_score)

    scores = np.array([fused(c) for c in candidates], dtype=np.float64)
    weights = np.exp(scores - scores.max()) if len(scores) else scores
    weights = weights / weights.sum() if len(weights) else weights
    norms = [_norm(c.text) for c in candidates]
    best_margin = max((c.span_score - c.no_answer_score for c in candidates), default=0.0)
    q_terms = {_stem(t) for t in query_terms(question)}
    expects_number = bool(_NUMBER_QUESTION.search(question))
    expects_name = bool(_WHO_QUESTION.search(question))
    tokens = [set(norms[j].split()) for j in range(len(candidates))]
    q_words = max(1, len(_WORD.findall(question)))
    dense = [h.scores.get("dense", math.nan) for h in hits]
    dense_floor = min((d for d in dense if not math.isnan(d)), default=0.0)
    dense = [dense_floor if math.isnan(d) else d for d in dense]
    lexical = [h.scores.get("lexical", 0.0) for h in hits]
    spread = (hits[0].score - hits[-1].score) if len(hits) > 1 else 0.0
    retrieval_gap = (hits[0].score - hits[1].score) if len(hits) > 1 else 0.0
    entropy = float(-(weights * np.log(np.maximum(weights, 1e-12))).sum()) if len(weights) else 0.0
    span_scores = np.array([c.span_score for c in candidates], dtype=np.float64)
    span_weights = np.exp(span_scores - span_scores.max()) if len(span_scores) else span_scores
    span_weights = span_weights / span_weights.sum() if len(span_weights) else span_weights
    # each passage's best candidate (by the fused score): how many passages propose the answer as their best
    passage_best: dict[int, int] = {}
    for j, c in enumerate(candidates):
        q = candidate_passage[j]
        if q not in passage_best or scores[j] > scores[passage_best[q]]:
            passage_best[q] = j
    first = [c.span_score - c.no_answer_score for j, c in enumerate(candidates) if candidate_passage[j] == 0]
    first_margin = max(first) if first else best_margin
    lowered = question.lower()
    q_all = _terms(question)
    question_type = {
        "q_who": float(expects_name),
        "q_when": float(bool(_WHEN_QUESTION.search(question))),
        "q_number": float(bool(_COUNT_QUESTION.search(question))),
        "q_what": float("what" in lowered.split()),
        "q_which": float("which" in lowered.split()),
        "q_why_how": float(bool(_WHY_HOW_QUESTION.search(question)) and not _COUNT_QUESTION.search(question)),
    }
    index_of = {id(c): j for j, c in enumerate(candidates)}
    asks_names = any(n in QUESTION_FEATURES for n in names)
    q_names = _question_names(question) if asks_names else set()
    rows = []
    for i, a in enumerate(answers):
        own = fused(a)
        others = [fused(b) for j, b in enumerate(answers) if j != i]
        rival = max(others) if others else (scores.min() if len(scores) > 1 else own - GAP_CAP)
        key = _norm(a.text)
        p = passage_of[i]
        support = [
            j
            for j, c in enumerate(candidates)
            if norms[j] == key or (candidate_passage[j] == p and c.start < a.end and a.start < c.end)
        ]
        text = passage_texts[p]
        local = text[max(0, a.start - LOCAL) : a.end + LOCAL]
        words = set(key.split())
        soft = [j for j, t in enumerate(tokens) if words and len(words & t) * 2 >= max(len(words), len(t))]
        values = {
            "span": a.span_score,
            "margin": a.span_score - a.no_answer_score,
            "fused": own,
            "gap": float(np.clip(own - rival, -GAP_CAP, GAP_CAP)),
            "share": float(weights[support].sum()) if support else 0.0,
            "soft_share": float(weights[soft].sum()) if soft else 0.0,
            "expects_number": float(expects_number),
            "type_match": _type_match(a.text, expects_number, expects_name),
            "passages": float(len({candidate_passage[j] for j in support})),
            "best_margin": best_margin,
            "overlap": len(q_terms & _terms(text)) / len(q_terms) if q_terms else 0.0,
            "local_overlap": len(q_terms & _terms(local)) / len(q_terms) if q_terms else 0.0,
            "question_words": math.log(q_words),
            "answer_words": math.log(1 + len(a.text.split())),
            "retrieval": a.retrieval_score,
            "log_rank": math.log(max(1, a.retrieval_rank)),
            "dense": dense[p] if hits else 0.0,
            "dense_top": max(dense) if hits else 0.0,
            "lexical": lexical[p] if hits else 0.0,
            "lexical_top": max(lexical) if hits else 0.0,
            "spread": spread,
        }
        if any(n in EXTRA_FEATURES for n in names):
            own_j = index_of.get(id(a))
            sentence = _sentence(text, a.start, a.end)
            a_terms = _terms(a.text)
            values.update(question_type)
            values.update(
                {
                    "top_share": float(weights[own_j]) if own_j is not None else 0.0,
                    "span_share": float(span_weights[support].sum()) if support else 0.0,
                    "entropy": entropy,
                    "agree_passages": float(
                        sum(1 for j in passage_best.values() if norms[j] == key or j in soft or j in support)
                    ),
                    "sentence_overlap": len(q_terms & _terms(sentence)) / len(q_terms) if q_terms else 0.0,
                    "answer_in_question": len(a_terms & q_all) / len(a_terms) if a_terms else 0.0,
                    "retrieval_gap": retrieval_gap,
                    "first_margin": first_margin,
                    "answer_digits": float(any(ch.isdigit() for ch in a.text)),
                    "answer_capital": float(a.text[:1].isupper()),
                }
            )
        if asks_names:
            sentence_terms = _terms(_sentence(text, a.start, a.end))
            values["names_missing"] = len(q_names - _terms(text)) / len(q_names) if q_names else 0.0
            values["names_off_sentence"] = len(q_names - sentence_terms) / len(q_names) if q_names else 0.0
        rows.append([values[n] for n in names])
    return np.asarray(rows, dtype=np.float64)


def _question_names(question: str) -> set[str]:
    """Stems of the question's names and numbers: words with a digit, capitalised words other than the first."""
    words = _WORD.findall(question)
    return {
        _stem(w.lower())
        for i, w in enumerate(words)
        if any(ch.isdigit() for ch in w) or (i > 0 and w[:1].isupper() and len(w) > 1)
    }


def _sentence(text: str, start: int, end: int) -> str:
    """The sentence(s) of ``text`` holding ``text[start:end]``."""
    left = max((m.end() for m in _SENTENCE_END.finditer(text, 0, max(0, start))), default=0)
    right = _SENTENCE_END.search(text, max(end, start))
    return text[left : right.end() if right else len(text)]


def _type_match(answer: str, expects_number: bool, expects_name: bool) -> float:
    """+1 when the answer has the kind the question asks for (a number; a name), −1 when it lacks it, else 0."""
    if expects_number:
        numeric = any(ch.isdigit() for ch in answer) or any(w in _NUMBER_WORDS for w in answer.lower().split())
        return 1.0 if numeric else -1.0
    if expects_name:
        return 1.0 if answer[:1].isupper() else -1.0
    return 0.0


@dataclass
class Calibrator:
    """Logistic regression over standardised features ``z = (x − mean) / scale``, with optional hinges:

        p = sigmoid(b + w · z + Σ v_jk · max(z_j − k, 0))

    ``knots`` maps a feature to its knots (in standardised units) and ``knot_weights`` holds the ``v_jk`` in the order
    of ``knots``: a piecewise-linear effect of that feature. The monotone feature (``fused``) never has knots.
    """

    names: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float
    meta: dict[str, Any] = field(default_factory=dict)
    knots: dict[str, list[float]] = field(default_factory=dict)
    knot_weights: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def design(self, x: np.ndarray) -> np.ndarray:
        """The standardised features and their hinge terms, ``[n, len(names) + number of knots]``."""
        z = (np.asarray(x, dtype=np.float64) - self.mean) / self.scale
        return _hinges(z, self.names, self.knots)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Probabilities in [0, 1] for the rows of ``x`` (``[n, len(names)]``)."""
        z = self.bias + self.design(x) @ np.concatenate([self.weights, self.knot_weights])
        return 1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0)))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "features": list(self.names),
            "mean": [round(float(v), 6) for v in self.mean],
            "scale": [round(float(v), 6) for v in self.scale],
            "weights": [round(float(v), 6) for v in self.weights],
            "bias": round(float(self.bias), 6),
        }
        if self.knots:
            out["knots"] = {n: [round(float(k), 6) for k in ks] for n, ks in self.knots.items()}
            out["knot_weights"] = [round(float(v), 6) for v in self.knot_weights]
        return {**out, **self.meta}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Calibrator:
        known = {"features", "mean", "scale", "weights", "bias", "knots", "knot_weights"}
        return cls(
            tuple(d["features"]),
            np.asarray(d["mean"], dtype=np.float64),
            np.asarray(d["scale"], dtype=np.float64),
            np.asarray(d["weights"], dtype=np.float64),
            float(d["bias"]),
            {k: v for k, v in d.items() if k not in known},
            {n: [float(k) for k in ks] for n, ks in d.get("knots", {}).items()},
            np.asarray(d.get("knot_weights", []), dtype=np.float64),
        )


def _hinges(z: np.ndarray, names: Sequence[str], knots: dict[str, list[float]]) -> np.ndarray:
    cols = [z]
    for name, ks in knots.items():
        j = list(names).index(name)
        cols.append(np.maximum(z[:, [j]] - np.asarray(ks, dtype=np.float64)[None, :], 0.0))
    return np.hstack(cols) if len(cols) > 1 else z


def fit(
    x: np.ndarray,
    y: np.ndarray,
    names: Sequence[str],
    l2: float = 1.0,
    iterations: int = 50,
    hinged: Sequence[str] = (),
    quantiles: Sequence[float] = (0.2, 0.4, 0.6, 0.8),
) -> Calibrator:
    """Fit a :class:`Calibrator` by Newton's method with an L2 penalty; the weight of ``fused`` is kept ≥ 0.

    Each feature of ``hinged`` gets hinges at the ``quantiles`` of its standardised values (a piecewise-linear effect).
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = (x - mean) / scale
    knots: dict[str, list[float]] = {}
    for name in hinged:
        if name == MONOTONE or name not in names:
            continue
        ks = sorted(set(np.round(np.quantile(z[:, list(names).index(name)], quantiles), 6).tolist()))
        if ks:
            knots[name] = ks
    d = _hinges(z, names, knots)
    free = np.ones(d.shape[1], dtype=bool)
    for _ in range(2):
        w = _newton(d[:, free], y, l2, iterations)
        weights = np.zeros(d.shape[1])
        weights[free] = w[1:]
        if MONOTONE not in names or weights[list(names).index(MONOTONE)] >= 0:
            break
        free[list(names).index(MONOTONE)] = False  # a negative weight: leave the feature out and fit again
    n = len(names)
    return Calibrator(tuple(names), mean, scale, weights[:n], float(w[0]), {}, knots, weights[n:])


def _newton(z: np.ndarray, y: np.ndarray, l2: float, iterations: int) -> np.ndarray:
    a = np.hstack([np.ones((len(z), 1)), z])
    w = np.zeros(a.shape[1])
    penalty = np.full(a.shape[1], l2)
    penalty[0] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(a @ w, -40, 40)))
        grad = a.T @ (p - y) + penalty * w
        hess = (a * (p * (1 - p))[:, None]).T @ a + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


# ---------------------------------------------------------------------------------------------------- metrics


def expected_calibration_error(p: np.ndarray, y: np.ndarray, bins: int = 15) -> float:
    """Mean |accuracy − confidence| over ``bins`` equal-mass bins, weighted by their size."""
    order = np.argsort(p, kind="stable")
    total = 0.0
    for part in np.array_split(order, bins):
        if len(part):
            total += len(part) * abs(float(y[part].mean()) - float(p[part].mean()))
    return total / max(1, len(p))


def auroc(p: np.ndarray, y: np.ndarray) -> float:
    """Area under the ROC curve: the chance that a right answer outranks a wrong one (ties count half)."""
    y = np.asarray(y, dtype=bool)
    pos, neg = int(y.sum()), int((~y).sum())
    if not pos or not neg:
        return math.nan
    ranks = _average_ranks(np.asarray(p, dtype=np.float64))
    return float((ranks[y].sum() - pos * (pos + 1) / 2) / (pos * neg))


def _average_ranks(v: np.ndarray) -> np.ndarray:
    order = np.argsort(v, kind="stable")
    ranks = np.empty(len(v))
    sorted_v = v[order]
    i = 0
    while i < len(v):
        j = i
        while j + 1 < len(v) and sorted_v[j + 1] == sorted_v[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def reliability(p: np.ndarray, y: np.ndarray, bins: int = 15) -> list[dict[str, float]]:
    """Per equal-mass bin: mean confidence, accuracy and size (the reliability diagram)."""
    order = np.argsort(p, kind="stable")
    return [
        {"confidence": round(float(p[b].mean()), 4), "accuracy": round(float(y[b].mean()), 4), "n": len(b)}
        for b in np.array_split(order, bins)
        if len(b)
    ]


# ---------------------------------------------------------------------------------------------------- in use

DEFAULT_THRESHOLD = 0.5
# A reader without a fitted calibrator: the probability a logistic curve gives its no-answer margin (uncalibrated).
FALLBACK = Calibrator(("margin",), np.zeros(1), np.ones(1), np.ones(1), 0.0, {"fitted_on": "none (uncalibrated)"})


@dataclass
class Confidence:
    """The calibrator in force for a reader and retrieval mode, with its default threshold."""

    calibrator: Calibrator
    threshold: float = DEFAULT_THRESHOLD

    @classmethod
    def for_reader(cls, section: dict[str, Any] | None, mode: str | None) -> Confidence:
        """From a reader manifest's ``confidence`` section: the ``retrieval`` calibrator for hybrid search, the ``own``
        one for one passage given directly (``mode`` None: the reader alone), the ``reader`` one otherwise (dense or
        lexical search, or when the others are missing)."""
        section = section or {}
        calibrators = section.get("calibrators", {})
        name = "reader"
        if mode == "hybrid" and "retrieval" in calibrators:
            name = "retrieval"
        elif mode is None and "own" in calibrators:
            name = "own"
        if name not in calibrators:
            return cls(FALLBACK, float(section.get("threshold", DEFAULT_THRESHOLD)))
        found = Calibrator.from_dict(calibrators[name])
        return cls(found, float(found.meta.get("threshold", section.get("threshold", DEFAULT_THRESHOLD))))

    def predict(
        self, question: str, answers: Sequence[Any], candidates: Sequence[Any], hits: Sequence[Any]
    ) -> np.ndarray:
        """Confidence of each of ``answers`` (RankedAnswer-like, ranked, with ``passage``) of ``question``."""
        return self.calibrator.predict(self.features(question, answers, candidates, hits))

    def features(
        self, question: str, answers: Sequence[Any], candidates: Sequence[Any], hits: Sequence[Any]
    ) -> np.ndarray:
        position = {id(h.passage): i for i, h in enumerate(hits)}
        texts = [h.passage.text for h in hits]
        return features(
            question,
            answers,
            candidates,
            hits,
            texts,
            [position[id(a.passage)] for a in answers],
            [position[id(c.passage)] for c in candidates],
            self.calibrator.names,
            self.calibrator.meta.get("margin_weight"),
        )
