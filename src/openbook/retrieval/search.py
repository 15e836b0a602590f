"""The read path: dense and lexical candidates for each question, fused into one ranking (hybrid) or passed through.

:class:`Searcher` is what :class:`openbook.retrieval.retriever.Retriever` searches with over an index folder and what
:mod:`openbook.evaluation.retrieval` searches with over in-memory indexes: the same code, measured.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from openbook.errors import OpenbookError
from openbook.retrieval.dense import DenseSearcher
from openbook.retrieval.fusion import DEFAULT_DEPTH, DEFAULT_FUSION, Fused, Fusion, Hit, check_mode
from openbook.retrieval.lexical import LexicalSearcher

Candidates = dict[str, list[Hit]]  # each side's (passage id, score) list for one question, best first


def sides(mode: str) -> tuple[str, ...]:
    """The searchers a mode uses."""
    return ("dense", "lexical") if check_mode(mode) == "hybrid" else (mode,)


@dataclass
class Searcher:
    """Searches ``dense`` and/or ``lexical`` and fuses them; in hybrid mode each side hands fusion ``depth``
    candidates (at least ``k``)."""

    dense: DenseSearcher | None = None
    lexical: LexicalSearcher | None = None
    fusion: Fusion = DEFAULT_FUSION
    depth: int = DEFAULT_DEPTH

    def width(self, k: int, mode: str) -> int:
        """How many candidates each side hands in for ``k`` results."""
        return max(k, self.depth) if len(sides(mode)) > 1 else k

    def candidates(
        self, questions: Sequence[str], k: int, mode: str, allowed: np.ndarray | None = None
    ) -> list[Candidates]:
        """Each side's candidate list for each question (``width(k, mode)`` deep), within ``allowed`` ids if given."""
        width = self.width(k, mode)
        out: list[Candidates] = [{} for _ in questions]
        for side in sides(mode):
            searcher = self.dense if side == "dense" else self.lexical
            if searcher is None:
                other = "lexical" if side == "dense" else "dense"
                raise OpenbookError(f"no {side} index to search (use --mode {other})")
            for lists, hits in zip(out, searcher.search(questions, width, allowed), strict=True):
                lists[side] = hits
        return out

    def fuse(self, candidates: Sequence[Candidates], mode: str) -> list[list[Fused]]:
        """One ranking per question from the lists of ``mode``'s sides."""
        names = sides(mode)
        return [self.fusion.fuse({name: lists[name] for name in names}) for lists in candidates]

    def search(
        self, questions: Sequence[str], k: int, mode: str, allowed: np.ndarray | None = None
    ) -> list[list[Fused]]:
        """The ranked passages for each question, best first (more than ``k`` in hybrid mode: cut after lookup)."""
        return self.fuse(self.candidates(questions, k, mode, allowed), mode)
