"""Documents to passages: split on sentences, pack them up to a word-piece budget, overlap neighbours.

Offsets always point into the document text as given: ``passage.text == doc.text[passage.start:passage.end]``.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from typing import Any

from openbook.errors import OpenbookError
from openbook.models.tokenization import WordPiece
from openbook.types import Document, Passage

Span = tuple[int, int]
Piece = tuple[int, int, int]  # start, end, word pieces

# Lower-cased words (without their final period) after which a period does not end a sentence.
ABBREVIATIONS = frozenset(
    {"mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "vs", "cf", "al", "fig", "figs", "vol", "vols", "pp"}
    | {"ed", "eds", "inc", "ltd", "co", "corp", "dept", "est", "approx", "ca", "gen", "col", "lt", "sgt", "capt"}
    | {"rev", "gov", "sen", "rep", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"}
)

_TERMINATOR = re.compile(r"[.!?…]+[\"'”’»)\]]*(?=\s)")
_WORD_BEFORE = re.compile(r"\S*\Z")
_LIST_NUMBER = re.compile(r"\n[^\S\n]*\d{1,3}\Z")
_INITIALISM = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]|[A-Z]")
_NEWLINES = re.compile(r"\n(?:[^\S\n]*\n)*")
_OPENERS = "\"'“‘«([{"
_CLOSERS = "\"'”’»)]"
_LOOKBACK = 40


def sentence_spans(text: str) -> list[Span]:
    """Character spans of the sentences in ``text``, white space stripped; they cover every non-space character.

    Blank lines always end a sentence; a single newline does too, unless it merely wraps a sentence (a line ending in a
    word or comma followed by one starting in lower case). ``.``/``!``/``?`` end a sentence when white space and a
    character that is not lower case follow, and (for ``.``) not after a common abbreviation, an initial or an
    initialism (``e.g.``, ``Dr.``, ``J.``, ``U.S.``) or a list number at a line start.
    """
    cuts = {m.start() for m in _NEWLINES.finditer(text) if not _wraps(text, m.start(), m.end(), m.group())}
    for m in _TERMINATOR.finditer(text):
        nxt = _first_non_space(text, m.end())
        if nxt is None or text[nxt].islower():
            continue
        if text[m.start() : m.end()].rstrip(_CLOSERS) == "." and _abbreviation(text, m.start()):
            continue
        cuts.add(m.end())
    spans, start = [], 0
    for cut in sorted(cuts) + [len(text)]:
        span = _strip(text, start, cut)
        if span is not None:
            spans.append(span)
        start = cut
    return spans


def split_document(
    doc: Document, tokenizer: WordPiece, max_tokens: int = 256, overlap_tokens: int = 48
) -> list[Passage]:
    """Cut ``doc`` into passages of at most ``max_tokens`` word pieces (special tokens not counted).

    Whole sentences are packed greedily; each passage after the first starts with the trailing sentences of the one
    before whose word pieces total at most ``overlap_tokens``. A sentence longer than ``max_tokens`` is cut at word
    starts into windows that overlap by at most ``overlap_tokens``. A document that fits is a single passage.
    """
    if max_tokens < 8:
        raise OpenbookError(f"max_tokens must be at least 8, not {max_tokens}")
    if not 0 <= overlap_tokens < max_tokens:
        raise OpenbookError(f"overlap_tokens must be from 0 to max_tokens - 1 ({max_tokens - 1}), not {overlap_tokens}")
    text = doc.text
    units = sentence_spans(text)
    if not units:
        return []
    counts = tokenizer.token_counts([text[s:e] for s, e in units])
    if sum(counts) <= max_tokens:
        spans = [(units[0][0], units[-1][1])]
    else:
        spans = _pack(text, tokenizer, units, counts, max_tokens, overlap_tokens)
    spans = _enforce_cap(text, tokenizer, spans, max_tokens)
    where = _Marks(doc.marks)
    return [
        Passage(text[s:e], doc.id, s, e, title=doc.title, source=doc.source, metadata={**doc.metadata, **where(s, e)})
        for s, e in spans
    ]


class _Marks:
    """A document's page and section marks, asked for the values in force over a span."""

    def __init__(self, marks: list[tuple[int, str, Any]]) -> None:
        self.keys: dict[str, tuple[list[int], list[Any]]] = {}
        for start, key, value in sorted(marks, key=lambda m: m[0]):
            starts, values = self.keys.setdefault(key, ([], []))
            starts.append(start)
            values.append(value)

    def __call__(self, start: int, end: int) -> dict[str, Any]:
        """Each key's value at ``start``; for pages also ``last_page`` when the span runs onto a later page."""
        out: dict[str, Any] = {}
        for key, (starts, values) in self.keys.items():
            first = bisect_right(starts, start) - 1
            if first >= 0:
                out[key] = values[first]
            if key == "page":
                last = bisect_right(starts, end - 1) - 1
                if last > first >= 0:
                    out["last_page"] = values[last]
        return out


def _wraps(text: str, start: int, end: int, newlines: str) -> bool:
    """Whether a lone newline only wraps a sentence: ``word,\\nmore words``."""
    if start > 0 and text[start - 1] == "\r":
        start -= 1
    if newlines.count("\n") > 1 or start == 0 or end >= len(text):
        return False
    before, after = text[start - 1], text[end]
    return (before.isalnum() or before in ",;-") and after.islower()


def _first_non_space(text: str, pos: int) -> int | None:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos if pos < len(text) else None


def _abbreviation(text: str, period: int) -> bool:
    """Whether the period at ``period`` follows an abbreviation, initial, initialism or line-start list number."""
    lookback = text[max(0, period - _LOOKBACK) : period]
    if period <= _LOOKBACK:
        lookback = "\n" + lookback
    word = _WORD_BEFORE.search(lookback).group().lstrip(_OPENERS)  # type: ignore[union-attr]
    if not word:
        return False
    return word.lower() in ABBREVIATIONS or bool(_INITIALISM.fullmatch(word)) or bool(_LIST_NUMBER.search(lookback))


def _strip(text: str, start: int, end: int) -> Span | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def _pack(
    text: str, tokenizer: WordPiece, units: list[Span], counts: list[int], max_tokens: int, overlap: int
) -> list[Span]:
    """Greedy packing of sentence spans into passage spans, with sentence overlap; long sentences are windowed."""
    spans: list[Span] = []
    current: list[Piece] = []  # the pieces of the passage being filled
    for (start, end), count in zip(units, counts):
        if count > max_tokens:
            carry = _tail(current, overlap)
            if len(carry) < len(current):  # else all of it leads the first window: no passage inside another
                spans.append((current[0][0], current[-1][1]))
            lead = sum(p[2] for p in carry)
            windows = _windows(text, tokenizer.offsets(text[start:end]), start, end, max_tokens, overlap, lead)
            if carry:
                windows[0] = (carry[0][0], windows[0][1], windows[0][2] + lead)
            spans.extend((s, e) for s, e, _ in windows[:-1])
            current = [windows[-1]]  # the rest of the sentence packs with what follows
            continue
        if current and sum(p[2] for p in current) + count > max_tokens:
            spans.append((current[0][0], current[-1][1]))
            current = _tail(current, overlap)
            while current and sum(p[2] for p in current) + count > max_tokens:
                current.pop(0)
        current.append((start, end, count))
    if current:
        spans.append((current[0][0], current[-1][1]))
    return spans


def _tail(pieces: list[Piece], overlap: int) -> list[Piece]:
    """The trailing pieces whose tokens total at most ``overlap``."""
    total, first = 0, len(pieces)
    while first > 0 and total + pieces[first - 1][2] <= overlap:
        first -= 1
        total += pieces[first][2]
    return pieces[first:]


def _windows(
    text: str, offsets: list[tuple[int, int]], start: int, end: int, max_tokens: int, overlap: int, lead: int = 0
) -> list[Piece]:
    """Cut ``text[start:end]`` (word-piece ``offsets`` relative to ``start``) into overlapping windows.

    Cuts fall before a word that follows white space where possible, else before any word the tokenizer sees
    (punctuation, CJK), else between word pieces. Windows together cover the span; the first holds ``lead`` fewer pieces.
    Returns ``(start, end, tokens)`` per window.
    """
    n = len(offsets)
    kinds = [_boundary_kind(text, offsets, start, k) for k in range(n)]  # 2: after space, 1: word start, 0: in word

    def char_at(k: int) -> int:
        return start + offsets[k][0] if k < n else end

    def best(candidates: range, last: bool) -> int | None:
        for kind in (2, 1):
            found = [k for k in candidates if kinds[k] >= kind]
            if found:
                return found[-1] if last else found[0]
        return None

    windows: list[Piece] = []
    lo, hi, char_lo, budget = 0, 0, start, max_tokens - lead
    while True:
        if n - lo <= budget:
            cut: int | None = n
        else:  # past the last window's end, preferably in this window's second half
            cut = best(range(max(hi, lo + budget // 2) + 1, lo + budget + 1), last=True)
            if cut is None:
                cut = best(range(hi + 1, lo + budget + 1), last=True)
        hi = cut if cut is not None else lo + budget
        span = _strip(text, char_lo, char_at(hi))
        if span is not None:
            windows.append((*span, hi - lo))
        if hi >= n:
            return windows
        nxt = best(range(max(lo + 1, hi - overlap), hi + 1), last=False) if overlap else None
        lo = nxt if nxt is not None else hi
        char_lo, budget = char_at(lo), max_tokens


def _boundary_kind(text: str, offsets: list[tuple[int, int]], start: int, k: int) -> int:
    """2 when white space (or dropped characters) precede piece ``k``, 1 at a word start, 0 inside a word."""
    if k == 0:
        return 2
    prev_end, begin = offsets[k - 1][1], offsets[k][0]
    if begin > prev_end:
        return 2
    prev, here = text[start + begin - 1], text[start + begin]
    return 1 if _single_char_word(prev) or _single_char_word(here) else 0


def _single_char_word(ch: str) -> bool:
    """Characters BERT always treats as a word of their own: punctuation and CJK ideographs."""
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    if unicodedata.category(ch).startswith("P"):
        return True
    return 0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0xF900 <= cp <= 0xFAFF or 0x20000 <= cp <= 0x2FA1F


def _enforce_cap(text: str, tokenizer: WordPiece, spans: list[Span], max_tokens: int) -> list[Span]:
    """Re-cut any passage whose own tokenisation exceeds the cap (a word cut between pieces can tokenise longer)."""
    budget = max_tokens
    while True:
        counts = tokenizer.token_counts([text[s:e] for s, e in spans])
        over = [c - max_tokens for c in counts if c > max_tokens]
        if not over:
            return _outermost(spans)
        budget -= max(over)
        if budget < 1:
            raise OpenbookError(f"cannot split text into passages of at most {max_tokens} word pieces")
        fixed: list[Span] = []
        for (s, e), c in zip(spans, counts):
            if c <= max_tokens:
                fixed.append((s, e))
            else:
                fixed.extend((a, b) for a, b, _ in _windows(text, tokenizer.offsets(text[s:e]), s, e, budget, 0))
        spans = fixed


def _outermost(spans: list[Span]) -> list[Span]:
    """Spans in order, without any that lies inside another."""
    kept: list[Span] = []
    for s, e in sorted(spans, key=lambda span: (span[0], -span[1])):
        if not kept or e > kept[-1][1]:
            kept.append((s, e))
    return kept
