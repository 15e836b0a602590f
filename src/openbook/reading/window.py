"""The evidence window: the part of a passage worth reading for a question, so that the reader reads fewer tokens.

A passage is split into sentences; each question word (stop words left out, words compared by their first
:data:`STEM` letters so "invented" meets "invention") that a sentence holds counts for it, rarer words in the passage
counting more (``log(1 + sentences / sentences holding it)``). The window is the run of whole consecutive sentences
of at most ``max_tokens`` word pieces that holds the most evidence, widened with neighbouring sentences while it
fits. With no evidence at all, or a passage that fits in ``max_tokens`` anyway, the window is the whole passage.

The window is given as character offsets ``(start, end)`` into the passage: read ``text[start:end]`` and add
``start`` to the answer's offsets to point into the passage again.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from openbook.models.tokenization import WordPiece

STEM = 6
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])")
_WORD = re.compile(r"\w+", re.UNICODE)
STOP_WORDS = frozenset(
    """a about after all also an and any are as at be been before being between both but by can could did do does
    during each for from had has have he her his how i if in into is it its many may more most much not of on one or
    other our out over she should so some such than that the their them then there these they this those through to
    under up was we were what when where which while who whom whose why will with would you""".split()
)


def sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text``; together they cover it (white space between them left out)."""
    spans, at = [], 0
    for m in _SENTENCE_END.finditer(text):
        spans.append((at, m.start()))
        at = m.end()
    if at < len(text) or not spans:
        spans.append((at, len(text)))
    return spans


def _terms(text: str) -> set[str]:
    return {w[:STEM] for w in _WORD.findall(text.lower()) if w not in STOP_WORDS}


def evidence_window(question: str, text: str, tokenizer: WordPiece, max_tokens: int) -> tuple[int, int]:
    """``(start, end)`` of the run of whole sentences of ``text`` (at most ``max_tokens`` word pieces) that holds the
    most of ``question``'s words; ``(0, len(text))`` when the passage fits or holds none of them."""
    whole = (0, len(text))
    asked = _terms(question)
    _, offsets = tokenizer.ids(text)
    if len(offsets) <= max_tokens or not asked:
        return whole
    spans = sentences(text)
    held = [_terms(text[a:b]) & asked for a, b in spans]
    holders = {t: sum(t in h for h in held) for t in asked}
    weight = {t: math.log(1 + len(spans) / n) for t, n in holders.items() if n}
    if not weight:
        return whole
    ends = [b for _, b in offsets]
    counts = _token_counts(spans, ends)
    best, best_key = None, None
    for i in range(len(spans)):  # every run i..j that fits, scored by the distinct evidence it holds
        covered: set[str] = set()
        size = 0
        for j in range(i, len(spans)):
            size += counts[j]
            if size > max_tokens and j > i:
                break
            covered |= held[j]
            key = (math.fsum(weight[t] for t in covered), -size)  # fsum: the same whatever the set order
            if best_key is None or key > best_key:
                best, best_key = (i, j), key
    assert best is not None and best_key is not None
    if best_key[0] == 0:
        return whole
    i, j = _widen(best, counts, max_tokens)
    return spans[i][0], spans[j][1]


def _token_counts(spans: Sequence[tuple[int, int]], token_ends: Sequence[int]) -> list[int]:
    """Word pieces ending inside each sentence span."""
    counts, t = [], 0
    for _, b in spans:
        n = 0
        while t < len(token_ends) and token_ends[t] <= b:
            n, t = n + 1, t + 1
        counts.append(n)
    counts[-1] += len(token_ends) - t
    return counts


def _widen(run: tuple[int, int], counts: Sequence[int], max_tokens: int) -> tuple[int, int]:
    """Add neighbouring sentences (one after, one before, in turn)
    while the run stays within ``max_tokens``."""
    i, j = run
    size = sum(counts[i : j + 1])
    while True:
        grew = False
        if j + 1 < len(counts) and size + counts[j + 1] <= max_tokens:
            j, size, grew = j + 1, size + counts[j + 1], True
        if i > 0 and size + counts[i - 1] <= max_tokens:
            i, size, grew = i - 1, size + counts[i - 1], True
        if not grew:
            return i, j
