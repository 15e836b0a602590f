"""`openbook index` on a folder as people have one: it exits 0, indexes the readable files, warns about the others,
and an answer from a PDF names its page."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.ingest.documents import write_docx, write_pdf
from tests.ingest.test_scan import write


def run(*args: str, indexes: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OPENBOOK_INDEXES": str(indexes), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "openbook.cli", *args], capture_output=True, text=True, env=env, timeout=300
    )


def test_real_folder_indexes_what_it_can_and_answers_with_the_page(tmp_path: Path, vocab: Path) -> None:
    docs = tmp_path / "docs"
    write(docs / "package.json", json.dumps({"name": "demo", "version": "1.0.0", "private": True}))
    write(docs / "empty.txt", "")
    write(docs / "latin1.txt", "Le caf\xe9 de Lyon ouvre \xe0 sept heures.".encode("latin-1"))
    write(docs / "notes.xyz", "unsupported")
    write_pdf(
        docs / "manual.pdf",
        [
            ["Pump manual.", "Read every page before you start the pump."]
            + [f"Safety rule {n} of the workshop: keep the floor dry and the tools clean." for n in range(30)],
            ["Wiring.", "The pump runs on a supply of 24 volts from the red connector."],
        ],
        title="Pump Manual",
    )
    write_docx(docs / "report.docx", [("Heading 1", "Harvest"), ("Normal", "The harvest began in late September.")])
    write(docs / "guide.md", "---\ntitle: Guide\n---\n# Bread\n\nYeast makes bread rise.\n\n```sh\nbake --hot\n```\n")
    write(docs / "README", "This folder holds the manuals of the workshop.\n")
    indexes = tmp_path / "indexes"

    result = run("index", str(docs), indexes=indexes)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 4, result.stderr
    for name, reason in (
        ("package.json", "not a SQuAD file"),
        ("empty.txt", "empty document"),
        ("notes.xyz", "unsupported file type .xyz"),
        ("latin1.txt", "not UTF-8"),
    ):
        assert any(str(docs / name) in w and reason in w for w in warnings), (name, warnings)
    summary = "5 files indexed, 3 skipped: 1 empty, 1 not SQuAD, 1 unsupported; with warnings: 1 not UTF-8"
    assert summary in result.stdout
    assert "Traceback" not in result.stderr

    info = json.loads(run("info", "--json", indexes=indexes).stdout)
    assert info["documents"] == 5

    answer = run("ask", "What voltage does the pump run on?", "-n", "1", indexes=indexes)
    assert answer.returncode == 0, answer.stderr
    assert "24 volts" in answer.stdout
    assert re.search(re.escape(str(docs / "manual.pdf")) + r", (p\. 2|pp\. 1–2) ", answer.stdout), answer.stdout

    found = run("search", "yeast bread", "--mode", "lexical", "-k", "1", indexes=indexes)
    assert "guide.md" in found.stdout and "Yeast makes bread rise." in found.stdout and "```" not in found.stdout
    assert "guide.md § Bread" in found.stdout

    strict = run("index", str(docs), "--strict", "--index", "other", indexes=indexes)
    assert strict.returncode == 1 and strict.stderr.strip().splitlines()[-1].startswith("error: ")
    assert not (indexes / "other").exists()
