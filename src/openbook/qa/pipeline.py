"""Open-book question answering: retrieve the top passages, read them all, rank the answers (QA reranking)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from openbook.qa.rerank import DEFAULT_WEIGHTS, SPAN_ONLY, Weights
from openbook.config import DEFAULT_READER, resolve_model
from openbook.reading.reader import Reader
from openbook.retrieval.retriever import Retriever, Where
from openbook.types import Passage, SearchResult

DEFAULT_K = 5
DEFAULT_TOP_ANSWERS = 5
CANDIDATES = 50  # reader answers per question that reranking chooses from


@dataclass
class RankedAnswer:
    """An answer with every score that went into its rank; ``start``/``end`` index its passage's text."""

    text: str
    score: float
    span_score: float
    no_answer_score: float
    retrieval_score: float
    retrieval_rank: int
    passage: Passage
    start: int
    end: int

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

    def to_dict(self) -> dict:
        p = self.passage
        return {
            "answer": self.text,
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


def rerank(candidates: Sequence[RankedAnswer], weights: Weights, top: int) -> list[RankedAnswer]:
    """Score candidates with ``weights``, best first, each answer once: a candidate with the same text as a better one,
    or overlapping a better one in the same passage ("the French engineer X" under "X"), is left out."""
    for c in candidates:
        c.score = weights.score(c.span_score, c.no_answer_score, c.retrieval_score)
    kept: list[RankedAnswer] = []
    texts: set[str] = set()
    for c in sorted(candidates, key=lambda a: a.score, reverse=True):
        key = " ".join(c.text.lower().split())
        overlaps = any(k.passage.id == c.passage.id and k.start < c.end and c.start < k.end for k in kept)
        if key in texts or overlaps:
            continue
        kept.append(c)
        texts.add(key)
        if len(kept) == top:
            break
    return kept


class OpenBook:
    """Ask questions of an index: ``ask(question)`` or, batched, ``ask_many(questions)``."""

    def __init__(
        self,
        index: str | Path | None = None,
        retriever: Retriever | None = None,
        reader: Reader | str | Path | None = None,
        k: int = DEFAULT_K,
        top_answers: int = DEFAULT_TOP_ANSWERS,
        weights: Weights | None = None,
    ) -> None:
        self.retriever = retriever or Retriever(index)
        self.reader = reader if isinstance(reader, Reader) else Reader(resolve_model(reader, DEFAULT_READER))
        self.k = k
        self.top_answers = top_answers
        self.weights = weights or DEFAULT_WEIGHTS.get(self.retriever.mode, SPAN_ONLY)

    def ask(
        self, question: str, k: int | None = None, top_answers: int | None = None, where: Where = None
    ) -> list[RankedAnswer]:
        """The best answers to ``question`` from the top ``k`` passages (those whose metadata passes ``where``)."""
        return self.ask_many([question], k, top_answers, where)[0]

    def ask_many(
        self, questions: Sequence[str], k: int | None = None, top_answers: int | None = None, where: Where = None
    ) -> list[list[RankedAnswer]]:
        """Answers for many questions, encoded, searched and read in shared batches."""
        top = self.top_answers if top_answers is None else top_answers
        return [rerank(c, self.weights, top) for c in self.candidates(questions, k, where)]

    def candidates(
        self, questions: Sequence[str], k: int | None = None, where: Where = None
    ) -> list[list[RankedAnswer]]:
        """Every answer the reader proposes in the top ``k`` passages of each question, unranked."""
        hits = self.retriever.search_many(questions, k or self.k, where=where)
        read = self.reader.read_batch(
            [(q, [h.passage for h in found]) for q, found in zip(questions, hits)], top_k=CANDIDATES
        )
        return [self._join(found, answers) for found, answers in zip(hits, read)]

    @staticmethod
    def _join(found: list[SearchResult], answers) -> list[RankedAnswer]:
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
