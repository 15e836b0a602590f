"""Training data: examples from SQuAD files or JSONL over an index, negatives, splits, and labelled reader windows.

Reader windows are cut exactly as :mod:`openbook.reading.reader` cuts them at inference (``[CLS] question [SEP] piece
[SEP]``, question ≤ 64 word pieces, windows starting ``doc_stride`` tokens apart), so a model learns what it is later
asked. A window that holds the whole answer is labelled at the answer's first and last word piece (whole words, as the
reader widens spans); any other window, and every unanswerable example, is labelled at [CLS] (position 0).
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from openbook.errors import OpenbookError
from openbook.models.tokenization import WordPiece
from openbook.reading.reader import Window, continuation_mask, preprocess


@dataclass(frozen=True)
class Example:
    """One question over one context; ``answer_start`` is -1 when the answer is not in the context."""

    id: str
    question: str
    context: str
    answer_text: str
    answer_start: int
    article: str

    @property
    def is_impossible(self) -> bool:
        return self.answer_start < 0


# ---------------------------------------------------------------------------------------------------- loading


def load_examples(path: Path, index: str | None = None) -> list[Example]:
    """Examples of a SQuAD v1.1/v2.0 ``.json`` file, or of a ``.jsonl`` file answered in the passages of ``index``."""
    path = Path(path)
    if not path.is_file():
        raise OpenbookError(f"training file not found: {path}")
    if path.suffix == ".jsonl":
        if index is None:
            raise OpenbookError("a JSONL training file needs --index: its answers are looked up in that index")
        return jsonl_examples(path, index)
    return squad_examples(path)


def squad_examples(path: Path) -> list[Example]:
    """Every question of a SQuAD-format file with its first answer (unanswerable v2.0 questions have none)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))["data"]
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError):
        raise OpenbookError(f"not a SQuAD file (JSON with a 'data' list): {path}") from None
    examples = []
    for number, article in enumerate(data):
        title = article.get("title") or f"article {number}"
        for para in article["paragraphs"]:
            context = para["context"]
            for qa in para["qas"]:
                answers = qa.get("answers") or []
                if qa.get("is_impossible") or not answers:
                    examples.append(Example(str(qa["id"]), qa["question"], context, "", -1, title))
                    continue
                start = _locate(context, answers[0]["text"], answers[0].get("answer_start"))
                if start is not None:
                    examples.append(Example(str(qa["id"]), qa["question"], context, answers[0]["text"], start, title))
    if not examples:
        raise OpenbookError(f"no usable questions in {path}")
    return examples


def jsonl_examples(path: Path, index: str) -> list[Example]:
    """``{"question", "answer", "doc_id"}`` lines; each answer is found (case-insensitively) in a passage of its
    document in ``index``, which becomes the example's context. Lines whose answer is in no passage are refused."""
    from openbook.config import resolve_index
    from openbook.index.folder import Index

    found = Index.open(resolve_index(index))
    if found.store is None:
        raise OpenbookError(f"index {found.name} is empty")
    examples, missing = [], []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            question, answer, doc_id = str(row["question"]), str(row["answer"]), str(row["doc_id"])
        except (json.JSONDecodeError, KeyError, TypeError):
            raise OpenbookError(f"{path}:{number}: expected a JSON object with question, answer and doc_id") from None
        passages = found.store.passages(found.store.passage_ids([doc_id]))
        hit = next(
            ((p, at) for p in passages.values() if (at := p.text.lower().find(answer.lower())) >= 0),
            None,
        )
        if hit is None:
            missing.append(number)
            continue
        passage, at = hit
        examples.append(
            Example(f"line{number}", question, passage.text, passage.text[at : at + len(answer)], at, doc_id)
        )
    found.close()
    if missing:
        lines = ", ".join(map(str, missing[:5])) + (" …" if len(missing) > 5 else "")
        raise OpenbookError(f"{path}: {len(missing)} answers not found in their document's passages (lines {lines})")
    return examples


def _locate(context: str, text: str, start: int | None) -> int | None:
    """The answer's start in ``context``: the given offset when it matches, else the first occurrence."""
    if start is not None and context[start : start + len(text)] == text:
        return start
    at = context.find(text)
    return at if at >= 0 else None


def write_squad(examples: Sequence[Example], path: Path) -> Path:
    """Examples as a SQuAD v2.0-style file (articles and paragraphs in first-seen order)."""
    articles: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for e in examples:
        qa: dict = {"id": e.id, "question": e.question, "answers": [], "is_impossible": e.is_impossible}
        if not e.is_impossible:
            qa["answers"] = [{"text": e.answer_text, "answer_start": e.answer_start}]
        articles[e.article][e.context].append(qa)
    data = [
        {"title": title, "paragraphs": [{"context": c, "qas": qas} for c, qas in paras.items()]}
        for title, paras in articles.items()
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"version": "v2.0", "data": data}, ensure_ascii=False), encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------------- selection


def wrong_passage_negatives(examples: Sequence[Example], fraction: float, seed: int = 0) -> list[Example]:
    """For ``fraction`` of the answerable examples (seeded), the same question with another paragraph of its article
    that lacks the answer text, labelled unanswerable; where the article has no such paragraph (a document of one
    passage), another paragraph of the data."""
    by_article: dict[str, list[str]] = defaultdict(list)
    for e in examples:
        by_article[e.article].append(e.context)
    pools = {a: list(dict.fromkeys(c)) for a, c in by_article.items()}
    everything = list(dict.fromkeys(e.context for e in examples))
    rng = random.Random(seed)
    negatives = []
    for e in examples:
        if e.is_impossible or rng.random() >= fraction:
            continue
        answer = e.answer_text.lower()
        others = [c for c in pools[e.article] if answer not in c.lower()]
        if not others:
            others = [c for c in rng.sample(everything, min(20, len(everything))) if answer not in c.lower()]
        if others:
            negatives.append(Example(e.id + "_neg", e.question, rng.choice(others), "", -1, e.article))
    return negatives


def split_articles(examples: Sequence[Example], seed: int = 0) -> tuple[list[Example], list[Example]]:
    """Two article-disjoint halves: the articles (seeded order) alternate between them."""
    titles = list(dict.fromkeys(e.article for e in examples))
    random.Random(seed).shuffle(titles)
    first = set(titles[0::2])
    return [e for e in examples if e.article in first], [e for e in examples if e.article not in first]


def holdout(examples: Sequence[Example], fraction: float, seed: int = 0) -> tuple[list[Example], list[Example]]:
    """``(train, held back)``: ``fraction`` of the questions (seeded) held back, at least one on each side."""
    if not 0 < fraction < 1:
        raise OpenbookError(f"--holdout must be between 0 and 1, not {fraction}")
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    n = min(max(1, round(fraction * len(order))), len(order) - 1)
    if n < 1:
        raise OpenbookError("too few questions to hold some back")
    held = set(order[:n])
    return [e for i, e in enumerate(examples) if i not in held], [e for i, e in enumerate(examples) if i in held]


# ---------------------------------------------------------------------------------------------------- reader windows


@dataclass
class ReaderFeatures:
    """Labelled windows: ``starts``/``ends`` are sequence positions (0 = [CLS]); ``example`` the example of each."""

    windows: list[Window]
    starts: np.ndarray
    ends: np.ndarray
    example: np.ndarray

    def __len__(self) -> int:
        return len(self.windows)

    @property
    def lengths(self) -> list[int]:
        return [w.length for w in self.windows]


def reader_features(
    examples: Sequence[Example],
    vocab: Path,
    max_length: int = 384,
    doc_stride: int = 128,
    question_tokens: int = 64,
) -> ReaderFeatures:
    """Every window of every example, labelled as described in the module docstring."""
    tok = WordPiece(vocab)
    windows = preprocess(
        tok,
        continuation_mask(vocab),
        [(e.question, [e.context]) for e in examples],
        question_tokens,
        max_length,
        doc_stride,
    )
    starts = np.zeros(len(windows), dtype=np.int64)
    ends = np.zeros(len(windows), dtype=np.int64)
    for i, w in enumerate(windows):
        e = examples[w.query]
        if e.is_impossible:
            continue
        span = answer_tokens(
            w.tokens.word_start, w.tokens.word_end, e.answer_start, e.answer_start + len(e.answer_text)
        )
        if span is not None and w.first <= span[0] and span[1] < w.end:
            starts[i] = w.offset + span[0] - w.first
            ends[i] = w.offset + span[1] - w.first
    return ReaderFeatures(windows, starts, ends, np.array([w.query for w in windows], dtype=np.int64))


def answer_tokens(
    token_start: np.ndarray, token_end: np.ndarray, char_start: int, char_end: int
) -> tuple[int, int] | None:
    """First and last token overlapping characters ``[char_start, char_end)``, or None when no token does."""
    inside = np.nonzero((token_end > char_start) & (token_start < char_end))[0]
    return (int(inside[0]), int(inside[-1])) if len(inside) else None


def encode_windows(tok: WordPiece, windows: Sequence[Window], pad_multiple: int = 8) -> dict[str, np.ndarray]:
    """Model inputs of a batch of windows, padded to a multiple of ``pad_multiple``."""
    longest = max(w.length for w in windows)
    batch = tok.encode_pairs(
        [w.question_ids for w in windows],
        [w.passage_ids for w in windows],
        pad_to=-(-longest // pad_multiple) * pad_multiple,
    )
    return {
        "input_ids": batch.input_ids,
        "attention_mask": batch.attention_mask,
        "token_type_ids": batch.token_type_ids,
    }


def length_batches(lengths: Sequence[int], batch_size: int, seed: int) -> list[list[int]]:
    """Shuffled batches of similar lengths: a seeded shuffle, sorted by length within pools of 50 batches, cut into
    batches, and the batches shuffled again (little padding, still a random order)."""
    rng = random.Random(seed)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    pool = 50 * batch_size
    batches = []
    for at in range(0, len(order), pool):
        chunk = sorted(order[at : at + pool], key=lambda i: lengths[i])
        batches += [chunk[j : j + batch_size] for j in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


# ---------------------------------------------------------------------------------------------------- retriever pairs


def paragraph_batches(paragraph_of: Sequence[int], batch_size: int, seed: int) -> list[list[int]]:
    """Every question (by index) once, shuffled, in batches that hold at most one question per paragraph, so the
    other paragraphs of a batch are true negatives."""
    rng = random.Random(seed)
    pending = list(range(len(paragraph_of)))
    rng.shuffle(pending)
    batches: list[list[int]] = []
    while pending:
        current: list[int] = []
        seen: set[int] = set()
        later: list[int] = []
        for i in pending:
            if paragraph_of[i] in seen or len(current) == batch_size:
                later.append(i)
                continue
            seen.add(paragraph_of[i])
            current.append(i)
            if len(current) == batch_size:
                batches.append(current)
                current, seen = [], set()
        if current:
            batches.append(current)
        pending = later
    return batches
