"""A small deterministic encoder for tests: hashed bag of words, L2-normalised (no model, no download)."""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Sequence

import numpy as np

from openbook.models.manifest import ModelManifest

_WORD = re.compile(r"[^\W_]+")


class HashEncoder:
    """Each lower-cased word adds ±1 to one of ``dimension`` slots picked by its CRC32: texts sharing words are close."""

    def __init__(self, dimension: int = 64) -> None:
        self.manifest = ModelManifest(
            name=f"hash-bow-{dimension}",
            kind="retriever",
            inputs={},
            outputs={},
            question_length=32,
            passage_length=384,
            dimension=dimension,
            pooling="mean",
            normalized=True,
            metric="ip",
        )

    @property
    def dimension(self) -> int:
        assert self.manifest.dimension is not None
        return self.manifest.dimension

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                h = zlib.crc32(word.encode("utf-8"))
                out[row, h % self.dimension] += 1.0 if (h >> 16) & 1 else -1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)

    def encode_questions(self, questions: Sequence[str]) -> np.ndarray:
        return self._encode(questions)

    def encode_passages(self, passages: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        out = self._encode(passages)
        if progress and len(passages):
            progress(len(passages))
        return out
