"""The read path without a model: dense and lexical searchers restricted to allowed passages before ranking (flat and
ivf vectors, FTS5), and the Searcher that fuses them, over in-memory indexes."""

from __future__ import annotations

import numpy as np
import pytest

from openbook.evaluation.retrieval import lexical_store
from openbook.index.vectors import VectorIndex
from openbook.retrieval.dense import DenseSearcher, search_vectors
from openbook.retrieval.fusion import Fusion
from openbook.retrieval.lexical import LexicalSearcher, search_words
from openbook.retrieval.search import Searcher
from tests.encoders import HashEncoder


@pytest.fixture(scope="module")
def points() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((4000, 16)).astype(np.float32)
    return np.arange(1, 4001, dtype=np.int64) * 3, vectors  # ids unlike positions


def exact(vectors: np.ndarray, ids: np.ndarray, query: np.ndarray, allowed: np.ndarray, k: int) -> list[int]:
    keep = np.isin(ids, allowed)
    scores = vectors[keep] @ query
    return ids[keep][np.argsort(-scores, kind="stable")][:k].tolist()


@pytest.mark.parametrize("kind", ["flat", "ivf"])
def test_dense_restriction_returns_k_of_the_allowed_far_below_the_top(points, kind):
    ids, vectors = points
    index = VectorIndex(16, "ip")
    index.add(ids, vectors)
    if kind == "ivf":
        index = index.converted("ivf", nlist=64)
        index.nprobe = 1  # the allowed passages sit in cells a plain search does not probe
    query = vectors[:1]
    order = ids[np.argsort(-(vectors @ query[0]))]
    allowed = order[-7:]  # the seven least similar passages of all
    scores, found = search_vectors(index, query, 5, allowed)
    assert set(found[0].tolist()) <= set(allowed.tolist()) and len(found[0]) == 5 and (found[0] >= 0).all()
    assert list(scores[0]) == sorted(scores[0], reverse=True)
    if kind == "flat":
        assert found[0].tolist() == exact(vectors, ids, query[0], allowed, 5)
    assert not set(index.search(query, 100)[1][0].tolist()) & set(allowed.tolist())
    few, _ = search_vectors(index, query, 5, allowed[:2])
    assert few.shape == (1, 2)
    empty_scores, empty_ids = search_vectors(index, query, 5, np.zeros(0, dtype=np.int64))
    assert empty_ids.shape == (1, 0)


def test_dense_restriction_keeps_l2_scores_higher_is_better(points):
    ids, vectors = points
    index = VectorIndex(16, "l2")
    index.add(ids, vectors)
    scores, found = search_vectors(index, vectors[:1], 3, ids[:10])
    assert found[0][0] == ids[0] and scores[0][0] == pytest.approx(0.0, abs=1e-4) and (scores[0] <= 0).all()


PARAGRAPHS = [f"Apples and apple trees: apple orchard note {n}, apple harvest." for n in range(150)] + [
    "A pear seller once sold an apple.",
    "Grapes, and one apple at the market.",
    "Nothing about fruit here.",
]


def test_lexical_restriction_returns_k_of_the_allowed_far_below_the_top():
    store = lexical_store(PARAGRAPHS)
    targets = [151, 152]  # passage ids are paragraph numbers + 1
    top = [pid for pid, _ in search_words(store.conn, "apple", 100)]
    assert len(top) == 100 and not set(top) & set(targets)
    found = search_words(store.conn, "apple", 5, np.array(targets + [153]))
    assert sorted(pid for pid, _ in found) == targets  # 153 shares no word: it is allowed, never a match
    assert LexicalSearcher(store.conn).search(["apple", "orchard"], 3, np.array([1, 2, 152])) == [
        search_words(store.conn, "apple", 3, np.array([1, 2, 152])),
        search_words(store.conn, "orchard", 3, np.array([1, 2, 152])),
    ]
    assert search_words(store.conn, "apple", 5, np.zeros(0, dtype=np.int64)) == []


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_searcher_restricts_every_mode(mode):
    encoder = HashEncoder(64)
    vectors = VectorIndex(encoder.dimension, "ip")
    vectors.add(np.arange(1, len(PARAGRAPHS) + 1), encoder.encode_passages(PARAGRAPHS))
    store = lexical_store(PARAGRAPHS)
    searcher = Searcher(DenseSearcher(vectors, encoder.encode_questions), LexicalSearcher(store.conn), Fusion(), 100)
    plain = searcher.search(["apple harvest"], 100, mode)[0]
    assert not {151, 152} & {f.id for f in plain[:100]}
    fused = searcher.search(["apple harvest"], 2, mode, allowed=np.array([151, 152]))[0]
    assert sorted(f.id for f in fused) == [151, 152]
    sides = {"dense": {"dense"}, "lexical": {"lexical"}, "hybrid": {"dense", "lexical"}}[mode]
    assert all(set(f.ranks) <= sides for f in fused) and any(set(f.ranks) == sides for f in fused)


def test_lexical_restriction_to_every_passage_is_the_plain_ranking():
    store = lexical_store([f"apple {'pear ' * (n % 5)} note {n} " + "x " * (n % 13) for n in range(300)])
    plain = search_words(store.conn, "apple pear note", 50)
    assert search_words(store.conn, "apple pear note", 50, np.arange(1, 301)) == plain
