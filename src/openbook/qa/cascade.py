"""Read only what it must: read the best-ranked passages first and stop once the answer is settled.

Reading is most of an answer's cost, and most questions are answered by the first passage retrieval ranks. The
cascade reads the top ``stages[0]`` passages, scores their candidates as :func:`openbook.qa.pipeline.rerank` does, and
reads on to ``stages[1]`` (and so on up to ``k``) only when the answer is not settled:

    lead = best fused score − retrieval_weight × (retrieval score of the best unread passage)

is what an unread passage's span would have to reach, ``(1 + a)·span − a·null``, to overtake the best answer found. The
answer is settled when ``lead ≥ stop.lead`` and the best answer's own margin over its passage's null score is at least
``stop.margin``. The thresholds are per retrieval mode (each mode's retrieval score has its own scale) and were chosen
on SQuAD v1.1 dev articles 1-24 (``benchmarks/cascade.py``); a mode without thresholds reads all ``k`` passages.

Candidates are cut to the same number as a full read (the best :data:`~openbook.qa.pipeline.CANDIDATES` by span score
over every passage read), so when the cascade reads all ``k`` passages it ranks exactly what :class:`OpenBook` ranks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from openbook.qa.pipeline import CANDIDATES, OpenBook, RankedAnswer
from openbook.qa.rerank import Weights
from openbook.types import SearchResult


@dataclass(frozen=True)
class Cascade:
    """When to stop reading: after ``stages[i]`` passages, stop if ``lead ≥ self.lead`` and ``margin ≥ self.margin``."""

    stages: tuple[int, ...] = (1,)
    lead: float = math.inf  # inf: never settled, read all k
    margin: float = -math.inf

    def settled(self, best: RankedAnswer | None, next_retrieval: float, weights: Weights) -> bool:
        """Whether ``best`` (after fused scoring) is safe from a passage whose retrieval score is ``next_retrieval``."""
        if best is None:
            return False
        return best.score - weights.retrieval * next_retrieval >= self.lead and best.margin >= self.margin


READ_ALL = Cascade(stages=(), lead=math.inf)
# chosen on SQuAD v1.1 dev articles 1-24 with the default weights (benchmarks/cascade.py tune)
DEFAULT_CASCADES: dict[str, Cascade] = {
    "hybrid": Cascade(stages=(1,), lead=math.inf),
}


class CascadeBook(OpenBook):
    """An :class:`OpenBook` that reads the top passages in stages and stops when the answer is settled.

    ``passages_read`` counts the passages read since construction; ``last_read`` holds, for each question of the last
    call, how many of its passages were read.
    """

    def __init__(self, *args, cascade: Cascade | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.cascade = cascade or DEFAULT_CASCADES.get(self.retriever.mode, READ_ALL)
        self.passages_read = 0
        self.last_read: list[int] = []

    def candidates(self, questions: Sequence[str], k: int | None = None) -> list[list[RankedAnswer]]:
        """The candidates of each question from the passages the cascade read, unranked but scored."""
        hits = self.retriever.search_many(questions, k or self.k)
        found: list[list[RankedAnswer]] = [[] for _ in questions]
        done = [0] * len(questions)
        pending = list(range(len(questions)))
        for upper in (*self.cascade.stages, math.inf):
            todo = [i for i in pending if done[i] < len(hits[i])]
            if not todo:
                break
            upto = {i: int(min(upper, len(hits[i]))) for i in todo}
            read = self.reader.read_batch(
                [(questions[i], [h.passage for h in hits[i][done[i] : upto[i]]]) for i in todo], top_k=CANDIDATES
            )
            pending = []
            for i, answers in zip(todo, read):
                found[i] = _best(found[i] + self._join(hits[i][done[i] : upto[i]], answers))
                done[i] = upto[i]
                if done[i] < len(hits[i]) and not self._settled(found[i], hits[i][done[i]]):
                    pending.append(i)
        self.last_read = done
        self.passages_read += sum(done)
        return found

    def _settled(self, candidates: list[RankedAnswer], unread: SearchResult) -> bool:
        for c in candidates:
            c.score = self.weights.score(c.span_score, c.no_answer_score, c.retrieval_score)
        best = max(candidates, key=lambda c: c.score, default=None)
        return self.cascade.settled(best, unread.score, self.weights)


def _best(candidates: list[RankedAnswer]) -> list[RankedAnswer]:
    """The :data:`CANDIDATES` best by span score, as one read of all these passages would keep."""
    return sorted(candidates, key=lambda c: c.span_score, reverse=True)[:CANDIDATES]
