"""SQuAD-format files (v1.1 and v2.0): the one parser every reader of them uses.

Indexing (:func:`openbook.ingest.loaders.read_squad`), the evaluations and the benchmarks all read a file through
:func:`parse_squad`, which checks its shape once and gives typed articles, paragraphs and questions.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openbook.errors import OpenbookError

SHAPE = '{"data": [{"title", "paragraphs": [{"context", "qas": [{"id", "question", "answers"}]}]}]}'


@dataclass
class SquadQA:
    """One question; ``answers`` is empty for an unanswerable (v2.0) question."""

    id: str
    question: str
    answers: list[str] = field(default_factory=list)
    answer_starts: list[int] = field(default_factory=list)
    is_impossible: bool = False


@dataclass
class SquadParagraph:
    context: str
    questions: list[SquadQA] = field(default_factory=list)


@dataclass
class SquadArticle:
    title: str
    paragraphs: list[SquadParagraph] = field(default_factory=list)


@dataclass
class SquadFile:
    """A parsed SQuAD file: its articles in file order."""

    path: Path
    articles: list[SquadArticle]

    def paragraphs(self) -> Iterator[tuple[int, int, SquadArticle, SquadParagraph]]:
        """(article number, paragraph number in its article, article, paragraph), in file order."""
        for i, article in enumerate(self.articles):
            for j, paragraph in enumerate(article.paragraphs):
                yield i, j, article, paragraph


def parse_squad(path: str | Path) -> SquadFile:
    """Read and check a SQuAD-format file; a missing, non-UTF-8, malformed or wrongly shaped file is a one-line
    :class:`OpenbookError` naming the file."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise OpenbookError(f"no such file: {path}") from None
    except OSError as exc:
        raise OpenbookError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except UnicodeError:
        raise OpenbookError(f"{path}: not a text file (binary or not UTF-8)") from None
    if not text.strip():
        raise OpenbookError(f"{path}: empty document")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise OpenbookError(f"{path}: malformed JSON: {exc.msg} (line {exc.lineno})") from None
    try:
        return SquadFile(path, [_article(a) for a in _list(raw.get("data") if isinstance(raw, dict) else None)])
    except _Shape as exc:
        raise OpenbookError(f"{path}: not a SQuAD file ({exc}; expected {SHAPE})") from None


class _Shape(Exception):
    """The file is JSON but not shaped as SQuAD."""


def _list(value: Any, what: str = '"data" list') -> list[Any]:
    if not isinstance(value, list):
        raise _Shape(f"no {what}")
    return value


def _str(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise _Shape(f"{what} is not a string")
    return value


def _article(raw: Any) -> SquadArticle:
    if not isinstance(raw, dict):
        raise _Shape("an article is not an object")
    title = raw.get("title")
    paragraphs = _list(raw.get("paragraphs"), '"paragraphs" list in an article')
    return SquadArticle(title if isinstance(title, str) else "", [_paragraph(p) for p in paragraphs])


def _paragraph(raw: Any) -> SquadParagraph:
    if not isinstance(raw, dict):
        raise _Shape("a paragraph is not an object")
    context = _str(raw.get("context"), 'a paragraph\'s "context"')
    return SquadParagraph(context, [_question(q) for q in _list(raw.get("qas", []), '"qas" list in a paragraph')])


def _question(raw: Any) -> SquadQA:
    if not isinstance(raw, dict):
        raise _Shape("a question is not an object")
    answers = _list(raw.get("answers", []), '"answers" list in a question')
    if not all(isinstance(a, dict) for a in answers):
        raise _Shape("an answer is not an object")
    return SquadQA(
        id=str(raw.get("id", "")),
        question=_str(raw.get("question"), 'a question\'s "question"'),
        answers=[_str(a.get("text"), 'an answer\'s "text"') for a in answers],
        answer_starts=[int(a.get("answer_start", -1)) for a in answers],
        is_impossible=bool(raw.get("is_impossible", False)),
    )
