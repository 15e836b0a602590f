"""Read only what it must: read the best-ranked passages first, and then only the passages that could still matter.

Reading is most of an answer's cost, and most questions are answered by the first passage retrieval ranks. The
cascade reads the top ``first`` passages and scores their candidates as :func:`openbook.qa.pipeline.rerank` does. An
unread passage ``j`` can only overtake the best answer found if its span does better than

    lead_j = best fused score − retrieval_weight × retrieval_j

(its candidates score ``(1 + a)·span − a·null + retrieval_weight × retrieval_j``), so the cascade then reads just the
unread passages with ``lead_j < lead`` (ranks are in retrieval order, so these are the next few) and stops there: the
best fused score only grows as more is read, so no passage left out could have been needed by the same rule. When the
best answer's own margin over its passage's null score is below ``margin``, the first passages did not hold a
convincing answer and it reads all the rest. It never reads more than ``most`` passages, which bounds the slowest
questions (those whose first passages settle nothing) below the cost of reading all ``k``. The thresholds are per retrieval mode (each mode's retrieval score has
its own scale) and were chosen on SQuAD v1.1 dev articles 1-24 (``benchmarks/cascade.py``); a mode without thresholds
reads all ``k`` passages at once, as :class:`OpenBook` does.

Candidates are cut to the same number as a full read (the best :data:`~openbook.qa.pipeline.CANDIDATES` by span score
over every passage read), so a cascade that reads all ``k`` passages ranks exactly what :class:`OpenBook` ranks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from openbook.qa.pipeline import CANDIDATES, OpenBook, RankedAnswer, join
from openbook.qa.rerank import DEFAULT_WEIGHTS, Weights
from openbook.types import SearchResult


@dataclass(frozen=True)
class Cascade:
    """Read the top ``first`` passages, then the unread passages whose lead is below ``lead`` (all of them when the best
    answer's margin is below ``margin``), at most ``most`` passages in all."""

    first: int = 1
    lead: float = math.inf  # inf: read every passage
    margin: float = -math.inf
    most: int = 1_000_000

    def more(self, best: RankedAnswer | None, unread: Sequence[SearchResult], weights: Weights) -> int:
        """How many of the ``unread`` passages (best first) to read after the first ones, whose best answer is ``best``."""
        room = max(self.most - self.first, 0)
        if best is None or best.margin < self.margin:
            return min(len(unread), room)
        return min(sum(1 for hit in unread if best.score - weights.retrieval * hit.score < self.lead), room)


READ_ALL = Cascade(first=1_000_000)
# chosen on SQuAD v1.1 dev articles 1-24 with the default weights (benchmarks/cascade.py tune)
DEFAULT_CASCADES: dict[str, Cascade] = {
    "hybrid": Cascade(first=1, lead=28.35, most=4),
}


class CascadeBook(OpenBook):
    """An :class:`OpenBook` that reads the first passages, then only those that could still change the answer.

    ``passages_read`` counts the passages read since construction; ``last_read`` holds, for each question of the last
    call, how many of its passages were read.
    """

    def __init__(self, *args, cascade: Cascade | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.cascade = cascade or DEFAULT_CASCADES.get(self.retriever.mode, READ_ALL)
        if cascade is None and kwargs.get("weights") is None and self.retriever.mode in DEFAULT_CASCADES:
            # the default thresholds were tuned with the reranking defaults of the mode: rank with those
            self.weights = DEFAULT_WEIGHTS[self.retriever.mode]
        self.passages_read = 0
        self.last_read: list[int] = []

    def read(
        self, questions: Sequence[str], k: int | None = None, where=None
    ) -> list[tuple[list[SearchResult], list[RankedAnswer]]]:
        """Each question's top ``k`` hits and the candidates of the passages the cascade read, unranked."""
        hits = self.retriever.search_many(questions, k or self.k, where=where)
        upto = [min(self.cascade.first, len(h)) for h in hits]
        found = self._read(questions, hits, [0] * len(hits), upto)
        more = [self.cascade.more(self._best(c), h[n:], self.weights) for c, h, n in zip(found, hits, upto)]
        later = self._read(questions, hits, upto, [n + m for n, m in zip(upto, more)])
        found = [_keep(a + b) for a, b in zip(found, later)]
        self.last_read = [n + m for n, m in zip(upto, more)]
        self.passages_read += sum(self.last_read)
        return list(zip(hits, found))

    def _read(
        self, questions: Sequence[str], hits: list[list[SearchResult]], start: list[int], end: list[int]
    ) -> list[list[RankedAnswer]]:
        """Candidates from passages ``start[i]:end[i]`` of each question, read in one batch."""
        todo = [i for i in range(len(questions)) if end[i] > start[i]]
        found: list[list[RankedAnswer]] = [[] for _ in questions]
        if not todo:
            return found
        read = self.reader.read_batch(
            [(questions[i], [h.passage for h in hits[i][start[i] : end[i]]]) for i in todo], top_k=CANDIDATES
        )
        for i, answers in zip(todo, read):
            found[i] = join(hits[i][start[i] : end[i]], answers)
        return found

    def _best(self, candidates: list[RankedAnswer]) -> RankedAnswer | None:
        for c in candidates:
            c.score = self.weights.score(c.span_score, c.no_answer_score, c.retrieval_score)
        return max(candidates, key=lambda c: c.score, default=None)


def _keep(candidates: list[RankedAnswer]) -> list[RankedAnswer]:
    """The :data:`CANDIDATES` best by span score, as one read of all these passages would keep."""
    return sorted(candidates, key=lambda c: c.span_score, reverse=True)[:CANDIDATES]
