"""Storage-level helpers: an index made for a synthetic model, a plain splitter and a deterministic encoder, so that
write-path tests need no real model (and run in subprocesses in well under a second)."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from openbook.index.folder import Index
from openbook.index.settings import IndexSettings
from openbook.models.manifest import ModelManifest
from openbook.types import Document, Passage

DIM = 16
MODEL = ModelManifest(
    name="synthetic", kind="retriever", inputs={}, outputs={}, question_length=32, passage_length=384,
    dimension=DIM, metric="ip",
)
WORDS = "river planet bread chess glacier music train bird lamp stone cloud field apple ocean tower".split()


def make_index(path: Path) -> Index:
    return Index.create(path, MODEL, Path(sys.executable), IndexSettings(passage_tokens=256))


def split(doc: Document, tokens: int = 256) -> list[Passage]:
    """Cut at every 200 characters (offsets exact)."""
    step = 200
    return [
        Passage(doc.text[s : s + step], doc.id, s, min(s + step, len(doc.text)), doc.title, source=doc.source)
        for s in range(0, len(doc.text), step)
    ]


def encode(passages: Sequence[Passage]) -> np.ndarray:
    """A unit vector per passage, seeded by its text (the same text, the same vector)."""
    out = np.zeros((len(passages), DIM), dtype=np.float32)
    for n, p in enumerate(passages):
        seed = int.from_bytes(hashlib.blake2b(p.text.encode(), digest_size=8).digest(), "little")
        out[n] = np.random.default_rng(seed).standard_normal(DIM)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def text(n: int, words: int = 60) -> str:
    rng = np.random.default_rng(n)
    return " ".join(WORDS[i] for i in rng.integers(0, len(WORDS), words)) + f" note{n}."


def docs(start: int, count: int, words: int = 60) -> list[Document]:
    return [Document(f"d{n}", text(n, words), title=f"Doc {n}") for n in range(start, start + count)]


def consistent_ids(index: Index) -> list[int]:
    """Assert SQLite passage ids = FTS5 ids = vector BLOB ids = FAISS ids (after checkpoint + log replay); return them."""
    store = index.store
    ids = store.passage_ids()
    assert store.lexical_ids() == ids
    assert store.vector_ids() == ids
    assert sorted(index.vectors.ids().tolist()) == ids
    index.check()
    return ids
