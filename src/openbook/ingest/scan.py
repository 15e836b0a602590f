"""Walking files and folders into documents without letting one bad file stop the rest.

``scan(paths)`` yields the documents of every readable file; each file it cannot index (unsupported, empty, binary,
malformed, not SQuAD, unreadable) becomes a :class:`Problem` reported once through ``on_problem`` and counted in
:meth:`Scan.summary`. Files named explicitly must read cleanly (their problems raise); ``strict=True`` asks the same of
every file in a folder. Hidden files and folders (``.name``) are passed over silently.
"""

from __future__ import annotations

import fnmatch
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from openbook.errors import OpenbookError
from openbook.ingest.loaders import Note, reader_for
from openbook.ingest.text import UnreadableFile
from openbook.types import Document


@dataclass(frozen=True)
class Problem:
    """A file skipped (``skipped``) or read with a caveat (a fallback encoding, a bad line left out)."""

    path: str
    reason: str
    kind: str  # the summary's word for it: empty, binary, not UTF-8, not SQuAD, malformed, unsupported, …
    skipped: bool = True

    def line(self) -> str:
        return f"{self.path}: {self.reason}" + (" (skipped)" if self.skipped else "")


@dataclass
class Scan:
    """The documents of ``paths``, read lazily; after iterating, ``files`` read and ``problems`` met."""

    paths: Sequence[Path]
    include: Sequence[str] = ()
    exclude: Sequence[str] = ()
    strict: bool = False
    on_problem: Callable[[Problem], None] | None = None
    progress: Callable[[str, int, int], None] | None = None
    files: int = 0
    documents: int = 0
    problems: list[Problem] = field(default_factory=list)

    def __iter__(self) -> Iterator[Document]:
        origin: dict[str, Path] = {}
        targets = self._targets()
        for n, (path, named, _root) in enumerate(targets, start=1):
            for doc in self._read(path, named):  # _root: the folder indexed (a named file's own), for relative ids
                if doc.id in origin:
                    raise OpenbookError(f"{path}: duplicate document id {doc.id!r} (first seen in {origin[doc.id]})")
                origin[doc.id] = path
                self.documents += 1
                yield doc
            if self.progress:
                self.progress("read", n, len(targets))

    @property
    def skipped(self) -> list[Problem]:
        return [p for p in self.problems if p.skipped]

    def summary(self) -> str:
        """``5 files indexed, 4 skipped: 2 empty, 1 binary, 1 not SQuAD; with warnings: 1 not UTF-8``."""
        text = f"{self.files} file{'s' if self.files != 1 else ''} indexed"
        skipped = Counter(p.kind for p in self.skipped)
        if skipped:
            text += f", {sum(skipped.values())} skipped: " + _counts(skipped)
        caveats = Counter(p.kind for p in self.problems if not p.skipped)
        if caveats:
            text += "; with warnings: " + _counts(caveats)
        return text

    def _targets(self) -> list[tuple[Path, bool, Path]]:
        """Every file to read, whether it was named explicitly, and the folder it was found from (a named file's own
        folder); a file named twice is read once."""
        seen: set[Path] = set()
        out: list[tuple[Path, bool, Path]] = []
        for given in self.paths:
            path = Path(given)
            if path.is_dir():
                found = [(p, False, path) for p in self._walk(path)]
            elif path.exists() or path.is_symlink():
                found = [(path, True, path.parent)]
            else:
                raise OpenbookError(f"no such file or folder: {path}")
            for p, named, root in found:
                if p.resolve() not in seen:
                    seen.add(p.resolve())
                    out.append((p, named, root))
        return out

    def _walk(self, root: Path) -> list[Path]:
        """The files under ``root`` (sorted, hidden entries and excluded globs left out); an unreadable folder is a
        problem, and so is each file with no reader."""
        found: list[Path] = []

        def unreadable(error: OSError) -> None:
            self._problem(UnreadableFile(error.filename, f"cannot read folder ({error.strerror})", "unreadable"))

        for folder, dirs, names in os.walk(root, onerror=unreadable):
            rel = Path(folder).relative_to(root)
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not self._excluded(rel / d))
            for name in names:
                path = Path(folder, name)
                if name.startswith(".") or self._excluded(rel / name) or not self._included(rel / name):
                    continue
                if not path.is_file():
                    continue  # sockets, fifos, broken links
                if reader_for(path) is None:
                    kind = path.suffix.lower() or "(no suffix)"
                    self._problem(UnreadableFile(path, f"unsupported file type {kind}", "unsupported"))
                    continue
                found.append(path)
        if not found and self.strict:
            raise OpenbookError(f"{root}: no files to index")
        return sorted(found, key=lambda p: p.relative_to(root).parts)

    def _read(self, path: Path, named: bool) -> list[Document]:
        reader = reader_for(path)
        if reader is None:
            kind = path.suffix or "(no suffix)"
            raise OpenbookError(f"{path}: unsupported file type {kind} (expected {_suffixes()})")
        notes: list[Note] | None = None if self.strict else []
        try:
            docs = reader(path, notes)
        except OpenbookError as e:
            if named or self.strict:
                raise
            self._problem(e if isinstance(e, UnreadableFile) else _classify(path, e))
            return []
        for kind, message in notes or []:
            if named and kind != "not UTF-8":
                raise OpenbookError(f"{path}: {message}")
            self._problem(UnreadableFile(path, message, kind), skipped=False)
        self.files += 1
        return docs

    def _problem(self, error: UnreadableFile, skipped: bool = True) -> None:
        """Report a file skipped (raises in strict mode, unless it only has no reader) or read with a caveat."""
        if self.strict and skipped and error.kind != "unsupported":
            raise error
        problem = Problem(error.path, error.reason, error.kind, skipped)
        self.problems.append(problem)
        if self.on_problem:
            self.on_problem(problem)

    def _excluded(self, rel: Path) -> bool:
        return any(_matches(rel, pattern) for pattern in self.exclude)

    def _included(self, rel: Path) -> bool:
        return not self.include or any(_matches(rel, pattern) for pattern in self.include)


def scan(
    paths: str | Path | Iterable[str | Path],
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    strict: bool = False,
    on_problem: Callable[[Problem], None] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> Scan:
    """The documents of ``paths`` (files, or folders walked recursively), as an iterable :class:`Scan`.

    ``include``/``exclude`` are globs matched against a file's path relative to its folder and against its name
    (``*.md``, ``drafts/*``); excluded folders are not entered."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    return Scan([Path(p) for p in paths], tuple(include), tuple(exclude), strict, on_problem, progress)


def _counts(counter: Counter) -> str:
    return ", ".join(f"{n} {kind}" for kind, n in sorted(counter.items(), key=lambda item: (-item[1], item[0])))


def _matches(rel: Path, pattern: str) -> bool:
    posix = rel.as_posix()
    return fnmatch.fnmatch(posix, pattern) or fnmatch.fnmatch(rel.name, pattern) or posix.startswith(
        pattern.rstrip("/") + "/"
    )


def _classify(path: Path, error: OpenbookError) -> UnreadableFile:
    """A reader's error as a skip with a kind: SQuAD and JSON errors carry only their message."""
    message = str(error)
    reason = message.split(": ", 1)[1] if message.startswith(f"{path}") and ": " in message else message
    for marker, kind in (("not a SQuAD", "not SQuAD"), ("malformed", "malformed"), ("empty", "empty")):
        if marker in message:
            return UnreadableFile(path, reason, kind)
    return UnreadableFile(path, reason, "unreadable")


def _suffixes() -> str:
    from openbook.ingest.loaders import READERS

    return ", ".join(READERS)
