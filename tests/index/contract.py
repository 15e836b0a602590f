"""The behaviour every passage store, lexical index and vector index must show, whatever holds it.

Each ``*Contract`` class is a set of tests over a fixture its subclass provides (Haystack's document-store mixins are
the model): ``tests/index/test_contract.py`` runs them for SQLite, FTS5 and FAISS (flat, ivf, an ``index_factory``
string) and for the in-memory implementations.
"""

from __future__ import annotations

import numpy as np
import pytest

from openbook.index import protocols
from openbook.types import Document, Passage

TEXTS = {
    "rivers": ("Rivers", "The Thames flows through London. The Seine flows through Paris."),
    "plants": ("Plants", "Photosynthesis lets plants turn sunlight and water into sugar."),
    "space": ("Space", "Mars is the fourth planet from the Sun and has two small moons."),
    "bread": ("Bread", "Bread rises because yeast turns sugar into carbon dioxide."),
}


def passages_of(doc: Document, size: int = 32) -> list[Passage]:
    return [Passage(doc.text[s : s + size], doc.id, s, min(s + size, len(doc.text)), doc.title,
                    metadata={"part": s // size}) for s in range(0, len(doc.text), size)]


def fill(store) -> dict[str, list[int]]:
    ids = {}
    for doc_id, (title, text) in TEXTS.items():
        doc = Document(doc_id, text, title, f"/docs/{doc_id}.txt", {"topic": doc_id, "year": 2020})
        ids[doc_id] = store.add_document(doc, f"hash-{doc_id}", passages_of(doc))
    return ids


class StoreContract:
    """A passage store: add, read back, ids stable and never reused, delete, metadata merged, documents listed."""

    @pytest.fixture
    def store(self):
        raise NotImplementedError

    def test_is_a_passage_store(self, store):
        assert isinstance(store, protocols.PassageStore)

    def test_round_trip_with_offsets_and_merged_metadata(self, store):
        ids = fill(store)
        assert store.count_documents() == 4 and store.count_passages() == sum(map(len, ids.values()))
        got = store.passages(ids["space"])
        text = TEXTS["space"][1]
        for n, pid in enumerate(ids["space"]):
            p = got[pid]
            assert (p.doc_id, p.id, p.text, p.title) == ("space", pid, text[p.start : p.end], "Space")
            assert p.source == "/docs/space.txt"
            assert p.metadata == {"topic": "space", "year": 2020, "part": n}
        assert store.document("space").metadata == {"topic": "space", "year": 2020}
        assert store.document_hash("space") == "hash-space" and store.document_hash("nope") is None

    def test_ids_are_stable_and_never_reused(self, store):
        ids = fill(store)
        every = sorted(i for group in ids.values() for i in group)
        assert store.passage_ids() == every and len(set(every)) == len(every)
        removed = store.delete_documents(["plants"])
        assert removed == sorted(ids["plants"])
        again = store.add_document(Document("plants", "New plants text."), "h2", [Passage("New plants text.", "plants", 0, 16)])
        assert min(again) > max(every)  # a new id, never an old one
        assert store.passages(ids["rivers"]).keys() == set(ids["rivers"])  # the others keep theirs

    def test_unknown_ids_are_left_out(self, store):
        ids = fill(store)
        assert set(store.passages([ids["bread"][0], 999_999])) == {ids["bread"][0]}
        assert store.delete_documents(["nope"]) == []

    def test_documents_listing_and_filter(self, store):
        fill(store)
        rows = store.documents()
        assert [r["id"] for r in rows] == ["bread", "plants", "rivers", "space"]
        assert rows[0]["metadata"] == {"topic": "bread", "year": 2020} and rows[0]["passages"] >= 1
        assert rows[0]["indexed_at"]
        assert [r["id"] for r in store.documents(where="riv")] == ["rivers"]
        assert len(store.documents(limit=2)) == 2


class LexicalContract:
    """A lexical index over a store: the passage holding the question's rare word ranks first; user syntax is plain
    words; removed passages are gone; ``allowed`` restricts before ranking."""

    @pytest.fixture
    def indexed(self):
        """(store, lexical index) filled by :func:`fill`."""
        raise NotImplementedError

    def test_is_a_lexical_index(self, indexed):
        assert isinstance(indexed[1], protocols.LexicalIndex)

    def test_rare_word_ranks_its_passage_first(self, indexed):
        store, lexical = indexed
        [(pid, score), *_] = lexical.search("Where is the Thames?", 3)
        assert store.passages([pid])[pid].doc_id == "rivers" and score > 0
        scores = [s for _, s in lexical.search("sugar water", 10)]
        assert scores == sorted(scores, reverse=True)

    def test_query_syntax_is_plain_words(self, indexed):
        _, lexical = indexed
        for question in ['"Mars', "Mars AND NOT (", "title:Space", "*", ""]:
            lexical.search(question, 3)  # never an error

    def test_ids_follow_the_store(self, indexed):
        store, lexical = indexed
        assert sorted(lexical.ids().tolist()) == store.passage_ids()
        store.delete_documents(["rivers"])
        assert sorted(lexical.ids().tolist()) == store.passage_ids()
        assert all(store.passages([p]) for p, _ in lexical.search("Thames London Paris", 10))

    def test_allowed_restricts_before_ranking(self, indexed):
        store, lexical = indexed
        allowed = np.array(store.passage_ids(["bread"]))
        hits = lexical.search("sugar", 10, allowed=allowed)
        assert hits and {p for p, _ in hits} <= set(allowed.tolist())
        assert lexical.search("Thames", 5, allowed=allowed) == []
        assert lexical.search("sugar", 5, allowed=np.array([], dtype=np.int64)) == []


class VectorContract:
    """A vector index keyed by passage id: exact top-1 of a stored vector, removal by id, and ``allowed`` returning
    ``k`` hits whenever ``k`` allowed vectors exist, even when they rank far below the unfiltered top 100."""

    exact = True  # approximate indexes may miss a few neighbours

    @pytest.fixture
    def make(self):
        """A factory ``make(ids, vectors) -> index`` holding those vectors."""
        raise NotImplementedError

    @staticmethod
    def data(n: int = 2000, dim: int = 32) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(0)
        x = rng.standard_normal((n, dim)).astype(np.float32)
        return np.arange(n, dtype=np.int64) * 3 + 7, x / np.linalg.norm(x, axis=1, keepdims=True)

    def test_is_a_vector_index(self, make):
        ids, x = self.data()
        assert isinstance(make(ids, x), protocols.VectorIndex)

    def test_finds_stored_vectors_by_id(self, make):
        ids, x = self.data()
        index = make(ids, x)
        assert len(index) == len(ids) and sorted(index.ids().tolist()) == ids.tolist()
        scores, found = index.search(x[:20], 5)
        hit = np.mean(found[:, 0] == ids[:20])
        assert hit == 1.0 if self.exact else hit >= 0.9
        assert np.all(np.diff(scores, axis=1) <= 1e-5)

    def test_remove_by_id(self, make):
        ids, x = self.data()
        index = make(ids, x)
        assert index.remove(ids[:10]) == 10 and len(index) == len(ids) - 10
        _, found = index.search(x[:10], 5)
        assert not set(found.ravel().tolist()) & set(ids[:10].tolist())

    def test_allowed_returns_k_hits_that_rank_below_the_top_100(self, make):
        ids, x = self.data()
        index = make(ids, x)
        query = x[:1]
        _, top = index.search(query, 100)
        far = np.array([i for i in ids[::-1] if i not in set(top[0].tolist())][:7])
        scores, found = index.search(query, 5, allowed=far)
        assert len(found[0]) == 5 and set(found[0].tolist()) <= set(far.tolist())
        _, few = index.search(query, 10, allowed=far[:3])
        assert sorted(i for i in few[0].tolist() if i >= 0) == sorted(far[:3].tolist())
