"""Readers in other processes never fail while a writer commits hundreds of times; a second writer waits for the lock."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from openbook.errors import OpenbookError
from openbook.index import folder
from openbook.retrieval.indexer import Indexer
from tests.index.helpers import consistent_ids, docs, encode, make_index, split

ROOT = Path(__file__).resolve().parents[2]


def test_two_reader_processes_never_fail_while_a_writer_commits(tmp_path, monkeypatch):
    monkeypatch.setattr(folder, "CHECKPOINT_MIN", 25)  # checkpoints (and old ones removed) all through the run
    path = tmp_path / "ix"
    index = make_index(path)
    Indexer(index, split, encode).add(docs(0, 50))
    stop = tmp_path / "stop"
    readers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.index.reader_loop", str(path), str(stop)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for _ in range(2)
    ]
    try:
        time.sleep(1.0)  # let both readers start
        commits = 0
        for n in range(150):  # 300 commits: an add and a remove each round
            Indexer(index, split, encode).add(docs(1000 + n, 1))
            Indexer(index).remove([f"d{n}"] if n < 50 else [f"d{1000 + n - 50}"])
            commits += 2
    finally:
        stop.touch()
        results = [json.loads(r.communicate(timeout=60)[0]) for r in readers]
    assert commits == 300
    print(f"readers: {[{k: r[k] for k in ('opens', 'searches', 'failures')} for r in results]} over {commits} commits")
    for result in results:
        assert result["failures"] == 0, result["errors"]
        assert result["opens"] > 10 and result["searches"] > 20
    consistent_ids(index)
    checkpoints = folder.checkpoints(index.store.conn)
    assert 1 <= len(checkpoints) <= folder.KEEP_CHECKPOINTS
    assert {p.name for p in path.glob("vectors-*")} == {c.file for c in checkpoints}


def test_second_writer_waits_for_the_lock_then_gives_up_with_one_line(tmp_path, monkeypatch):
    path = tmp_path / "ix"
    make_index(path)
    holder = subprocess.Popen(
        [sys.executable, "-c", (
            "import sys, time; from openbook.index.folder import Index\n"
            f"with Index.open(sys.argv[1]).writer():\n    print('held', flush=True); time.sleep(3)"
        ), str(path)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        index = make_index(path)
        start = time.monotonic()
        with pytest.raises(OpenbookError, match="being written by another process") as err:
            with index.writer(timeout=0.5):
                pass
        assert 0.4 < time.monotonic() - start < 2.5 and "\n" not in str(err.value)
        report = Indexer(index, split, encode).add(docs(0, 2))  # the default wait outlasts the holder
        assert report.documents_added == 2
    finally:
        holder.wait(timeout=30)
