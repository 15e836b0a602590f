"""SQuAD v1.1 / v2.0 files and the official answer normalisation, exact match and F1."""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from openbook.ingest.squad import parse_squad

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = frozenset(string.punctuation)


@dataclass
class SquadQuestion:
    """One SQuAD question with its paragraph; ``answers`` is empty for an unanswerable (v2.0) question."""

    id: str
    question: str
    context: str
    title: str
    answers: list[str] = field(default_factory=list)
    answer_starts: list[int] = field(default_factory=list)
    is_impossible: bool = False


def load_squad(path: str | Path) -> list[SquadQuestion]:
    """Every question of a SQuAD-format file, in file order (read by :func:`openbook.ingest.squad.parse_squad`)."""
    return [
        SquadQuestion(
            id=qa.id,
            question=qa.question,
            context=paragraph.context,
            title=article.title,
            answers=list(qa.answers),
            answer_starts=list(qa.answer_starts),
            is_impossible=qa.is_impossible,
        )
        for _, _, article, paragraph in parse_squad(path).paragraphs()
        for qa in paragraph.questions
    ]


def normalize_answer(text: str) -> str:
    """Lower-case, drop punctuation and the articles a/an/the, collapse white space (the official SQuAD rule)."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def _exact(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def _token_f1(prediction: str, gold: str) -> float:
    pred = normalize_answer(prediction).split()
    true = normalize_answer(gold).split()
    if not pred or not true:  # v2.0: an empty answer is right only against an empty gold
        return float(pred == true)
    common = sum((Counter(pred) & Counter(true)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(true)
    return 2 * precision * recall / (precision + recall)


def _golds(golds: Sequence[str]) -> Sequence[str]:
    # An unanswerable question's only right answer is the empty string, as in the official v2.0 script.
    golds = [g for g in golds if normalize_answer(g)]
    return golds or [""]


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    """1.0 when the normalised prediction equals a normalised gold answer."""
    return max(_exact(prediction, g) for g in _golds(golds))


def f1(prediction: str, golds: Sequence[str]) -> float:
    """Best token-overlap F1 of the prediction against the gold answers (0.0 to 1.0)."""
    return max(_token_f1(prediction, g) for g in _golds(golds))
