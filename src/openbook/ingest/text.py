"""Bytes to text: UTF-8 first, then UTF-16 by its byte-order mark, then Windows-1252 or Latin-1 with a note; binary
files are refused. Every reader that takes a text file goes through :func:`read_text_file`."""

from __future__ import annotations

from pathlib import Path

from openbook.errors import OpenbookError

SNIFF_BYTES = 8192
# Control characters that never appear in text (tab, newline, form feed, carriage return and escape do).
_CONTROL = bytes(b for b in range(32) if b not in (8, 9, 10, 12, 13, 27))


class UnreadableFile(OpenbookError):
    """A file that cannot be indexed; ``kind`` names the reason in a scan's summary (``empty``, ``binary``, …)."""

    def __init__(self, path: Path | str, reason: str, kind: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason
        self.kind = kind


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise UnreadableFile(path, f"cannot read ({e.strerror or e})", "unreadable") from None


def looks_binary(data: bytes) -> bool:
    """NUL bytes, or more than 1 in 20 control characters, in the first 8 KiB (UTF-16 with a BOM is text)."""
    head = data[:SNIFF_BYTES]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    if b"\x00" in head:
        return True
    return sum(head.count(bytes([c])) for c in _CONTROL) * 20 > len(head)


def decode(data: bytes, path: Path) -> tuple[str, str | None]:
    """``data`` as text and a note when it was not UTF-8 (the encoding used instead)."""
    if looks_binary(data):
        raise UnreadableFile(path, "binary file", "binary")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), None
        except UnicodeError:
            raise UnreadableFile(path, "malformed UTF-16", "not UTF-8") from None
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeError:
        pass
    try:
        return data.decode("cp1252"), "not UTF-8: read as Windows-1252"
    except UnicodeError:
        return data.decode("latin-1"), "not UTF-8: read as Latin-1"


def read_text_file(path: Path, notes: list[str] | None = None) -> str:
    """A text file's text; a fallback encoding is noted in ``notes``, or refused when ``notes`` is None (strict)."""
    text, note = decode(read_bytes(path), path)
    if note is not None:
        if notes is None:
            raise UnreadableFile(path, "not UTF-8 text", "not UTF-8")
        notes.append(note)
    if not text.strip():
        raise UnreadableFile(path, "empty document", "empty")
    return text
