"""Sentence splitting and passage packing on real text with the real BERT vocabulary."""

from __future__ import annotations

import random
import sys
from itertools import pairwise
from pathlib import Path

import pytest

from openbook.errors import OpenbookError
from openbook.ingest.splitting import sentence_spans, split_document
from openbook.models.tokenization import WordPiece
from openbook.types import Document, Passage

ROOT = Path(__file__).resolve().parents[2]
VOCABS = [
    ROOT / "models" / "retriever-minilm-squad11-int8" / "vocab.txt",
]

MIXED = (
    "Le café  de la « Gare » est fermé — définitivement?  Non: il rouvre.\n"
    "Zoë said “hello”…   and left.\tNaïve résumé writers crowd the piñata.\n\n"
    "Second paragraph: 東京 is big!  Ünïcödé ‘quotes’ and dashes – work.\r\n"
    "Mr. Ødegaard (the U.S. envoy) met Dr. Øst at 3.5 p.m. sharp. It rained.\n\n\n"
)


@pytest.fixture(scope="module")
def tokenizer() -> WordPiece:
    for vocab in VOCABS:
        if vocab.is_file():
            return WordPiece(vocab)
    pytest.skip(f"no BERT vocab.txt at {' or '.join(map(str, VOCABS))}")


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]


def prose(n: int) -> str:
    return " ".join(f"Sentence {i} tells of the old mill by the river, e.g. its wheel." for i in range(n))


def check_passages(doc: Document, passages: list[Passage], tokenizer: WordPiece, max_tokens: int) -> None:
    """The invariants every split must keep."""
    assert passages
    covered = [False] * len(doc.text)
    for p in passages:
        assert p.text == doc.text[p.start : p.end]
        assert p.text and p.text == p.text.strip()
        assert (p.doc_id, p.title, p.source) == (doc.id, doc.title, doc.source)
        for i in range(p.start, p.end):
            covered[i] = True
    for a, b in pairwise(passages):
        assert a.start < b.start and a.end < b.end  # in order, none inside another
    missing = [i for i, ch in enumerate(doc.text) if not ch.isspace() and not covered[i]]
    assert not missing, f"uncovered characters at {missing[:5]}"
    assert max(tokenizer.token_counts([p.text for p in passages])) <= max_tokens


def test_sentences_split_on_punctuation_and_paragraphs() -> None:
    text = 'It rained. "Why?" she asked!  Then it stopped.\n\nNo punctuation here\nA new line'
    assert sentences(text) == [
        "It rained.",
        '"Why?" she asked!',
        "Then it stopped.",
        "No punctuation here",
        "A new line",
    ]


def test_sentences_not_split_after_abbreviations_initials_or_numbers() -> None:
    text = "Mr. Smith met Dr. J. Doe of the U.S. Navy, e.g. at 3.5 knots, i.e. slowly. They parted.\n1. First item"
    assert sentences(text) == [
        "Mr. Smith met Dr. J. Doe of the U.S. Navy, e.g. at 3.5 knots, i.e. slowly.",
        "They parted.",
        "1. First item",
    ]


def test_sentences_keep_wrapped_lines_together() -> None:
    text = "This sentence is wrapped\r\nacross two lines, and\nthen three. Next one.\n- a list item\n- another"
    assert sentences(text) == [
        "This sentence is wrapped\r\nacross two lines, and\nthen three.",
        "Next one.",
        "- a list item",
        "- another",
    ]


def test_sentence_spans_cover_every_non_space_character() -> None:
    spans = sentence_spans(MIXED)
    kept = "".join(MIXED[s:e] for s, e in spans)
    assert "".join(kept.split()) == "".join(MIXED.split())
    assert all(MIXED[s:e] == MIXED[s:e].strip() for s, e in spans)


def test_short_document_is_one_passage(tokenizer: WordPiece) -> None:
    doc = Document("d1", "  \n Just one short sentence. And another.  \n", title="T", source="src.txt")
    passages = split_document(doc, tokenizer)
    assert len(passages) == 1
    p = passages[0]
    assert (p.text, p.start, p.end) == ("Just one short sentence. And another.", 4, 41)
    assert (p.doc_id, p.title, p.source) == ("d1", "T", "src.txt")


def test_blank_document_has_no_passages(tokenizer: WordPiece) -> None:
    assert split_document(Document("d", " \n\t "), tokenizer) == []


def test_offsets_map_back_exactly_on_unicode_text(tokenizer: WordPiece) -> None:
    doc = Document("u", MIXED * 6, title="Unicode", source="u.txt")
    passages = split_document(doc, tokenizer, max_tokens=40, overlap_tokens=12)
    assert len(passages) > 6
    check_passages(doc, passages, tokenizer, 40)


def test_passages_pack_whole_sentences_up_to_the_cap(tokenizer: WordPiece) -> None:
    doc = Document("p", prose(60))
    passages = split_document(doc, tokenizer, max_tokens=64, overlap_tokens=0)
    check_passages(doc, passages, tokenizer, 64)
    counts = tokenizer.token_counts([p.text for p in passages])
    one = tokenizer.token_counts([sentences(doc.text)[0]])[0]
    assert all(c > 64 - one for c in counts[:-1]), counts  # greedy: the next sentence would not have fitted
    assert all(p.text.startswith("Sentence ") and p.text.endswith("wheel.") for p in passages)
    assert all(b.start > a.end for a, b in pairwise(passages))  # no overlap asked, none given


def test_consecutive_passages_overlap_by_trailing_sentences(tokenizer: WordPiece) -> None:
    doc = Document("o", prose(60))
    passages = split_document(doc, tokenizer, max_tokens=64, overlap_tokens=20)
    check_passages(doc, passages, tokenizer, 64)
    one = tokenizer.token_counts([sentences(doc.text)[0]])[0]
    assert one <= 20
    for a, b in pairwise(passages):
        assert b.start < a.end
        shared = doc.text[b.start : a.end]
        assert shared in sentences(doc.text)  # exactly the last whole sentence of the passage before
        assert tokenizer.token_counts([shared])[0] <= 20


def test_no_overlap_when_trailing_sentence_is_longer_than_allowed(tokenizer: WordPiece) -> None:
    doc = Document("o", prose(40))
    passages = split_document(doc, tokenizer, max_tokens=64, overlap_tokens=5)
    check_passages(doc, passages, tokenizer, 64)
    assert all(b.start > a.end for a, b in pairwise(passages))


def test_long_sentence_is_cut_at_word_starts_with_overlap(tokenizer: WordPiece) -> None:
    words = " ".join(f"unbelievably{i} Ødegård’s" for i in range(150))
    doc = Document("l", f"Short opener. The {words} end. A closing sentence.")
    passages = split_document(doc, tokenizer, max_tokens=48, overlap_tokens=10)
    check_passages(doc, passages, tokenizer, 48)
    assert len(passages) > 10
    assert passages[0].text.startswith("Short opener. The unbelievably0")  # the opener leads the first window
    for p in passages:
        assert p.start == 0 or doc.text[p.start - 1].isspace(), doc.text[p.start - 5 : p.start + 5]
        assert p.end == len(doc.text) or doc.text[p.end].isspace(), doc.text[p.end - 5 : p.end + 5]
    overlaps = [a.end - b.start for a, b in pairwise(passages)]
    assert all(o > 0 for o in overlaps[1:-1])
    for a, b in pairwise(passages):
        assert tokenizer.token_counts([doc.text[b.start : a.end]])[0] <= 10


def test_word_longer_than_the_cap_still_fits(tokenizer: WordPiece) -> None:
    word = "qzxjkvwqzxjvkwqxzjvkqwzxjkvqwzxjvkqwzxjvkwqzjxvkqwzxjvkqwzjxvkqzwxjvkqwzjxvk"
    doc = Document("w", f"See {word} and /path/{word}/{word}.")
    passages = split_document(doc, tokenizer, max_tokens=8, overlap_tokens=2)
    check_passages(doc, passages, tokenizer, 8)


@pytest.mark.parametrize("seed", range(3))
def test_invariants_hold_on_random_mixed_text(tokenizer: WordPiece, seed: int) -> None:
    atoms = ["the", "Café", "Dr.", "U.S.", "e.g.", "3.5", "end.", "Why?", "“quote”", "—", "東京", "x" * 120, "a/b/c"]
    atoms += ["qzxjkvwqzxjvkwqxzjvkqwzxjvkqwzxjvkwqzjx", "\n", "\n\n", "  ", "\t", "Ünïcödé", "\u200b", "1.", "\xa0"]
    rng = random.Random(seed)
    for _ in range(40):
        text = "".join(rng.choice(atoms) + rng.choice([" ", " ", "", "\n"]) for _ in range(rng.randint(1, 300)))
        max_tokens = rng.choice([8, 16, 64])
        doc = Document("r", text)
        if not text.strip():
            continue
        check_passages(
            doc, split_document(doc, tokenizer, max_tokens, rng.randrange(max_tokens)), tokenizer, max_tokens
        )


def test_bad_limits_are_refused(tokenizer: WordPiece) -> None:
    doc = Document("d", "Text.")
    with pytest.raises(OpenbookError, match="overlap_tokens"):
        split_document(doc, tokenizer, max_tokens=64, overlap_tokens=64)
    with pytest.raises(OpenbookError, match="max_tokens"):
        split_document(doc, tokenizer, max_tokens=0)


class CountingTokenizer:
    """The real tokenizer, counting the characters it is given to tokenise (the splitter's costly step)."""

    def __init__(self, inner: WordPiece) -> None:
        self.inner = inner
        self.chars = 0

    def token_counts(self, texts: list[str]) -> list[int]:
        self.chars += sum(map(len, texts))
        return self.inner.token_counts(texts)

    def offsets(self, text: str) -> list[tuple[int, int]]:
        self.chars += len(text)
        return self.inner.offsets(text)


def calls_to_split(doc: Document, tokenizer: WordPiece) -> int:
    """Python and built-in function calls (generator steps included) made by one ``split_document``: a count of work
    that, unlike a time, does not depend on the machine or its load."""
    count = 0

    def profile(frame: object, event: str, arg: object) -> None:
        nonlocal count
        count += event in ("call", "c_call")

    sys.setprofile(profile)
    try:
        split_document(doc, tokenizer, max_tokens=256, overlap_tokens=48)
    finally:
        sys.setprofile(None)
    return count


def test_big_document_is_split_whole_in_linear_work(tokenizer: WordPiece) -> None:
    """A big document is split like a small one, and the work grows with its length, not faster (the time it takes
    is measured by benchmarks/splitting.py)."""
    doc = Document("big", "\n\n".join(prose(20) for _ in range(500)))  # about 640 kB, 10,000 sentences
    counting = CountingTokenizer(tokenizer)
    passages = split_document(doc, counting, max_tokens=256, overlap_tokens=48)  # type: ignore[arg-type]
    check_passages(doc, passages, tokenizer, 256)
    assert len(passages) > 500
    assert counting.chars <= 3 * len(doc.text)  # each character tokenised a bounded number of times (about 2)
    small, double = (
        calls_to_split(Document("d", "\n\n".join(prose(20) for _ in range(n))), tokenizer) for n in (100, 200)
    )
    assert double <= 2.2 * small  # twice the text, twice the calls (a quadratic step would make it four times)
