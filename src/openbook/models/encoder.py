"""The encoder seam: what retrieval needs from a model that turns text into vectors.

:class:`~openbook.models.embedder.Embedder` (OpenVINO) is the implementation openbook ships; any object with these
members can stand in for it (a test encoder, another backend). ``tests/models/encoder_contract.py`` holds the behaviour
every encoder must show.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from openbook.models.manifest import ModelManifest


@runtime_checkable
class Encoder(Protocol):
    """Questions and passages to vectors of one space (asymmetric: questions are short, passages long).

    Both methods return float32 arrays of shape ``[len(texts), dimension]``, row ``i`` for text ``i``, the same
    vector for the same text whatever else is in the batch; an empty list gives ``[0, dimension]``. ``manifest`` is
    the model's contract (its ``identity()`` is what an index records and checks).
    """

    @property
    def manifest(self) -> ModelManifest: ...

    @property
    def dimension(self) -> int: ...

    def encode_questions(self, questions: Sequence[str]) -> np.ndarray: ...

    def encode_passages(
        self, passages: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray: ...
