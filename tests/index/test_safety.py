"""What a user can meet at the command line: each storage error is one line and exit 1 with the index left intact, and
openbook never writes into, nor deletes from, a folder that is not its own."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from openbook.errors import OpenbookError
from openbook.index.folder import Index
from openbook.index.names import check_name, resolve_index
from openbook.retrieval.indexer import Indexer
from tests.index.helpers import consistent_ids, docs, encode, format_1_index, make_index, split

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "examples" / "corpus"


def run(*args: str, indexes: Path, limit_bytes: int | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "OPENBOOK_INDEXES": str(indexes), "COLUMNS": "200", "OPENBOOK_LOCK_TIMEOUT": "5"}

    def limit() -> None:  # a full disk: writes past limit_bytes fail (EFBIG) instead of killing the process
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return subprocess.run(
        [sys.executable, "-m", "openbook.cli", *args], capture_output=True, text=True, env=env, timeout=300,
        preexec_fn=limit if limit_bytes else None,
    )


def one_line_error(result: subprocess.CompletedProcess, *parts: str) -> str:
    assert result.returncode == 1, (result.returncode, result.stderr[-2000:])
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr[-2000:]
    for part in parts:
        assert part in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def built(tmp_path) -> Path:
    """An index of 120 synthetic documents (no model needed) under tmp_path/indexes/default."""
    path = tmp_path / "indexes" / "default"
    index = make_index(path)
    Indexer(index, split, encode).add(docs(0, 120))
    index.close()  # the last connection folds the WAL into store.sqlite
    return path


def documents_of(path: Path) -> list[str]:
    index = Index.open(path)
    try:
        consistent_ids(index)
        return index.store.document_ids()
    finally:
        index.close()


# --- item 4: names and foreign folders ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["", ".", "..", "../x", "a/b", "/tmp/x", "a b", "~x", "x\\y"])
def test_bad_index_names_are_refused(name, tmp_path):
    with pytest.raises(OpenbookError, match="invalid index name"):
        check_name(name)
    if name in ("", "..", "a/b"):  # the command line says the same in one line
        result = run("info", "--index", name, indexes=tmp_path / "indexes")
        one_line_error(result, "invalid index name")
        assert not (tmp_path / "indexes").exists()


def test_names_and_index_dir_resolve_inside_their_folder(tmp_path):
    assert resolve_index("notes", tmp_path) == tmp_path / "notes"
    assert resolve_index(None, tmp_path) == tmp_path / "default"
    assert resolve_index("v1.2_x-y", tmp_path).name == "v1.2_x-y"


def test_a_folder_holding_other_files_is_never_written(tmp_path, vocab):
    target = tmp_path / "mine" / "default"
    target.mkdir(parents=True)
    for name in ("draft.tmp", "store-1.sqlite", "vectors-2.faiss", "thesis.txt"):
        (target / name).write_text("precious")
    result = run("index", str(CORPUS / "chess.txt"), "--index-dir", str(tmp_path / "mine"), indexes=tmp_path / "x")
    one_line_error(result, "not an openbook index")
    assert sorted(p.name for p in target.iterdir()) == ["draft.tmp", "store-1.sqlite", "thesis.txt", "vectors-2.faiss"]
    assert all(p.read_text() == "precious" for p in target.iterdir())


def test_index_dir_takes_an_empty_folder(tmp_path, vocab):
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    assert run("index", str(CORPUS / "chess.txt"), "--index-dir", str(folder), indexes=tmp_path / "x").returncode == 0
    assert documents_of(folder / "default") == ["chess.txt"]
    assert not (tmp_path / "x").exists()


def test_a_lost_manifest_never_costs_the_data(built, tmp_path):
    before = documents_of(built)
    (built / "index.json").unlink()
    result = run("info", "--json", indexes=tmp_path / "indexes")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["documents"] == len(before) == 120
    assert (built / "index.json").is_file() and documents_of(built) == before
    (built / "index.json").unlink()
    Indexer(make_index(built), split, encode).add(docs(120, 1))  # a write after the loss keeps everything
    assert len(documents_of(built)) == 121


def test_drop_removes_only_its_own_files(built, tmp_path):
    (built / "mine.txt").write_text("keep me")
    result = run("drop", "default", "--yes", indexes=tmp_path / "indexes")
    assert result.returncode == 0, result.stderr
    assert [p.name for p in built.iterdir()] == ["mine.txt"]


# --- item 5: every storage error is one line, exit 1, index intact -----------------------------------------------------
def test_disk_full_is_one_line_and_keeps_the_index(tmp_path, vocab):
    indexes = tmp_path / "indexes"
    assert run("index", str(CORPUS), indexes=indexes).returncode == 0
    before = documents_of(indexes / "default")
    extra = tmp_path / "extra"
    extra.mkdir()
    for n in range(30):
        (extra / f"e{n}.txt").write_text(" ".join(f"word{n}x{i}" for i in range(300)))
    size = max(p.stat().st_size for p in (indexes / "default").iterdir())
    result = run("index", str(extra), "--json", indexes=indexes, limit_bytes=size + 32_000)
    one_line_error(result, "disk is full")
    assert documents_of(indexes / "default")[: len(before)] == before or set(before) <= set(
        documents_of(indexes / "default")
    )


@pytest.mark.parametrize(
    "content,message",
    [
        ("[]", "expected a JSON object"),
        ('{"format": 1, "generation": "abc", "model": {}}', "'generation' must be an integer"),
        ('{"format": 2}', "no 'model' object"),
        ('{"format": "2", "model": {}}', "no integer 'format'"),
        ("{not json", "malformed"),
        ('{"format": 9, "model": {}}', "newer openbook"),
        ('{"format": 2, "model": {"dimension": "16", "metric": "ip"}}', "'model.dimension' must be a whole number"),
        ('{"format": 2, "model": {"metric": "ip"}}', "'model.dimension' must be a whole number from 1, not None"),
        ('{"format": 2, "model": {"dimension": 16, "metric": "cosine"}}', "'model.metric' must be one of ip, l2"),
    ],
)
def test_malformed_manifest_is_one_line(built, tmp_path, content, message):
    good = (built / "index.json").read_text()
    (built / "index.json").write_text(content)
    one_line_error(run("info", indexes=tmp_path / "indexes"), message)
    (built / "index.json").write_text(good)
    assert len(documents_of(built)) == 120


@pytest.mark.parametrize(
    "content,message",
    [
        ('{"passage_tokens": 0}', "'passage_tokens' must be a whole number from 1, not 0"),
        ('{"passage_tokens": "256"}', "'passage_tokens' must be a whole number from 1, not '256'"),
        ('{"index_type": "foo"}', "unknown index type 'foo'"),
        ('{"nlist": -1}', "'nlist' must be a whole number from 1, not -1"),
        ("[256]", "expected a JSON object"),
        ("{not json", "not JSON"),
    ],
)
def test_malformed_settings_are_one_line(built, tmp_path, content, message):
    """A malformed value in the settings the store keeps stops reads and writes with one line; nothing is changed."""
    store = sqlite3.connect(built / "store.sqlite")
    good = store.execute("SELECT value FROM meta WHERE key = 'settings'").fetchone()[0]
    with store:
        store.execute("UPDATE meta SET value = ? WHERE key = 'settings'", (content,))
    for command in (("info",), ("remove", "d1")):
        one_line_error(run(*command, indexes=tmp_path / "indexes"), "index default: malformed settings", message)
    with store:
        store.execute("UPDATE meta SET value = ? WHERE key = 'settings'", (good,))
    store.close()
    assert len(documents_of(built)) == 120


@pytest.mark.parametrize("damage", ["garbled", "truncated", "empty"])
def test_corrupt_store_is_one_line(built, tmp_path, damage):
    store = built / "store.sqlite"
    data = store.read_bytes()
    if damage == "garbled":
        store.write_bytes(bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8)) + data[4096:])
    elif damage == "truncated":
        store.write_bytes(data[: len(data) // 3])
    else:
        store.write_bytes(b"")
    for command in (("info",), ("remove", "d1")):
        one_line_error(run(*command, indexes=tmp_path / "indexes"), "default")


def test_read_only_file_is_one_line_and_intact(built, tmp_path):
    store = built / "store.sqlite"
    if subprocess.run(["chattr", "+i", str(store)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not permitted here")
    try:
        one_line_error(run("remove", "d1", indexes=tmp_path / "indexes"), "default")
        assert run("info", indexes=tmp_path / "indexes").returncode == 0
    finally:
        subprocess.run(["chattr", "-i", str(store)], check=True)
    assert "d1" in documents_of(built)


def test_read_only_file_system_is_one_line(built, tmp_path):
    mnt = tmp_path / "ro"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mnt)], capture_output=True).returncode:
        pytest.skip("mounting a tmpfs is not permitted here")
    try:
        shutil.copytree(built, mnt / "default")
        subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
        one_line_error(run("remove", "d1", indexes=mnt), "default")
        result = run("documents", "--json", "--limit", "3", indexes=mnt)  # reading still works
        assert result.returncode == 0 and len(json.loads(result.stdout)) == 3
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


@pytest.mark.parametrize("damage", ["flipped", "foreign", "missing"])
def test_damaged_checkpoint_is_detected_and_rebuilt_from_the_stored_vectors(built, damage):
    index = Index.open(built)
    with index.writer() as w:
        assert w.maybe_checkpoint(force=True)
    [ck] = [p for p in built.glob("vectors-*.faiss")]
    query = encode(split(docs(5, 1)[0]))[:1]
    expected = index.vectors.search(query, 5)
    index.close()
    if damage == "flipped":
        data = bytearray(ck.read_bytes())
        for at in range(len(data) - 4000, len(data) - 3000, 7):  # inside the vector data
            data[at] ^= 0xFF
        ck.write_bytes(bytes(data))
    elif damage == "foreign":
        import faiss

        other = faiss.IndexIDMap2(faiss.IndexFlatIP(16))
        other.add_with_ids(np.eye(16, dtype=np.float32), np.arange(16))
        faiss.write_index(other, str(ck))
    else:
        ck.unlink()
    reopened = Index.open(built)
    scores, ids = reopened.vectors.search(query, 5)
    assert reopened.rebuilt or damage == "missing"
    assert ids.tolist() == expected[1].tolist() and np.allclose(scores, expected[0], atol=1e-5)
    consistent_ids(reopened)


# --- options are checked before any work ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "option,message", [(("--index-type", "foo"), "unknown index type"), (("--passage-tokens", "0"), "passage tokens")]
)
def test_bad_options_fail_before_anything_is_read(tmp_path, vocab, option, message):
    result = run("index", str(tmp_path / "not-read-yet.txt"), *option, indexes=tmp_path / "indexes")
    one_line_error(result, message)
    assert not (tmp_path / "indexes").exists()


def test_format_1_index_is_upgraded_once_without_loss(tmp_path):
    """A flat format-1 index (store-N.sqlite + vectors-N.faiss) becomes format 2 with the same documents and vectors."""
    path = tmp_path / "indexes" / "old"
    vectors = format_1_index(path, 3)
    (path / "keep.me").write_text("foreign")
    index = Index.open(path)
    assert index.manifest["format"] == 2 and consistent_ids(index) == [1, 2]
    _, ids = index.vectors.search(vectors[1:], 1)
    assert ids[0, 0] == 2 and index.store.lexical_search("planets", 1)[0][0] == 2
    assert sorted(p.name for p in path.iterdir() if "-wal" not in p.name and "-shm" not in p.name) == [
        ".lock", "index.json", "keep.me", "store.sqlite",
    ]
