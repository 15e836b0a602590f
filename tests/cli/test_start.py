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


PROBE = """
import json, sys
from openbook.cli import main
sys.argv = ["openbook", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
print(json.dumps({"code": code, "loaded": sorted(m for m in ("openvino", "faiss") if m in sys.modules)}))
"""


@pytest.fixture(scope="module")
def bees(tmp_path_factory):
    root = tmp_path_factory.mktemp("start")
    doc = root / "bees.txt"
    doc.write_text(
        "A forager that finds a rich patch of flowers returns to the hive and performs the waggle dance. The angle of "
        "the dance tells the direction of the flowers relative to the sun.\n",
        encoding="utf-8",
    )
    assert run("index", str(doc), tmp_path=root).returncode == 0
    return root


def probe(bees, *args: str) -> tuple[dict, str]:
    import json

    env = {**os.environ, "OPENBOOK_INDEXES": str(bees / "indexes")}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args)], capture_output=True, text=True, env=env, check=True
    )
    *output, last = done.stdout.strip().splitlines()
    return json.loads(last), "\n".join(output)


def test_lexical_search_imports_neither_openvino_nor_faiss(bees) -> None:
    status, output = probe(bees, "search", "waggle dance", "--mode", "lexical")
    assert status == {"code": 0, "loaded": []}
    assert "bees" in output


def test_ask_with_models_compiled_in_the_background_answers_as_the_library(bees) -> None:
    import json

    from openbook.qa.pipeline import OpenBook

    status, output = probe(bees, "ask", "What does the angle of the dance tell?", "--json")
    assert status == {"code": 0, "loaded": ["faiss", "openvino"]}
    answers = json.loads(output)["answers"]
    expected = OpenBook(bees / "indexes" / "default").ask("What does the angle of the dance tell?")
    assert [a["answer"] for a in answers] == [a.text for a in expected]
    # the JSON keeps 4 decimals
    assert [a["confidence"] for a in answers] == pytest.approx([a.confidence for a in expected], abs=1e-4)
