"""The evidence window: whole sentences around the question's words, offsets into the passage, the whole passage as
fallback."""

from __future__ import annotations

import pytest

from openbook.models.tokenization import WordPiece
from openbook.reading.window import evidence_window, sentences

PASSAGE = (
    "Lighthouses guide ships along dangerous coasts. Early lights burned wood or coal in open fires. "
    "In 1822 Augustin Fresnel designed a lens made of glass rings that focused the light into a beam. "
    "The lens was soon used in lighthouses around the world. Today many lights are automated and run by computers. "
    "Keepers once lived in the towers with their families."
)


@pytest.fixture(scope="module")
def tokenizer(vocab) -> WordPiece:
    return WordPiece(vocab)


def test_sentences_cover_the_text_in_order():
    spans = sentences(PASSAGE)
    assert len(spans) == 6
    assert PASSAGE[spans[2][0] : spans[2][1]].startswith("In 1822 Augustin Fresnel")
    assert all(a < b <= c for (a, b), (c, _) in zip(spans, spans[1:]))
    assert spans[-1][1] == len(PASSAGE)


def test_the_window_holds_the_evidence_and_points_into_the_passage(tokenizer):
    a, b = evidence_window("Who designed a lens made of glass rings?", PASSAGE, tokenizer, 40)
    window = PASSAGE[a:b]
    assert "Augustin Fresnel designed a lens made of glass rings" in window
    assert (a, b) != (0, len(PASSAGE)) and len(tokenizer.ids(window)[0]) <= 40
    assert a == 0 or PASSAGE[a - 1] == " "  # whole sentences
    assert b == len(PASSAGE) or PASSAGE[b] == " "


def test_no_evidence_or_a_short_passage_reads_it_whole(tokenizer):
    whole = (0, len(PASSAGE))
    assert evidence_window("What is the capital of Peru?", PASSAGE, tokenizer, 40) == whole
    assert evidence_window("Who designed a lens?", PASSAGE, tokenizer, 500) == whole
