"""The write path: documents in, split and encoded in bounded batches, committed every few thousand passages.

Memory stays bounded whatever the input: documents are taken one at a time, small ones are gathered into batches of
about :data:`COMMIT_PASSAGES` passages, and a long document is split and encoded :data:`SEGMENT_CHARS` characters at a
time. Each batch is one commit. The passages of a long document are staged (with their vectors) segment by segment and
become searchable together in one last commit, so readers never see half a document; a run that is interrupted
(Ctrl-C, a kill) keeps every committed batch and staged segment, and the next run with the same documents goes on from
there without encoding them again.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from openbook.errors import OpenbookError
from openbook.index.folder import Index, Writer, model_mismatch, step
from openbook.index.settings import DEFAULT_PASSAGE_TOKENS
from openbook.types import Document, Passage

COMMIT_PASSAGES = 2000  # passages per commit
SEGMENT_CHARS = 1_000_000  # a document longer than this is split, encoded and staged this many characters at a time
MIN_PASSAGE_TOKENS = 8

Progress = Callable[[str, int, int], None]
Encode = Callable[..., np.ndarray]  # (passages[, progress(count)]) -> vectors, row-aligned
Split = Callable[[Document, int], list[Passage]]


@dataclass
class IndexReport:
    """What one ``add`` or ``remove`` did."""

    documents_added: int = 0
    documents_updated: int = 0
    documents_unchanged: int = 0
    documents_removed: int = 0
    passages_added: int = 0
    passages_removed: int = 0
    passages_resumed: int = 0  # staged by an interrupted run and not encoded again
    unknown: list[str] = field(default_factory=list)  # ids asked to be removed that the index does not hold
    seconds: float = 0.0


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during ``add``: what was committed stays; the message says how much."""

    def __init__(self, committed: int, seen: int) -> None:
        super().__init__(committed, seen)
        self.committed = committed
        self.seen = seen

    def __str__(self) -> str:
        return f"interrupted: {self.committed:,} of {self.seen:,} passages committed; run again to continue"


def digest(doc: Document, passage_tokens: int) -> str:
    """Content hash of a document as indexed (its text, title and the split that applies)."""
    h = hashlib.sha256()
    for part in (doc.title, "\x00", doc.text, "\x00", str(passage_tokens)):
        h.update(part.encode("utf-8"))
    return h.hexdigest()


def check_passage_tokens(value: int | None, limit: int) -> int | None:
    """``value`` when it is a usable passage size for a model whose passages hold ``limit`` word pieces."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not MIN_PASSAGE_TOKENS <= value <= limit:
        raise OpenbookError(f"passage tokens must be from {MIN_PASSAGE_TOKENS} to {limit}, not {value!r}")
    return value


def segments(text: str, size: int | None = None) -> list[tuple[int, int]]:
    """``text`` cut into spans of at most about ``size`` characters, at a blank line, a line end, a sentence end or a
    space in the last fifth of each span when there is one (the same cuts every time); ``size`` defaults to
    :data:`SEGMENT_CHARS`."""
    size = size or SEGMENT_CHARS
    spans, start = [], 0
    while len(text) - start > size:
        end = start + size
        floor = start + size * 4 // 5
        for mark in ("\n\n", "\n", ". ", " "):
            cut = text.rfind(mark, floor, end)
            if cut > start:
                end = cut + len(mark)
                break
        spans.append((start, end))
        start = end
    spans.append((start, len(text)))
    return spans


@dataclass
class _Batch:
    docs: list[tuple[Document, str, list[Passage], bool]] = field(default_factory=list)  # doc, hash, passages, replace
    moved: list[tuple[str, str]] = field(default_factory=list)  # unchanged documents whose source moved
    passages: int = 0


class Indexer:
    """Writes documents into ``index``: ``split`` cuts a document into passages, ``encode`` turns passages into vectors
    (row-aligned). Commits through the index's writer (one writer at a time; others wait for the lock)."""

    def __init__(
        self, index: Index, split: Split | None = None, encode: Encode | None = None, progress: Progress | None = None
    ) -> None:
        self.index = index
        self.split = split
        self.encode = encode
        self.progress = progress
        self.committed = 0
        self.seen = 0

    # --- add ----------------------------------------------------------------------------------------------------------
    def add(
        self, documents: Iterable[Document], passage_tokens: int | None = None, index_type: str | None = None
    ) -> IndexReport:
        """Index ``documents``: new ones added, changed ones replaced, unchanged ones skipped (a moved file's new
        source is recorded). Ctrl-C raises :class:`Interrupted` after keeping what was committed."""
        assert self.split is not None and self.encode is not None
        start = time.perf_counter()
        report = IndexReport()
        try:
            with self.index.writer() as w:
                settings = w.settings
                tokens = passage_tokens or settings.tokens
                wanted = replace(settings, passage_tokens=tokens, index_type=index_type or settings.index_type)
                if wanted != settings:
                    with w.store.transaction():
                        w.set_settings(wanted)
                batch = _Batch()
                for doc in documents:
                    key = digest(doc, tokens)
                    known = w.store.document_hash(doc.id)
                    _check_clash(w, doc)
                    if known == key:
                        report.documents_unchanged += 1
                        if doc.source and w.store.document_source(doc.id) != doc.source:
                            batch.moved.append((doc.id, doc.source))
                        continue
                    if known is None:
                        report.documents_added += 1
                    else:
                        report.documents_updated += 1
                    if len(doc.text) > SEGMENT_CHARS:
                        self._flush(w, batch, report)
                        batch = _Batch()
                        self._add_long(w, doc, key, known is not None, tokens, report)
                        continue
                    passages = self.split(doc, tokens)
                    self.seen += len(passages)
                    batch.docs.append((doc, key, passages, known is not None))
                    batch.passages += len(passages)
                    if batch.passages >= COMMIT_PASSAGES:
                        self._flush(w, batch, report)
                        batch = _Batch()
                self._flush(w, batch, report)
        except KeyboardInterrupt:
            raise Interrupted(self.committed, self.seen) from None
        report.seconds = time.perf_counter() - start
        return report

    def _flush(self, w: Writer, batch: _Batch, report: IndexReport) -> None:
        """Encode a batch and commit it (documents replaced, added, sources moved) in one transaction."""
        if not batch.docs and not batch.moved:
            return
        passages = [p for _, _, ps, _ in batch.docs for p in ps]
        vectors = self._encode(passages)
        self._commit(w, batch, vectors, report)

    def _commit(self, w: Writer, batch: _Batch, vectors: np.ndarray, report: IndexReport) -> None:
        step("batch:encoded")
        with w.store.transaction():
            row = 0
            for doc, key, ps, replace in batch.docs:
                if replace:
                    report.passages_removed += len(w.store.delete_documents([doc.id]))
                w.store.add_document(doc, key, ps, vectors[row : row + len(ps)])
                row += len(ps)
            for doc_id, source in batch.moved:
                w.store.set_source(doc_id, source)
            w.touch()
            step("batch:inserted")  # everything written, not yet committed
        step("batch:committed")
        self.committed += row
        report.passages_added += row

    def _encode(self, passages: Sequence[Passage]) -> np.ndarray:
        if not passages:
            return np.zeros((0, self.index.dimension), dtype=np.float32)
        assert self.encode is not None
        if self.progress is None:
            return self.encode(passages)
        base, done = self.committed, 0
        report = self.progress

        def step(count: int) -> None:
            nonlocal done
            done += count
            report("encode", base + done, self.seen)

        report("encode", base, self.seen)
        return self.encode(passages, step)  # type: ignore[call-arg]

    def _add_long(
        self, w: Writer, doc: Document, key: str, replace: bool, tokens: int, report: IndexReport
    ) -> None:
        """A long document, segment by segment: each segment's passages and vectors are staged in their own commit;
        the last commit makes them searchable (replacing the old version)."""
        assert self.split is not None
        spans = segments(doc.text)
        state = w.store.pending(doc.id)
        done = state[1] if state and state[0] == key else 0
        if done:
            report.passages_resumed += state[2]  # type: ignore[index]
            self.seen += state[2]  # type: ignore[index]
            self.committed += state[2]  # type: ignore[index]
        for number, (s, e) in enumerate(spans[done:], start=done):
            part = Document(doc.id, doc.text[s:e], doc.title, doc.source, doc.metadata)
            passages = [
                Passage(p.text, doc.id, p.start + s, p.end + s, p.title, None, p.source, p.metadata)
                for p in self.split(part, tokens)
            ]
            self.seen += len(passages)
            vectors = self._encode(passages)
            step("segment:encoded")
            with w.store.transaction():
                w.store.stage(doc.id, key, number + 1, passages, vectors)
            step("segment:staged")
            self.committed += len(passages)
        with w.store.transaction():
            if replace:
                report.passages_removed += len(w.store.delete_documents([doc.id]))
            ids = w.store.publish(doc, key)
            w.touch()
            step("document:inserted")
        step("document:published")
        report.passages_added += len(ids)

    # --- add already encoded ------------------------------------------------------------------------------------------
    def add_encoded(
        self, items: Iterable[tuple[Document, list[Passage], np.ndarray]], model: dict
    ) -> IndexReport:
        """Commit documents split and encoded elsewhere (vectors row-aligned with passages) made by ``model``."""
        why = model_mismatch(self.index.model, model)
        if why:
            raise OpenbookError(f"index {self.index.name} cannot take these vectors: {why}")
        start = time.perf_counter()
        report = IndexReport()
        try:
            with self.index.writer() as w:
                tokens = w.settings.tokens
                batch, rows = _Batch(), []
                for doc, passages, vectors in items:
                    vectors = np.asarray(vectors, dtype=np.float32)
                    if vectors.shape != (len(passages), self.index.dimension):
                        raise OpenbookError(
                            f"document {doc.id}: {len(passages)} passages but vectors of shape {vectors.shape} "
                            f"(the index holds {self.index.dimension}-d vectors)"
                        )
                    key = digest(doc, tokens)
                    _check_clash(w, doc)
                    known = w.store.document_hash(doc.id)
                    if known == key:
                        report.documents_unchanged += 1
                        continue
                    report.documents_added += known is None
                    report.documents_updated += known is not None
                    self.seen += len(passages)
                    batch.docs.append((doc, key, list(passages), known is not None))
                    batch.passages += len(passages)
                    rows.append(vectors)
                    if batch.passages >= COMMIT_PASSAGES:
                        self._commit(w, batch, np.concatenate(rows), report)
                        batch, rows = _Batch(), []
                if batch.docs:
                    self._commit(w, batch, np.concatenate(rows), report)
        except KeyboardInterrupt:
            raise Interrupted(self.committed, self.seen) from None
        report.seconds = time.perf_counter() - start
        return report

    # --- remove -------------------------------------------------------------------------------------------------------
    def remove(self, doc_ids: Iterable[str]) -> IndexReport:
        """Remove documents by id (one commit); ids the index does not hold are listed in ``unknown``."""
        start = time.perf_counter()
        report = IndexReport()
        wanted = list(dict.fromkeys(doc_ids))
        with self.index.writer() as w:
            known = [d for d in wanted if w.store.document_hash(d) is not None]
            report.unknown = [d for d in wanted if d not in set(known)]
            if known:
                with w.store.transaction():
                    report.passages_removed = len(w.store.delete_documents(known))
                    for doc_id in known:
                        w.store.discard_pending(doc_id)
                    w.touch()
                step("remove:committed")
            report.documents_removed = len(known)
        report.seconds = time.perf_counter() - start
        return report

    def missing_under(self, folder: Path) -> list[str]:
        """Ids of the documents whose source file lies under ``folder`` and no longer exists."""
        root = str(Path(folder).resolve())
        prefix = root.rstrip("/") + "/"
        gone = []
        for doc_id, source in self.index.store.sources():
            if source and (source == root or source.startswith(prefix)) and not Path(source).exists():
                gone.append(doc_id)
        return gone


def _check_clash(w: Writer, doc: Document) -> None:
    """Refuse a document whose id already belongs to another file that still exists (two files, one id)."""
    if not doc.source:
        return
    source = w.store.document_source(doc.id)
    if source and source != doc.source and Path(source).exists() and Path(doc.source).exists():
        raise OpenbookError(
            f"document id {doc.id!r} of {doc.source} is already taken by {source}: give the documents distinct ids "
            "(or index them into separate indexes)"
        )
