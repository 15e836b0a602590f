"""Reading documents from files and folders, and the one-line errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from openbook.errors import OpenbookError
from openbook.ingest.loaders import load_documents

SQUAD = {
    "version": "1.1",
    "data": [
        {
            "title": "Normans",
            "paragraphs": [{"context": "The Normans were a people.", "qas": []}, {"context": "Rollo led."}],
        },
        {"title": "Physics", "paragraphs": [{"context": "Force equals mass times acceleration."}]},
    ],
}


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")
    return path


def fails(paths: list[Path | str], *parts: str) -> str:
    """The message of the OpenbookError that loading ``paths`` raises; it is one line holding every part."""
    with pytest.raises(OpenbookError) as info:
        load_documents(paths)
    message = str(info.value)
    assert "\n" not in message
    for part in parts:
        assert part in message, message
    return message


def test_text_file(tmp_path: Path) -> None:
    path = write(tmp_path / "notes.txt", "Café  crème.\r\nSecond line — “quoted”.\n")
    [doc] = load_documents([path])
    assert doc.id == "notes.txt" and doc.source == str(path.resolve())  # ids relative to the folder indexed
    assert doc.title == "notes"
    assert doc.text == "Café  crème.\r\nSecond line — “quoted”.\n"
    assert load_documents([str(path)])[0].id == doc.id  # str or Path, the same stable id


def test_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = write(tmp_path / "bom.txt", "\ufeffHello.".encode())
    assert load_documents([path])[0].text == "Hello."


def test_markdown_is_clean_text_titled_by_its_first_level_one_heading(tmp_path: Path) -> None:
    a = write(tmp_path / "a.md", "## Sub\n# The Title #\n\nBody *text*.\n")
    plain = write(tmp_path / "b.markdown", "No heading, just text.\n")
    first, second = load_documents([a, plain])
    assert (first.title, first.text) == ("The Title", "Sub\n\nThe Title\n\nBody text.")
    assert (second.title, second.text) == ("b", "No heading, just text.")


def test_html_visible_text_and_title(tmp_path: Path) -> None:
    page = """<!doctype html><html><head><title> Caf&eacute;   Guide </title>
    <style>p { color: red }</style><script>var x = "<p>no</p>";</script></head>
    <body><h1>Menu</h1><p>Tea &amp;   coffee,&nbsp;fresh.</p><div>Line<br>break</div>
    <ul><li>One</li><li>Two</li></ul><table><tr><td>a</td><td>b</td></tr></table></body></html>"""
    [doc] = load_documents([write(tmp_path / "menu.html", page)])
    assert doc.title == "Café Guide"
    assert doc.text == "Menu\n\nTea & coffee, fresh.\n\nLine\nbreak\n\nOne\nTwo\n\na b"
    assert "color" not in doc.text and "var" not in doc.text


def test_html_without_title_uses_stem(tmp_path: Path) -> None:
    [doc] = load_documents([write(tmp_path / "page.htm", "<p>Just a paragraph.</p>")])
    assert (doc.title, doc.text) == ("page", "Just a paragraph.")


def test_jsonl_ids_titles_and_metadata(tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": 7, "title": "Seven", "text": "Seventh text.", "lang": "en"}),
        "",
        json.dumps({"text": "No id here.", "tags": ["a", "b"]}),
    ]
    path = write(tmp_path / "docs.jsonl", "\n".join(lines) + "\n")
    first, second = load_documents([path])
    assert (first.id, first.title, first.text, first.metadata) == ("7", "Seven", "Seventh text.", {"lang": "en"})
    assert (second.id, second.title, second.metadata) == ("docs.jsonl#3", "", {"tags": ["a", "b"]})
    assert first.source == second.source == str(path.resolve())


def test_squad_json_one_document_per_paragraph(tmp_path: Path) -> None:
    path = write(tmp_path / "dev.json", json.dumps(SQUAD))
    docs = load_documents([path])
    assert [d.id for d in docs] == ["dev.json#0/0", "dev.json#0/1", "dev.json#1/0"]
    assert [d.title for d in docs] == ["Normans", "Normans", "Physics"]
    assert docs[1].text == "Rollo led."
    assert docs[2].metadata == {"article": "Physics", "paragraph": 0}


def test_folder_recursive_sorted_hidden_and_unsupported_skipped(tmp_path: Path) -> None:
    write(tmp_path / "b.txt", "B.")
    write(tmp_path / "a" / "z.md", "# Z\nZed.")
    write(tmp_path / "a" / "c.TXT", "C.")
    write(tmp_path / ".hidden" / "h.txt", "Hidden folder.")
    write(tmp_path / ".h.txt", "Hidden file.")
    write(tmp_path / "image.png", b"\x89PNG\x00\x00")
    write(tmp_path / "readme", "No suffix.")
    docs = load_documents([tmp_path])
    assert [d.text for d in docs] == ["C.", "Z\n\nZed.", "B.", "No suffix."]
    again = load_documents([tmp_path, tmp_path / "b.txt"])  # a file named twice is read once
    assert [d.id for d in again] == [d.id for d in docs]


def test_missing_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.txt"
    assert fails([missing], str(missing)) == f"no such file or folder: {missing}"


def test_unsupported_file_named_explicitly(tmp_path: Path) -> None:
    path = write(tmp_path / "data.csv", "a,b\n")
    fails([path], str(path), "unsupported", ".csv")


@pytest.mark.parametrize("name", ["blank.txt", "blank.md", "blank.html", "blank.jsonl", "blank.json"])
def test_empty_document(tmp_path: Path, name: str) -> None:
    path = write(tmp_path / name, " \n\t\n")
    fails([path], f"{path}: empty document")


def test_html_with_no_visible_text_is_empty(tmp_path: Path) -> None:
    path = write(tmp_path / "x.html", "<html><head><title>T</title><script>1</script></head><body> </body></html>")
    fails([path], f"{path}: empty document")


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"abc\x00def", "binary file"), (b"caf\xe9 latin-1", "not UTF-8 text")],
    ids=["nul", "latin1"],
)
def test_binary_or_not_utf8_when_strict(tmp_path: Path, content: bytes, reason: str) -> None:
    path = write(tmp_path / "file.txt", content)
    fails([path], f"{path}: {reason}")


def test_utf16_with_byte_order_mark(tmp_path: Path) -> None:
    path = write(tmp_path / "wide.txt", "\ufeffWide text.".encode("utf-16-le"))
    assert load_documents([path])[0].text == "Wide text."


def test_jsonl_malformed_line(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.jsonl", '{"text": "fine"}\n\n{"text": "broken"\n')
    fails([path], f"{path}:3: malformed JSON:")


@pytest.mark.parametrize("line", ['{"title": "no text"}', '{"text": 5}', '["text"]', '{"text": "  "}'])
def test_jsonl_line_without_string_text(tmp_path: Path, line: str) -> None:
    path = write(tmp_path / "bad.jsonl", '{"text": "fine"}\n' + line + "\n")
    fails([path], f"{path}:2:")


def test_json_malformed(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.json", '{\n  "data": [\n  oops\n]}')
    fails([path], f"{path}: malformed JSON:", "(line 3)")


@pytest.mark.parametrize(
    "content",
    [[1, 2], {"items": []}, {"data": [{"title": "T", "paragraphs": [{"text": "no context"}]}]}, {"data": ["x"]}],
)
def test_json_not_squad(tmp_path: Path, content: object) -> None:
    path = write(tmp_path / "other.json", json.dumps(content))
    fails([path], f"{path}: not a SQuAD file")


def test_folder_without_supported_files(tmp_path: Path) -> None:
    folder = tmp_path / "empty"
    write(folder / "x.csv", "a,b")
    write(folder / ".hidden.txt", "hidden")
    assert fails([folder]) == f"{folder}: no files to index"


def test_duplicate_ids(tmp_path: Path) -> None:
    one = write(tmp_path / "one.jsonl", json.dumps({"id": "x", "text": "First."}) + "\n")
    two = write(tmp_path / "two.jsonl", json.dumps({"id": "x", "text": "Second."}) + "\n")
    fails([one, two], str(two), "'x'", str(one))
