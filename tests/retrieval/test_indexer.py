"""The write path: bounded batches, long documents in segments, Ctrl-C keeps what was committed and a second run goes
on without encoding it again; remove, add_encoded, documents, relative ids and sync."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from openbook.errors import OpenbookError
from openbook.index.folder import Index
from openbook.retrieval import indexer
from openbook.retrieval.indexer import Indexer, segments
from openbook.retrieval.retriever import Retriever
from openbook.types import Document
from tests.index.helpers import MODEL, consistent_ids, docs, encode, make_index, split, text

ROOT = Path(__file__).resolve().parents[2]


def long_text(sentences: int) -> str:
    return " ".join(f"Sentence {n} is about {text(n, 6)}" for n in range(sentences))


def test_segments_cover_the_text_and_cut_at_spaces():
    body = long_text(400)
    spans = segments(body, 1000)
    assert spans[0][0] == 0 and spans[-1][1] == len(body)
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
    assert all(e - s <= 1000 for s, e in spans) and all(body[e - 1] == " " for _, e in spans[:-1])
    assert segments(body, 1000) == spans  # the same cuts every time: a resumed run finds its place


def test_batches_commit_every_few_thousand_passages(tmp_path, monkeypatch):
    monkeypatch.setattr(indexer, "COMMIT_PASSAGES", 10)
    index = make_index(tmp_path / "ix")
    calls: list[int] = []

    def counted(passages):
        calls.append(len(passages))
        return encode(passages)

    report = Indexer(index, split, counted).add(docs(0, 30))
    assert report.passages_added == sum(calls) == 60 and max(calls) <= 10 + 2  # bounded batches
    assert len(calls) >= 5
    consistent_ids(index)


def test_long_document_is_staged_then_published_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(indexer, "SEGMENT_CHARS", 2000)
    index = make_index(tmp_path / "ix")
    doc = Document("long", long_text(300), title="Long")
    seen_by_reader: list[int] = []

    def encode_and_look(passages):
        seen_by_reader.append(Index.open(index.path).count_passages())  # a reader while segments are staged
        return encode(passages)

    report = Indexer(index, split, encode_and_look).add([doc])
    assert set(seen_by_reader) == {0}  # never half a document
    passages = index.store.passages(consistent_ids(index)).values()
    assert report.passages_added == len(passages) > 10
    assert all(doc.text[p.start : p.end] == p.text for p in passages)
    assert index.store.pending_count() == 0


def test_interrupt_keeps_staged_segments_and_the_next_run_resumes(tmp_path, monkeypatch):
    monkeypatch.setattr(indexer, "SEGMENT_CHARS", 2000)
    index = make_index(tmp_path / "ix")
    doc = Document("long", long_text(300), title="Long")
    encoded: list[int] = []

    def stop_at_third(passages):
        if len(encoded) == 2:
            raise KeyboardInterrupt
        encoded.append(len(passages))
        return encode(passages)

    with pytest.raises(indexer.Interrupted) as err:
        Indexer(index, split, stop_at_third).add([doc])
    assert err.value.committed == sum(encoded) and index.count_passages() == 0
    assert str(err.value).startswith(f"interrupted: {sum(encoded)} of ")
    again: list[int] = []
    report = Indexer(index, split, lambda ps: (again.append(len(ps)), encode(ps))[1]).add([doc])
    assert report.passages_resumed == sum(encoded)
    total = len(split(Document("x", doc.text))) and index.count_passages()
    assert sum(again) + sum(encoded) == total  # nothing encoded twice
    consistent_ids(index)


def test_ctrl_c_in_a_real_process_then_rerun_finishes_without_reencoding(tmp_path, standin_dir):
    body = tmp_path / "book.txt"
    body.write_text(long_text(500))
    env = {**os.environ, "OPENBOOK_INDEXES": str(tmp_path / "indexes")}

    def run(counts: Path, *stop: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "tests.retrieval.resume_script", str(body), str(standin_dir / "dynamic"),
             str(counts), *stop],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
        )

    first = run(tmp_path / "first", "4")
    assert first.returncode == 130, first.stderr[-2000:]
    last = first.stderr.strip().splitlines()[-1]
    match = re.fullmatch(r"interrupted: ([\d,]+) of ([\d,]+) passages committed; run again to continue", last)
    assert match, first.stderr[-2000:]
    committed = int(match.group(1).replace(",", ""))
    first_counts = [int(x) for x in (tmp_path / "first").read_text().split()]
    assert committed == sum(first_counts[:3]) > 0  # three segments kept, the fourth (encoded, not committed) lost
    second = run(tmp_path / "second")
    assert second.returncode == 0, second.stderr[-2000:]
    report = json.loads(second.stdout)
    second_encoded = sum(int(x) for x in (tmp_path / "second").read_text().split())
    assert report["passages_resumed"] == committed
    assert second_encoded == report["index"]["passages"] - committed  # the committed part was not encoded again


def test_remove_documents_and_add_encoded(tmp_path):
    index = make_index(tmp_path / "ix")
    items = [(d, split(d), encode(split(d))) for d in docs(0, 5)]
    report = Indexer(index).add_encoded(items, MODEL.identity())
    assert report.documents_added == 5
    removed = Indexer(index).remove(["d1", "d3", "nope"])
    assert (removed.documents_removed, removed.unknown) == (2, ["nope"]) and removed.passages_removed > 0
    assert index.store.document_ids() == ["d0", "d2", "d4"]
    consistent_ids(index)
    with pytest.raises(OpenbookError, match="cannot take these vectors"):
        Indexer(index).add_encoded(items, {**MODEL.identity(), "dimension": 32, "name": "other"})
    bad = [(docs(9, 1)[0], split(docs(9, 1)[0]), np.zeros((1, 3), np.float32))]
    with pytest.raises(OpenbookError, match="vectors of shape"):
        Indexer(index).add_encoded(bad, MODEL.identity())


def test_retriever_lifecycle_and_allowed_ids(tmp_path, standin_dir):
    r = Retriever(tmp_path / "ix", model=standin_dir / "dynamic")
    r.add([Document(f"n{i}", f"Note {i} about rivers and {['bread', 'chess'][i % 2]}.", source="") for i in range(20)])
    assert [d["id"] for d in r.documents(limit=3)] == ["n0", "n1", "n10"]
    assert r.documents(where="n1")[0]["passages"] == 1 and "indexed_at" in r.documents()[0]
    allowed = np.array(r.index.store.passage_ids(["n3", "n5"]))
    _, ids = r.index.vectors.search(r.encode_questions(["rivers bread"]), 5, allowed=allowed)
    assert sorted(i for i in ids[0].tolist() if i >= 0) == sorted(allowed.tolist())
    hits = r.index.store.lexical_search("rivers", 5, allowed=allowed)
    assert sorted(pid for pid, _ in hits) == sorted(allowed.tolist())
    assert r.remove(["n3", "missing"]) == 1 and len(r.documents()) == 19
    r.index.check()


def test_sync_after_delete_and_folder_rename(tmp_path, vocab):
    folder = tmp_path / "notes"
    (folder / "sub").mkdir(parents=True)
    for name, body in [("a.txt", "Alpha notes about rivers."), ("sub/b.txt", "Beta notes about planets."),
                       ("c.txt", "Gamma notes about bread.")]:
        (folder / name).write_text(body)
    env = {**os.environ, "OPENBOOK_INDEXES": str(tmp_path / "indexes")}

    def index(path: Path) -> dict:
        result = subprocess.run([sys.executable, "-m", "openbook.cli", "index", str(path), "--sync", "--json"],
                                env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    assert index(folder)["documents_added"] == 3
    (folder / "c.txt").unlink()
    report = index(folder)
    assert (report["documents_removed"], report["index"]["documents"]) == (1, 2)
    moved = folder.rename(tmp_path / "renamed")
    report = index(moved)
    assert (report["documents_unchanged"], report["documents_added"], report["index"]["documents"]) == (2, 0, 2)
    listed = json.loads(subprocess.run([sys.executable, "-m", "openbook.cli", "documents", "--json"], env=env,
                                       capture_output=True, text=True, timeout=300).stdout)
    assert [d["id"] for d in listed] == ["a.txt", "sub/b.txt"]
    assert all(d["source"].startswith(str(moved.resolve())) for d in listed)


def test_same_id_from_two_existing_files_is_a_clear_error(tmp_path):
    index = make_index(tmp_path / "ix")
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    one.write_text("x")
    two.write_text("x")
    Indexer(index, split, encode).add([Document("7", "First text.", source=str(one))])
    with pytest.raises(OpenbookError, match="already taken by"):
        Indexer(index, split, encode).add([Document("7", "Second text.", source=str(two))])
    assert index.store.document("7").text == "First text."


def test_an_index_type_that_cannot_remove_is_rebuilt_from_the_stored_vectors(tmp_path, monkeypatch):
    from openbook.index import folder

    monkeypatch.setattr(folder, "CHECKPOINT_MIN", 5)
    index = make_index(tmp_path / "ix")
    Indexer(index, split, encode).add(docs(0, 20), index_type="HNSW16")
    reader = Index.open(index.path)
    assert reader.vectors.kind == "HNSW16" and len(reader.vectors) == index.count_passages()
    Indexer(index).remove(["d3", "d4"])
    Indexer(index, split, encode).add(docs(20, 2))
    consistent_ids(reader)  # the long-lived reader caught up although HNSW cannot remove
    query = encode(split(docs(21, 1)[0]))[:1]
    _, ids = reader.vectors.search(query, 1)
    assert reader.store.passages([int(ids[0, 0])])[int(ids[0, 0])].doc_id == "d21"
