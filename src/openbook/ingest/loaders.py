"""Files to documents, one reader per format: plain text, Markdown, reStructuredText, HTML, PDF, Word (.docx), JSON
Lines and SQuAD JSON; files without a suffix (``README``, ``README.Debian``) are read as plain text when they are text.

Document ids are stable across runs and relative to the folder indexed (a named file's own folder, see
:func:`relative_id`): the path for one-document files, ``PATH#LINE`` (or the record's own ``id``) for JSON Lines and
``PATH#ARTICLE/PARAGRAPH`` for SQuAD files; ``source`` keeps the resolved path. Folders are walked by
:mod:`openbook.ingest.scan`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from html.parser import HTMLParser
from pathlib import Path

from openbook.errors import OpenbookError
from openbook.ingest import markup
from openbook.ingest.squad import parse_squad
from openbook.ingest.text import UnreadableFile, decode, read_bytes, read_text_file
from openbook.types import Document

Note = tuple[str, str]  # (kind, message): a problem the reader worked around, e.g. ("not UTF-8", "read as …")
Reader = Callable[[Path, "list[Note] | None"], list[Document]]

# Files read as plain text whatever their suffix: README.Debian, NEWS.md.gz is not one (its suffix is .gz).
PLAIN_NAMES = frozenset(
    {"readme", "news", "changelog", "changes", "copying", "copyright", "license", "licence", "install", "authors"}
    | {"todo", "thanks", "bugs", "hacking", "notice", "contributing", "faq", "history", "credits", "usage"}
)


def load_documents(paths: Sequence[str | Path]) -> list[Document]:
    """Every document in ``paths`` (files, or folders read recursively, sorted, hidden entries skipped), strictly.

    Raises :class:`OpenbookError` for a missing path, an unsupported file named explicitly, a file that is binary, not
    UTF-8, empty or malformed, a folder with nothing to index, or the same document id twice. :func:`scan` is the
    lenient form that skips bad files with a warning.
    """
    from openbook.ingest.scan import scan

    return list(scan(paths, strict=True))


def relative_id(doc_id: str, path: Path, root: Path) -> str:
    """A document id relative to the folder it was indexed from (``notes/a.txt`` of ``~/notes`` is ``a.txt``), so a
    moved or renamed folder keeps its ids; ids a file gives itself (JSON Lines ``id``) stay as they are."""
    absolute = _name(path)
    if doc_id == absolute or doc_id.startswith(absolute + "#"):
        return path.resolve().relative_to(root.resolve()).as_posix() + doc_id[len(absolute) :]
    return doc_id


def reader_for(path: Path) -> Reader | None:
    """The reader for ``path`` by its suffix; plain text for files without one or with a well-known name."""
    reader = READERS.get(path.suffix.lower())
    if reader is None and (not path.suffix or path.stem.lower() in PLAIN_NAMES):
        return read_plain
    return reader


def read_text(path: Path, notes: list[Note] | None = None) -> list[Document]:
    """A plain-text file as one document titled with the file's stem."""
    return [_single(path, _text(path, notes), path.stem)]


def read_plain(path: Path, notes: list[Note] | None = None) -> list[Document]:
    """A file without a known suffix (``README``, ``README.Debian``) as plain text titled with its name."""
    return [_single(path, _text(path, notes), path.name)]


def read_markdown(path: Path, notes: list[Note] | None = None) -> list[Document]:
    """A Markdown file as one document of clean text (no markup, front matter, comments or fence markers); headings
    are section marks; titled with its front matter's title, else its first level-one heading, else the stem."""
    clean = markup.markdown(_text(path, notes))
    return [_single(path, clean.text, clean.title or path.stem, clean.marks)]


def read_rst(path: Path, notes: list[Note] | None = None) -> list[Document]:
    """A reStructuredText file as one document of clean text; section titles are section marks, the first the title."""
    clean = markup.rst(_text(path, notes))
    return [_single(path, clean.text, clean.title or path.stem, clean.marks)]


def read_html(path: Path, notes: list[Note] | None = None) -> list[Document]:
    """An HTML file as one document of its visible text, titled with its ``<title>`` (else the stem)."""
    parser = _HtmlText()
    parser.feed(_text(path, notes))
    parser.close()
    return [_single(path, parser.text(), parser.title() or path.stem)]


def html_text(html: str) -> str:
    """The visible text of an HTML fragment."""
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    return parser.text()


def read_jsonl(path: Path, notes: list[Note] | None = None) -> list[Document]:
    """One document per non-blank line: ``text`` (required), ``title`` and ``id`` optional, other keys as metadata.

    A bad line is skipped with a note (or raises when ``notes`` is None)."""
    text = _text(path, notes)
    name = _name(path)
    docs = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            docs.append(_record(line, name, number, f"{path}:{number}"))
        except OpenbookError as e:
            if notes is None:
                raise
            notes.append(("bad line", f"line {number} skipped: {str(e).split(': ', 1)[1]}"))
    if not docs:
        raise UnreadableFile(path, "no valid lines", "malformed")
    return docs


def _record(line: str, name: str, number: int, where: str) -> Document:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as e:
        raise OpenbookError(f"{where}: malformed JSON: {e.msg}") from None
    if not isinstance(record, dict):
        raise OpenbookError(f'{where}: expected a JSON object with a string "text"')
    body = record.pop("text", None)
    if not isinstance(body, str):
        raise OpenbookError(f'{where}: missing or non-string "text"')
    if not body.strip():
        raise OpenbookError(f"{where}: empty document")
    title = record.pop("title", None)
    if title is not None and not isinstance(title, str):
        raise OpenbookError(f'{where}: "title" must be a string')
    doc_id = record.pop("id", None)
    if doc_id is not None and (isinstance(doc_id, bool) or not isinstance(doc_id, (str, int))):
        raise OpenbookError(f'{where}: "id" must be a string or an integer')
    doc_id = str(doc_id) if doc_id is not None else f"{name}#{number}"
    return Document(id=doc_id, text=body, title=title or "", source=name, metadata=record)


def read_squad(path: Path) -> list[Document]:
    """A SQuAD-format file (:func:`openbook.ingest.squad.parse_squad`): one document per paragraph ``context``, titled
    with its article's title."""
    name = _name(path)
    docs = []
    for i, j, article, paragraph in parse_squad(path).paragraphs():
        if not paragraph.context.strip():
            raise OpenbookError(f"{path}: empty document (article {i}, paragraph {j})")
        meta = {"article": article.title, "paragraph": j}
        docs.append(Document(f"{name}#{i}/{j}", paragraph.context, article.title, name, meta))
    if not docs:
        raise OpenbookError(f"{path}: empty document (no paragraphs)")
    return docs


def _read_squad(path: Path, notes: list[Note] | None = None) -> list[Document]:
    return read_squad(path)


def _read_pdf(path: Path, notes: list[Note] | None = None) -> list[Document]:
    from openbook.ingest.pdf import read_pdf

    return read_pdf(path)


def _read_docx(path: Path, notes: list[Note] | None = None) -> list[Document]:
    from openbook.ingest.office import read_docx

    return read_docx(path)


READERS: dict[str, Reader] = {
    ".txt": read_text,
    ".text": read_text,
    ".md": read_markdown,
    ".markdown": read_markdown,
    ".rst": read_rst,
    ".rest": read_rst,
    ".html": read_html,
    ".htm": read_html,
    ".pdf": _read_pdf,
    ".docx": _read_docx,
    ".jsonl": read_jsonl,
    ".json": _read_squad,
}


def _text(path: Path, notes: list[Note] | None) -> str:
    """A text file's text; a fallback encoding is noted, or refused when ``notes`` is None."""
    messages: list[str] | None = [] if notes is not None else None
    text = read_text_file(path, messages)
    if notes is not None and messages:
        notes += [("not UTF-8", m) for m in messages]
    return text


def _read(path: Path) -> str:
    """A file's text, strictly: UTF-8 (a byte-order mark allowed), never binary."""
    text, note = decode(read_bytes(path), path)
    if note is not None:
        raise UnreadableFile(path, "not UTF-8 text", "not UTF-8")
    return text


def _name(path: Path) -> str:
    return str(path.resolve())


def _require_content(path: Path, text: str) -> None:
    if not text.strip():
        raise UnreadableFile(path, "empty document", "empty")


def _single(path: Path, text: str, title: str, marks: list | None = None) -> Document:
    _require_content(path, text)
    return Document(id=_name(path), text=text, title=title, source=_name(path), marks=marks or [])


class _HtmlText(HTMLParser):
    """Visible text of an HTML page: blocks become lines, runs of spaces collapse, entities are unescaped."""

    SKIP = frozenset({"script", "style", "head", "noscript", "template"})
    PARAGRAPH = frozenset(
        {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "header", "footer", "nav", "aside"}
        | {"main", "blockquote", "pre", "table", "ul", "ol", "dl", "figure", "form", "fieldset", "address"}
    )
    LINE = frozenset({"li", "tr", "dt", "dd", "hr", "caption", "figcaption"})
    CELL = frozenset({"td", "th"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._parts: list[str | int] = []  # text, or the number of newlines a block boundary asks for
        self._title: list[str] = []
        self._skip: list[str] = []
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag == "body" and "head" in self._skip:
            self._skip = [t for t in self._skip if t != "head"]  # a head left open ends where the body starts
        elif tag in self.SKIP:
            self._skip.append(tag)
        else:
            self._space(tag, start=True)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in self.SKIP:
            if tag in self._skip:
                while self._skip.pop() != tag:
                    pass
        else:
            self._space(tag, start=False)

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self._title.append(data)
        elif not self._skip:
            self._parts.append(data)

    def _space(self, tag: str, start: bool) -> None:
        if tag in self.PARAGRAPH:
            self._parts.append(2)
        elif tag in self.LINE or (tag == "br" and start):
            self._parts.append(1)
        elif tag in self.CELL:
            self._parts.append(" ")

    def title(self) -> str:
        return " ".join("".join(self._title).split())

    def text(self) -> str:
        out: list[str] = []
        pending = 0  # newlines owed to the block boundaries since the last text; adjacent boundaries merge
        for part in self._parts:
            if isinstance(part, int):
                pending = max(pending, part)
            elif pending == 0:
                out.append(part)
            elif part.strip():
                out += ["\n" * pending, part]
                pending = 0
        lines = (re.sub(r"[^\S\n]+", " ", line).strip() for line in "".join(out).split("\n"))
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
