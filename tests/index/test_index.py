"""The index: round trip, re-indexing without duplicates, model mismatch, atomic writes and the consistency check."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest

import openbook.index.folder as index_module
from openbook.errors import OpenbookError
from openbook.index.folder import Index
from openbook.retrieval.retriever import Retriever
from openbook.types import Document

DOCS = [
    Document("rivers", "The Thames flows through London. The Seine flows through Paris.", title="Rivers"),
    Document("plants", "Photosynthesis lets plants turn sunlight, water and carbon dioxide into sugar.", title="Plants"),
    Document("space", "Mars is the fourth planet from the Sun and has two small moons.", title="Space"),
]


def ids_of(retriever: Retriever) -> set[str]:
    return {p.doc_id for p in retriever.index.store.passages(retriever.index.store.passage_ids()).values()}


def snapshot(retriever: Retriever):
    index = retriever.index
    return (index.count_documents(), index.count_passages(), sorted(index.vectors.ids().tolist()))


def test_round_trip(tmp_path, standin_dir):
    r = Retriever(tmp_path / "ix", model=standin_dir / "dynamic")
    report = r.add(DOCS)
    assert (report.documents_added, report.passages_added) == (3, 3)
    reopened = Retriever(tmp_path / "ix")  # the index remembers its model
    assert reopened.model_path.resolve() == (standin_dir / "dynamic").resolve()
    hits = reopened.search("Which planet has two moons?", k=2)
    assert hits[0].passage.doc_id == "space" and hits[0].rank == 1
    assert hits[0].score >= hits[1].score
    p = hits[0].passage
    assert DOCS[2].text[p.start : p.end] == p.text and p.title == "Space"
    info = reopened.index.info()
    assert (info["documents"], info["passages"], info["format"]) == (3, 3, 2)


def test_reindex_skips_unchanged_and_replaces_changed(tmp_path, standin_dir):
    r = Retriever(tmp_path / "ix", model=standin_dir / "dynamic")
    r.add(DOCS)
    seq = r.index.generation
    again = r.add(DOCS)
    assert (again.documents_unchanged, again.passages_added) == (3, 0)
    assert r.index.generation == seq  # nothing written to the vector log
    assert r.index.count_passages() == 3
    changed = Document("plants", "Plants use chlorophyll to capture light. Roots take up water.", title="Plants")
    report = r.add([changed])
    assert (report.documents_updated, report.passages_removed, report.passages_added) == (1, 1, 1)
    assert r.index.count_documents() == 3 and r.index.count_passages() == 3
    assert ids_of(r) == {"rivers", "plants", "space"}
    assert r.search("chlorophyll", k=1)[0].passage.text.startswith("Plants use chlorophyll")
    r.index.check()


def test_long_document_is_split_with_offsets(tmp_path, standin_dir):
    text = " ".join(f"Sentence number {i} talks about topic {i % 7} in some detail." for i in range(200))
    r = Retriever(tmp_path / "ix", model=standin_dir / "dynamic")
    report = r.add([Document("long", text)], passage_tokens=64)
    assert report.passages_added > 10
    passages = r.index.store.passages(r.index.store.passage_ids()).values()
    assert all(text[p.start : p.end] == p.text for p in passages)


def test_other_model_is_refused(tmp_path, standin_dir):
    Retriever(tmp_path / "ix", model=standin_dir / "dynamic").add(DOCS)
    with pytest.raises(OpenbookError, match="cannot be searched with this model") as err:
        Retriever(tmp_path / "ix", model=standin_dir / "static")
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("where", ["encode", "commit"])
def test_interrupted_write_leaves_previous_index_whole(tmp_path, standin_dir, monkeypatch, where):
    r = Retriever(tmp_path / "ix", model=standin_dir / "dynamic")
    r.add(DOCS[:2])
    before = snapshot(r)
    files_before = sorted(p.name for p in (tmp_path / "ix").iterdir() if "-wal" not in p.name and "-shm" not in p.name)

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    if where == "encode":
        monkeypatch.setattr(r, "encode_passages", boom)
    else:  # everything written but the COMMIT of the batch
        monkeypatch.setattr(index_module, "step", lambda name: boom() if name == "batch:encoded" else None)
        import openbook.retrieval.indexer as indexer_module

        monkeypatch.setattr(indexer_module, "step", lambda name: boom() if name == "batch:encoded" else None)
    with pytest.raises(KeyboardInterrupt) as err:
        r.add([DOCS[2], Document("rivers", "Changed text about rivers.")])
    assert str(err.value) == "interrupted: 0 of 2 passages committed; run again to continue"
    monkeypatch.undo()
    fresh = Retriever(tmp_path / "ix")
    assert snapshot(fresh) == before
    after = sorted(p.name for p in (tmp_path / "ix").iterdir() if "-wal" not in p.name and "-shm" not in p.name)
    assert after == files_before
    assert fresh.search("Thames London", k=1)[0].passage.doc_id == "rivers"
    fresh.add(DOCS)  # and the next write works
    assert fresh.index.count_documents() == 3


def test_leftover_checkpoint_of_a_killed_writer_is_ignored_then_cleaned(tmp_path, standin_dir):
    r = Retriever(tmp_path / "ix", model=standin_dir / "dynamic")
    r.add(DOCS[:1])
    folder = tmp_path / "ix"
    conn = sqlite3.connect(folder / "store.sqlite")
    with conn:  # what a writer killed while writing a checkpoint leaves: a 'writing' row and half a file
        conn.execute("INSERT INTO checkpoints(seq, file, kind, count, state) VALUES (99, 'vectors-99.faiss', 'flat', 1, 'writing')")
    conn.close()
    (folder / "vectors-99.faiss.tmp").write_bytes(b"half written")
    (folder / "notes.tmp").write_bytes(b"not ours")  # a foreign file is never touched
    assert Retriever(folder).index.count_documents() == 1
    r2 = Retriever(folder)
    r2.add(DOCS[1:2])
    names = sorted(p.name for p in folder.iterdir() if "-wal" not in p.name and "-shm" not in p.name)
    assert names == [".lock", "index.json", "notes.tmp", "store.sqlite"]
    assert r2.index.count_documents() == 2


def test_disagreeing_store_and_vectors_are_detected(tmp_path, standin_dir):
    r = Retriever(tmp_path / "ix", model=standin_dir / "dynamic")
    r.add(DOCS)
    conn = sqlite3.connect(tmp_path / "ix" / "store.sqlite")
    with conn:
        conn.execute("DELETE FROM vectors WHERE id = (SELECT min(id) FROM vectors)")
    conn.close()
    with pytest.raises(OpenbookError, match="inconsistent"):
        Index.open(tmp_path / "ix")


def test_missing_or_malformed_index(tmp_path):
    with pytest.raises(OpenbookError, match="no index at"):
        Index.open(tmp_path / "none")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "index.json").write_text("{not json")
    with pytest.raises(OpenbookError, match="malformed"):
        Index.open(tmp_path / "bad")


def test_default_model_finds_the_right_passage(tmp_path, vocab):
    """The committed INT8 retriever ranks by meaning, not shared words."""
    r = Retriever(tmp_path / "ix", model=vocab.parent)
    r.add(DOCS)
    assert r.search("What do leaves make from light?", k=1)[0].passage.doc_id == "plants"
    assert r.search("Which city lies on the Seine?", k=1)[0].passage.doc_id == "rivers"
    scores = [h.score for h in r.search("red planet", k=3)]
    assert scores == sorted(scores, reverse=True) and np.all(np.array(scores) <= 1.0001)
    manifest = json.loads((tmp_path / "ix" / "index.json").read_text())
    assert manifest["model"]["name"] == "retriever-minilm-squad11-int8"


def test_ivf_index_adds_removes_and_searches_by_id(tmp_path, standin_dir):
    topics = ["rivers", "planets", "bread", "chess", "glaciers", "music", "trains", "birds"]
    docs = [
        Document(f"d{i}", f"Note {i} about {topics[i % 8]}: {topics[i % 8]} and more {topics[i % 8]} facts.")
        for i in range(400)
    ]
    r = Retriever(tmp_path / "ix", model=standin_dir / "dynamic")
    r.add(docs, index_type="ivf")
    assert r.index.vectors.kind == "ivf" and r.index.info()["index_type"] == "ivf"
    assert r.search("planets planets", k=3)[0].passage.text.endswith("planets facts.")
    changed = Document("d1", "This note is now about volcanoes and lava.")
    report = r.add([changed])
    assert (report.passages_removed, report.passages_added) == (1, 1)
    assert r.index.vectors.kind == "ivf"  # stays approximate
    assert r.index.count_passages() == len(r.index.vectors) == 400
    r.index.check()
    reopened = Retriever(tmp_path / "ix")
    assert reopened.index.vectors.kind == "ivf" and len(reopened.index.vectors) == 400


def test_ivf_can_turn_flat_again_from_the_stored_vectors(tmp_path, standin_dir):
    docs = [Document(f"d{i}", f"Short note number {i} on a topic.") for i in range(100)]
    r = Retriever(tmp_path / "ix", model=standin_dir / "dynamic")
    r.add(docs, index_type="ivf")
    assert r.index.vectors.kind == "ivf"
    r.add(docs, index_type="flat")
    assert Retriever(tmp_path / "ix").index.vectors.kind == "flat" and r.index.count_passages() == 100
