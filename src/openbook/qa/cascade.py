"""Read only what it must: read the best-ranked passages first, and then only the passages that could still matter.

Reading is most of an answer's cost, and most questions are answered by the first passage retrieval ranks.
:class:`~openbook.qa.pipeline.OpenBook` reads the top ``first`` passages and scores their candidates as
:func:`openbook.qa.pipeline.rerank` does. An unread passage ``j`` can only overtake the best answer found if its span
does better than

    lead_j = best fused score − retrieval_weight × retrieval_j

(its candidates score ``(1 + a)·span − a·null + retrieval_weight × retrieval_j``), so it then reads just the unread
passages with ``lead_j < lead`` (ranks are in retrieval order, so these are the next few) and stops there: the best
fused score only grows as more is read, so no passage left out could have been needed by the same rule. When the best
answer's own margin over its passage's null score is below ``margin``, the first passages did not hold a convincing
answer and it reads all the rest. It never reads more than ``most`` passages, which bounds the slowest questions (those
whose first passages settle nothing) below the cost of reading all ``k``. With ``window``, the passages read after the
first ones are read as their evidence windows (:func:`openbook.reading.window.evidence_window`: the run of whole
sentences, at most ``window`` word pieces, holding the most of the question's words), so the slowest questions read
shorter rows.

The thresholds depend on the scale of the fused score, so a cascade is tuned for one retrieval mode and one set of
reranking weights (``weights``); :func:`default_cascade` applies it only with those weights and reads all ``k``
passages otherwise. Re-tune after the weights change (SQuAD v1.1 dev articles 1-24, from cached reads)::

    nice -n 10 .venv/bin/python benchmarks/cascade_dev.py read      # once: every dev question's passages, cached
    .venv/bin/python benchmarks/cascade_dev.py score --retune       # the cascade for the weights now in force

and copy the printed ``Cascade`` into :data:`DEFAULT_CASCADES`.

Candidates are cut to the same number as a full read (the best :data:`~openbook.qa.pipeline.CANDIDATES` by span score
over every passage read), so a cascade that reads all ``k`` passages ranks exactly what reading them at once ranks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from openbook.qa.rerank import Weights
from openbook.types import SearchResult

if TYPE_CHECKING:
    from openbook.qa.pipeline import RankedAnswer


@dataclass(frozen=True)
class Cascade:
    """Read the top ``first`` passages, then the unread passages whose lead is below ``lead`` (all of them when the best
    answer's margin is below ``margin``), at most ``most`` passages in all, those after the first ones as evidence
    windows of at most ``window`` word pieces (None: whole). ``weights``: the reranking weights the thresholds were
    tuned with (None: any)."""

    first: int = 1
    lead: float = math.inf  # inf: read every passage
    margin: float = -math.inf
    most: int = 1_000_000
    weights: Weights | None = None
    window: int | None = None

    def more(self, best: RankedAnswer | None, unread: Sequence[SearchResult], weights: Weights) -> int:
        """How many of the ``unread`` passages (best first) to read after the first ones (whose best answer is
        ``best``)."""
        room = max(self.most - self.first, 0)
        if best is None or best.margin < self.margin:
            return min(len(unread), room)
        return min(sum(1 for hit in unread if best.score - weights.retrieval * hit.score < self.lead), room)

    @property
    def reads_all(self) -> bool:
        """Whether it reads every passage at once (the first ones are all of them)."""
        return self.first >= 1_000_000


READ_ALL = Cascade(first=1_000_000)
# per retrieval mode, tuned on SQuAD v1.1 dev articles 1-24 for the weights given
# (benchmarks/cascade_dev.py score --retune --window 96 --slack 0.2)
DEFAULT_CASCADES: dict[str, Cascade] = {
    "hybrid": Cascade(first=1, lead=36.94, most=5, weights=Weights(margin=1.0, retrieval=5.0), window=96),
}


def default_cascade(mode: str, weights: Weights) -> Cascade:
    """The tuned cascade of ``mode`` when it was tuned for ``weights``, else :data:`READ_ALL`."""
    tuned = DEFAULT_CASCADES.get(mode)
    return tuned if tuned is not None and tuned.weights == weights else READ_ALL
