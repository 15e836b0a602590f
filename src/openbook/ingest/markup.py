"""Markdown and reStructuredText to clean text: markup, front matter, comments and code-fence markers removed,
headings kept as lines of their own and recorded as section marks (character offsets into the clean text)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

_FRONT_MATTER = re.compile(r"\A\ufeff?(---|\+\+\+)[^\S\n]*\n(.*?\n)(?:\1|\.\.\.)[^\S\n]*(?:\n|\Z)", re.S)
_FRONT_TITLE = re.compile(r"^title\s*[:=]\s*(.+?)\s*$", re.M)
_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.S)


@dataclass
class Clean:
    """Clean text, its title (first top-level heading or front-matter title) and its section marks."""

    text: str = ""
    title: str = ""
    marks: list[tuple[int, str, Any]] = field(default_factory=list)
    _blocks: list[str] = field(default_factory=list)
    _length: int = 0

    def block(self, text: str, section: str | None = None, tight: bool = False) -> None:
        """Append a block of text (a paragraph, heading, list item, code block), ``section`` when it is a heading."""
        text = text.strip("\n")
        if not text.strip():
            return
        sep = ("\n" if tight else "\n\n") if self._blocks else ""
        start = self._length + len(sep)
        if section is not None:
            self.marks.append((start, "section", section))
        self._blocks += [sep, text]
        self._length = start + len(text)

    def done(self) -> Clean:
        self.text = "".join(self._blocks)
        return self


def front_matter(source: str) -> tuple[str, str]:
    """``source`` without its YAML (``---``) or TOML (``+++``) front matter, and the front matter's ``title``."""
    m = _FRONT_MATTER.match(source)
    if not m:
        return source, ""
    title = _FRONT_TITLE.search(m.group(2))
    return source[m.end() :], (title.group(1).strip("\"'") if title else "")


def markdown(source: str) -> Clean:
    """Markdown (CommonMark with tables) as clean text; headings become lines of their own and section marks."""
    body, title = front_matter(source)
    parser = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    out = Clean(title=title)
    tokens = parser.parse(body)
    fresh = False  # at the first item of a list, which starts a block of its own
    row: list[str] | None = None
    heading: str | None = None
    for i, token in enumerate(tokens):
        kind = token.type
        if kind in ("bullet_list_open", "ordered_list_open"):
            fresh = True
        elif kind == "heading_open":
            heading = token.tag
        elif kind == "table_open":
            fresh = True
        elif kind == "tr_open":
            row = []
        elif kind == "tr_close" and row is not None:
            out.block(" ".join(c for c in row if c), tight=not fresh)
            row, fresh = None, False
        elif kind == "inline":
            text = _inline(token.children or [])
            if row is not None:
                row.append(text)
            elif heading is not None:
                if heading == "h1" and not out.title:
                    out.title = text
                out.block(text, section=text)
                heading = None
            else:
                item = i > 0 and tokens[i - 1].type == "paragraph_open" and tokens[i - 1].hidden  # a tight list's
                out.block(text, tight=item and not fresh)
                fresh = False
        elif kind in ("fence", "code_block"):
            out.block(token.content)
        elif kind == "html_block":
            out.block(_html_text(token.content))
    return out.done()


def _inline(children: list[Token]) -> str:
    parts = []
    for child in children:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type == "softbreak":
            parts.append(" ")
        elif child.type == "hardbreak":
            parts.append("\n")
        elif child.type == "image":
            parts.append(_inline(child.children or []))
    return re.sub(r"[^\S\n]+", " ", "".join(parts)).strip()


def _html_text(html: str) -> str:
    from openbook.ingest.loaders import html_text

    return html_text(_HTML_COMMENT.sub("", html))


# reStructuredText ------------------------------------------------------------------------------------------------

_ADORNMENT = re.compile(r"([=\-~^\"'`*+#:.<>_])\1{2,}\s*")
_DIRECTIVE = re.compile(r"\.\.\s+([\w:-]+)::\s*(.*)")
_EXPLICIT = re.compile(r"\.\.(\s|$)")
_OPTION = re.compile(r"\s*:[\w -]+:( .*)?$")
_DROP_DIRECTIVES = frozenset({"toctree", "contents", "include", "raw", "meta", "index", "image", "figure", "only"}) | {
    "highlight", "sectnum", "default-role", "role", "literalinclude", "autosummary", "automodule", "autoclass",
}
_ROLE = re.compile(r":[\w:+.-]+:`([^`<]*?)\s*(?:<[^`>]*>)?`")
_LITERAL = re.compile(r"``(.+?)``")
_LINK = re.compile(r"`([^`<]+?)\s*(?:<[^`>]*>)?`__?")
_INTERPRETED = re.compile(r"`([^`]+)`")
_STRONG = re.compile(r"\*\*(\S(?:.*?\S)?)\*\*")
_EMPHASIS = re.compile(r"(?<![\w*])\*(\S(?:.*?\S)?)\*(?![\w*])")
_REFERENCE = re.compile(r"(?<!\w)([^\W_][\w-]*?)__?(?!\w)")
_SUBSTITUTION = re.compile(r"\|(\w[^|]*)\|(?:__?)?")
_FOOTNOTE = re.compile(r"\s*\[(?:#\w*|\*|\d+|\w+)\]_")
_BULLET = re.compile(r"(\s*)[-*+•]\s+")
_GRID = re.compile(r"\s*[+|][-=+:| ]*[+|]\s*$")


def rst(source: str) -> Clean:
    """reStructuredText as clean text: section titles kept as lines (and marks), directives, comments, targets and
    inline markup removed, code blocks kept without their markers."""
    lines = source.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out = Clean()
    para: list[str] = []

    def flush() -> None:
        if para:
            out.block(_rst_inline("\n".join(para)))
            para.clear()

    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        stripped = line.strip()
        nxt = lines[i + 1] if i + 1 < n else ""
        if not stripped:
            flush()
            i += 1
        elif _ADORNMENT.fullmatch(line) and i + 2 < n and _ADORNMENT.fullmatch(lines[i + 2]) and lines[i + 1].strip():
            flush()  # overlined title
            title = _rst_inline(lines[i + 1].strip())
            out.title = out.title or title
            out.block(title, section=title)
            i += 3
        elif not line[0].isspace() and _ADORNMENT.fullmatch(nxt) and len(nxt.rstrip()) >= len(stripped) and not para:
            title = _rst_inline(stripped)  # underlined title
            out.title = out.title or title
            out.block(title, section=title)
            i += 2
        elif _ADORNMENT.fullmatch(line) and not para:
            i += 1  # a transition
        elif _EXPLICIT.match(line):
            flush()
            i = _explicit(lines, i, out)
        elif _GRID.fullmatch(line) and ("+" in line or "=" in line):
            i += 1  # table border
        else:
            text = line
            if stripped == "::":
                text = ""
            elif stripped.endswith("::"):
                text = line.rstrip()[:-1]
            if (m := _BULLET.match(text)) is not None:
                flush()
                text = m.group(1) + text[m.end() :]
            if text.strip():
                para.append(text.replace("|", " ") if line.lstrip().startswith("|") else text)  # table rows
            i += 1
    flush()
    return out.done()


def _explicit(lines: list[str], i: int, out: Clean) -> int:
    """Handle the explicit markup block at ``lines[i]`` (``.. ``): returns the index after it."""
    m = _DIRECTIVE.match(lines[i].strip())
    body_start = i + 1
    end = body_start
    while end < len(lines) and (not lines[end].strip() or lines[end][:1].isspace()):
        end += 1
    body = lines[body_start:end]
    while body and _OPTION.match(body[0]) and body[0].strip():
        body = body[1:]  # directive options
    if m is None:
        return end  # comment, target, footnote or substitution definition: not text
    name, argument = m.group(1).lower(), m.group(2).strip()
    if name in _DROP_DIRECTIVES or name.startswith("auto"):
        return end
    content = _dedent(body)
    if name in ("code", "code-block", "sourcecode", "parsed-literal", "doctest"):
        out.block(content)
    else:
        if argument and name not in ("note", "warning", "tip", "important", "hint", "caution", "danger", "attention"):
            content = argument + "\n\n" + content
        elif argument:
            content = argument + " " + content
        for paragraph in re.split(r"\n\s*\n", content):
            out.block(_rst_inline(paragraph))
    return end


def _dedent(lines: list[str]) -> str:
    indents = [len(x) - len(x.lstrip()) for x in lines if x.strip()]
    cut = min(indents, default=0)
    return "\n".join(x[cut:] for x in lines).strip("\n")


def _rst_inline(text: str) -> str:
    text = _ROLE.sub(r"\1", text)
    text = _LITERAL.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _INTERPRETED.sub(r"\1", text)
    text = _STRONG.sub(r"\1", text)
    text = _EMPHASIS.sub(r"\1", text)
    text = _FOOTNOTE.sub("", text)
    text = _SUBSTITUTION.sub(r"\1", text)
    return _REFERENCE.sub(r"\1", text)
