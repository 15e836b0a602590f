"""The reading cascade, the default way ``OpenBook`` reads, with the default models on examples/corpus: it stops after
the first passage when that passage settles the answer (and then answers as reading all five does) and reads on when it
does not; ``read_all`` reads all five."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from openbook.ingest.loaders import load_documents
from openbook.qa.cascade import DEFAULT_CASCADES, READ_ALL, Cascade, default_cascade
from openbook.qa.pipeline import OpenBook, RankedAnswer
from openbook.qa.rerank import Weights
from openbook.reading.window import evidence_window
from openbook.retrieval.retriever import Retriever
from openbook.types import Passage, SearchResult

CORPUS = Path(__file__).resolve().parents[2] / "examples" / "corpus"
SETTLED = {  # the first passage holds the answer, with a wide lead over the rest
    "Who designed a lens made of glass rings for lighthouses?": "Augustin Fresnel",
    "What is the largest volcano in the solar system?": "Olympus Mons",
    "Which piece in chess can jump over other pieces?": "knight",
    "In what year did Edward Jenner make the first vaccine?": "1796",
}
WEAK = [  # not answered by the corpus: no passage is a clear winner
    "What is the capital of Australia?",
    "Who won the football world cup in 1998?",
]


@pytest.fixture(scope="module")
def books(tmp_path_factory, vocab) -> tuple[OpenBook, OpenBook]:
    retriever = Retriever(tmp_path_factory.mktemp("ix") / "corpus")
    retriever.add(load_documents([CORPUS]))
    full = OpenBook(retriever=retriever, k=5, read_all=True)
    return full, OpenBook(retriever=retriever, reader=full.reader, k=5)


def test_the_default_reads_with_the_cascade_tuned_for_its_weights(books):
    full, book = books
    assert book.weights == full.weights  # the same ranking as reading all five
    assert book.cascade == DEFAULT_CASCADES["hybrid"] and book.cascade.weights == book.weights
    assert book.cascade.first < book.k and math.isfinite(book.cascade.lead)
    assert full.cascade == READ_ALL


def test_a_cascade_tuned_for_other_weights_is_not_used():
    tuned = DEFAULT_CASCADES["hybrid"]
    other = Weights(margin=tuned.weights.margin + 1.0, retrieval=tuned.weights.retrieval)
    assert default_cascade("hybrid", other) == READ_ALL
    assert default_cascade("hybrid", tuned.weights) == tuned
    assert default_cascade("lexical", tuned.weights) == READ_ALL


def test_a_settling_first_passage_is_read_alone_and_gives_the_full_answer(books):
    full, book = books
    first = book.cascade.first
    for question, expected in SETTLED.items():
        best = book.ask(question)[0]
        assert book.last_read == [first], question
        assert expected in best.text
        theirs = full.ask(question)[0]
        assert full.last_read == [5]
        assert (best.text, best.passage.id) == (theirs.text, theirs.passage.id)
        assert best.passage.text[best.start : best.end] == best.text


def test_a_weak_first_passage_makes_it_read_more(books):
    full, book = books
    for question in WEAK:
        before = book.passages_read
        answers = book.ask(question)
        assert book.last_read[0] > book.cascade.first, question
        assert book.passages_read - before == book.last_read[0]
        if book.last_read[0] == 5 and book.cascade.window is None:  # all read whole: what reading all five gives
            assert [a.text for a in answers] == [a.text for a in full.ask(question)]
        assert all(" ".join(a.passage.text[a.start : a.end].split()) == a.text for a in answers)


def test_read_all_per_call_reads_every_passage(books):
    full, book = books
    question = next(iter(SETTLED))
    mine = book.ask(question, read_all=True)
    assert book.last_read == [5]
    assert [(a.text, a.passage.id) for a in mine] == [(a.text, a.passage.id) for a in full.ask(question)]


def test_batched_questions_each_stop_on_their_own(books):
    _, book = books
    questions = [*SETTLED, *WEAK]
    many = book.ask_many(questions)
    read = list(book.last_read)
    assert read[: len(SETTLED)] == [book.cascade.first] * len(SETTLED)
    assert all(r > book.cascade.first for r in read[len(SETTLED) :])
    for question, answers in zip(questions, many):
        assert answers[0].text == book.ask(question)[0].text


def test_a_cascade_that_never_settles_reads_and_ranks_as_reading_all(books):
    full, _ = books
    never = OpenBook(retriever=full.retriever, reader=full.reader, k=5, cascade=Cascade(first=1, lead=math.inf))
    for question in [*SETTLED, *WEAK]:
        mine, theirs = never.ask(question), full.ask(question)
        assert never.last_read == [5]
        assert [(a.text, a.passage.id) for a in mine] == [(a.text, a.passage.id) for a in theirs]
        # the passages go through the model in other batches (other padding), which moves logits by ~0.01
        assert [a.score for a in mine] == pytest.approx([a.score for a in theirs], abs=0.05)


def test_passages_after_the_first_are_read_as_their_evidence_windows(books):
    full, _ = books
    window = 24  # word pieces: a sentence or two of these passages
    book = OpenBook(
        retriever=full.retriever, reader=full.reader, k=5, cascade=Cascade(first=1, lead=math.inf, window=window)
    )
    tokenizer = full.reader.tokenizer
    cut = 0
    for question in [*SETTLED, *WEAK]:
        candidates = book.candidates([question])[0]
        assert book.last_read == [5]
        for c in candidates:
            shown = " ".join(c.passage.text[c.start : c.end].split())  # the answer as shown: white space collapsed
            assert shown == c.text  # offsets point into the passage, not the window
            if c.retrieval_rank == 1:
                continue  # the first passage is read whole
            a, b = evidence_window(question, c.passage.text, tokenizer, window)
            assert a <= c.start and c.end <= b, (question, c.text)
            if (a, b) != (0, len(c.passage.text)):
                cut += 1
                alone = full.reader.read(question, [c.passage.text[a:b]], top_k=50)  # the window read by itself
                assert (c.start - a, c.end - a) in {(x.start, x.end) for x in alone}
    assert cut > 10  # most candidates after the first passage came from windows shorter than their passage


def test_it_reads_on_only_the_passages_that_could_overtake_the_best_answer():
    passage = Passage("Olympus Mons is the largest volcano.", "d", 0, 36)
    best = RankedAnswer("Olympus Mons", 30.0, 12.0, -2.0, 1.0, 1, passage, 0, 12)  # fused 30, margin 14
    unread = [SearchResult(passage, score, rank) for rank, score in ((2, 3.0), (3, 2.0), (4, 1.0), (5, 0.0))]
    weights = Weights(margin=1.0, retrieval=5.0)
    rule = Cascade(first=1, lead=22.0, margin=10.0)
    assert rule.more(best, unread, weights) == 2  # leads 15, 20 < 22; then 25, 30
    assert Cascade(first=1, lead=10.0, margin=10.0).more(best, unread, weights) == 0
    assert Cascade(first=1, lead=22.0, margin=15.0).more(best, unread, weights) == 4  # weak margin: read them all
    assert rule.more(None, unread, weights) == 4
