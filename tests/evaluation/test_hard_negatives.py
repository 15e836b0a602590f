"""The ``own`` calibrator's hard negatives: a question's own paragraph with its answer removed."""

from __future__ import annotations

import itertools

import numpy as np

from openbook.evaluation.calibrate import answer_removed, entity_swapped, mix_f1, own_threshold, sentences, span_removed
from openbook.evaluation.squad import SquadQuestion

CONTEXT = (
    "The Normans were the people who gave their name to Normandy. They descended from Norse raiders led by Rollo. "
    'Their identity emerged in the first half of the 10th century ("the Norman age"). It evolved over the next '
    "centuries.\nLater they conquered England in 1066."
)


def _question(answer: str, question: str = "Who led the Norse raiders?") -> SquadQuestion:
    start = CONTEXT.index(answer)
    return SquadQuestion("q", question, CONTEXT, "Normans", [answer, answer], [start, start])


def test_sentences_tile_the_text():
    spans = sentences(CONTEXT)
    assert "".join(CONTEXT[a:b] for a, b in spans) == CONTEXT
    assert all(a < b for a, b in spans) and all(b == c for (_, b), (c, _) in itertools.pairwise(spans))
    texts = [CONTEXT[a:b].strip() for a, b in spans]
    assert texts[1] == "They descended from Norse raiders led by Rollo."
    assert texts[2].endswith('("the Norman age").')  # a closing quote and bracket stay with their sentence
    assert texts[-1] == "Later they conquered England in 1066."  # a line break ends a sentence


def test_the_answer_sentence_is_gone_and_the_rest_kept():
    q = _question("Rollo")
    text = answer_removed(q)
    assert text is not None and "Rollo" not in text and "Norse raiders" not in text
    # every other sentence is kept whole, in order
    others = [CONTEXT[a:b].strip() for a, b in sentences(CONTEXT) if "Rollo" not in CONTEXT[a:b]]
    assert text == " ".join(others).replace("centuries. Later", "centuries.\nLater")
    assert text.startswith("The Normans were") and text.endswith("in 1066.")


def test_every_sentence_holding_the_answer_text_goes():
    q = _question("Normans")  # also in the first sentence only; "Norman age" does not hold "Normans"
    text = answer_removed(q)
    assert text is not None and "normans" not in text.lower() and "Norman age" in text


def test_no_negative_when_little_would_remain_or_nothing_is_removed():
    short = SquadQuestion("s", "Who?", "Rollo led them. Yes.", "t", ["Rollo"], [0])
    assert answer_removed(short) is None
    unanswerable = SquadQuestion("u", "Who?", CONTEXT, "t", [], [], True)
    assert answer_removed(unanswerable) is None and span_removed(unanswerable) is None


def test_span_removed_cuts_only_the_answer():
    text = span_removed(_question("Rollo"))
    assert text is not None and "Rollo" not in text and "They descended from Norse raiders led by ." in text
    assert len(text) == len(CONTEXT) - len("Rollo")  # nothing else changed


def test_threshold_maximises_f1_on_a_50_50_mix():
    p_answerable = np.array([0.9, 0.8, 0.3])
    f1 = np.array([1.0, 1.0, 0.0])
    p_negative = np.array([0.2, 0.4, 0.7])
    assert mix_f1(p_answerable, f1, p_negative, 0.5) == round(100 * (0.5 * 2 / 3 + 0.5 * 2 / 3), 2)
    t = own_threshold(p_answerable, f1, p_negative)
    assert 0.7 < t <= 0.8  # abstains on every negative, answers both right answers
    assert mix_f1(p_answerable, f1, p_negative, t) == round(100 * (0.5 * 2 / 3 + 0.5), 2)


def test_entity_swap_takes_a_name_of_the_article_that_the_paragraph_lacks():
    q = SquadQuestion("q7", "When did the Normans conquer England?", CONTEXT, "Normans", ["1066"], [CONTEXT.index("1066")])
    others = ["The Vikings settled in Iceland. Harold fought at Hastings in 1066."]
    swapped = entity_swapped(q, others)
    assert swapped is not None and swapped != q.question
    before, after = q.question.split(), swapped.split()
    assert len(before) == len(after) and sum(a != b for a, b in zip(before, after)) == 1
    new = next(b for a, b in zip(before, after) if a != b).strip("?")
    assert new in {"Vikings", "Iceland", "Harold", "Hastings"} and new.lower() not in CONTEXT.lower()
    assert entity_swapped(q, []) is None  # nothing to swap in
    assert entity_swapped(SquadQuestion("q8", "what is it?", CONTEXT, "t", ["x"], [0]), others) is None
