"""Storage-level helpers: an index made for a synthetic model, a plain splitter and a deterministic encoder, so that
write-path tests need no real model (and run in subprocesses in well under a second)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
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


FORMAT_1_SCHEMA = (
    "CREATE TABLE documents (id TEXT PRIMARY KEY, title TEXT, source TEXT, text TEXT, hash TEXT, metadata TEXT,"
    " passages INTEGER);"
    'CREATE TABLE passages (id INTEGER PRIMARY KEY, doc_id TEXT, ordinal INTEGER, start INTEGER, "end" INTEGER,'
    " title TEXT, text TEXT);"
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);"
    "INSERT INTO documents VALUES ('a', 'A', 'a.txt', 'Rivers and planets.', 'h', '{}', 2);"
    "INSERT INTO passages VALUES (1, 'a', 0, 0, 7, 'A', 'Rivers '), (2, 'a', 1, 11, 19, 'A', 'planets.');"
    "INSERT INTO meta VALUES ('next_passage_id', '3');"
)


def format_1_index(path: Path, generation: int, settings: dict | None = None) -> np.ndarray:
    """A flat format-1 index in ``path`` (store-G.sqlite + vectors-G.faiss + index.json, as openbook wrote before the
    single store): one document of two passages, ids 1 and 2, whose vectors (returned) are the first two unit vectors."""
    import faiss

    path.mkdir(parents=True)
    db = sqlite3.connect(path / f"store-{generation}.sqlite")
    db.executescript(FORMAT_1_SCHEMA)
    db.commit()
    db.close()
    flat = faiss.IndexIDMap2(faiss.IndexFlatIP(DIM))
    vectors = np.eye(DIM, dtype=np.float32)[:2]
    flat.add_with_ids(vectors, np.array([1, 2]))
    faiss.write_index(flat, str(path / f"vectors-{generation}.faiss"))
    manifest = {"format": 1, "generation": generation, "model": {"dimension": DIM, "metric": "ip"}}
    if settings is not None:
        manifest["settings"] = settings
    (path / "index.json").write_text(json.dumps(manifest))
    return vectors
