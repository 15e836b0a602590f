"""kill -9 at every step of the commit path: afterwards SQLite, FTS5, the vector BLOBs and FAISS hold the same passage
ids, every checkpoint file is one the ``checkpoints`` table names, and running the writes again completes them."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from openbook.index.folder import Index
from tests.index.crash_writer import STEPS
from tests.index.helpers import consistent_ids

ROOT = Path(__file__).resolve().parents[2]


def write(path: Path, *kill: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tests.index.crash_writer", str(path), *kill],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )


def named_files(path: Path) -> set[str]:
    conn = sqlite3.connect(path / "store.sqlite")
    try:
        return {r[0] for r in conn.execute("SELECT file FROM checkpoints")}
    finally:
        conn.close()


def state(path: Path) -> tuple[list[str], list[tuple[str, int, str]]]:
    """Document ids and every passage (doc id, start, text), after checking the ids agree everywhere."""
    index = Index.open(path)
    try:
        ids = consistent_ids(index)
        passages = sorted((p.doc_id, p.start, p.text) for p in index.store.passages(ids).values())
        return index.store.document_ids(), passages
    finally:
        index.close()


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple:
    path = tmp_path_factory.mktemp("reference") / "ix"
    done = write(path)
    assert done.returncode == 0, done.stderr
    return state(path)


@pytest.mark.slow
@pytest.mark.parametrize("step", STEPS)
def test_kill_at_each_step_leaves_a_consistent_index(tmp_path, step, reference):
    path = tmp_path / "ix"
    occurrence = "2" if step.startswith("checkpoint:") and step not in ("checkpoint:obsolete", "checkpoint:unlinked") else "1"
    killed = write(path, step, occurrence)
    assert killed.returncode == -signal.SIGKILL, f"{step} was never reached: {killed.stderr[-500:]}"
    if (path / "index.json").is_file():
        state(path)  # consistent right after the kill
        on_disk = {p.name for p in path.glob("vectors-*")}
        assert on_disk <= named_files(path) | {f + ".tmp" for f in named_files(path)}
    finished = write(path)  # the same writes again: they complete
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert state(path) == reference
    on_disk = {p.name for p in path.glob("vectors-*")}
    conn = sqlite3.connect(path / "store.sqlite")
    ready = {r[0] for r in conn.execute("SELECT file FROM checkpoints WHERE state = 'ready'")}
    conn.close()
    assert on_disk == ready  # leftovers cleaned; only named checkpoints remain
