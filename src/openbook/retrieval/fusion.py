"""Fusing the ranked lists of several retrievers: reciprocal rank fusion or a normalised weighted sum.

Each retriever hands in its candidates as (passage id, score) pairs, best first, with higher scores better. A passage
keeps the rank and score it had in every list it came from, so results can say which retrievers found them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from openbook.errors import OpenbookError

MODES = ("dense", "lexical", "hybrid")
DEFAULT_MODE = "hybrid"
METHODS = ("rrf", "minmax", "zscore")
DEFAULT_DEPTH = 100  # candidates each retriever hands to fusion in hybrid search

Hit = tuple[int, float]  # (passage id, score), higher is better


def check_mode(mode: str) -> str:
    """``mode`` itself when it is a retrieval mode, else a one-line error."""
    if mode not in MODES:
        raise OpenbookError(f"unknown retrieval mode {mode!r} (use {', '.join(MODES)})")
    return mode


@dataclass
class Fused:
    """One passage after fusion: its fused score and its 1-based rank and score in each list that held it."""

    id: int
    score: float
    ranks: dict[str, int] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)


def _collect(ranked: Mapping[str, Sequence[Hit]]) -> dict[int, Fused]:
    found: dict[int, Fused] = {}
    for name, hits in ranked.items():
        for rank, (pid, score) in enumerate(hits, start=1):
            item = found.setdefault(int(pid), Fused(int(pid), 0.0))
            if name not in item.ranks:  # a list naming a passage twice counts its first place
                item.ranks[name], item.scores[name] = rank, float(score)
    return found


def _ordered(found: dict[int, Fused]) -> list[Fused]:
    return sorted(found.values(), key=lambda f: (-f.score, min(f.ranks.values()), f.id))


def reciprocal_rank(ranked: Mapping[str, Sequence[Hit]], k: float = 60.0) -> list[Fused]:
    """Reciprocal rank fusion: score = Σ 1 / (k + rank) over the lists holding the passage; scores are ignored."""
    found = _collect(ranked)
    for item in found.values():
        item.score = sum(1.0 / (k + r) for r in item.ranks.values())
    return _ordered(found)


def minmax(scores: Sequence[float]) -> list[float]:
    """Scores scaled to [0, 1] over their list (all 1.0 when they are equal)."""
    if not scores:
        return []
    low, high = min(scores), max(scores)
    return [1.0 if high == low else (s - low) / (high - low) for s in scores]


def zscore(scores: Sequence[float]) -> list[float]:
    """Scores as standard deviations from their list's mean (all 0.0 when they are equal)."""
    if not scores:
        return []
    mean = sum(scores) / len(scores)
    sd = math.sqrt(sum((s - mean) ** 2 for s in scores) / len(scores))
    return [0.0 if sd == 0 else (s - mean) / sd for s in scores]


NORMALISERS = {"minmax": minmax, "zscore": zscore}


def weighted_sum(
    ranked: Mapping[str, Sequence[Hit]], weights: Mapping[str, float], norm: str = "minmax"
) -> list[Fused]:
    """Σ weight × normalised score; a passage missing from a list gets that list's lowest normalised score."""
    if norm not in NORMALISERS:
        raise OpenbookError(f"unknown normalisation {norm!r} (use minmax or zscore)")
    found = _collect(ranked)
    for name, hits in ranked.items():
        if not hits:
            continue
        scaled = NORMALISERS[norm]([s for _, s in hits])
        by_id: dict[int, float] = {}
        for (pid, _), value in zip(hits, scaled):
            by_id.setdefault(int(pid), value)
        floor = min(scaled)
        weight = weights.get(name, 1.0)
        for item in found.values():
            item.score += weight * by_id.get(item.id, floor)
    return _ordered(found)


@dataclass(frozen=True)
class Fusion:
    """How hybrid search fuses the dense and lexical lists.

    ``method`` is ``rrf`` (reciprocal rank fusion with constant ``k``) or ``minmax``/``zscore`` (a weighted sum of
    normalised scores, ``alpha`` for the dense side and ``1 - alpha`` for the lexical side).
    """

    method: str = "rrf"
    k: float = 60.0
    alpha: float = 0.5

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise OpenbookError(f"unknown fusion {self.method!r} (use {', '.join(METHODS)})")

    @property
    def label(self) -> str:
        return f"rrf k={self.k:g}" if self.method == "rrf" else f"{self.method} alpha={self.alpha:g}"

    def fuse(self, ranked: Mapping[str, Sequence[Hit]]) -> list[Fused]:
        """One list, best first; a single retriever's list comes back in its own order with its own scores."""
        if len(ranked) == 1:
            name = next(iter(ranked))
            found = _collect(ranked)
            for item in found.values():
                item.score = item.scores[name]
            return sorted(found.values(), key=lambda f: f.ranks[name])
        if self.method == "rrf":
            return reciprocal_rank(ranked, self.k)
        return weighted_sum(ranked, {"dense": self.alpha, "lexical": 1.0 - self.alpha}, self.method)


# Chosen on SQuAD v1.1 dev articles 1-24 by MRR@20 (openbook eval retrieval --tune); see evaluation/retrieval.py.
DEFAULT_FUSION = Fusion("zscore", alpha=0.55)
