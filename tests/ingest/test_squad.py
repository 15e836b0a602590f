"""The one SQuAD parser, and every reader of SQuAD files (indexing, the evaluations) seeing the same file through it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from openbook.errors import OpenbookError
from openbook.evaluation.retrieval import load_squad_paragraphs
from openbook.evaluation.squad import load_squad
from openbook.ingest.loaders import read_squad
from openbook.ingest.squad import parse_squad

V2 = {
    "version": "v2.0",
    "data": [
        {"title": "Mars", "paragraphs": [
            {"context": "Mars has two moons.", "qas": [
                {"id": "m1", "question": "How many moons?", "answers": [{"text": "two", "answer_start": 9}]},
                {"id": "m2", "question": "Who lives there?", "answers": [], "is_impossible": True},
            ]},
            {"context": "Olympus Mons is tall.", "qas": []},
        ]},
        {"title": "Rivers", "paragraphs": [
            {"context": "The Thames flows through London.", "qas": [
                {"id": "r1", "question": "Where?", "answers": [{"text": "London", "answer_start": 25}] * 2},
            ]},
        ]},
    ],
}


def write(path: Path, data: object) -> Path:
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def test_parse_gives_typed_articles_paragraphs_questions(tmp_path):
    squad = parse_squad(write(tmp_path / "dev.json", V2))
    assert [a.title for a in squad.articles] == ["Mars", "Rivers"]
    where = [(i, j, p.context[:5]) for i, j, _, p in squad.paragraphs()]
    assert where == [(0, 0, "Mars "), (0, 1, "Olymp"), (1, 0, "The T")]
    one, none = squad.articles[0].paragraphs[0].questions
    assert (one.id, one.question, one.answers, one.answer_starts, one.is_impossible) == (
        "m1", "How many moons?", ["two"], [9], False
    )
    assert none.is_impossible and none.answers == []


def test_every_reader_sees_the_same_file(tmp_path):
    path = write(tmp_path / "dev.json", V2)
    docs = read_squad(path)
    questions = load_squad(path)
    paragraphs, texts, gold, articles = load_squad_paragraphs(path)
    assert [d.text for d in docs] == paragraphs == [p.context for _, _, _, p in parse_squad(path).paragraphs()]
    assert [d.title for d in docs] == ["Mars", "Mars", "Rivers"]
    assert docs[2].metadata == {"article": "Rivers", "paragraph": 0}
    assert [q.question for q in questions] == texts == ["How many moons?", "Who lives there?", "Where?"]
    assert [paragraphs[g] for g in gold] == [q.context for q in questions]
    assert articles.tolist() == [0, 0, 1] and [q.title for q in questions] == ["Mars", "Mars", "Rivers"]


@pytest.mark.parametrize(
    "content, reason",
    [
        ("", "empty document"),
        ("{oops", "malformed JSON"),
        ([1], 'no "data" list'),
        ({"data": ["x"]}, "an article is not an object"),
        ({"data": [{"title": "T"}]}, '"paragraphs" list'),
        ({"data": [{"paragraphs": [{"text": "x"}]}]}, "\"context\" is not a string"),
        ({"data": [{"paragraphs": [{"context": "x", "qas": [{"id": 1}]}]}]}, "\"question\" is not a string"),
        ({"data": [{"paragraphs": [{"context": "x", "qas": [{"question": "q", "answers": ["a"]}]}]}]}, "an answer"),
    ],
)
def test_bad_files_are_one_line_errors_naming_the_file(tmp_path, content, reason):
    path = write(tmp_path / "bad.json", content)
    with pytest.raises(OpenbookError) as err:
        parse_squad(path)
    message = str(err.value)
    assert message.startswith(f"{path}: ") and reason in message and "\n" not in message


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(OpenbookError, match="no such file"):
        parse_squad(tmp_path / "missing.json")
    (tmp_path / "latin.json").write_bytes('{"data": "caf\xe9"}'.encode("latin-1"))
    with pytest.raises(OpenbookError, match="not UTF-8"):
        parse_squad(tmp_path / "latin.json")
