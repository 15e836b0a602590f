"""Folders as people have them: bad files are skipped with one warning each, never abort the rest."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from openbook.errors import OpenbookError
from openbook.ingest.scan import Problem, scan
from tests.ingest.documents import write_docx, write_pdf


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    """A folder holding readable files of every kind and a bad file of every kind."""
    root = tmp_path / "docs"
    write(root / "package.json", json.dumps({"name": "demo", "version": "1.0.0"}))
    write(root / "empty.txt", "")
    write(root / "legacy.txt", "Café crème costs € 3.".encode("cp1252"))
    write_pdf(root / "manual.pdf", [["Introduction."], ["The pump needs 12 volts."]], title="Pump Manual")
    write_docx(root / "report.docx", [("Heading 1", "Sales"), ("Normal", "Sales rose in spring.")])
    write(root / "guide.md", "---\ntitle: Guide\n---\n<!-- draft -->\n# Setup\n\n```sh\nmake all\n```\n")
    write(root / "README", "Read this first.\n")
    write(root / "pkg" / "README.Debian", "Debian specific notes.\n")
    write(root / "data.xyz", "some text with an unknown suffix")
    write(root / "records.jsonl", '{"text": "Good record."}\n{"text": broken}\n')
    write(root / "blob", b"\x7fELF\x02\x01\x01\x00\x00\x00")
    write(root / ".hidden.txt", "never read")
    return root


def test_folder_keeps_every_readable_file_and_warns_once_per_bad_one(mixed: Path) -> None:
    seen: list[Problem] = []
    found = scan([mixed], on_problem=seen.append)
    docs = {Path(d.source).name: d for d in found}
    assert sorted(docs) == [
        "README", "README.Debian", "guide.md", "legacy.txt", "manual.pdf", "records.jsonl", "report.docx"
    ]
    assert docs["legacy.txt"].text == "Café crème costs € 3."
    assert docs["guide.md"].title == "Guide" and docs["guide.md"].text == "Setup\n\nmake all"
    assert docs["manual.pdf"].marks == [(0, "page", 1), (15, "page", 2)]
    assert docs["README.Debian"].title == "README.Debian"
    assert seen == found.problems
    problems = {Path(p.path).name: (p.kind, p.skipped) for p in seen}
    assert problems == {
        "package.json": ("not SQuAD", True),
        "empty.txt": ("empty", True),
        "data.xyz": ("unsupported", True),
        "blob": ("binary", True),
        "legacy.txt": ("not UTF-8", False),
        "records.jsonl": ("bad line", False),
    }
    assert all("\n" not in p.line() and p.path in p.line() for p in seen)
    assert found.summary() == (
        "7 files indexed, 4 skipped: 1 binary, 1 empty, 1 not SQuAD, 1 unsupported; "
        "with warnings: 1 bad line, 1 not UTF-8"
    )


def test_strict_stops_at_the_first_bad_file(mixed: Path) -> None:
    with pytest.raises(OpenbookError, match="blob: binary file"):
        list(scan([mixed], strict=True))


def test_a_named_file_must_read_cleanly(mixed: Path) -> None:
    for name, message in (("package.json", "not a SQuAD file"), ("empty.txt", "empty document")):
        with pytest.raises(OpenbookError, match=message):
            list(scan([mixed / name]))
    with pytest.raises(OpenbookError, match="unsupported file type .xyz"):
        list(scan([mixed / "data.xyz"]))
    with pytest.raises(OpenbookError, match="records.jsonl: line 2 skipped: malformed JSON"):
        list(scan([mixed / "records.jsonl"]))
    named = scan([mixed / "legacy.txt"])  # another encoding is read, with a warning
    assert [d.text for d in named] == ["Café crème costs € 3."]
    assert [p.kind for p in named.problems] == ["not UTF-8"]


def test_include_and_exclude_globs(mixed: Path) -> None:
    only_text = scan([mixed], include=["*.txt", "README*"])
    assert sorted(Path(d.source).name for d in only_text) == ["README", "README.Debian", "legacy.txt"]
    assert {p.kind for p in only_text.problems} == {"empty", "not UTF-8"}
    without = scan([mixed], exclude=["pkg", "*.json*", "blob", "*.xyz", "empty.txt"])
    names = sorted(Path(d.source).name for d in without)
    assert names == ["README", "guide.md", "legacy.txt", "manual.pdf", "report.docx"]
    assert [p.kind for p in without.problems] == ["not UTF-8"]


def test_an_unreadable_subfolder_is_reported_not_fatal(mixed: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    locked = mixed / "locked"
    write(locked / "secret.txt", "cannot be listed")
    real = os.scandir

    def scandir(path):  # root reads every folder, so deny this one the way a permission error would
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    found = scan([mixed])
    assert "secret" not in " ".join(d.text for d in found)
    [problem] = [p for p in found.problems if p.kind == "unreadable"]
    assert problem.path == str(locked) and "Permission denied" in problem.reason
    with pytest.raises(OpenbookError, match="Permission denied"):
        list(scan([mixed], strict=True, exclude=["blob"]))


def test_missing_path_and_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(OpenbookError, match="no such file or folder"):
        list(scan([tmp_path / "nope"]))
    write(tmp_path / "only" / "x.csv", "a,b")
    lenient = scan([tmp_path / "only"])
    assert list(lenient) == [] and lenient.summary() == "0 files indexed, 1 skipped: 1 unsupported"
    with pytest.raises(OpenbookError, match="no files to index"):
        list(scan([tmp_path / "only"], strict=True))


def test_progress_counts_files(mixed: Path) -> None:
    calls: list[tuple[str, int, int]] = []
    list(scan([mixed], progress=lambda *a: calls.append(a)))
    assert calls[-1] == ("read", 10, 10) and [c[1] for c in calls] == list(range(1, 11))  # 7 read, 3 skipped
