"""Formats as people have them: PDF pages, Word headings, Markdown and reStructuredText as clean text."""

from __future__ import annotations

from pathlib import Path

import pytest

from openbook.ingest import markup
from openbook.ingest.loaders import load_documents
from openbook.ingest.splitting import split_document
from openbook.ingest.text import UnreadableFile, decode
from openbook.models.tokenization import WordPiece
from openbook.types import Document
from tests.ingest.documents import write_docx, write_pdf


@pytest.fixture(scope="module")
def tokenizer(vocab: Path) -> WordPiece:
    return WordPiece(vocab)


def sections(clean: markup.Clean) -> list[tuple[str, str]]:
    """Each section title with the clean text it marks, so offsets are checked against the text."""
    return [(value, clean.text[start : start + len(value)]) for start, key, value in clean.marks if key == "section"]


def test_markdown_loses_its_markup_and_keeps_headings_as_sections() -> None:
    source = (
        "---\ntitle: Streams\nadded: v0.1.16\n---\n<!-- YAML\nadded: v0.1.16\n-->\n"
        "# Readable streams\n\nA *readable* stream is a [source](http://x.org) of `data`.\n\n"
        "## Options\n\n* `highWaterMark` {integer} Buffer level.\n* `encoding` {string}\n\n"
        "Second level\n------------\n\n```js\nconst s = new Readable();\n```\n\n"
        "| key | value |\n| --- | --- |\n| a | 1 |\n\n> quoted **bold** text\n\n![a chart](chart.png)\n"
    )
    clean = markup.markdown(source)
    assert clean.title == "Streams"
    assert clean.text == (
        "Readable streams\n\nA readable stream is a source of data.\n\nOptions\n\n"
        "highWaterMark {integer} Buffer level.\nencoding {string}\n\nSecond level\n\nconst s = new Readable();\n\n"
        "key value\na 1\n\nquoted bold text\n\na chart"
    )
    assert sections(clean) == [(t, t) for t in ("Readable streams", "Options", "Second level")]
    for junk in ("<!--", "---", "```", "*", "`", "](", "#", "YAML"):
        assert junk not in clean.text


def test_markdown_title_from_first_level_one_heading(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_text("```\n# not a title\n```\n## Sub\n# The Title #\n\nBody *text*.\n")
    [doc] = load_documents([path])
    assert doc.title == "The Title"
    assert doc.text == "# not a title\n\nSub\n\nThe Title\n\nBody text."
    assert [v for _, _, v in doc.marks] == ["Sub", "The Title"]


def test_rst_loses_its_markup_and_keeps_titles_as_sections(tmp_path: Path) -> None:
    source = (
        "=======\nManual\n=======\n\n.. contents::\n   :depth: 2\n\n"
        "Intro with ``code``, :ref:`a link <target>`, `Python <https://python.org>`_ and *emphasis*.\n\n"
        ".. note:: Mind\n   the gap.\n\n.. code-block:: python\n   :linenos:\n\n   print(1)\n\n"
        ".. _target:\n\nInstalling\n----------\n\n- one\n- two\n\n.. a comment\n   on two lines\n\n"
        "Example::\n\n    make install\n"
    )
    path = tmp_path / "manual.rst"
    path.write_text(source)
    [doc] = load_documents([path])
    assert doc.title == "Manual"
    assert doc.text == (
        "Manual\n\nIntro with code, a link, Python and emphasis.\n\nMind the gap.\n\nprint(1)\n\nInstalling\n\n"
        "one\n\ntwo\n\nExample:\n\n    make install"
    )
    assert [(doc.text[s : s + len(v)], v) for s, _, v in doc.marks] == [("Manual", "Manual")] * 1 + [
        ("Installing", "Installing")
    ]


def test_pdf_pages_title_and_author(tmp_path: Path) -> None:
    path = write_pdf(
        tmp_path / "manual.pdf",
        [["Chapter one.", "Bees dance (waggle) to show flowers."], ["Second page."], [], ["Fourth page."]],
        title="The Manual",
        author="Ann Lee",
    )
    [doc] = load_documents([path])
    assert (doc.title, doc.metadata) == ("The Manual", {"pages": 4, "author": "Ann Lee"})
    assert doc.text == "Chapter one.\nBees dance (waggle) to show flowers.\n\nSecond page.\n\nFourth page."
    assert [(doc.text[s:].split("\n")[0], page) for s, _, page in doc.marks] == [
        ("Chapter one.", 1), ("Second page.", 2), ("Fourth page.", 4)
    ]
    untitled = write_pdf(tmp_path / "notes.pdf", [["Text."]])
    assert load_documents([untitled])[0].title == "notes"


@pytest.mark.parametrize(
    ("content", "kind"),
    [(b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog", "malformed"), (None, "no text"), (b"not a pdf at all", "malformed")],
)
def test_bad_pdfs(tmp_path: Path, content: bytes | None, kind: str) -> None:
    path = tmp_path / "bad.pdf"
    if content is None:
        write_pdf(path, [[], []])  # pages without text, as a scanned document has
    else:
        path.write_bytes(content)
    with pytest.raises(UnreadableFile) as info:
        load_documents([path])
    assert info.value.kind == kind and "\n" not in str(info.value) and str(path) in str(info.value)


def test_docx_headings_tables_title_and_author(tmp_path: Path) -> None:
    path = write_docx(
        tmp_path / "report.docx",
        [("Title", "Annual Report"), ("Normal", "Intro   text."), ("Heading 1", "Results"),
         ("Normal", "Sales rose."), ("table", "Region|Sales\nNorth|12"), ("Heading 2", "Outlook"), ("Normal", "")],
        author="Bob",
    )
    [doc] = load_documents([path])
    assert (doc.title, doc.metadata) == ("Annual Report", {"author": "Bob"})
    assert doc.text == "Annual Report\n\nIntro text.\n\nResults\n\nSales rose.\n\nRegion | Sales\nNorth | 12\n\nOutlook"
    assert [(doc.text[s : s + len(v)], v) for s, _, v in doc.marks] == [
        (v, v) for v in ("Annual Report", "Results", "Outlook")
    ]
    titled = write_docx(tmp_path / "t.docx", [("Normal", "Body.")], title="From Properties")
    assert load_documents([titled])[0].title == "From Properties"


def test_bad_docx(tmp_path: Path) -> None:
    path = tmp_path / "broken.docx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(UnreadableFile) as info:
        load_documents([path])
    assert info.value.kind in ("malformed", "binary")


def test_pages_and_sections_reach_every_passage(tmp_path: Path, tokenizer: WordPiece) -> None:
    pages = [[f"Page {n} sentence {i} says something about topic {n}." for i in range(12)] for n in (1, 2, 3)]
    [doc] = load_documents([write_pdf(tmp_path / "long.pdf", pages, author="Ann")])
    passages = split_document(doc, tokenizer, max_tokens=40, overlap_tokens=14)
    assert len(passages) > 6
    for p in passages:
        assert p.text == doc.text[p.start : p.end]
        first = int(p.text.split()[1])
        assert p.metadata["page"] == first and p.metadata["author"] == "Ann" and p.metadata["pages"] == 3
        last = int(p.text.split("Page ")[-1].split()[0])
        assert p.metadata.get("last_page", first) == last
    assert any("last_page" in p.metadata for p in passages)  # the overlap carries sentences across a page break
    assert {p.metadata["page"] for p in passages} == {1, 2, 3}


def test_sections_before_the_first_heading_are_absent(tokenizer: WordPiece) -> None:
    body = " ".join(f"Sentence {n} of the body." for n in range(6))
    clean = markup.markdown(f"Preface text.\n\n# One\n\n{body}\n\n# Two\n\n{body}")
    doc = Document("d", clean.text, marks=clean.marks, metadata={"lang": "en"})
    passages = split_document(doc, tokenizer, max_tokens=16, overlap_tokens=0)
    two = clean.text.index("\nTwo\n") + 1
    assert passages[0].text.startswith("Preface text.") and "section" not in passages[0].metadata
    for p in passages[1:]:
        assert p.metadata["section"] == ("One" if p.start < two else "Two"), p
    assert all(p.metadata["lang"] == "en" for p in passages)


@pytest.mark.parametrize(
    ("data", "text", "note"),
    [
        ("Grüße".encode(), "Grüße", None),
        ("\ufeffBOM".encode(), "BOM", None),
        ("Grüße €".encode("cp1252"), "Grüße €", "not UTF-8: read as Windows-1252"),
        (b"caf\xe9 \x81", "café \x81", "not UTF-8: read as Latin-1"),
        ("UTF-16 text".encode("utf-16"), "UTF-16 text", None),
    ],
)
def test_decoding(data: bytes, text: str, note: str | None) -> None:
    assert decode(data, Path("f")) == (text, note)


@pytest.mark.parametrize("data", [b"abc\x00def", b"\x01\x02\x03\x04 binary \x05\x06\x07\x08"])
def test_binary_is_refused(data: bytes) -> None:
    with pytest.raises(UnreadableFile, match="binary file"):
        decode(data, Path("f"))


@pytest.mark.parametrize(
    ("line", "text"),
    [
        ("Call __init__ and snake_case names.", "Call __init__ and snake_case names."),
        ("See Python_ and `the docs`_ and `Home <https://x.org>`__.", "See Python and the docs and Home."),
        ("A **bold** and *soft* |name| word.", "A bold and soft name word."),
        ("Footnote [#]_ and citation [CIT2002]_.", "Footnote and citation."),
    ],
)
def test_rst_inline_markup(line: str, text: str) -> None:
    assert markup.rst(line).text == text
