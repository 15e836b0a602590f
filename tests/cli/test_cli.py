"""The command line as a person uses it: real processes, exit codes, one-line errors, JSON output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parents[2] / "examples" / "corpus"


def run(*args: str, env_indexes: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OPENBOOK_INDEXES": str(env_indexes), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "openbook.cli", *args], capture_output=True, text=True, env=env, timeout=300
    )


@pytest.fixture
def bad_inputs(tmp_path) -> dict[str, Path]:
    binary = tmp_path / "image.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    empty = tmp_path / "empty.md"
    empty.write_text("  \n\n")
    malformed = tmp_path / "broken.jsonl"
    malformed.write_text('{"text": "fine"}\n{"text": "unterminated\n')
    squad = tmp_path / "broken.json"
    squad.write_text('{"data": [')
    return {"missing": tmp_path / "missing.txt", "binary": binary, "empty": empty, "jsonl": malformed, "json": squad}


@pytest.mark.parametrize("case", ["missing", "binary", "empty", "jsonl", "json"])
def test_bad_input_is_one_line_and_nonzero(tmp_path, bad_inputs, case, vocab):
    indexes = tmp_path / "indexes"
    result = run("index", str(bad_inputs[case]), env_indexes=indexes)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and bad_inputs[case].name in lines[0]
    assert "Traceback" not in result.stderr
    assert not (indexes / "default").exists()  # nothing was created


def test_bad_input_leaves_existing_index_alone(tmp_path, bad_inputs, vocab):
    indexes = tmp_path / "indexes"
    assert run("index", str(CORPUS / "chess.txt"), env_indexes=indexes).returncode == 0
    before = sorted(p.name for p in (indexes / "default").iterdir())
    result = run("index", str(CORPUS / "coffee.txt"), str(bad_inputs["binary"]), env_indexes=indexes)
    assert result.returncode == 1
    assert sorted(p.name for p in (indexes / "default").iterdir()) == before
    info = json.loads(run("info", "--json", env_indexes=indexes).stdout)
    assert info["documents"] == 1


def test_index_search_info_json(tmp_path, vocab):
    indexes = tmp_path / "indexes"
    first = run("index", str(CORPUS), "--json", env_indexes=indexes)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["documents_added"] == 12 and report["index"]["documents"] == 12
    again = json.loads(run("index", str(CORPUS), "--json", env_indexes=indexes).stdout)
    assert again["documents_unchanged"] == 12 and again["index"]["passages"] == report["index"]["passages"]
    found = run(
        "search", "How do honeybees tell each other where flowers are?", "-k", "3", "--json", env_indexes=indexes
    )
    assert found.returncode == 0, found.stderr
    results = json.loads(found.stdout)["results"]
    assert [r["rank"] for r in results] == [1, 2, 3]
    assert results[0]["passage"]["title"] == "honeybees" and "waggle" in results[0]["passage"]["text"]
    text = run("search", "Who invented movable metal type?", env_indexes=indexes)
    assert "printing press" in text.stdout and "Gutenberg" in text.stdout
    words = run("search", 'waggle AND "dance (NOT bees*', "--mode", "lexical", "--json", env_indexes=indexes)
    assert words.returncode == 0, words.stderr
    hit = json.loads(words.stdout)["results"][0]
    assert hit["passage"]["title"] == "honeybees" and hit["found_by"] == {"lexical": 1}
    bad = run("search", "bees", "--mode", "sparse", env_indexes=indexes)
    assert bad.returncode == 1 and "unknown retrieval mode" in bad.stderr and "Traceback" not in bad.stderr
    info = run("info", env_indexes=indexes)
    assert "retriever-minilm-squad11-int8" in info.stdout


@pytest.mark.parametrize("command", ["search", "ask"])
def test_bad_where_is_one_line(tmp_path, command):
    result = run(command, "anything", "--where", "year>>2020", env_indexes=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "error: bad filter clause 'year>>2020': expected KEY OP VALUE with OP one of = != < <= > >=, or KEY in A,B"
    ]


def test_search_without_index_is_a_clear_error(tmp_path):
    result = run("search", "anything", "--index", "nope", env_indexes=tmp_path)
    assert result.returncode == 1 and "no index at" in result.stderr


def _tiny_squad(path: Path) -> Path:
    contexts = [
        "In 1822 the French engineer Augustin Fresnel designed a lens made of rings of glass.",
        "Honey bees dance to show one another where flowers are, and how far away.",
    ]
    questions = [("Who designed the lens?", "Augustin Fresnel"), ("Who dances?", "Honey bees")]
    paragraphs = [
        {"context": c, "qas": [{"id": f"q{i}", "question": q, "answers": [{"text": a, "answer_start": c.index(a)}]}]}
        for i, (c, (q, a)) in enumerate(zip(contexts, questions))
    ]
    path.write_text(json.dumps({"version": "1.1", "data": [{"title": "tiny", "paragraphs": paragraphs}]}))
    return path


def test_eval_record_keeps_the_figures_in_the_model_manifest(tmp_path, vocab, standin_dir):
    from tests.reader_standins import build_standin

    squad = _tiny_squad(tmp_path / "tiny.json")
    reader = build_standin(tmp_path / "reader", {"august": (12.0, 0.0), "##nel": (0.0, 12.0)})
    out = run("eval", "reader", str(squad), "--reader", str(reader), "--record", "--json", env_indexes=tmp_path)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    measured = json.loads((reader / "manifest.json").read_text())["measured"]
    assert measured == {"tiny.json": {"exact_match": result["exact_match"], "f1": result["f1"]}}
    assert result["questions"] == 2 and result["exact_match"] == 50.0  # the boosted span answers q0, not q1

    partial = run(
        "eval", "reader", str(squad), "--reader", str(reader), "--record", "--limit", "1", env_indexes=tmp_path
    )
    assert partial.returncode == 1 and "--limit" in partial.stderr.strip()
    bare = run(
        "eval", "retrieval", str(squad), "--retriever", str(standin_dir / "dynamic"), "--record", env_indexes=tmp_path
    )
    assert bare.returncode == 1 and len(bare.stderr.strip().splitlines()) == 1 and "manifest.json" in bare.stderr


def test_ask_read_all_gives_the_settled_answer_of_the_default_cascade(tmp_path, vocab):
    indexes = tmp_path / "indexes"
    assert run("index", str(CORPUS), "--index", "demo", env_indexes=indexes).returncode == 0
    question = "Who designed a lens made of glass rings for lighthouses?"
    default = json.loads(run("ask", question, "--index", "demo", "--json", env_indexes=indexes).stdout)
    everything = run("ask", question, "--index", "demo", "--json", "--read-all", env_indexes=indexes)
    assert everything.returncode == 0, everything.stderr
    top = json.loads(everything.stdout)["answers"][0]
    assert top["answer"] == default["answers"][0]["answer"] and "Fresnel" in top["answer"]
    assert top["passage_id"] == default["answers"][0]["passage_id"]


def test_ask_says_not_in_your_documents_with_the_best_guess_underneath(tmp_path, vocab):
    indexes = tmp_path / "indexes"
    assert run("index", str(CORPUS), "--index", "demo", env_indexes=indexes).returncode == 0
    question = "Who won the 2018 football world cup?"
    shown = run("ask", question, "--index", "demo", env_indexes=indexes)
    assert shown.returncode == 0, shown.stderr
    assert "Not in your documents." in shown.stdout and "Best guess:" in shown.stdout and "confidence" in shown.stdout
    data = json.loads(run("ask", question, "--index", "demo", "--json", env_indexes=indexes).stdout)
    best = data["answers"][0]
    assert best["abstain"] is True and 0.0 <= best["confidence"] < 1.0
    forced = json.loads(
        run("ask", question, "--index", "demo", "--json", "--min-confidence", "0", env_indexes=indexes).stdout
    )
    assert forced["answers"][0]["abstain"] is False and forced["answers"][0]["answer"] == best["answer"]
    bad = run("ask", question, "--index", "demo", "--min-confidence", "2", env_indexes=indexes)
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1 and "--min-confidence" in bad.stderr


def test_interactive_ask_applies_where_to_every_question(tmp_path, vocab):
    indexes = tmp_path / "indexes"
    assert run("index", str(CORPUS / "notes.jsonl"), "--index", "notes", env_indexes=indexes).returncode == 0
    env = {**os.environ, "OPENBOOK_INDEXES": str(indexes), "OPENBOOK_HISTORY": str(tmp_path / "history")}
    questions = "Who made the first vaccine?\nWhat causes tides?\nWhy does bread rise?\n:quit\n"
    args = ["ask", "--index", "notes", "--json", "-n", "1", "-k", "4"]

    def interactive(*extra: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "openbook.cli", *args, *extra]
        return subprocess.run(
            command, check=False, input=questions, capture_output=True, text=True, env=env, timeout=300
        )

    session = interactive("--where", "topic in cooking,history")
    assert session.returncode == 0, session.stderr
    banner, *replies = session.stdout.split("openbook> ")
    assert banner.count("topic in cooking,history") == 1 and session.stdout.count("topic in cooking,history") == 1
    asked = [json.loads(r) for r in replies if r.strip()]
    assert [a["question"] for a in asked] == questions.splitlines()[:3]
    found = [a["answers"][0]["passage"]["doc_id"] for a in asked]
    assert set(found) <= {"bread", "printing"} and found[2] == "bread"
    plain = interactive()
    unfiltered = [json.loads(r) for r in plain.stdout.split("openbook> ")[1:] if r.strip()]
    assert [a["answers"][0]["passage"]["doc_id"] for a in unfiltered][:2] == ["vaccines", "tides"]
