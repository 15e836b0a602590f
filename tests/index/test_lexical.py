"""The lexical index: query handling (FTS5 syntax is searched as plain words), BM25 order, and staying in step with the
passages through adds, re-indexing, deletes and stores written before it existed."""

from __future__ import annotations

import random
import sqlite3

import pytest

from openbook.index import lexical
from openbook.errors import OpenbookError
from openbook.index.folder import Index
from openbook.retrieval.retriever import Retriever
from openbook.index.store import PassageStore
from openbook.types import Document, Passage

TEXTS = {
    "rivers": ("Rivers", "The Thames flows through London. The Seine flows through Paris, past the café on the quay."),
    "plants": ("Plants", "Photosynthesis lets plants turn sunlight, water and carbon dioxide into sugar."),
    "space": ("Space", "Mars is the fourth planet from the Sun and has two small moons, Phobos and Deimos."),
    "moons": ("Moons", "Moons orbit planets. The Moon orbits the Earth; Phobos orbits Mars; moons, moons, moons."),
}
NASTY = [
    'What is "Mars',  # unbalanced quote
    "Mars AND NOT Phobos OR NEAR(Thames Seine, 3)",
    "title:Space text:Mars",
    "-Mars ^Phobos Deim* +moons",
    "((Mars)",
    ")) OR ((",
    "{Mars Phobos}",
    "Mars'; DROP TABLE passages; --",
    'Phobos""Deimos',
    "?!.,;:*^-()[]{}\"'`~@#$%&=<>|\\/",
    "",
    "   \t\n",
    "the of and what is",  # only stop words
    "AND OR NOT NEAR",
    "Mars 🚀 火星 Ünïcödé",
    "NEAR(",
    "col : umn",
    "x" * 2000,
]


def store_with(texts: dict[str, tuple[str, str]]) -> PassageStore:
    store = PassageStore(":memory:")
    with store.conn:
        for doc_id, (title, text) in texts.items():
            store.add_document(Document(doc_id, text, title), "h", [Passage(text, doc_id, 0, len(text), title=title)])
    return store


def doc_ids(store: PassageStore, question: str, k: int = 10) -> list[str]:
    hits = store.lexical_search(question, k)
    found = store.passages([pid for pid, _ in hits])
    return [found[pid].doc_id for pid, _ in hits]


def test_query_terms_are_plain_words_without_stop_words():
    assert lexical.query_terms("What is the largest moon of Mars?") == ["largest", "moon", "mars"]
    assert lexical.query_terms('"Phobos" AND (Deimos) OR Mars* NEAR x:y') == [
        "phobos",
        "deimos",
        "mars",
        "near",
        "x",
        "y",
    ]
    assert lexical.query_terms("moons, Moons MOONS") == ["moons"]
    assert lexical.query_terms("snake_case 3.14 U.S.") == ["snake", "case", "3", "14", "u"]
    assert lexical.query_terms("what is it?") == [] and lexical.match_expression("what is it?") is None


def test_match_expression_quotes_every_word():
    expr = lexical.match_expression("Mars AND NEAR(Phobos)")
    assert expr == '"mars" OR "near" OR "phobos"'


def test_bm25_ranks_best_first_with_higher_scores():
    store = store_with(TEXTS)
    hits = store.lexical_search("moons of Mars", 10)
    scores = [s for _, s in hits]
    assert scores == sorted(scores, reverse=True) and all(s > 0 for s in scores)  # -bm25(): higher is better
    assert doc_ids(store, "moons of Mars")[:2] == ["moons", "space"]
    assert len(doc_ids(store, "Mars", k=1)) == 1 and len(doc_ids(store, "Mars")) == 2  # k limits the list


def test_stemming_diacritics_and_titles():
    store = store_with(TEXTS)
    assert doc_ids(store, "Which river is flowing through London?") == ["rivers"]  # flowing ~ flows
    assert doc_ids(store, "cafe") == ["rivers"] and doc_ids(store, "CAFÉ") == ["rivers"]
    assert doc_ids(store, "plants") == ["plants"]
    assert doc_ids(store, "Space") == ["space"]  # found by its title alone


@pytest.mark.parametrize("question", NASTY)
def test_fts_syntax_in_questions_never_raises(question):
    store = store_with(TEXTS)
    hits = store.lexical_search(question, 5)
    assert all(isinstance(pid, int) for pid, _ in hits)


def test_syntax_characters_are_searched_as_words():
    store = store_with(TEXTS)
    assert doc_ids(store, 'What is "Deimos') == ["space"]
    assert set(doc_ids(store, "Mars AND NOT Phobos")) == {"space", "moons"}  # NOT excludes nothing
    assert doc_ids(store, "title:Space") == ["space"]
    assert doc_ids(store, "what is it?") == [] and doc_ids(store, "") == []


def test_random_punctuation_never_raises():
    store = store_with(TEXTS)
    rng = random.Random(7)
    alphabet = list("\"'*^:-+()[]{},.;!?~`@#$%&|\\/<> \t") + ["AND", "OR", "NOT", "NEAR", "Mars", "é", "x"]
    for _ in range(300):
        store.lexical_search("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))), 3)


def test_deletes_and_readds_stay_in_step():
    store = store_with(TEXTS)
    assert store.lexical_ids() == store.passage_ids()
    with store.conn:
        store.delete_documents(["space"])
    assert store.lexical_ids() == store.passage_ids() and "space" not in doc_ids(store, "Deimos fourth planet")
    text = "Mars has a thin atmosphere of carbon dioxide."
    with store.conn:
        store.add_document(Document("space", text), "h2", [Passage(text, "space", 0, len(text))])
    assert store.lexical_ids() == store.passage_ids()
    assert doc_ids(store, "atmosphere") == ["space"] and doc_ids(store, "Deimos") == []


def test_reindexing_a_changed_document_keeps_words_in_step(tmp_path, standin_dir):
    r = Retriever(tmp_path / "ix", model=standin_dir / "dynamic")
    r.add([Document(d, t, title) for d, (title, t) in TEXTS.items()])
    r.add([Document("plants", "Chlorophyll in leaves captures light for the plant.", "Plants")])
    store = r.index.store
    assert store.lexical_ids() == store.passage_ids() and len(store.passage_ids()) == 4
    assert r.search("photosynthesis sugar", k=3, mode="lexical") == []
    hits = r.search("chlorophyll", k=3, mode="lexical")
    assert [h.passage.doc_id for h in hits] == ["plants"] and hits[0].found_by == {"lexical": 1}
    assert hits[0].passage.text.startswith("Chlorophyll")
    r.index.check()


def test_check_detects_a_lexical_index_out_of_step(tmp_path, standin_dir):
    r = Retriever(tmp_path / "ix", model=standin_dir / "dynamic")
    r.add([Document(d, t, title) for d, (title, t) in TEXTS.items()])
    conn = sqlite3.connect(tmp_path / "ix" / "store.sqlite")
    lexical.remove(conn, [conn.execute("SELECT min(id) FROM passages").fetchone()[0]])
    conn.commit()
    conn.close()
    with pytest.raises(OpenbookError, match="inconsistent.*lexical"):
        Index.open(tmp_path / "ix")
