"""Open-book QA end to end with the default models: retrieve, read, rerank; from Python and a pseudo-terminal."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

from openbook.ingest.loaders import load_documents
from openbook.qa.pipeline import OpenBook, RankedAnswer, rerank
from openbook.qa.rerank import Weights
from openbook.retrieval.retriever import Retriever
from openbook.types import Passage

CORPUS = Path(__file__).resolve().parents[2] / "examples" / "corpus"
QUESTIONS = {
    "Who designed a lens made of glass rings for lighthouses?": "Augustin Fresnel",
    "What is the largest volcano in the solar system?": "Olympus Mons",
    "Which piece in chess can jump over other pieces?": "knight",
    "In what year did Edward Jenner make the first vaccine?": "1796",
}


@pytest.fixture(scope="module")
def book(tmp_path_factory, vocab) -> OpenBook:
    retriever = Retriever(tmp_path_factory.mktemp("ix") / "corpus")
    retriever.add(load_documents([CORPUS]))
    return OpenBook(retriever=retriever, k=5, top_answers=3)


def test_ask_finds_the_answer_in_its_passage(book):
    for question, expected in QUESTIONS.items():
        best = book.ask(question, read_all=True)[0]
        assert expected in best.text, (question, best.text)
        assert best.passage.text[best.start : best.end] == best.text
        doc = book.retriever.index.store.document(best.passage.doc_id)
        assert doc.text[best.document_start : best.document_end] == best.text
        assert best.retrieval_rank >= 1 and best.margin == pytest.approx(best.span_score - best.no_answer_score)


def test_ask_many_matches_ask(book):
    questions = list(QUESTIONS)
    many = book.ask_many(questions)
    for question, answers in zip(questions, many):
        one = book.ask(question)
        assert [a.text for a in answers] == [a.text for a in one]
        assert answers[0].score == pytest.approx(one[0].score, abs=1e-3)


def test_answers_are_distinct(book):
    answers = book.ask("Why does bread rise?", top_answers=5)
    texts = [a.text for a in answers]
    assert len(texts) == len(set(texts))
    for i, a in enumerate(answers):
        for b in answers[:i]:
            same = a.passage.id == b.passage.id
            assert not (same and a.start < b.end and b.start < a.end), "overlapping spans of one passage"


ABSENT = ["Who won the 2018 football world cup?", "What is the capital of France?"]


def test_a_question_about_something_absent_is_not_in_your_documents(book):
    for question in ABSENT:
        best = book.ask(question, read_all=True)[0]
        assert 0.0 <= best.confidence < book.min_confidence and best.abstain, (question, best.text, best.confidence)
        kept = book.ask(question, min_confidence=0.0, read_all=True)[0]  # the best guess is still there, with the same confidence
        assert not kept.abstain and kept.text == best.text and kept.confidence == pytest.approx(best.confidence)
    for question in QUESTIONS:
        best = book.ask(question, read_all=True)[0]
        assert not best.abstain and best.confidence >= book.min_confidence, (question, best.confidence)
        assert all(0.0 <= a.confidence <= 1.0 for a in book.ask(question))


def test_min_confidence_of_the_book_is_the_default_of_ask(book):
    strict = OpenBook(retriever=book.retriever, reader=book.reader, k=5, min_confidence=1.0)
    question = next(iter(QUESTIONS))
    assert strict.ask(question)[0].abstain
    assert not strict.ask(question, min_confidence=0.0)[0].abstain


def test_answer_dict_holds_confidence_and_passage(book):
    best = book.ask(next(iter(QUESTIONS)))[0]
    d = best.to_dict()
    assert d["confidence"] == round(best.confidence, 4) and d["abstain"] is False
    assert d["passage"]["text"] == best.passage.text and d["passage"]["doc_id"] == best.passage.doc_id
    assert d["passage"]["text"][d["start"] : d["end"]] == best.passage.text[best.start : best.end]


def test_next_best_answers_are_not_fragments_of_the_best():
    best = _candidate("the French engineer Augustin Fresnel", 9.0, 0.0, 0.5, 1, 0)
    fragment = _candidate("Augustin Fresnel", 8.0, 0.0, 0.5, 2, 10)  # another passage, the same words
    other = _candidate("Thomas Stevenson", 7.0, 0.0, 0.5, 3, 0)
    assert [a.text for a in rerank([best, fragment, other], Weights(), 3)] == [best.text, other.text]


def _candidate(text, span, null, ret, pid, start):
    p = Passage(text="x" * 100, doc_id=f"d{pid}", start=0, end=100, id=pid)
    return RankedAnswer(text, span, span, null, ret, 1, p, start, start + len(text))


def test_rerank_fuses_margin_and_retrieval():
    confident_wrong_passage = _candidate("wrong", 10.0, 12.0, 0.2, 1, 0)  # the passage's null beats its span
    sure = _candidate("right", 9.0, -5.0, 0.6, 2, 0)
    assert rerank([confident_wrong_passage, sure], Weights(), 2)[0].text == "wrong"  # span alone
    assert rerank([confident_wrong_passage, sure], Weights(margin=0.5), 2)[0].text == "right"
    assert rerank([confident_wrong_passage, sure], Weights(retrieval=10.0), 2)[0].text == "right"


def _ctrl_c_as_in_a_terminal() -> None:
    """A process started in the background (as a CI job may be) inherits SIGINT ignored: restore it for the child."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_interactive(tmp_path, document: Path):
    """`openbook ask` with no question, in a pseudo-terminal, over an index of ``document``; at its first prompt."""
    pexpect = pytest.importorskip("pexpect")
    indexes = tmp_path / "indexes"
    env = {**os.environ, "OPENBOOK_INDEXES": str(indexes), "OPENBOOK_HISTORY": str(tmp_path / "history")}
    Retriever(indexes / "demo").add(load_documents([document]))
    child = pexpect.spawn(
        sys.executable,
        ["-m", "openbook.cli", "ask", "--index", "demo"],
        env=env,
        encoding="utf-8",
        timeout=120,
        preexec_fn=_ctrl_c_as_in_a_terminal,
    )
    child.expect("openbook> ")
    return pexpect, child


def test_interactive_mode_in_a_pseudo_terminal(tmp_path, vocab):
    pexpect, child = start_interactive(tmp_path, CORPUS / "notes.jsonl")
    child.sendline(":help")
    child.expect(":quit")
    child.expect("openbook> ")
    child.sendline("Why does bread rise?")
    child.expect("A: ")
    child.expect("openbook> ")
    child.sendline(":k 2")
    child.expect("top 2 passages")
    child.expect("openbook> ")
    child.sendline("Who made the first vaccine?")
    child.expect("Edward Jenner")
    child.expect("openbook> ")
    # Ctrl-C clears the line being typed and the session goes on. Typing first, and waiting for the echo, makes sure
    # the prompt is reading: a signal in the instant before it starts waiting for input is only seen at the next key.
    child.send("half a question")
    child.expect("half a question")
    child.sendintr()
    child.expect("openbook> ")
    child.sendline(":k 3")
    child.expect("top 3 passages")  # not "half a question:k 3", asked as a question
    child.expect("openbook> ")
    child.sendline(":quit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "Who made the first vaccine?" in (tmp_path / "history").read_text()


def test_ctrl_d_quits(tmp_path, vocab):
    pexpect, child = start_interactive(tmp_path, CORPUS / "chess.txt")
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_confidence_features_from_the_evaluation_cache_equal_those_of_ask(book, tmp_path):
    """The calibrator is fitted on features computed from cached reads (``evaluation.signals``); ``OpenBook.ask``
    computes them live. Both must give the same features, hence the same confidence."""
    import numpy as np

    from openbook.evaluation.qa import prepare, tops
    from openbook.evaluation.signals import Asked, PairCache, Setting
    from openbook.evaluation.squad import SquadQuestion
    from openbook.qa.pipeline import RIVALS, answer

    questions = [*QUESTIONS, *ABSENT, "Why does bread rise?"]
    reads = PairCache(tmp_path / "pairs.pkl")
    setting = Setting("live")
    for n, question in enumerate(questions):
        found = book.retriever.search(question, book.k)
        pairs = reads.read(book.reader, [(question, h.passage.text) for h in found])
        squad = SquadQuestion(str(n), question, found[0].passage.text, "t", [QUESTIONS.get(question, "-")])
        setting.questions.append(Asked(squad, 0, found, pairs))
    items = prepare(setting)
    names = book.confidence.calibrator.names
    cached = tops(items, book.weights, names, book.confidence.calibrator.meta.get("margin_weight"))
    for row, question in enumerate(questions):
        found, candidates = book.read([question], read_all=True)[0]  # the cache holds all k passages' reads
        kept = answer(question, found, candidates, book.weights, book.confidence, RIVALS, 0.0)
        live = book.confidence.features(question, kept, candidates, found)[0]
        np.testing.assert_allclose(cached.x[row], live, rtol=1e-4, atol=1e-4, err_msg=question)
        assert cached.texts[row] == kept[0].text
        best = book.ask(question, read_all=True)[0]
        assert book.confidence.calibrator.predict(cached.x[row : row + 1])[0] == pytest.approx(best.confidence, abs=1e-4)
