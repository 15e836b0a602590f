"""Warming the models up runs every batch shape a question meets: afterwards, no question meets a new one."""

from __future__ import annotations

from pathlib import Path

import pytest

from openbook.ingest.loaders import load_documents
from openbook.models.runtime import CompiledModel
from openbook.qa.pipeline import OpenBook
from openbook.retrieval.retriever import Retriever

CORPUS = Path(__file__).resolve().parents[2] / "examples" / "corpus"
QUESTIONS = [
    "Who designed a lens made of glass rings for lighthouses?",
    "What is the largest volcano in the solar system?",
    "Which piece in chess can jump over other pieces?",
    "In what year did Edward Jenner make the first vaccine?",
    "Why does bread rise?",
    "How do bees tell each other where flowers are?",
]


@pytest.fixture
def shapes(monkeypatch) -> set:
    """The (model, [rows, length]) shapes fed to any model from now on."""
    seen: set = set()
    run = CompiledModel._infer

    def spy(self, feed):
        seen.add((self.path, next(iter(feed.values())).shape))
        return run(self, feed)

    monkeypatch.setattr(CompiledModel, "_infer", spy)
    return seen


def test_after_warming_up_no_question_meets_a_new_shape(tmp_path, shapes):
    retriever = Retriever(tmp_path / "corpus")
    retriever.add(load_documents([CORPUS]))
    book = OpenBook(retriever=retriever, k=5)
    shapes.clear()
    steps = book.warm_up()
    warmed = set(shapes)
    assert steps == len(warmed)  # one new shape per step
    assert len(book.reader.warm_shapes()) == 5 * len(range(32, 385, 32))  # 1-5 rows × lengths in steps of 32
    shapes.clear()
    for question in QUESTIONS:
        book.ask(question)
        book.ask(question, read_all=True)
    assert shapes and shapes <= warmed, sorted(shapes - warmed)


def test_lexical_search_warms_only_the_reader(tmp_path, shapes):
    Retriever(tmp_path / "corpus").add(load_documents([CORPUS]))
    book = OpenBook(retriever=Retriever(tmp_path / "corpus", mode="lexical"), k=5)
    shapes.clear()
    book.warm_up()
    assert {path.parent.name for path, _ in shapes} == {book.reader.folder.name}
