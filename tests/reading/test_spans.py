"""Clean answer spans: whole tokens, line-end hyphenation joined in what is shown, offsets into the original text."""

from __future__ import annotations

import re

import numpy as np
import pytest

from openbook.reading.reader import Spans, rank
from openbook.reading.spans import adjust_span, display_text


def _adjusted(text: str, part: str) -> str:
    """Adjust the span of ``part``'s first occurrence as a whole word of ``text``."""
    start = re.search(rf"(?<!\w){re.escape(part)}(?!\w)", text).start()
    s, e = adjust_span(text, start, start + len(part))
    return text[s:e]


@pytest.mark.parametrize(
    ("part", "expected"),
    [
        ("g", "-g"),
        ("all", "--all"),
        ("bashrc", ".bashrc"),
        ("etc/hosts", "/etc/hosts"),
        ("profile", "~/.profile"),
        ("well", "well"),  # "well-known": a dash inside a word opens no token
    ],
)
def test_leading_punctuation_that_opens_a_token_is_kept(part, expected):
    text = "Run git log -g or --all; see .bashrc, /etc/hosts and ~/.profile for a well-known setup."
    assert _adjusted(text, part) == expected


@pytest.mark.parametrize(
    ("part", "expected"),
    [("path", "path.join()"), ("join", "path.join()"), ("readFile", "fs.readFile"), ("3", "3.5")],
)
def test_a_span_ending_inside_a_name_is_widened_to_the_whole_name(part, expected):
    text = "The method path.join() joins all given path segments; fs.readFile reads 3.5 MB. Next sentence."
    assert _adjusted(text, part) == expected


def test_sentence_punctuation_is_not_taken_into_a_span():
    text = "It was settled in Europe. Later it spread."
    assert _adjusted(text, "Europe") == "Europe"
    assert _adjusted(text, "Later") == "Later"


def test_a_span_across_a_line_break_and_a_hyphenated_line_end_is_shown_clean():
    text = "This option prevents  such  prob\u2010\n       lems when linking,\nand keeps the\n   output small."
    start = text.index("such")
    s, e = adjust_span(text, start, text.index("prob") + 4)  # the reader stops at "prob" (BERT splits at the hyphen)
    assert text[s:e] == "such  prob\u2010\n       lems"  # the offsets index the original text ...
    assert display_text(text[s:e]) == "such problems"  # ... and what is shown is clean
    s, e = adjust_span(text, text.index("lems"), text.index("lems") + 4)  # a span starting on the second half
    assert display_text(text[s:e]) == "problems"
    start = text.index("keeps")
    assert display_text(text[start : text.index("small") + 5]) == "keeps the output small"


def test_soft_hyphens_and_dangling_hyphens_are_dropped_from_what_is_shown():
    text = "A hy\u00adphen\u00adated word and a dash-"
    assert display_text(text) == "A hyphenated word and a dash-"
    start = text.index("hy")
    s, e = adjust_span(text, start, start + 2)
    assert text[s:e] == "hy\u00adphen\u00adated" and display_text(text[s:e]) == "hyphenated"
    assert _adjusted("say prob- lems", "prob-") == "prob"


def test_reader_ranking_cleans_spans_and_keeps_original_offsets():
    text = "Use  the -g\nflag to install globally; prevents such prob\u2010\n lems."
    g = text.index("g\n")
    prob = text.index("prob")
    spans = Spans(
        passage=np.array([0, 0, 0]),
        start=np.array([g, prob, g]),
        end=np.array([g + 1, prob + 4, g + 1]),
        score=np.array([9.0, 5.0, 8.0], dtype=np.float32),
        nulls={0: 0.0},
    )
    answers = rank(spans, [text], top_k=5, no_answer=False, threshold=0.0)
    assert [a.text for a in answers] == ["-g", "problems"]  # the same span found twice counts once
    for a in answers:
        assert display_text(text[a.start : a.end]) == a.text
    assert text[answers[1].start : answers[1].end] == "prob\u2010\n lems"
