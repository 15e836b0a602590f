"""Fit the answer-confidence calibrator and choose the reranking weights with it, on SQuAD v1.1 dev articles 1-24.

Two settings are read (once each; :mod:`openbook.evaluation.signals`): every paragraph indexed with every question
asked, and only articles 1-12 indexed with the questions of 1-24 asked, so that 13-24 give questions whose answer is
in no indexed document. On the tuning articles alone:

1. the reranking weights are ranked by the top answer's F1 on a wide grid; the mode's default weights are kept unless a
   pair beats them by more than ``F1_SLACK`` points (differences smaller than that are noise on 3,000 questions);
   among the pairs that do, the one whose fitted calibrator has the lowest log-loss is kept;
2. two calibrators are fitted on the top answers of every question of the first setting and the absent-answer
   questions of the second ("right" = F1 ≥ 0.5; absent-answer questions are never right): ``retrieval`` with every
   feature (``HYBRID_FEATURES``), ``reader`` with the reader's own (``OWN_FEATURES``), both with hinges on the
   features of ``HINGED`` (a piecewise-linear effect). The present-answer questions of the second setting are left
   out: with half the index they look unlike any question asked of a whole index, and bias the confidence there;
3. a third calibrator, ``own``, for a question read with one given passage (the reader alone, as SQuAD v2.0 is
   scored): fitted on the same questions of 1-24, each read with its own paragraph (right or wrong) and with another
   paragraph of its article that holds none of its gold answers (a topic present, an answer absent), both taken from
   the first setting's reads; its threshold is ``OWN_THRESHOLD``: answer when the answer is more likely right than not;
4. the default threshold is the least confidence at which ``ABSTAIN_TARGET`` of the absent-answer questions are
   abstained on, unless that drops more than ``1 − KEEP_TARGET`` of the right answers.

Harder negatives for ``own``, off by default (``benchmarks/own_negatives.py`` measures them): each question of 1-24
read with its own paragraph, the answer removed (``HARD_NEGATIVES``: the sentences holding it cut out; the answer's
text cut out of its sentence; or a name or number of the question swapped for one of its article that the paragraph
lacks), read once through the pair cache. ``own`` can be fitted on them too, and its threshold chosen as the one with
the best F1 with abstention on a 50/50 mix of them and the questions read with their own paragraph (``own_threshold``),
as SQuAD v2.0 dev is split.

Figures on the other articles (25-48) are reported apart; nothing there is used to choose.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from openbook.evaluation.qa import (
    WIDE_MARGIN_GRID,
    WIDE_RETRIEVAL_GRID,
    Item,
    Tops,
    _matrices,
    abstention,
    calibration,
    prepare,
    ranked_weights,
    run_setting,
    score_weights,
    tops,
)
from openbook.evaluation.signals import Asked, PairCache, Setting
from openbook.evaluation.squad import SquadQuestion
from openbook.qa.confidence import HINGED, HYBRID_FEATURES, OWN_FEATURES, Calibrator, fit
from openbook.qa.rerank import DEFAULT_WEIGHTS, Weights
from openbook.reading.reader import Reader
from openbook.types import Passage, SearchResult

F1_SLACK = 0.2
CONTENDERS = 8
ABSTAIN_TARGET = 0.975
KEEP_TARGET = 0.96
L2 = 10.0
OWN_THRESHOLD = 0.5
# a sentence ends at . ! or ? (with closing quotes or brackets) before white space, or at a line break
_SENTENCE = re.compile(r"[^\n]*?(?:[.!?][\"')\]]*(?=\s)|\n|$)\s*")
MIN_KEPT = 40  # characters of the paragraph that must remain for a hard negative


def _log_loss(p: np.ndarray, y: np.ndarray) -> float:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def _join(a: Tops, b: Tops) -> Tops:
    return Tops(
        np.vstack([a.x, b.x]),
        np.concatenate([a.em, b.em]),
        np.concatenate([a.f1, b.f1]),
        a.texts + b.texts,
        np.concatenate([a.impossible, b.impossible]),
    )


def _fit(train: Tops, names) -> Calibrator:
    y = (train.right & ~train.impossible).astype(float)
    return fit(train.x, y, names, l2=L2, hinged=HINGED)


def own_paragraph_items(items: list[Item]) -> list[Item]:
    """Questions read with one passage, from an open-book setting's reads: each question with its own paragraph, and
    with the best-ranked other paragraph of its article that holds none of its gold answers (marked absent)."""
    setting = Setting("own paragraph and a neighbour")
    for item in items:
        asked = item.asked
        q = asked.question
        golds = [g.lower() for g in q.answers if g]
        own = other = None
        for hit, pair in zip(asked.hits, asked.pairs):
            text = hit.passage.text
            if text == q.context:
                own = own or (hit, pair)
            elif other is None and hit.passage.title == q.title and not any(g in text.lower() for g in golds):
                other = (hit, pair)
        for found, absent in ((own, False), (other, True)):
            if found is not None:
                hit, pair = found
                setting.questions.append(Asked(q, asked.article, [SearchResult(hit.passage, 0.0, 1)], [pair], absent))
    return prepare(setting)


def sentences(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each sentence of ``text``, trailing white space included: they tile the text."""
    spans, at = [], 0
    while at < len(text):
        m = _SENTENCE.match(text, at)
        end = m.end() if m and m.end() > at else len(text)
        spans.append((at, end))
        at = end
    return spans


def answer_removed(q: SquadQuestion) -> str | None:
    """``q``'s own paragraph without the sentences that hold a gold answer: the topic and the text around it stay, the
    answer is gone (a hard negative, like SQuAD v2.0's unanswerable questions). Every sentence overlapping a gold
    answer's span or holding a gold answer's text (case-insensitive) is left out; None when nothing was removed, or
    less than ``MIN_KEPT`` characters remain."""
    golds = [g.lower() for g in q.answers if g.strip()]
    spans = [(s, s + len(g)) for s, g in zip(q.answer_starts, q.answers) if g.strip()]
    kept = [
        (a, b)
        for a, b in sentences(q.context)
        if not any(s < b and a < e for s, e in spans) and not any(g in q.context[a:b].lower() for g in golds)
    ]
    text = "".join(q.context[a:b] for a, b in kept).strip()
    if len(kept) == len(sentences(q.context)) or len(text) < MIN_KEPT or any(g in text.lower() for g in golds):
        return None
    return text


def span_removed(q: SquadQuestion) -> str | None:
    """``q``'s own paragraph with every occurrence of its gold answers' text cut out (the sentence stays, the span is
    gone); None when no gold answer occurs in it."""
    golds = sorted({g for g in q.answers if g.strip()}, key=len, reverse=True)
    if not golds:
        return None
    pattern = re.compile("|".join(re.escape(g) for g in golds), re.IGNORECASE)
    text, n = pattern.subn("", q.context)
    text = re.sub(r"[ \t]{2,}", " ", text).strip()
    return text if n and len(text) >= MIN_KEPT else None


_TOKEN = re.compile(r"[A-Za-z0-9][\w'-]*")


def _swappable(word: str, first: bool) -> str | None:
    """The kind of a question word that can be swapped for another of the article: a number, or a name."""
    if any(ch.isdigit() for ch in word):
        return "number"
    if word[:1].isupper() and not first and len(word) > 2:
        return "name"
    return None


def entity_swapped(q: SquadQuestion, others: list[str]) -> str | None:
    """``q`` with one of its names or numbers that its paragraph holds swapped for one of the same kind from another
    paragraph of its article that its own paragraph lacks (like SQuAD v2.0's entity-swap questions): read with its own
    paragraph, the topic and the sentence are there, the thing asked about is not. None when nothing can be swapped."""
    context = q.context.lower()
    words = list(_TOKEN.finditer(q.question))
    pool: dict[str, list[str]] = {"number": [], "name": []}
    asked = {w.group().lower() for w in words}
    for text in others:
        for m in _TOKEN.finditer(text):
            word = m.group()
            kind = _swappable(word, m.start() == 0 or text[m.start() - 2 : m.start()].strip() in (".", "!", "?"))
            if kind and word.lower() not in context and word.lower() not in asked and word not in pool[kind]:
                pool[kind].append(word)
    choices = [
        (m, kind)
        for i, m in enumerate(words)
        if (kind := _swappable(m.group(), i == 0)) and pool[kind] and m.group().lower() in context
    ]
    if not choices:
        return None
    pick = int.from_bytes(q.id.encode()[-4:], "little")
    m, kind = choices[pick % len(choices)]
    swap = pool[kind][pick % len(pool[kind])]
    return q.question[: m.start()] + swap + q.question[m.end() :]


# kind → (the question asked, the passage read), or None when the kind does not apply to the question
HARD_NEGATIVES: dict[str, Callable[[SquadQuestion, list[str]], tuple[str, str] | None]] = {
    "sentence": lambda q, others: (q.question, t) if (t := answer_removed(q)) else None,
    "span": lambda q, others: (q.question, t) if (t := span_removed(q)) else None,
    "question": lambda q, others: (t, q.context) if (t := entity_swapped(q, others)) else None,
}


def hard_negative_items(
    items: list[Item], reader: Reader, cache: Path | None, kinds=("sentence",), progress=None
) -> list[Item]:
    """Each question of ``items`` read with its own paragraph with the answer removed (``HARD_NEGATIVES``), marked
    absent. The reads go through the pair cache (``cache/pairs.pkl``): a pair is read once."""
    setting = Setting("own paragraph, answer removed")
    paragraphs: dict[str, dict[str, None]] = {}
    for item in items:
        paragraphs.setdefault(item.asked.question.title, {})[item.asked.question.context] = None
    texts = []
    for item in items:
        q = item.asked.question
        others = [c for c in paragraphs[q.title] if c != q.context]
        for kind in kinds:
            found = HARD_NEGATIVES[kind](q, others)
            if found is not None:
                texts.append((item.asked, *found))
    if not texts:
        return []
    import tempfile

    with tempfile.TemporaryDirectory(prefix="openbook-negatives-") as tmp:
        reads = PairCache(Path(cache or tmp) / "pairs.pkl")
        pairs = []
        for at in range(0, len(texts), 512):
            pairs += reads.read(reader, [(question, t) for _, question, t in texts[at : at + 512]])
            if cache:
                reads.save()
            if progress:
                progress(f"hard negatives: {min(at + 512, len(texts))}/{len(texts)} read")
    for (asked, question, text), pair in zip(texts, pairs):
        q = dataclasses.replace(asked.question, question=question)
        passage = Passage(text, q.id, 0, len(text), q.title)
        setting.questions.append(Asked(q, asked.article, [SearchResult(passage, 0.0, 1)], [pair], True))
    return prepare(setting)


def mix_f1(p_answerable: np.ndarray, f1_answerable: np.ndarray, p_negative: np.ndarray, threshold: float) -> float:
    """F1 with abstention (percent; an abstention scores 1 on a negative, 0 on an answerable question) on a 50/50 mix
    of answerable questions (confidence, F1 of the answer) and negatives, as SQuAD v2.0 dev is split."""
    answered = np.where(p_answerable >= threshold, f1_answerable, 0.0).mean() if len(p_answerable) else 0.0
    abstained = (p_negative < threshold).mean() if len(p_negative) else 0.0
    return round(100 * float(0.5 * answered + 0.5 * abstained), 2)


def own_threshold(p_answerable: np.ndarray, f1_answerable: np.ndarray, p_negative: np.ndarray) -> float:
    """The threshold (0.01-0.99) with the best :func:`mix_f1`; the lowest among equals."""
    grid = np.round(np.arange(0.01, 1.0, 0.01), 2)
    scores = [mix_f1(p_answerable, f1_answerable, p_negative, t) for t in grid]
    return float(grid[int(np.argmax(scores))])


def choose_threshold(p_absent: np.ndarray, p_right: np.ndarray) -> float:
    """The least threshold abstaining on ``ABSTAIN_TARGET`` of ``p_absent``, capped to keep ``KEEP_TARGET`` of
    ``p_right`` (confidences of absent-answer questions and of right answers)."""
    wanted = float(np.quantile(p_absent, ABSTAIN_TARGET)) if len(p_absent) else 0.5
    cap = float(np.quantile(p_right, 1 - KEEP_TARGET)) if len(p_right) else 1.0
    return round(min(wanted, cap) + 1e-4, 4)


def calibrate(
    squad_file: Path,
    reader: Reader,
    cache: Path | None = None,
    tune_articles: int = 24,
    absent_from: int = 12,
    mode: str = "hybrid",
    k: int = 5,
    progress: Callable[[str], None] | None = None,
    hard_negatives: tuple[str, ...] = (),
    own_features: tuple[str, ...] = OWN_FEATURES,
    threshold_negatives: tuple[str, ...] | None = None,
    report_negatives: tuple[str, ...] = (),
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Choose weights, fit the calibrators and the thresholds; returns (manifest section, report).

    Options for the ``own`` calibrator (none by default: fitted and thresholded as described above), each a tuple of
    keys of ``HARD_NEGATIVES``: ``hard_negatives``, the answer-removed reads of 1-24 it is also fitted on;
    ``threshold_negatives`` (None: the same), those its threshold is chosen on (``own_threshold``, else
    ``OWN_THRESHOLD``); ``report_negatives`` (default: the threshold's), those of 25+ it is reported on."""
    every = run_setting(squad_file, reader, cache, mode=mode, k=k, progress=progress)
    partial = run_setting(
        squad_file, reader, cache, range(absent_from), range(tune_articles), mode=mode, k=k, progress=progress
    )
    articles = np.array([i.asked.article for i in every])
    tune = [i for i, a in zip(every, articles) if a < tune_articles]
    absent = [i for i in partial if i.asked.absent]
    held = [i for i, a in zip(every, articles) if a >= tune_articles]
    matrices = _matrices(every)
    tune_rows = np.flatnonzero(articles < tune_articles)
    held_rows = np.flatnonzero(articles >= tune_articles)

    ranked = ranked_weights(matrices, tune_rows, WIDE_MARGIN_GRID, WIDE_RETRIEVAL_GRID)
    incumbent = DEFAULT_WEIGHTS.get(mode, Weights())
    incumbent_f1 = score_weights(matrices, incumbent, tune_rows)["f1"]
    contenders = [w for f, w in ranked if f > incumbent_f1 + F1_SLACK][:CONTENDERS] or [incumbent]
    trials = []
    for w in contenders:
        train = _join(tops(tune, w, HYBRID_FEATURES, None), tops(absent, w, HYBRID_FEATURES, None))
        cal = _fit(train, HYBRID_FEATURES)
        y = (train.right & ~train.impossible).astype(float)
        trials.append((_log_loss(cal.predict(train.x), y), w, cal, train))
    _, weights, retrieval_cal, train = min(trials, key=lambda t: t[0])

    reader_train = _join(
        tops(tune, weights, OWN_FEATURES, weights.margin), tops(absent, weights, OWN_FEATURES, weights.margin)
    )
    reader_cal = _fit(reader_train, OWN_FEATURES)
    reader_cal.meta["margin_weight"] = weights.margin

    p_train = retrieval_cal.predict(train.x)
    threshold = choose_threshold(p_train[train.impossible], p_train[train.right & ~train.impossible])
    retrieval_cal.meta["threshold"] = threshold
    p_reader = reader_cal.predict(reader_train.x)
    reader_cal.meta["threshold"] = choose_threshold(
        p_reader[reader_train.impossible], p_reader[reader_train.right & ~reader_train.impossible]
    )
    # the answer-removed reads (1-24 and 25+) are made even when nothing is fitted or chosen on them, to report on
    if threshold_negatives is None:
        threshold_negatives = hard_negatives
    kinds = threshold_negatives
    report_kinds = report_negatives or kinds
    own_tops = tops(own_paragraph_items(tune), weights, own_features, weights.margin)
    fit_tops = tops(
        hard_negative_items(tune, reader, cache, hard_negatives, progress), weights, own_features, weights.margin
    )
    hard_tops = (  # the threshold's negatives: the fitted ones again unless others are asked for
        fit_tops
        if tuple(kinds) == tuple(hard_negatives)
        else tops(hard_negative_items(tune, reader, cache, kinds, progress), weights, own_features, weights.margin)
    )
    own_train = _join(own_tops, fit_tops) if hard_negatives else own_tops
    own_cal = _fit(own_train, own_features)
    own_tops.p, hard_tops.p = own_cal.predict(own_tops.x), own_cal.predict(hard_tops.x)
    answerable = ~own_tops.impossible
    own_threshold_ = (
        own_threshold(own_tops.p[answerable], own_tops.f1[answerable], hard_tops.p)
        if threshold_negatives
        else OWN_THRESHOLD
    )
    own_cal.meta.update({"margin_weight": weights.margin, "threshold": own_threshold_})
    own_test = tops(own_paragraph_items(held), weights, own_features, weights.margin)
    own_test.p = own_cal.predict(own_test.x)
    hard_held = tops(
        hard_negative_items(held, reader, cache, report_kinds, progress), weights, own_features, weights.margin
    )
    hard_held.p = own_cal.predict(hard_held.x)
    own_present = ~own_test.impossible

    def mix(p_answerable, f1_answerable, p_negative, threshold):
        return {
            "threshold": threshold,
            "f1_with_abstention (50/50)": mix_f1(p_answerable, f1_answerable, p_negative, threshold),
            "abstained_negative": round(float((p_negative < threshold).mean()), 4) if len(p_negative) else None,
            "right_kept": round(float((p_answerable[f1_answerable >= 0.5] >= threshold).mean()), 4),
        }

    fitted_on = f"{Path(squad_file).name} articles 1-{tune_articles} (open-book, {mode}, k={k}; 1-{absent_from} indexed for absent answers)"
    for cal in (retrieval_cal, reader_cal):
        cal.meta["fitted_on"] = fitted_on
    own_cal.meta["fitted_on"] = (
        f"{Path(squad_file).name} articles 1-{tune_articles}, each question with its own paragraph and with another "
        "paragraph of its article holding none of its answers"
        + (f"; and with its own paragraph, the answer removed ({', '.join(hard_negatives)})" if hard_negatives else "")
        + (f"; threshold on a 50/50 mix with the answer removed ({', '.join(kinds)})" if kinds else "")
    )
    section = {
        "threshold": threshold,
        "weights": {
            mode: {"margin": weights.margin, "retrieval": weights.retrieval},
            "reader": {"margin": weights.margin, "retrieval": 0.0},
        },
        "calibrators": {"retrieval": retrieval_cal.to_dict(), "reader": reader_cal.to_dict(), "own": own_cal.to_dict()},
        "fitted_on": fitted_on,
        "right": "F1 >= 0.5 against the gold answers",
    }

    test = tops(held, weights, HYBRID_FEATURES, None)
    test.p = retrieval_cal.predict(test.x)
    train.p = p_train
    report = {
        "weights": {"margin": weights.margin, "retrieval": weights.retrieval},
        "contenders": [
            {"margin": w.margin, "retrieval": w.retrieval, "f1 1-24": f, "log_loss": round(l, 4)}
            for (l, w, _, _), f in zip(trials, [score_weights(matrices, w, tune_rows)["f1"] for w in contenders])
        ],
        "threshold": threshold,
        f"articles 1-{tune_articles}": {
            **score_weights(matrices, weights, tune_rows),
            "at_threshold": abstention(train, threshold),
        },
        f"articles {tune_articles + 1}+": {
            **score_weights(matrices, weights, held_rows),
            "calibration": calibration(test.p, test.right),
            "at_threshold": abstention(test, threshold),
        },
        "all": score_weights(matrices, weights, np.arange(len(every))),
        f"own paragraph or another of its article, articles {tune_articles + 1}+": {
            "calibration": calibration(own_test.p, own_test.right & ~own_test.impossible),
            "at_threshold": abstention(own_test, own_threshold_),
        },
        "own threshold": own_threshold_,
        **(
            {
                f"own paragraph or the answer removed ({', '.join(kinds)}; 50/50), articles 1-{tune_articles}": mix(
                    own_tops.p[answerable], own_tops.f1[answerable], hard_tops.p, own_threshold_
                )
            }
            if kinds
            else {}
        ),
        **(
            {
                f"own paragraph or the answer removed ({', '.join(report_kinds)}; 50/50), articles {tune_articles + 1}+": {
                    **mix(own_test.p[own_present], own_test.f1[own_present], hard_held.p, own_threshold_),
                    "negatives": len(hard_held.p),
                    "curve": [
                        mix(own_test.p[own_present], own_test.f1[own_present], hard_held.p, t)
                        for t in np.round(np.arange(0.05, 1.0, 0.05), 2)
                    ],
                }
            }
            if report_kinds
            else {}
        ),
        "incumbent": {"margin": incumbent.margin, "retrieval": incumbent.retrieval, "f1 1-24": incumbent_f1},
        "calibrator_weights": dict(zip(HYBRID_FEATURES, [round(float(v), 3) for v in retrieval_cal.weights])),
    }
    return section, report


def record(reader: Reader, section: dict[str, Any]) -> Path:
    """Keep the calibrator section in the reader's manifest.json."""
    from openbook.errors import OpenbookError
    from openbook.models.manifest import MANIFEST

    if not (reader.folder / MANIFEST).is_file():
        raise OpenbookError(f"no {MANIFEST} in {reader.folder} to record the calibrator in")
    reader.manifest.confidence = section
    return reader.manifest.save(reader.folder)
