"""Word (.docx) files with python-docx: paragraphs and tables in order, headings as section marks."""

from __future__ import annotations

from pathlib import Path

from openbook.ingest.markup import Clean
from openbook.ingest.text import UnreadableFile
from openbook.types import Document


def read_docx(path: Path, notes: list[str] | None = None) -> list[Document]:
    """A .docx file as one document: paragraphs and table rows as lines, headings (``Heading N``, ``Title``) as
    section marks; title from the file's properties, else its first title or heading, else the stem; author kept."""
    try:
        import docx
        from docx.opc.exceptions import PackageNotFoundError
    except ImportError:
        raise UnreadableFile(
            path, "reading .docx needs python-docx (pip install 'openbook[docx]')", "needs python-docx"
        ) from None
    try:
        document = docx.Document(str(path))
        out = _body(document)
        props = document.core_properties
        title, author = (props.title or "").strip(), (props.author or "").strip()
    except (PackageNotFoundError, KeyError, ValueError, OSError) as e:
        raise UnreadableFile(path, f"malformed .docx ({e})", "malformed") from None
    except Exception as e:  # zip and XML errors of a damaged file come in many types
        raise UnreadableFile(path, f"malformed .docx ({type(e).__name__}: {e})", "malformed") from None
    if not out.text.strip():
        raise UnreadableFile(path, "empty document", "empty")
    name = str(path.resolve())
    metadata = {"author": author} if author else {}
    return [Document(name, out.text, title or out.title or path.stem, name, metadata, out.marks)]


def _body(document) -> Clean:  # noqa: ANN001 - python-docx's Document
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    out = Clean()
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            text = " ".join(block.text.split())
            style = (block.style.name if block.style is not None else "") or ""
            if style == "Title" or style.startswith("Heading"):
                if style in ("Title", "Heading 1") and not out.title:
                    out.title = text
                out.block(text, section=text)
            else:
                out.block(text)
        elif isinstance(block, Table):
            for n, row in enumerate(block.rows):
                cells = []
                for cell in row.cells:
                    value = " ".join(cell.text.split())
                    if value and (not cells or cells[-1] != value):  # merged cells repeat their text
                        cells.append(value)
                out.block(" | ".join(cells), tight=n > 0)
    return out.done()
