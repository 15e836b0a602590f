"""What the command line does before any model loads: its version, and refusing an empty question."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import openbook


def run(*args: str, tmp_path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OPENBOOK_INDEXES": str(tmp_path / "indexes")}
    return subprocess.run([sys.executable, "-m", "openbook.cli", *args], capture_output=True, text=True, env=env)


def test_version(tmp_path) -> None:
    result = run("--version", tmp_path=tmp_path)
    assert result.returncode == 0 and result.stdout == f"openbook {openbook.__version__}\n"


@pytest.mark.parametrize("command", ["ask", "search"])
@pytest.mark.parametrize("question", ["", "   \t"])
def test_empty_question_is_refused_in_one_line(tmp_path, command: str, question: str) -> None:
    result = run(command, question, tmp_path=tmp_path)
    assert result.returncode == 1 and result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: the question is empty")
    assert not (tmp_path / "indexes").exists()
