"""Open-book question answering: retrieve the top passages, read them (the best first, the others only when they could
still change the answer: ``qa.cascade``; or all of them), rank the answers (QA reranking), and say how likely each
answer is to be right (a calibrated confidence; below the threshold: "not in your documents")."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from openbook.config import DEFAULT_READER, resolve_model
from openbook.models.warmup import Step
from openbook.qa.cascade import READ_ALL, Cascade, default_cascade
from openbook.qa.confidence import Confidence
from openbook.qa.rerank import DEFAULT_WEIGHTS, SPAN_ONLY, Weights
from openbook.reading.reader import Answer, Reader
from openbook.reading.window import evidence_window
from openbook.retrieval.retriever import Retriever, Where
from openbook.types import Passage, SearchResult

DEFAULT_K = 5
DEFAULT_TOP_ANSWERS = 5
CANDIDATES = 50  # reader answers per question that reranking chooses from
RIVALS = 2  # answers ranked at least, so that the best one's lead over the next is known


@dataclass
class RankedAnswer:
    """An answer with every score that went into its rank; ``start``/``end`` index its passage's text.

    ``confidence`` is the estimated probability that the answer is right (see ``qa.confidence``); ``abstain`` is True
    when it is below the threshold in force: a top answer with ``abstain`` means "not in your documents", the answer
    being only the best guess.
    """

    text: str
    score: float
    span_score: float
    no_answer_score: float
    retrieval_score: float
    retrieval_rank: int
    passage: Passage
    start: int
    end: int
    confidence: float = math.nan
    abstain: bool = False

    @property
    def margin(self) -> float:
        return self.span_score - self.no_answer_score

    @property
    def document_start(self) -> int:
        """Offset of the answer in its document's text."""
        return self.passage.start + self.start

    @property
    def document_end(self) -> int:
        return self.passage.start + self.end

    def to_dict(self) -> dict[str, Any]:
        p = self.passage
        return {
            "answer": self.text,
            "confidence": round(self.confidence, 4),
            "abstain": self.abstain,
            "score": round(self.score, 4),
            "span_score": round(self.span_score, 4),
            "no_answer_score": round(self.no_answer_score, 4),
            "margin": round(self.margin, 4),
            "retrieval_score": round(self.retrieval_score, 4),
            "retrieval_rank": self.retrieval_rank,
            "start": self.start,
            "end": self.end,
            "document": p.doc_id,
            "title": p.title,
            "source": p.source,
            "document_start": self.document_start,
            "document_end": self.document_end,
            "passage_id": p.id,
            "passage": p.to_dict(),
        }


def _words(text: str) -> list[str]:
    return text.lower().split()


def _inside(part: list[str], whole: list[str]) -> bool:
    """Whether ``part`` is a run of consecutive words of ``whole``."""
    n = len(part)
    return 0 < n <= len(whole) and any(whole[i : i + n] == part for i in range(len(whole) - n + 1))


def _same_place(a: RankedAnswer, b: RankedAnswer) -> bool:
    """Whether two answers overlap in the same document (passages of one document may overlap)."""
    if a.passage.id == b.passage.id and a.passage.id is not None:
        return a.start < b.end and b.start < a.end
    return a.passage.doc_id == b.passage.doc_id and a.document_start < b.document_end and b.document_start < a.document_end


def rerank(candidates: Sequence[RankedAnswer], weights: Weights, top: int) -> list[RankedAnswer]:
    """Score candidates with ``weights``, best first, each answer once.

    A candidate is left out when a better one has the same text, overlaps it in the same document ("the French
    engineer X" under "X"), or holds it or is held by it word for word (a fragment of the best answer is no next-best).
    """
    for c in candidates:
        c.score = weights.score(c.span_score, c.no_answer_score, c.retrieval_score)
    kept: list[RankedAnswer] = []
    words: list[list[str]] = []
    for c in sorted(candidates, key=lambda a: a.score, reverse=True):
        w = _words(c.text)
        if any(_same_place(k, c) or _inside(w, kw) or _inside(kw, w) for k, kw in zip(kept, words)):
            continue
        kept.append(c)
        words.append(w)
        if len(kept) == top:
            break
    return kept


def join(found: Sequence[SearchResult], answers: Sequence[Answer]) -> list[RankedAnswer]:
    """The reader's answers over the passages of ``found`` as unranked candidates (no-answer verdicts left out)."""
    out = []
    for a in answers:
        if a.is_no_answer:
            continue
        hit = found[a.passage_index]
        out.append(
            RankedAnswer(
                text=a.text,
                score=a.score,
                span_score=a.score,
                no_answer_score=a.no_answer_score,
                retrieval_score=hit.score,
                retrieval_rank=hit.rank,
                passage=hit.passage,
                start=a.start,
                end=a.end,
            )
        )
    return out


def answer(
    question: str,
    found: Sequence[SearchResult],
    candidates: list[RankedAnswer],
    weights: Weights,
    confidence: Confidence,
    top: int,
    threshold: float,
) -> list[RankedAnswer]:
    """Rank one question's candidates and give each kept answer its confidence and abstain flag."""
    kept = rerank(candidates, weights, max(top, RIVALS))
    for a, p in zip(kept, confidence.predict(question, kept, candidates, found)):
        a.confidence = float(p)
        a.abstain = bool(p < threshold)
    return kept[:top]


class OpenBook:
    """Ask questions of an index: ``ask(question)`` or, batched, ``ask_many(questions)``.

    ``min_confidence`` is the threshold below which an answer is marked ``abstain`` (None: the reader's default, kept
    in its manifest). Passages are read as ``cascade`` says (default: the cascade tuned for the retrieval mode and the
    weights in force, see :func:`~openbook.qa.cascade.default_cascade`); ``read_all`` reads all ``k`` at once.
    ``passages_read`` counts the passages read since construction; ``last_read`` holds, for each question of the last
    call, how many of its passages were read.
    """

    def __init__(
        self,
        index: str | Path | None = None,
        retriever: Retriever | None = None,
        reader: Reader | str | Path | None = None,
        k: int = DEFAULT_K,
        top_answers: int = DEFAULT_TOP_ANSWERS,
        weights: Weights | None = None,
        min_confidence: float | None = None,
        cascade: Cascade | None = None,
        read_all: bool = False,
    ) -> None:
        self.retriever = retriever or Retriever(index)
        self.reader = reader if isinstance(reader, Reader) else Reader(resolve_model(reader, DEFAULT_READER))
        self.k = k
        self.top_answers = top_answers
        chosen = (self.reader.manifest.confidence or {}).get("weights", {}).get(self.retriever.mode)
        # the weights chosen with the reader's calibrator, else the defaults of the retrieval mode
        self.weights = weights or (Weights(**chosen) if chosen else DEFAULT_WEIGHTS.get(self.retriever.mode, SPAN_ONLY))
        self.confidence = Confidence.for_reader(self.reader.manifest.confidence, self.retriever.mode)
        self.min_confidence = self.confidence.threshold if min_confidence is None else min_confidence
        self.cascade = READ_ALL if read_all else cascade or default_cascade(self.retriever.mode, self.weights)
        self.passages_read = 0
        self.last_read: list[int] = []

    def ask(
        self,
        question: str,
        k: int | None = None,
        top_answers: int | None = None,
        min_confidence: float | None = None,
        where: Where = None,
        read_all: bool = False,
    ) -> list[RankedAnswer]:
        """The best answers to ``question`` from the top ``k`` passages (those whose metadata passes ``where``), best
        first; ``read_all``: read all ``k`` passages, whatever the cascade."""
        return self.ask_many([question], k, top_answers, min_confidence, where, read_all)[0]

    def ask_many(
        self,
        questions: Sequence[str],
        k: int | None = None,
        top_answers: int | None = None,
        min_confidence: float | None = None,
        where: Where = None,
        read_all: bool = False,
    ) -> list[list[RankedAnswer]]:
        """Answers for many questions, encoded, searched and read in shared batches."""
        top = self.top_answers if top_answers is None else top_answers
        threshold = self.min_confidence if min_confidence is None else min_confidence
        return [
            answer(q, found, cands, self.weights, self.confidence, top, threshold)
            for q, (found, cands) in zip(questions, self.read(questions, k, where, read_all))
        ]

    def read(
        self, questions: Sequence[str], k: int | None = None, where: Where = None, read_all: bool = False
    ) -> list[tuple[list[SearchResult], list[RankedAnswer]]]:
        """Each question's top ``k`` hits and the answers the reader proposes in the passages read, unranked."""
        hits = self.retriever.search_many(questions, k or self.k, where=where)
        rule = READ_ALL if read_all else self.cascade
        upto = [min(rule.first, len(h)) for h in hits]
        found = self._read(questions, hits, [0] * len(hits), upto)
        if not rule.reads_all:
            more = [rule.more(self._best(c), h[n:], self.weights) for c, h, n in zip(found, hits, upto)]
            later = self._read(questions, hits, upto, [n + m for n, m in zip(upto, more)], rule.window)
            found = [_keep(a + b) for a, b in zip(found, later)]
            upto = [n + m for n, m in zip(upto, more)]
        self.last_read = upto
        self.passages_read += sum(upto)
        return list(zip(hits, found))

    def _read(
        self,
        questions: Sequence[str],
        hits: list[list[SearchResult]],
        start: list[int],
        end: list[int],
        window: int | None = None,
    ) -> list[list[RankedAnswer]]:
        """Candidates from passages ``start[i]:end[i]`` of each question, read in one batch (each passage as its
        evidence window of at most ``window`` word pieces, when given)."""
        todo = [i for i in range(len(questions)) if end[i] > start[i]]
        found: list[list[RankedAnswer]] = [[] for _ in questions]
        if not todo:
            return found
        asked, shifts = [], []
        for i in todo:
            texts: list[Passage | str] = []
            at: list[int] = []
            for h in hits[i][start[i] : end[i]]:
                a, b = (0, len(h.passage.text))
                if window is not None:
                    a, b = evidence_window(questions[i], h.passage.text, self.reader.tokenizer, window)
                texts.append(h.passage if (a, b) == (0, len(h.passage.text)) else h.passage.text[a:b])
                at.append(a)
            asked.append((questions[i], texts))
            shifts.append(at)
        for i, answers, at in zip(todo, self.reader.read_batch(asked, top_k=CANDIDATES), shifts):
            for a in answers:  # offsets into the window → into the passage
                a.start += at[a.passage_index]
                a.end += at[a.passage_index]
            found[i] = join(hits[i][start[i] : end[i]], answers)
        return found

    def _best(self, candidates: list[RankedAnswer]) -> RankedAnswer | None:
        for c in candidates:
            c.score = self.weights.score(c.span_score, c.no_answer_score, c.retrieval_score)
        return max(candidates, key=lambda c: c.score, default=None)

    def warm_shapes(self) -> list[Step]:
        """One step per model batch shape a question can meet (the question encoder's, then the reader's, fewest rows
        first): run by :meth:`warm_up`, or in the background by a :class:`~openbook.models.warmup.Warmer`."""
        steps: list[Step] = []
        if self.retriever.mode != "lexical":
            embedder = self.retriever.embedder
            steps += [partial(embedder.warm, rows, length) for rows, length in embedder.warm_shapes()]
        reader = self.reader
        return steps + [partial(reader.warm, rows, length) for rows, length in reader.warm_shapes()]

    def warm_up(self) -> int:
        """Run every batch shape a question can meet once, so that no question pays a shape's first-run set-up (as a
        server does at start, in the background); returns how many were run."""
        steps = self.warm_shapes()
        for step in steps:
            step()
        return len(steps)

    def candidates(self, questions: Sequence[str], k: int | None = None) -> list[list[RankedAnswer]]:
        """Every answer the reader proposes in the top ``k`` passages of each question, unranked."""
        return [cands for _, cands in self.read(questions, k)]


def _keep(candidates: list[RankedAnswer]) -> list[RankedAnswer]:
    """The :data:`CANDIDATES` best by span score, as one read of all these passages would keep."""
    return sorted(candidates, key=lambda c: c.span_score, reverse=True)[:CANDIDATES]
