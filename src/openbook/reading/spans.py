"""Clean answer spans: what a span covers (its offsets, which keep indexing the original text) and how it is shown.

The reader's spans are whole BERT words, and BERT splits on every punctuation mark, so a span can lose what makes a
token what it is: the dash of an option (``g`` for ``-g``), the dot of a file name, the end of a dotted name
(``path`` for ``path.join()``), or half of a word hyphenated across a line end (``prob‐`` | ``lems``).
:func:`adjust_span` moves the offsets to cover the whole token; :func:`display_text` is what a person is shown:
soft hyphens dropped, words hyphenated across a line end joined, white space collapsed.
"""

from __future__ import annotations

import re

SOFT_HYPHEN = "\u00ad"
HYPHENS = "-\u2010\u2011"  # hyphen-minus, hyphen, non-breaking hyphen (man pages set U+2010)
LEADING = "-./~"  # punctuation that opens a token: -g, --verbose, .bashrc, /etc, ~/.profile
OPENERS = "([{<\"'`\u2018\u201c"

# a word hyphenated across a line end: "prob‐\n   lems" (the next line starts with a lower-case letter)
_LINE_BREAK_HYPHEN = re.compile(rf"(?<=\w)[{HYPHENS}][ \t]*\r?\n\s*(?=[a-z])")
_SPACE = re.compile(r"\s+")
# what continues a name after its last word: ".join", "/bin/ls", "::Vec", "()" (connectors followed by a word)
_NAME_TAIL = re.compile(r"(?:(?:\.|/|::)\w+)*(?:\(\))?")
_NAME_HEAD = re.compile(r"(?:\w+(?:\.|/|::))+$")


def display_text(text: str) -> str:
    """``text`` as shown: soft hyphens removed, line-end hyphenation joined, white space collapsed, trimmed."""
    text = text.replace(SOFT_HYPHEN, "")
    text = _LINE_BREAK_HYPHEN.sub("", text)
    return _SPACE.sub(" ", text).strip()


def adjust_span(text: str, start: int, end: int) -> tuple[int, int]:
    """``(start, end)`` in ``text`` widened to whole tokens and trimmed of white space and dangling hyphens.

    - a leading ``-``, ``--``, ``.``, ``/`` or ``~`` that opens the token is kept (``-g``, ``--all``, ``.bashrc``);
    - a span ending inside a dotted or slashed name is widened to the whole name (``path.join()``, ``/usr/bin/env``);
    - a word hyphenated across a line end is taken whole at either edge (``prob‐\\n lems``).
    """
    start, end = _trim(text, start, end)
    if start >= end:
        return start, end
    start = _widen_left(text, start)
    end = _widen_right(text, end)
    return _trim(text, start, end)


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and (text[start].isspace() or text[start] == SOFT_HYPHEN):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] == SOFT_HYPHEN):
        end -= 1
    return start, end


def _widen_left(text: str, start: int) -> int:
    if start == 0:
        return start
    # the first half of a word hyphenated across a line end: "prob‐\n lems" with the span starting at "lems"
    if text[start - 1].isspace() and text[start].islower() and "\n" in text[max(0, start - 40) : start]:
        before = _BROKEN_BEFORE.search(text, max(0, start - 40), start)
        if before is not None:
            start = _word_start(text, before.start() + 1)
    while start > 1 and text[start - 1] == SOFT_HYPHEN and text[start - 2].isalnum():
        start = _word_start(text, start - 2)
    # the head of a dotted name: "path." before "join()"
    head = _NAME_HEAD.search(text, max(0, start - 80), start) if start and text[start - 1] in "./:" else None
    word_follows = text[start].isalnum() or text[start] == "_"
    if head is not None and word_follows and (head.start() == 0 or not text[head.start() - 1].isalnum()):
        start = head.start()
    # punctuation that opens the token: "-g", "--all", ".bashrc", "/etc"
    j = start
    while j > 0 and text[j - 1] in LEADING:
        j -= 1
    if j < start and (j == 0 or text[j - 1].isspace() or text[j - 1] in OPENERS):
        start = j
    return start


_BROKEN_BEFORE = re.compile(rf"\w[{HYPHENS}][ \t]*\r?\n\s*$")


def _word_start(text: str, at: int) -> int:
    """Start of the word whose last character is at ``at``."""
    while at > 0 and text[at - 1].isalnum():
        at -= 1
    return at


def _widen_right(text: str, end: int) -> int:
    if end >= len(text) or (text[end].isspace() and text[end - 1] not in HYPHENS):
        return end
    # a word hyphenated across a line end: the span stops at "prob‐" or "prob"
    tail = _LINE_BREAK_HYPHEN.match(text, end) or (
        _LINE_BREAK_HYPHEN.match(text, end - 1) if end > 0 and text[end - 1] in HYPHENS else None
    )
    if tail is not None:
        end = tail.end()
        while end < len(text) and text[end].isalnum():
            end += 1
    elif end > 0 and text[end - 1] in HYPHENS:
        end -= 1  # a dangling hyphen: "such prob-" with nothing joined after it
    while end + 1 < len(text) and text[end] == SOFT_HYPHEN and text[end + 1].isalnum():  # "hy" of "hy\u00adphen"
        end += 1
        while end < len(text) and text[end].isalnum():
            end += 1
    # the rest of a dotted name: "path" + ".join()"
    if end < len(text) and text[end] in "./:(" and (text[end - 1].isalnum() or text[end - 1] == "_"):
        end = _NAME_TAIL.match(text, end).end()
    return end
