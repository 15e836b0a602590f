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

Figures on the other articles (25-48) are reported apart; nothing there is used to choose.
"""

from __future__ import annotations

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
from openbook.evaluation.signals import Asked, Setting
from openbook.qa.confidence import HINGED, HYBRID_FEATURES, OWN_FEATURES, Calibrator, fit
from openbook.qa.rerank import DEFAULT_WEIGHTS, Weights
from openbook.reading.reader import Reader
from openbook.types import SearchResult

F1_SLACK = 0.2
CONTENDERS = 8
ABSTAIN_TARGET = 0.975
KEEP_TARGET = 0.96
L2 = 10.0
OWN_THRESHOLD = 0.5


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
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Choose weights, fit both calibrators and the threshold; returns (manifest section, report)."""
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
    own_train = tops(own_paragraph_items(tune), weights, OWN_FEATURES, weights.margin)
    own_cal = _fit(own_train, OWN_FEATURES)
    own_cal.meta.update({"margin_weight": weights.margin, "threshold": OWN_THRESHOLD})
    own_test = tops(own_paragraph_items(held), weights, OWN_FEATURES, weights.margin)
    own_test.p = own_cal.predict(own_test.x)

    fitted_on = f"{Path(squad_file).name} articles 1-{tune_articles} (open-book, {mode}, k={k}; 1-{absent_from} indexed for absent answers)"
    for cal in (retrieval_cal, reader_cal):
        cal.meta["fitted_on"] = fitted_on
    own_cal.meta["fitted_on"] = (
        f"{Path(squad_file).name} articles 1-{tune_articles}, each question with its own paragraph and with another "
        "paragraph of its article holding none of its answers"
    )
    section = {
        "threshold": threshold,
        "weights": {mode: {"margin": weights.margin, "retrieval": weights.retrieval}, "reader": {"margin": weights.margin, "retrieval": 0.0}},
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
        f"articles 1-{tune_articles}": {**score_weights(matrices, weights, tune_rows), "at_threshold": abstention(train, threshold)},
        f"articles {tune_articles + 1}+": {
            **score_weights(matrices, weights, held_rows),
            "calibration": calibration(test.p, test.right),
            "at_threshold": abstention(test, threshold),
        },
        "all": score_weights(matrices, weights, np.arange(len(every))),
        f"own paragraph or another of its article, articles {tune_articles + 1}+": {
            "calibration": calibration(own_test.p, own_test.right & ~own_test.impossible),
            "at_threshold": abstention(own_test, OWN_THRESHOLD),
        },
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

