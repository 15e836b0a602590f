"""Extractive question answering: answer spans in passages, scored so they compare across windows and passages.

The work is split into steps that can each be used and tested alone (as Haystack's extractive reader does):

1. preprocess: tokenise the question (at most ``question_tokens`` word pieces) and each passage once, with character
   offsets; cut passages longer than a window into windows ``[CLS] question [SEP] piece [SEP]`` of at most
   ``max_length`` tokens. ``doc_stride`` has the meaning of Google's BERT ``run_squad.py``: each window starts
   ``doc_stride`` passage tokens after the previous one (not the overlap, as in Hugging Face tokenisers' ``stride``).
2. model call: windows sorted by length, batched and padded per batch (the runtime pads further for a static model).
3. postprocess: the ``n_best`` best starts and ends among each window's passage tokens (so question tokens never
   crowd out candidates), paired with end ≥ start and at most ``max_answer_tokens`` tokens; a span's score is the raw
   ``start_logit + end_logit`` (never a per-window softmax), so it compares across windows and passages. Spans map to
   character offsets through the tokeniser's offsets, widened to whole words (a span never starts or ends inside a
   word). The same span found in two windows keeps its best score.
4. rank: answers of each question by score, with the no-answer verdict for SQuAD 2.0 models.

The null score of a passage is ``start[CLS] + end[CLS]``, taken as the *minimum* over its windows, as Google's and
Hugging Face's SQuAD 2.0 code does: a window that misses the answer is trained to point at [CLS], so the maximum
would call every long passage unanswerable. A SQuAD 2.0 model (manifest ``squad_version`` 2, or ``no_answer=True``)
answers "no answer" when ``null − best > no_answer_threshold`` for every passage read; a SQuAD 1.1 model never does.
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from openbook.errors import OpenbookError
from openbook.models.runtime import CompiledModel, probe_batch
from openbook.models.specs import describe
from openbook.models.tokenization import WordPiece, padded_length
from openbook.reading.spans import adjust_span, display_text
from openbook.types import Passage

DEFAULT_TOP_K = 5
N_BEST = 20
# A batch takes windows up to this many times the length of its shortest: the five windows of one question, padded
# to the longest, spent 13% more time in the model than split this way (measured on this project's machine).
LENGTH_SLACK = 1.3
# Batches are padded to a multiple of this many tokens. The first batch of each [rows, length] shape pays a one-off
# set-up in the runtime (10-15 ms here), so few shapes matter more than the last few tokens of padding: over 400 dev
# questions asked in one process, steps of 32 ran as fast as steps of 8 once warm (p95 72.7 / 74.0 ms against 76.9 /
# 81.7 ms, two runs each) with a quarter of the shapes to warm up (see :meth:`Reader.warm_shapes`).
READ_LENGTH_STEP = 32
# batch sizes one question's reads meet (at most k = 5 passages at once); a server batching many questions meets more
WARM_BATCHES = 5
OUTPUT_NAMES = (("output_s", "output_e"), ("start_logits", "end_logits"))

PassageLike = Passage | str


@dataclass
class Answer:
    """An answer span: ``start``/``end`` are character offsets into its passage's text; ``text`` is
    ``passage_text[start:end]`` as shown (line-end hyphenation joined, white space collapsed: see ``reading.spans``).

    ``score`` is ``start_logit + end_logit``; ``no_answer_score`` is the null score of its passage. A no-answer
    (``is_no_answer``) has empty text and the null score as its score.
    """

    text: str
    score: float
    start: int
    end: int
    passage: PassageLike  # as given to read()
    passage_index: int
    no_answer_score: float
    is_no_answer: bool = False

    @property
    def margin(self) -> float:
        """How far the span beats its passage's null score (negative: the passage rather says "no answer")."""
        return self.score - self.no_answer_score


# ---------------------------------------------------------------------------------------------------- preprocess


@dataclass(frozen=True)
class PassageTokens:
    """A passage tokenised once: word-piece ids and, per token, the characters of the whole word it belongs to."""

    text: str
    ids: np.ndarray  # [n] int64
    word_start: np.ndarray  # [n] first character of the token's word
    word_end: np.ndarray  # [n] one past the last character of the token's word (combining marks included)

    def __len__(self) -> int:
        return len(self.ids)

    def span(self, first: int, last: int) -> tuple[int, int]:
        """Characters covered by tokens ``first..last`` (inclusive), widened to whole words."""
        return int(self.word_start[first]), int(self.word_end[last])


def tokenize_passage(
    text: str, ids: Sequence[int], offsets: Sequence[tuple[int, int]], continuation: np.ndarray
) -> PassageTokens:
    """Build :class:`PassageTokens` from a tokeniser's output; ``continuation[id]`` marks ``##`` word pieces."""
    ids_arr = np.asarray(ids, dtype=np.int64)
    n = len(ids_arr)
    starts = np.fromiter((a for a, _ in offsets), dtype=np.int64, count=n)
    ends = np.fromiter((b for _, b in offsets), dtype=np.int64, count=n)
    if not text.isascii():  # a decomposed accent (NFD) follows its letter but is left out of the letter's offsets
        for i in range(n):
            e = int(ends[i])
            while e < len(text) and unicodedata.combining(text[e]):
                e += 1
            ends[i] = e
    cont = continuation[ids_arr] if n else np.zeros(0, dtype=bool)
    word = np.cumsum(~cont) - 1  # word number of each token: a new word at every piece that is not "##..."
    if n and cont[0]:
        word += 1
    numbers = np.arange(int(word[-1]) + 1 if n else 0)
    first_of = np.searchsorted(word, numbers, side="left")  # words are runs of consecutive tokens
    last_of = np.searchsorted(word, numbers, side="right") - 1
    return PassageTokens(text, ids_arr, starts[first_of[word]], ends[last_of[word]])


def continuation_mask(vocab: Path) -> np.ndarray:
    """For each vocabulary id, whether it is a ``##`` continuation piece."""
    tokens = Path(vocab).read_text(encoding="utf-8").splitlines()
    return np.array([t.startswith("##") for t in tokens], dtype=bool)


def window_spans(n_tokens: int, room: int, doc_stride: int) -> list[tuple[int, int]]:
    """``(first, end)`` passage-token ranges of the windows: at most ``room`` tokens, starts ``doc_stride`` apart."""
    if room < 1 or doc_stride < 1:
        raise OpenbookError(f"no room for passage tokens (room {room}, doc stride {doc_stride})")
    spans: list[tuple[int, int]] = []
    start = 0
    while start < n_tokens:
        length = min(n_tokens - start, room)
        spans.append((start, start + length))
        if start + length >= n_tokens:
            break
        start += min(length, doc_stride)
    return spans


@dataclass(frozen=True)
class Window:
    """One model input ``[CLS] question [SEP] passage[first:end] [SEP]``."""

    query: int  # index of its question in the batch
    passage: int  # index of its passage among that question's passages
    question_ids: list[int]
    tokens: PassageTokens
    first: int
    end: int

    @property
    def offset(self) -> int:
        """Sequence position of the window's first passage token."""
        return len(self.question_ids) + 2

    @property
    def count(self) -> int:
        return self.end - self.first

    @property
    def length(self) -> int:
        return len(self.question_ids) + self.count + 3

    @property
    def passage_ids(self) -> list[int]:
        return self.tokens.ids[self.first : self.end].tolist()


def preprocess(
    tokenizer: WordPiece,
    continuation: np.ndarray,
    questions_and_passages: Sequence[tuple[str, Sequence[str]]],
    question_tokens: int,
    max_length: int,
    doc_stride: int,
) -> list[Window]:
    """Windows of every (question, passage texts) pair; each distinct passage text is tokenised once."""
    texts = list(dict.fromkeys(t for _, passages in questions_and_passages for t in passages))
    tokens = {
        t: tokenize_passage(t, ids, offs, continuation) for t, (ids, offs) in zip(texts, tokenizer.ids_batch(texts))
    }
    questions = tokenizer.ids_batch([q for q, _ in questions_and_passages])
    windows: list[Window] = []
    for query, ((_, passages), (q_ids, _)) in enumerate(zip(questions_and_passages, questions)):
        q_ids = list(q_ids[:question_tokens])
        room = max_length - len(q_ids) - 3
        for index, text in enumerate(passages):
            toks = tokens[text]
            for first, end in window_spans(len(toks), room, doc_stride):
                windows.append(Window(query, index, q_ids, toks, first, end))
    return windows


# ---------------------------------------------------------------------------------------------------- model call


def length_groups(lengths: Sequence[int], size: int, slack: float = LENGTH_SLACK) -> list[list[int]]:
    """Indices of ``lengths`` in batches of at most ``size``, shortest first, each holding lengths of at most ``slack``
    times its first (so that little of a batch is padding)."""
    groups: list[list[int]] = []
    current: list[int] = []
    for i in sorted(range(len(lengths)), key=lambda i: lengths[i]):
        if current and (len(current) == size or lengths[i] > slack * lengths[current[0]]):
            groups.append(current)
            current = []
        current.append(i)
    if current:
        groups.append(current)
    return groups


def call_model(
    model: CompiledModel,
    tokenizer: WordPiece,
    windows: Sequence[Window],
    batch_size: int,
    outputs: tuple[str, str],
    max_length: int,
    slack: float = LENGTH_SLACK,
    step: int = READ_LENGTH_STEP,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Start and end logits of each window (float32, one per sequence position), batching windows of similar length
    (see :func:`length_groups`)."""
    results: list[tuple[np.ndarray, np.ndarray]] = [None] * len(windows)  # type: ignore[list-item]
    for idx in length_groups([w.length for w in windows], batch_size, slack):
        longest = max(windows[i].length for i in idx)
        pad = padded_length(longest, max_length, step)
        batch = tokenizer.encode_pairs(
            [windows[i].question_ids for i in idx], [windows[i].passage_ids for i in idx], pad_to=pad
        )
        out = model.run(batch)
        starts = out[outputs[0]].reshape(len(idx), -1)
        ends = out[outputs[1]].reshape(len(idx), -1)
        for row, i in enumerate(idx):
            n = windows[i].length
            results[i] = (starts[row, :n].astype(np.float32), ends[row, :n].astype(np.float32))
    return results


# ---------------------------------------------------------------------------------------------------- postprocess


def best_spans(
    start: np.ndarray, end: np.ndarray, offset: int, count: int, n_best: int = N_BEST, max_answer_tokens: int = 30
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidate spans among ``count`` passage tokens from sequence position ``offset``.

    Returns (first, last, score) arrays: token indices relative to ``offset``, inclusive, and ``start + end`` logits.
    """
    s = start[offset : offset + count]
    e = end[offset : offset + count]
    k = min(n_best, count)
    if k == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0, dtype=np.float32)
    si = np.argpartition(-s, k - 1)[:k]
    ei = np.argpartition(-e, k - 1)[:k]
    width = ei[None, :] - si[:, None]
    ok = (width >= 0) & (width < max_answer_tokens)
    rows, cols = np.nonzero(ok)
    return si[rows], ei[cols], s[si[rows]] + e[ei[cols]]


def null_score(start: np.ndarray, end: np.ndarray) -> float:
    """The window's "no answer" score: start and end logits at [CLS]."""
    return float(start[0] + end[0])


@dataclass
class Spans:
    """A question's candidate spans over all its windows: passage index, character span and score, plus passage nulls."""

    passage: np.ndarray
    start: np.ndarray
    end: np.ndarray
    score: np.ndarray
    nulls: dict[int, float]


def postprocess(
    windows: Sequence[Window],
    logits: Sequence[tuple[np.ndarray, np.ndarray]],
    n_queries: int,
    n_best: int = N_BEST,
    max_answer_tokens: int = 30,
) -> list[Spans]:
    """Character spans and passage null scores of each question from its windows' logits."""
    parts: list[list[tuple[np.ndarray, ...]]] = [[] for _ in range(n_queries)]
    nulls: list[dict[int, float]] = [{} for _ in range(n_queries)]
    for w, (start, end) in zip(windows, logits, strict=True):
        null = null_score(start, end)
        known = nulls[w.query].get(w.passage)
        nulls[w.query][w.passage] = null if known is None else min(known, null)
        first, last, score = best_spans(start, end, w.offset, w.count, n_best, max_answer_tokens)
        first = first + w.first
        last = last + w.first
        parts[w.query].append(
            (np.full(len(score), w.passage), w.tokens.word_start[first], w.tokens.word_end[last], score)
        )
    out = []
    for query in range(n_queries):
        if parts[query]:
            p, s, e, sc = (np.concatenate(x) for x in zip(*parts[query]))
        else:
            p = s = e = np.zeros(0, dtype=np.int64)
            sc = np.zeros(0, dtype=np.float32)
        out.append(Spans(p, s, e, sc, nulls[query]))
    return out


def rank(
    spans: Spans,
    passages: Sequence[PassageLike],
    top_k: int,
    no_answer: bool,
    threshold: float,
) -> list[Answer]:
    """The ``top_k`` best distinct answers, no-answer first if due.

    Each span is widened to whole tokens (:func:`adjust_span`) before answers are told apart (same passage and
    characters: the best score is kept); ``text`` is the span as shown (:func:`display_text`), while ``start``/``end``
    index the passage's original text.
    """
    texts = [_text(p) for p in passages]
    order = np.argsort(-spans.score, kind="stable")
    seen: set[tuple[int, int, int]] = set()
    answers: list[Answer] = []
    for i in order:
        p = int(spans.passage[i])
        s, e = adjust_span(texts[p], int(spans.start[i]), int(spans.end[i]))
        if (p, s, e) in seen or s >= e:
            continue
        seen.add((p, s, e))
        answers.append(Answer(display_text(texts[p][s:e]), float(spans.score[i]), s, e, passages[p], p, spans.nulls[p]))
        if len(answers) == top_k:
            break
    if no_answer and spans.nulls:
        verdict = _no_answer(spans, passages, threshold)
        if verdict is not None:
            answers = [verdict, *answers[: max(top_k - 1, 0)]]
    return answers


def _no_answer(spans: Spans, passages: Sequence[PassageLike], threshold: float) -> Answer | None:
    """A no-answer when, in every passage, ``null − best span > threshold``; else ``None``."""
    best = dict.fromkeys(spans.nulls, -np.inf)
    for p, score in zip(spans.passage.tolist(), spans.score.tolist()):
        best[p] = max(best[p], score)
    margins = {p: best[p] - null for p, null in spans.nulls.items()}
    p = max(margins, key=margins.__getitem__)  # the passage likeliest to hold an answer
    if -margins[p] <= threshold:
        return None
    null = spans.nulls[p]
    return Answer("", null, 0, 0, passages[p], p, null, is_no_answer=True)


def _text(passage: PassageLike) -> str:
    return passage.text if isinstance(passage, Passage) else passage


# ---------------------------------------------------------------------------------------------------- reader


class Reader:
    """Reads passages to answer questions with an extractive QA model (OpenVINO IR or ONNX, static or dynamic shape)."""

    def __init__(
        self,
        path: str | Path,
        batch_size: int = 16,
        precision: str | None = None,
        top_k: int = DEFAULT_TOP_K,
        max_answer_tokens: int = 30,
        question_tokens: int = 64,
        doc_stride: int = 128,
        max_length: int = 384,
        no_answer: bool | None = None,
        no_answer_threshold: float = 0.0,
        n_best: int = N_BEST,
        reshape: bool | None = None,
    ) -> None:
        """Load the model folder (or file) at ``path``; its ``manifest.json`` is used when there is one.

        ``precision`` is an OpenVINO inference precision hint ("f32", "bf16"); ``reshape`` runs a model of static shape
        at dynamic shape where its graph allows it (see :class:`CompiledModel`); ``top_k`` answers per question by
        default; windows hold ``max_length`` tokens (at most the model's static length), questions ``question_tokens``;
        ``no_answer`` (default: the manifest's ``squad_version == 2``) turns on the no-answer verdict, given when
        ``null − best > no_answer_threshold`` in every passage.
        """
        path = Path(path)
        self.folder = path if path.is_dir() else path.parent
        self.manifest = describe(path, "reader")
        self.tokenizer = WordPiece(self.folder / self.manifest.vocab, lowercase=self.manifest.lowercase)
        self.continuation = continuation_mask(self.folder / self.manifest.vocab)
        self.model = CompiledModel(
            self.folder / self.manifest.model_file, self.manifest.inputs or None, precision, reshape=reshape
        )
        self.outputs = self._find_outputs()
        static = self.model.max_length
        self.max_length = max_length if static is None else min(max_length, static)
        if self.max_length < question_tokens + 4:
            raise OpenbookError(f"windows of {self.max_length} tokens leave no room for a passage")
        self.batch_size = batch_size
        self.top_k = top_k
        self.max_answer_tokens = max_answer_tokens
        self.question_tokens = question_tokens
        self.doc_stride = doc_stride
        self.n_best = n_best
        self.no_answer = self.manifest.squad_version == 2 if no_answer is None else no_answer
        self.no_answer_threshold = no_answer_threshold
        self.windows_run = 0  # windows read since loading, for throughput figures
        self.model_seconds = 0.0

    def _find_outputs(self) -> tuple[str, str]:
        names = self.model.output_names
        wanted = self.manifest.outputs
        if wanted.get("start") and wanted.get("end"):
            missing = [n for n in (wanted["start"], wanted["end"]) if n not in names]
            if missing:
                raise OpenbookError(f"model has no output {missing[0]!r} (its outputs: {', '.join(names)})")
            return wanted["start"], wanted["end"]
        for start, end in OUTPUT_NAMES:
            if start in names and end in names:
                return start, end
        if len(names) != 2:
            raise OpenbookError(f"cannot tell start and end logits among outputs {', '.join(names)}")
        return names[0], names[1]

    def read(self, question: str, passages: Sequence[PassageLike], top_k: int | None = None) -> list[Answer]:
        """The best answers to ``question`` in ``passages``, best first."""
        return self.read_batch([(question, passages)], top_k)[0]

    def read_batch(
        self, questions_and_passages: Sequence[tuple[str, Sequence[PassageLike]]], top_k: int | None = None
    ) -> list[list[Answer]]:
        """Answers for many questions, each with its own passages; windows of all questions share the model batches."""
        pairs = [(q, [_text(p) for p in ps]) for q, ps in questions_and_passages]
        windows = self.preprocess(pairs)
        logits = self.call(windows)
        spans = postprocess(windows, logits, len(pairs), self.n_best, self.max_answer_tokens)
        k = self.top_k if top_k is None else top_k
        return [
            rank(s, ps, k, self.no_answer, self.no_answer_threshold)
            for s, (_, ps) in zip(spans, questions_and_passages, strict=True)
        ]

    def preprocess(self, questions_and_passages: Sequence[tuple[str, Sequence[str]]]) -> list[Window]:
        """The windows of (question, passage texts) pairs, with this reader's lengths and stride."""
        return preprocess(
            self.tokenizer,
            self.continuation,
            questions_and_passages,
            self.question_tokens,
            self.max_length,
            self.doc_stride,
        )

    def warm_shapes(self, batches: int = WARM_BATCHES) -> list[tuple[int, int]]:
        """The [rows, length] shapes the model is fed when reading at most ``batches`` windows at once, fewest rows
        first (a model of static shape has one)."""
        fed = self.model.shape
        lengths = sorted({padded_length(n, self.max_length, READ_LENGTH_STEP) for n in range(1, self.max_length + 1)})
        if fed.length is not None:
            lengths = [fed.length]
        rows = range(1, batches + 1) if fed.batch is None else [fed.batch]
        return [(r, n) for r in rows for n in lengths]

    def warm(self, rows: int, length: int) -> None:
        """Run one batch of this shape through the model, so that a question never pays its first-run set-up."""
        self.model.run(probe_batch(rows, length))

    def call(self, windows: Sequence[Window]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Start and end logits of each window, counting windows and model time."""
        began = time.perf_counter()
        logits = call_model(self.model, self.tokenizer, windows, self.batch_size, self.outputs, self.max_length)
        self.model_seconds += time.perf_counter() - began
        self.windows_run += len(windows)
        return logits
