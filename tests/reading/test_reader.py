"""The extractive reader: windows, span scoring and mapping, no-answer, and the real INT8 default reader."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from openbook.reading.reader import (
    Reader,
    best_spans,
    continuation_mask,
    length_groups,
    tokenize_passage,
    window_spans,
)
from openbook.evaluation.squad import f1
from openbook.models.tokenization import WordPiece
from openbook.types import Passage
from tests.reader_standins import DEFAULT_READER, VOCAB, build_standin

pytestmark = pytest.mark.skipif(VOCAB is None, reason="no BERT vocab.txt in models/reader-minilm-squad11-int8")

ANSWER = {"violet": (10.0, 0.0), "harbor": (0.0, 10.0)}  # "violet ... harbor" is the answer wherever it appears
WEAK = {"copper": (7.0, 7.0)}  # a weaker one-word answer
FILLER = ["river", "stone", "meadow", "cloud", "garden", "bridge", "window", "market", "forest", "tower"]


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("readers")
    boosts = {**ANSWER, **WEAK, "##nz": (9.0, 0.0), "##ibar": (0.0, 9.0), "naive": (0.0, 2.0)}
    null = {**boosts, "[CLS]": (6.0, 6.0)}  # null score 12: beats anything but a boosted answer
    return {
        "hf": build_standin(root / "hf", boosts),
        "omz": build_standin(root / "omz", boosts, layout="omz"),
        "omz-segment": build_standin(root / "omz-segment", boosts, layout="omz-segment"),
        "v1": build_standin(root / "v1", null, squad_version=1),
        "v2": build_standin(root / "v2", null, squad_version=2),
        # the null falls from 24 to about 4 in windows holding "violet": only the answer's windows say "answer"
        "v2-long": build_standin(
            root / "v2-long", {**ANSWER, "[CLS]": (12.0, 12.0)}, squad_version=2, null_drop={"violet": 10.0}
        ),
    }


def reader(path: Path, **kwargs) -> Reader:
    return Reader(path, precision="f32", **kwargs)


def filler(n: int, offset: int = 0) -> list[str]:
    return [FILLER[(i + offset) % len(FILLER)] for i in range(n)]


# ------------------------------------------------------------------------------------------- steps, without a model


def test_windows_advance_by_doc_stride_and_cover_every_token():
    spans = window_spans(1000, room=300, doc_stride=128)
    assert [s for s, _ in spans] == [0, 128, 256, 384, 512, 640, 768]
    assert spans[-1][1] == 1000
    assert all(e - s <= 300 for s, e in spans)
    assert window_spans(50, room=300, doc_stride=128) == [(0, 50)]
    assert window_spans(0, room=300, doc_stride=128) == []


def test_length_groups_batch_similar_lengths():
    lengths = [300, 100, 120, 110, 290, 125, 131]
    groups = length_groups(lengths, size=3, slack=1.3)
    assert groups == [[1, 3, 2], [5, 6], [4, 0]]  # the size closes the first batch, the slack the second
    assert sorted(i for g in groups for i in g) == list(range(len(lengths)))
    assert length_groups([100, 129, 131], size=16, slack=1.3) == [[0, 1], [2]]
    assert length_groups([], size=4) == []


def test_best_spans_keep_to_passage_tokens_order_and_length():
    start = np.zeros(12, dtype=np.float32)
    end = np.zeros(12, dtype=np.float32)
    start[1], end[1] = 50.0, 50.0  # a question token: never part of an answer
    start[8], end[5] = 9.0, 9.0  # end before start: not a span
    start[4], end[6] = 5.0, 4.0
    first, last, score = best_spans(start, end, offset=3, count=8, n_best=3, max_answer_tokens=30)
    assert (first <= last).all() and (first >= 0).all() and (last < 8).all()
    best = int(np.argmax(score))
    assert (first[best], last[best], score[best]) == (1, 2, 14.0)  # sequence tokens 4..5
    assert not ((first == 5) & (last == 2)).any()
    first, last, score = best_spans(start, end, offset=3, count=8, n_best=3, max_answer_tokens=2)
    assert ((last - first) < 2).all()


def test_passage_tokens_map_to_whole_words_and_exact_characters():
    tok = WordPiece(VOCAB)
    text = "  Café   Müller, l'équipe\tunaffable!  " + unicodedata.normalize("NFD", "Zoë")
    ids, offsets = tok.ids(text)
    tokens = tokenize_passage(text, ids, offsets, continuation_mask(VOCAB))
    words = [text[s:e] for s, e in zip(tokens.word_start, tokens.word_end)]
    assert words[0] == "Café" and words[1] == "Müller" and words[2] == ","
    assert "équipe" in words and "unaffable" in words and "!" in words
    assert words[-1] == unicodedata.normalize("NFD", "Zoë")  # the combining diaeresis is kept
    una = words.index("unaffable")
    assert words[una : una + 3] == ["unaffable"] * 3  # one word, three pieces
    assert tokens.span(una + 1, una + 1) == (text.index("unaffable"), text.index("unaffable") + 9)


# ------------------------------------------------------------------------------------------- with stand-in models


def test_answers_map_to_exact_characters_in_tricky_text(models):
    r = reader(models["hf"])
    text = "Naïve   café-owners,\tin  the violet-tinted  ‘old’ harbor… then"
    best = r.read("where?", [text])[0]
    assert text[best.start : best.end] == "violet-tinted  ‘old’ harbor"  # offsets index the original text
    assert best.text == "violet-tinted ‘old’ harbor"  # shown with white space collapsed
    # boosts on the word pieces "##nz" (start) and "##ibar" (end): the answer is widened to the whole last word
    alone = r.read("where?", ["They sailed to Zanzibar"])[0]
    assert alone.text == "Zanzibar"
    assert (alone.start, alone.end) == (15, 23)


def test_answer_across_a_window_border_is_found_whole(models):
    r = reader(models["hf"])
    question = "what glows?"
    room = 384 - len(r.tokenizer.ids(question)[0]) - 3  # window 0 holds passage tokens 0 .. room - 1
    words = filler(900)
    answer = ["violet", "lantern", "glow", "over", "the", "harbor"]
    words[room - 3 : room + 3] = answer  # cut by window 0's end; whole in window 1 (from token 128)
    text = " ".join(words)
    before = r.windows_run
    answers = r.read(question, [text], top_k=5)
    assert r.windows_run - before == len(window_spans(900, room, 128)) > 2
    best = answers[0]
    assert best.text == " ".join(answer)
    assert text[best.start : best.end] == best.text
    assert len({(a.start, a.end) for a in answers}) == 5  # found in windows 1 and 2, listed once


def test_no_answer_follows_the_model_kind(models):
    empty = " ".join(filler(40))
    holds = " ".join(filler(20) + ["violet", "boat", "harbor"] + filler(20))
    v2, v1 = reader(models["v2"]), reader(models["v1"])
    assert v2.no_answer and not v1.no_answer
    nothing = v2.read("what?", [empty])
    assert nothing[0].is_no_answer and nothing[0].text == ""
    assert nothing[0].score == nothing[0].no_answer_score > nothing[1].score + 5
    assert not nothing[1].is_no_answer  # the best spans still follow
    assert v2.read("what?", [holds])[0].text == "violet boat harbor"
    assert v2.read("what?", [empty, holds])[0].text == "violet boat harbor"  # one passage with an answer suffices
    never = v1.read("what?", [empty])
    assert never and not any(a.is_no_answer for a in never) and never[0].margin < 0
    assert reader(models["v1"], no_answer=True).read("what?", [empty])[0].is_no_answer
    assert not reader(models["v2"], no_answer_threshold=100.0).read("what?", [empty])[0].is_no_answer


def test_null_score_of_a_long_passage_is_its_least_null_window(models):
    words = filler(900)
    words[700:703] = ["violet", "boat", "harbor"]  # in the last windows only; the first ones say "no answer"
    best = reader(models["v2-long"]).read("what?", [" ".join(words)])[0]
    assert best.text == "violet boat harbor" and best.margin > 10
    assert best.no_answer_score < 8  # the answer window's null, not the others' (about 24)


def test_scores_compare_across_passages(models):
    r = reader(models["hf"])
    strong = Passage(" ".join(filler(30) + ["violet", "harbor"] + filler(10)), doc_id="a", start=0, end=0)
    weak = Passage(" ".join(filler(15, 3) + ["copper"] + filler(50, 3)), doc_id="b", start=0, end=0)
    other = " ".join(filler(200, 5))
    alone = {p.doc_id: r.read("which?", [p])[0] for p in (strong, weak)}
    for order in ([strong, weak, other], [other, weak, strong]):
        answers = r.read("which?", order, top_k=10)
        assert answers[0].passage is strong and answers[0].text == "violet harbor"
        assert answers[0].passage_index == order.index(strong)
        assert answers[0].score == pytest.approx(alone["a"].score, abs=1e-3)
        from_weak = next(a for a in answers if a.passage is weak)
        assert from_weak.text == "copper" and from_weak.score == pytest.approx(alone["b"].score, abs=1e-3)
        assert from_weak.no_answer_score == pytest.approx(alone["b"].no_answer_score, abs=1e-3)
    assert [a.score for a in answers] == sorted((a.score for a in answers), reverse=True)
    assert len({(a.passage_index, a.start, a.end) for a in answers}) == len(answers)  # no duplicate spans


def test_static_and_dynamic_models_agree(models):
    questions = [
        ("which violet?", [" ".join(filler(n) + ["violet", "harbor"] + filler(7)) for n in (3, 60, 200)]),
        ("which metal?", [" ".join(filler(n, 2) + ["copper"] + filler(n)) for n in (10, 150)]),
        ("a long one?", [" ".join(filler(500) + ["violet", "and", "harbor"] + filler(40))]),
    ]
    results = {name: reader(models[name], batch_size=4).read_batch(questions) for name in ("hf", "omz", "omz-segment")}
    dynamic = results["hf"]
    for name in ("omz", "omz-segment"):
        for got, want in zip(results[name], dynamic):
            assert [a.text for a in got[:3]] == [a.text for a in want[:3]]
            assert [a.score for a in got[:3]] == pytest.approx([a.score for a in want[:3]], abs=1e-3)
            assert got[0].no_answer_score == pytest.approx(want[0].no_answer_score, abs=1e-3)
    one_by_one = [reader(models["hf"], batch_size=1).read(q, ps) for q, ps in questions]
    for got, want in zip(one_by_one, dynamic):
        assert [a.text for a in got] == [a.text for a in want]
        assert [a.score for a in got] == pytest.approx([a.score for a in want], abs=1e-3)


def test_nothing_to_read_gives_no_answers(models):
    r = reader(models["v2"])
    assert r.read("what?", []) == []
    assert r.read("what?", ["", "  \n "]) == []
    assert r.read_batch([]) == []


def test_outputs_are_found_by_manifest_name_or_position(models):
    assert reader(models["hf"]).outputs == ("start_logits", "end_logits")
    assert reader(models["omz"]).outputs == ("output_s", "output_e")
    assert reader(models["omz-segment"]).outputs == ("Squeeze_a", "Squeeze_b")


# ------------------------------------------------------------------------------------------- the real default reader


@pytest.mark.slow
def test_default_reader_answers_squad_dev_questions(squad_dev):
    if not (DEFAULT_READER / "model.xml").is_file():
        pytest.skip(f"the default reader is not built in {DEFAULT_READER}")
    article = json.loads(squad_dev.read_text(encoding="utf-8"))["data"][0]
    items = [
        (qa["question"], p["context"], [a["text"] for a in qa["answers"]])
        for p in article["paragraphs"][:4]
        for qa in p["qas"][:4]
    ]
    r = Reader(DEFAULT_READER)
    assert not r.no_answer
    answers = r.read_batch([(q, [c]) for q, c, _ in items], top_k=1)
    scores = [f1(a[0].text, gold) for a, (_, _, gold) in zip(answers, items)]
    assert all(a[0].text == c[a[0].start : a[0].end] for a, (_, c, _) in zip(answers, items))
    assert sum(s >= 0.5 for s in scores) >= 0.75 * len(items), scores
