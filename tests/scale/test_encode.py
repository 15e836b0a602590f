"""openbook encode: Parquet of passages and vectors, in-process and on Ray Data, the same either way."""

from __future__ import annotations

import json

import numpy as np
import pytest

from openbook.errors import OpenbookError
from openbook.ingest.loaders import load_documents
from openbook.retrieval.retriever import Retriever
from openbook.scale.encode import MODEL_KEY, encode, iter_encoded, open_encoded
from tests.conftest import DEFAULT_RETRIEVER
from tests.scale.conftest import CORPUS, SMALL_PASSAGES


@pytest.fixture(scope="module")
def expected(tmp_path_factory, vocab):
    """The passages ``Retriever.add`` would make of the corpus, by key, and their in-process ``encode_passages``
    vectors."""
    r = Retriever(tmp_path_factory.mktemp("idx") / "unused", model=DEFAULT_RETRIEVER)
    passages = {}
    for doc in load_documents([CORPUS]):
        for n, p in enumerate(r.split(doc, SMALL_PASSAGES)):
            passages[f"{doc.id}#{n}"] = p
    vectors = r.encode_passages(list(passages.values()))
    return passages, dict(zip(passages, vectors)), r.manifest.identity()


def read_back(folder):
    encoded = open_encoded(folder)
    items = list(iter_encoded(encoded))
    keys = [f"{doc.id}#{n}" for doc, ps, _ in items for n in range(len(ps))]
    vectors = {k: v for k, v in zip(keys, np.concatenate([v for _, _, v in items]))}
    passages = {f"{doc.id}#{n}": p for doc, ps, _ in items for n, p in enumerate(ps)}
    return encoded, items, keys, passages, vectors


def check_against(expected, folder, pyarrow) -> None:
    want_passages, want_vectors, identity = expected
    encoded, items, keys, passages, vectors = read_back(folder)
    assert encoded.model == identity
    assert len(keys) == len(set(keys)) == encoded.passages  # unique
    assert set(keys) == set(want_passages)  # complete
    for key, p in passages.items():
        w = want_passages[key]
        assert (p.text, p.start, p.end, p.doc_id, p.title) == (w.text, w.start, w.end, w.doc_id, w.title)
    got = np.stack([vectors[k] for k in want_passages])
    assert np.allclose(got, np.stack(list(want_vectors.values())), atol=1e-5)
    docs = {doc.id: doc for doc in load_documents([CORPUS])}
    for doc, ps, _ in items:
        assert (
            doc.text == docs[doc.id].text and doc.title == docs[doc.id].title and doc.metadata == docs[doc.id].metadata
        )
        assert all(doc.text[p.start : p.end] == p.text for p in ps)
    import pyarrow.parquet as pq

    for path in encoded.files:
        schema = pq.read_schema(path)
        assert schema.field("vector").type == pyarrow.list_(pyarrow.float32(), 384)
        assert json.loads(schema.metadata[MODEL_KEY]) == identity


def test_in_process_encode_writes_the_retrievers_passages_and_vectors(tmp_path, expected, pyarrow):
    report = encode([CORPUS], tmp_path / "out", DEFAULT_RETRIEVER, passage_tokens=SMALL_PASSAGES)
    assert report.documents == 12 and report.passages == len(expected[0]) > 20
    check_against(expected, tmp_path / "out", pyarrow)


def test_ray_encode_equals_in_process_vectors(tmp_path, expected, pyarrow, ray_cluster):
    report = encode(
        [CORPUS], tmp_path / "out", DEFAULT_RETRIEVER, passage_tokens=SMALL_PASSAGES, ray_address="local", batch_rows=16
    )
    assert report.ray == "local" and report.passages == len(expected[0])
    check_against(expected, tmp_path / "out", pyarrow)


def test_ray_encode_cuts_one_files_passages_into_blocks_of_batch_rows(tmp_path, pyarrow, ray_cluster, vocab):
    """An actor pool hands out whole blocks: one file's passages must reach the encoders as blocks of ``batch_rows``,
    or one actor encodes them all. Ray's Parquet writer writes a file per block, so the files show the blocks."""
    import pyarrow.parquet as pq

    notes = tmp_path / "notes.jsonl"
    notes.write_text(
        "".join(
            json.dumps({"id": f"n{i}", "text": f"Note {i}: honeybees dance to show where flowers are."}) + "\n"
            for i in range(50)
        )
    )
    report = encode([notes], tmp_path / "out", DEFAULT_RETRIEVER, ray_address="local", batch_rows=8)
    rows = sorted(pq.read_metadata(tmp_path / "out" / name).num_rows for name in report.files)
    assert report.passages == sum(rows) == 50
    # blocks of 8, the last 2 passages alone or joined to another block on the way to an actor (before: one block
    # of all 50)
    assert len(rows) >= 6 and max(rows) < 2 * 8 and rows.count(8) >= 5


def test_ray_encode_reports_a_bad_file_in_one_line(tmp_path, ray_cluster, vocab):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "fine.txt").write_text("Honeybees dance to show where flowers are.")
    (tmp_path / "docs" / "broken.jsonl").write_text('{"text": "fine"}\n{"text": "unterminated\n')
    with pytest.raises(OpenbookError, match=r"broken.jsonl:2: malformed JSON"):
        encode([tmp_path / "docs"], tmp_path / "out", DEFAULT_RETRIEVER, ray_address="local")


def test_encode_never_writes_into_a_folder_it_did_not_make(tmp_path, vocab):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(OpenbookError, match="not an empty folder"):
        encode([CORPUS], out, DEFAULT_RETRIEVER)
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_reading_back_refuses_a_folder_with_a_missing_passage(tmp_path, pyarrow, vocab):
    import pyarrow.parquet as pq

    encode([CORPUS], tmp_path / "out", DEFAULT_RETRIEVER, passage_tokens=SMALL_PASSAGES)
    path = tmp_path / "out" / "part-00000.parquet"
    table = pq.read_table(path)
    pq.write_table(table.slice(0, table.num_rows - 1), path)  # the last document loses its last passage
    with pytest.raises(OpenbookError, match="is incomplete"):
        list(iter_encoded(open_encoded(tmp_path / "out")))
    with pytest.raises(OpenbookError, match="no .parquet files"):
        open_encoded(tmp_path)


def test_the_command_line_takes_batch_rows_and_refuses_a_bad_one_in_one_line(tmp_path, vocab):
    import os
    import subprocess
    import sys

    env = {**os.environ, "COLUMNS": "200"}
    cmd = [sys.executable, "-m", "openbook.cli", "encode", str(CORPUS), "--ray", "local"]
    bad = subprocess.run(
        [*cmd, "--out", str(tmp_path / "bad"), "--batch-rows", "0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert bad.returncode == 1 and bad.stderr.strip().splitlines() == ["error: batch_rows must be at least 1, not 0"]
    assert not (tmp_path / "bad").exists()
    shown = subprocess.run([*cmd[:4], "--help"], capture_output=True, text=True, env=env, timeout=300, check=True)
    assert "--batch-rows" in shown.stdout
