"""The two sides of a served index: the reader side (one thread owns the models and answers every read) and the
writer side (one thread writes, one write at a time, while the reader side keeps answering).

Each side has its own :class:`~openbook.retrieval.retriever.Retriever` over the same folder. The reader's sees every
commit (this server's, or ``openbook index`` run elsewhere) as it searches, so a write is visible to every request that
starts after it is committed.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from openbook.errors import OpenbookError
from openbook.index.filters import Filter, as_filter
from openbook.index.folder import LOCK
from openbook.index.names import is_index, resolve_index
from openbook.ingest.loaders import READERS, load_documents
from openbook.models.warmup import Warmer
from openbook.server.errors import ApiError
from openbook.server.security import upload_name
from openbook.server.settings import ServerSettings
from openbook.types import Document

log = logging.getLogger("openbook.server")
UPLOADS = "uploads"  # uploaded files live in the index folder's uploads/, document ids start with "uploads/NAME"
NO_INDEX = "there is no index yet: add documents first (upload files or POST /documents)"


def is_sharded(path: Path) -> bool:
    from openbook.scale.shards import is_sharded as sharded  # here: the server starts without the scale-out code

    return sharded(path)


def has_index(path: Path) -> bool:
    """Whether ``path`` holds an index to read: an ordinary one or a sharded one."""
    return is_index(path) or is_sharded(path)


@dataclass(frozen=True)
class Query:
    """The options a batch shares: requests with equal options are answered by one model call."""

    kind: str  # "ask" or "search"
    k: int
    top_answers: int
    mode: str
    where: str | None  # the filter as JSON text of its Haystack-style dict (hashable), None for none
    min_confidence: float | None
    read_all: bool = False


def filter_key(where: Any) -> str | None:
    """``where`` (clauses or a Haystack-style dict) checked and written as canonical JSON text, so equal filters share
    a batch; a bad filter is an :class:`OpenbookError` here, before the request queues."""
    wanted = as_filter(where)
    return None if wanted is None else json.dumps(wanted.to_dict(), sort_keys=True)


def from_key(key: str | None) -> Filter | None:
    return None if key is None else Filter.from_dict(json.loads(key))


class ReaderSide:
    """Owns the retriever and the reader; every method but ``__init__`` runs on its one thread (``executor``)."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self.index_path = resolve_index(settings.index, settings.index_dir)
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="openbook-models")
        self.book: Any = None
        self.books: dict[str, Any] = {}  # one OpenBook per retrieval mode (weights and calibration are per mode)
        self.error: str | None = None
        self.load_seconds: float | None = None
        self.warmer: Warmer = Warmer([])  # every batch shape of a question, run in the background after loading

    @property
    def ready(self) -> bool:
        return self.book is not None

    def load(self) -> None:
        """Load the retriever and the reader once (models compiled here, before the first question)."""
        from openbook.qa.pipeline import OpenBook
        from openbook.scale.shards import open_retriever

        start = time.perf_counter()
        s = self.settings
        try:
            retriever = open_retriever(self.index_path, model=s.retriever, mode=s.mode)  # or a sharded one
            book = OpenBook(retriever=retriever, reader=s.reader, k=s.k, top_answers=s.top_answers)
            self.books[retriever.mode] = book
            self.warmer = Warmer(book.warm_shapes())
            self.book = book
        except OpenbookError as exc:
            self.error = str(exc)
            log.error("openbook serve: %s", exc)
        except Exception:  # logged here with its traceback, never sent to a client
            self.error = "the models could not be loaded (see the server log)"
            log.exception("openbook serve: loading the models failed")
        self.load_seconds = time.perf_counter() - start
        if self.book is not None:
            self.warmer.start()  # one shape at a time; a batch of questions waits for at most one

    # --- batched reads ------------------------------------------------------------------------------------------------
    def run_batch(self, query: Hashable, questions: list[str]) -> Sequence[list[dict[str, Any]]]:
        """Answers (``ask``) or passages (``search``) for ``questions``, all sharing ``query``'s options, as JSON."""
        assert isinstance(query, Query)
        if not has_index(self.index_path):
            raise OpenbookError(NO_INDEX)
        with self.warmer.hold():
            return self._run_batch(query, questions)

    def _run_batch(self, query: Query, questions: list[str]) -> Sequence[list[dict[str, Any]]]:
        where = from_key(query.where)
        if query.kind == "search":
            hits = self.book.retriever.search_many(questions, query.k, query.mode, where=where)
            return [[h.to_dict() for h in row] for row in hits]
        book = self._book(query.mode)
        answers = book.ask_many(
            questions,
            query.k,
            query.top_answers,
            min_confidence=query.min_confidence,
            where=where,
            read_all=query.read_all,
        )
        return [[a.to_dict() for a in row] for row in answers]

    def _book(self, mode: str) -> Any:
        """The OpenBook that asks in ``mode``: the shared retriever and reader, that mode's weights and calibration."""
        from openbook.qa.pipeline import OpenBook

        retriever = self.book.retriever
        retriever.mode = mode
        book = self.books.get(mode)
        if book is None:
            s = self.settings
            book = OpenBook(retriever=retriever, reader=self.book.reader, k=s.k, top_answers=s.top_answers)
            self.books[mode] = book
        return book

    # --- other reads --------------------------------------------------------------------------------------------------
    def documents(
        self, where: Any = None, contains: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """The documents (``Retriever.documents``) whose id, title or source contains ``contains`` and which hold a
        passage whose metadata passes ``where``; at most ``limit``."""
        if not has_index(self.index_path):
            return []
        retriever = self.book.retriever
        if is_sharded(self.index_path):
            return retriever.documents(contains, limit, where)
        index = retriever.index  # opened here when a write created the index after start-up
        wanted = as_filter(where)
        if wanted is None:
            return retriever.documents(contains, limit)
        passing = wanted.document_ids(index.store.conn)
        found = [d for d in retriever.documents(contains) if d["id"] in passing]
        return found if limit is None else found[:limit]

    def info(self) -> dict[str, Any]:
        if not has_index(self.index_path):
            return {"index": self.index_path.name, "documents": 0, "passages": 0}
        data = self.book.retriever.index.info()
        data.pop("path", None)  # the server's file layout is not the client's business
        return data


class WriterSide:
    """Writes the index on its own thread, one write at a time; a second write while one runs is refused (409)."""

    def __init__(self, settings: ServerSettings, index_path: Path) -> None:
        self.settings = settings
        self.index_path = index_path
        self.upload_dir = index_path / UPLOADS  # a folder openbook owns: nothing else is written or deleted there
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="openbook-writer")
        self.busy = False  # set and cleared on the event loop, around each write
        self._retriever: Any = None

    @property
    def retriever(self) -> Any:
        if self._retriever is None:
            from openbook.retrieval.retriever import Retriever

            self._retriever = Retriever(self.index_path, model=self.settings.retriever)
        return self._retriever

    def load(self) -> None:
        if is_sharded(self.index_path):
            return  # read-only here: no encoder to load
        try:
            self.retriever.embedder  # noqa: B018 - loads the passage encoder now rather than at the first upload
        except OpenbookError as exc:  # said again, in one line, to the first upload
            log.error("openbook serve: the writer could not load its encoder: %s", exc)
        except Exception:  # logged here with its traceback, never sent to a client
            log.exception("openbook serve: the writer could not open the index")

    def add_documents(self, docs: list[Document]) -> dict[str, Any]:
        """Index ``docs`` with ``Retriever.add`` (new ones added, changed ones replaced, unchanged ones skipped)."""
        seen: set[str] = set()
        for doc in docs:
            if doc.id in seen:
                raise OpenbookError(f"duplicate document id {doc.id!r}")
            seen.add(doc.id)
        self._check_writable()
        self._check_not_locked()
        report = asdict(self.retriever.add(docs))
        report.pop("unknown", None)
        return {**report, "documents": [d.id for d in docs]}

    def add_files(self, files: list[tuple[str | None, bytes]]) -> dict[str, Any]:
        """Index uploaded files as ``openbook index --strict`` reads them: staged in a folder inside the upload folder,
        read by the loader for their suffix, indexed, then moved into place. Ids are ``uploads/NAME``
        (``uploads/NAME#...`` for the records of a JSON Lines file that have no id of their own)."""
        self._check_writable()
        names = [upload_name(raw, tuple(READERS)) for raw, _ in files]
        if len(set(names)) != len(names):
            raise OpenbookError("two uploaded files have the same name")
        self.upload_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=self.upload_dir))
        try:
            paths = [staging / name for name in names]
            for path, (_, data) in zip(paths, files):
                path.write_bytes(data)
            docs = [self._as_upload(doc) for doc in load_documents(paths)]
            result = self.add_documents(docs)
            for name in names:
                os.replace(staging / name, self.upload_dir / name)
            return result
        except OpenbookError as exc:  # the loader names the staging path; the client knows only its file's name
            message = str(exc)
            for shown in (str(staging.resolve()) + os.sep, str(staging) + os.sep):
                message = message.replace(shown, "")
            raise OpenbookError(message) from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _as_upload(self, doc: Document) -> Document:
        """A staged file's document as stored: its id (the file name, relative to the staging folder) under
        ``uploads/``, its source the file's place in the upload folder."""
        name = Path(doc.source).name if doc.source else ""
        if name and (doc.id == name or doc.id.startswith(name + "#")):
            doc.id = f"{UPLOADS}/{doc.id}"
        if name:
            doc.source = str(self.upload_dir / name)
        return doc

    def remove(self, doc_id: str) -> dict[str, Any]:
        """Remove one document with ``Retriever.remove`` (404 when the index does not hold it)."""
        self._check_writable()
        if not is_index(self.index_path):
            raise ApiError(404, f"no document {doc_id!r}")
        self._check_not_locked()
        passages = self.retriever.remove([doc_id])
        if self.retriever.last_report.unknown:
            raise ApiError(404, f"no document {doc_id!r}")
        self._forget_upload(doc_id)
        return {"removed": doc_id, "passages_removed": passages}

    def _check_writable(self) -> None:
        """405 for a sharded index: the server reads it; its shards are written by ``openbook shard``."""
        if is_sharded(self.index_path):
            raise ApiError(
                405,
                f"index {self.index_path.name} is sharded: this server only reads it (rebuild it with openbook shard)",
            )

    def _check_not_locked(self) -> None:
        """409 at once when another process (``openbook index``) holds the index's write lock, rather than waiting
        for it as a command-line writer does."""
        lock = self.index_path / LOCK
        if not lock.is_file():
            return
        with open(lock, "a") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                name = self.index_path.name
                raise ApiError(409, f"index {name} is being written by another process; try again later") from None
            fcntl.flock(fh, fcntl.LOCK_UN)

    def _forget_upload(self, doc_id: str) -> None:
        """Delete the uploaded file a removed one-document upload came from (only files this server stored)."""
        prefix = UPLOADS + "/"
        if not doc_id.startswith(prefix) or "#" in doc_id:
            return
        try:
            name = upload_name(doc_id[len(prefix) :], tuple(READERS))
        except OpenbookError:
            return
        (self.upload_dir / name).unlink(missing_ok=True)
