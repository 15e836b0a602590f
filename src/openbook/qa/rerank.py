"""QA reranking: one score per answer from the reader's span score, its no-answer margin and the retrieval score.

    fused = span + margin_weight × (span − null) + retrieval_weight × retrieval

``span`` is start + end logit, ``null`` the passage's [CLS] score (the default reader learnt it as "the answer is not in
this passage"), ``retrieval`` the passage's retrieval score. All three are comparable across passages, so the fused
score is too. A reader's manifest may hold weights chosen with its confidence calibrator (``openbook eval calibrate``,
on SQuAD v1.1 dev articles 1-24); ``OpenBook`` uses those for their retrieval mode and these defaults otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Weights:
    margin: float = 0.0
    retrieval: float = 0.0

    def score(self, span: float, null: float, retrieval: float) -> float:
        return span + self.margin * (span - null) + self.retrieval * retrieval


SPAN_ONLY = Weights(0.0, 0.0)
# per retrieval mode, since each mode's retrieval score has its own scale (cosine, BM25, fused z-scores)
DEFAULT_WEIGHTS: dict[str, Weights] = {
    "dense": Weights(margin=4.0, retrieval=80.0),
    "lexical": Weights(margin=0.0, retrieval=0.0),
    "hybrid": Weights(margin=1.0, retrieval=5.0),
}
