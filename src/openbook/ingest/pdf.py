"""PDF files: the text of each page (pypdf), pages joined by blank lines and marked, so passages keep their page."""

from __future__ import annotations

import re
from pathlib import Path

from openbook.ingest.text import UnreadableFile, read_bytes
from openbook.types import Document

_LIGATURES = str.maketrans({"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl"})
_HYPHEN_BREAK = re.compile(r"(?<=[a-z])-\n(?=[a-z])")
_SPACES = re.compile(r"[^\S\n]+")


def read_pdf(path: Path, notes: list[str] | None = None) -> list[Document]:
    """A PDF as one document: page texts joined by blank lines, a ``page`` mark (1-based) where each page starts;
    title and author from the PDF's properties (title else the file's stem), ``pages`` in the metadata."""
    import io

    try:
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError
    except ImportError:
        raise UnreadableFile(path, "reading PDF needs pypdf (pip install pypdf)", "needs pypdf") from None
    data = read_bytes(path)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableFile(path, "encrypted PDF", "encrypted")
        pages = [page_text(page.extract_text() or "") for page in reader.pages]
        info = reader.metadata or {}
        title, author = _property(info, "/Title"), _property(info, "/Author")
    except UnreadableFile:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError, NotImplementedError) as e:
        raise UnreadableFile(path, f"malformed PDF ({str(e).splitlines()[0] if str(e) else type(e).__name__})",
                             "malformed") from None
    text, marks = "", []
    for number, page in enumerate(pages, start=1):
        if not page:
            continue
        if text:
            text += "\n\n"
        marks.append((len(text), "page", number))
        text += page
    if not text:
        raise UnreadableFile(path, "no text in the PDF (scanned pages need OCR)", "no text")
    metadata = {"pages": len(pages), **({"author": author} if author else {})}
    name = str(path.resolve())
    return [Document(name, text, title or path.stem, name, metadata, marks)]


def page_text(text: str) -> str:
    """One page's extracted text, tidied: ligatures spelled out, words hyphenated across lines joined, spaces
    collapsed, lines trimmed."""
    text = _HYPHEN_BREAK.sub("", text.translate(_LIGATURES).replace("\r\n", "\n").replace("\r", "\n"))
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _property(info: object, key: str) -> str:
    try:
        value = info.get(key)  # type: ignore[attr-defined]
    except Exception:  # a damaged info dictionary is no reason to lose the text
        return ""
    return " ".join(str(value).split()) if value else ""
