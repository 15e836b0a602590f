"""Files and folders to documents: plain text, Markdown, HTML, JSON Lines and SQuAD JSON.

Document ids are stable across runs and relative to the folder indexed (a named file's own folder): the path for
one-document files, ``PATH#LINE`` (or the record's own ``id``) for JSON Lines and ``PATH#ARTICLE/PARAGRAPH`` for SQuAD
files. ``source`` keeps the resolved path.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Sequence
from html.parser import HTMLParser
from pathlib import Path

from openbook.errors import OpenbookError
from openbook.ingest.squad import parse_squad
from openbook.types import Document

Reader = Callable[[Path], list[Document]]


def load_documents(paths: Sequence[str | Path]) -> list[Document]:
    """Read every supported file named in ``paths`` or found in a named folder (recursively, sorted, hidden skipped).

    Raises :class:`OpenbookError` for a missing path, an unsupported file, a file that is not UTF-8 text, an empty
    document, malformed content, a folder with no supported files, or the same document id twice.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    files: list[tuple[Path, Path]] = []
    seen_files: set[Path] = set()
    for given in paths:
        root = Path(given) if Path(given).is_dir() else Path(given).parent
        for path in _expand(Path(given)):
            if path.resolve() not in seen_files:
                seen_files.add(path.resolve())
                files.append((path, root))
    docs: list[Document] = []
    origin: dict[str, Path] = {}
    for path, root in files:
        for doc in READERS[path.suffix.lower()](path):
            doc.id = relative_id(doc.id, path, root)
            if doc.id in origin:
                raise OpenbookError(f"{path}: duplicate document id {doc.id!r} (first seen in {origin[doc.id]})")
            origin[doc.id] = path
            docs.append(doc)
    return docs


def relative_id(doc_id: str, path: Path, root: Path) -> str:
    """A document id relative to the folder it was indexed from (``notes/a.txt`` of ``~/notes`` is ``a.txt``), so a
    moved or renamed folder keeps its ids; ids a file gives itself (JSON Lines ``id``) stay as they are."""
    absolute = _name(path)
    if doc_id == absolute or doc_id.startswith(absolute + "#"):
        return path.resolve().relative_to(root.resolve()).as_posix() + doc_id[len(absolute) :]
    return doc_id


def read_text(path: Path) -> list[Document]:
    """A plain-text file as one document titled with the file's stem."""
    return [_single(path, _read(path), path.stem)]


def read_markdown(path: Path) -> list[Document]:
    """A Markdown file as one document, text as written, titled with its first ``# `` heading (else the stem)."""
    text = _read(path)
    return [_single(path, text, _markdown_title(text) or path.stem)]


def read_html(path: Path) -> list[Document]:
    """An HTML file as one document of its visible text, titled with its ``<title>`` (else the stem)."""
    parser = _HtmlText()
    parser.feed(_read(path))
    parser.close()
    return [_single(path, parser.text(), parser.title() or path.stem)]


def read_jsonl(path: Path) -> list[Document]:
    """One document per non-blank line: ``text`` (required), ``title`` and ``id`` optional, other keys as metadata."""
    text = _read(path)
    _require_content(path, text)
    name = _name(path)
    docs = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
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
        docs.append(
            Document(
                id=str(doc_id) if doc_id is not None else f"{name}#{number}",
                text=body,
                title=title or "",
                source=name,
                metadata=record,
            )
        )
    return docs


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


READERS: dict[str, Reader] = {
    ".txt": read_text,
    ".md": read_markdown,
    ".markdown": read_markdown,
    ".html": read_html,
    ".htm": read_html,
    ".jsonl": read_jsonl,
    ".json": read_squad,
}


def _expand(path: Path) -> list[Path]:
    """The files a named path stands for: itself, or a folder's supported files."""
    if path.is_dir():
        found = []
        for folder, dirs, names in os.walk(path):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            found += [Path(folder, n) for n in names if not n.startswith(".") and Path(n).suffix.lower() in READERS]
        if not found:
            raise OpenbookError(f"{path}: no .txt, .md, .html, .jsonl or .json files")
        return sorted(found, key=lambda p: p.relative_to(path).parts)
    if not path.exists():
        raise OpenbookError(f"no such file or folder: {path}")
    if path.suffix.lower() not in READERS:
        kind = path.suffix or "(no suffix)"
        raise OpenbookError(f"{path}: unsupported file type {kind} (expected {', '.join(READERS)})")
    return [path]


def _read(path: Path) -> str:
    """A file's text: UTF-8 (a byte-order mark allowed), never binary."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise OpenbookError(f"{path}: cannot read ({e.strerror or e})") from None
    try:
        if b"\x00" in data:
            raise UnicodeError
        return data.decode("utf-8-sig")
    except UnicodeError:
        raise OpenbookError(f"{path}: not a text file (binary or not UTF-8)") from None


def _name(path: Path) -> str:
    return str(path.resolve())


def _require_content(path: Path, text: str) -> None:
    if not text.strip():
        raise OpenbookError(f"{path}: empty document")


def _single(path: Path, text: str, title: str) -> Document:
    _require_content(path, text)
    return Document(id=_name(path), text=text, title=title, source=_name(path))


_ATX_TITLE = re.compile(r" {0,3}# +(.+?)(?: +#+)? *")
_FENCE = re.compile(r" {0,3}(```|~~~)")


def _markdown_title(text: str) -> str | None:
    """The first level-one ATX heading outside fenced code."""
    fenced = False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced and (m := _ATX_TITLE.fullmatch(line.rstrip())):
            return m.group(1).strip()
    return None


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
