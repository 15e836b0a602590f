"""The two sides of a served index: the reader side (one thread owns the models and answers every read) and the
writer side (one thread writes, one write at a time, while the reader side keeps answering).

The reader side notices a new index generation (written by this server or by ``openbook index`` elsewhere) before
each batch and reopens the index, so a write is visible to every request that starts after it is committed.
"""

from __future__ import annotations

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

from openbook.config import resolve_index
from openbook.errors import OpenbookError
from openbook.index.folder import MANIFEST, Index
from openbook.ingest.loaders import READERS, load_documents
from openbook.server import compat
from openbook.server.errors import ApiError
from openbook.server.security import upload_name
from openbook.server.settings import ServerSettings
from openbook.types import Document

log = logging.getLogger("openbook.server")
UPLOADS = "uploads"  # uploaded files live in the index folder's uploads/, document ids start with "uploads/NAME"


@dataclass(frozen=True)
class Query:
    """The options a batch shares: requests with equal options are answered by one model call."""

    kind: str  # "ask" or "search"
    k: int
    top_answers: int
    mode: str
    where: str | None  # JSON text of the filter (hashable), None for none
    min_confidence: float | None


def current_generation(index_path: Path) -> int | None:
    try:
        return int(json.loads((index_path / MANIFEST).read_text(encoding="utf-8"))["generation"])
    except (OSError, ValueError, KeyError):
        return None


class ReaderSide:
    """Owns the retriever and the reader; every method but ``__init__`` runs on its one thread (``executor``)."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self.index_path = resolve_index(settings.index)
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="openbook-models")
        self.book: Any = None
        self.error: str | None = None
        self.load_seconds: float | None = None

    @property
    def ready(self) -> bool:
        return self.book is not None

    def load(self) -> None:
        """Load the retriever and the reader once (models compiled here, before the first question)."""
        from openbook.qa.pipeline import OpenBook
        from openbook.retrieval.retriever import Retriever

        start = time.perf_counter()
        s = self.settings
        try:
            retriever = Retriever(self.index_path, model=s.retriever, mode=s.mode)
            self.book = OpenBook(retriever=retriever, reader=s.reader, k=s.k, top_answers=s.top_answers)
        except OpenbookError as exc:
            self.error = str(exc)
            log.error("openbook serve: %s", exc)
        except Exception:  # logged here with its traceback, never sent to a client
            self.error = "the models could not be loaded (see the server log)"
            log.exception("openbook serve: loading the models failed")
        self.load_seconds = time.perf_counter() - start

    # --- batched reads ------------------------------------------------------------------------------------------------
    def run_batch(self, query: Hashable, questions: list[str]) -> Sequence[list[dict[str, Any]]]:
        """Answers (``ask``) or passages (``search``) for ``questions``, all sharing ``query``'s options, as JSON."""
        assert isinstance(query, Query)
        self.refresh()
        where = json.loads(query.where) if query.where is not None else None
        book = self.book
        if query.kind == "search":
            extra = compat.options(book.retriever.search_many, where=where)
            hits = book.retriever.search_many(questions, query.k, query.mode, **extra)
            return [[compat.result_json(h) for h in row] for row in hits]
        self._use_mode(query.mode)
        extra = compat.options(book.ask_many, where=where, min_confidence=query.min_confidence)
        answers = book.ask_many(questions, query.k, query.top_answers, **extra)
        return [[compat.answer_json(a) for a in row] for row in answers]

    def _use_mode(self, mode: str) -> None:
        """Ask in ``mode``: the retriever's mode and the reranking weights made for it."""
        from openbook.qa.rerank import DEFAULT_WEIGHTS, SPAN_ONLY

        if self.book.retriever.mode != mode:
            self.book.retriever.mode = mode
            self.book.weights = DEFAULT_WEIGHTS.get(mode, SPAN_ONLY)

    # --- other reads --------------------------------------------------------------------------------------------------
    def documents(self, where: Any = None, limit: int | None = None) -> list[dict[str, Any]]:
        self.refresh()
        if current_generation(self.index_path) is None:
            return []
        return compat.list_documents(self.book.retriever, where, limit)

    def info(self) -> dict[str, Any]:
        self.refresh()
        if current_generation(self.index_path) is None:
            return {"index": self.index_path.name, "documents": 0, "passages": 0, "generation": 0}
        data = self.book.retriever.index.info()
        data.pop("path", None)  # the server's file layout is not the client's business
        return data

    def refresh(self) -> None:
        """Reopen the index when a write has committed a new generation since it was opened."""
        retriever = self.book.retriever
        opened = retriever._index  # None until the index exists; the retriever opens it on first use then
        if opened is None:
            return
        for attempt in range(3):
            generation = current_generation(self.index_path)
            if generation is None or generation == opened.generation:
                return
            try:
                fresh = Index.open(self.index_path)
            except OpenbookError:  # a newer write replaced the files between reading the manifest and opening them
                if attempt == 2:
                    raise
                continue
            retriever._index = fresh
            opened.close()
            return


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
        try:
            self.retriever  # noqa: B018 - loads the passage encoder now rather than at the first upload
        except Exception:
            log.exception("openbook serve: the writer could not open the index")

    def add_documents(self, docs: list[Document]) -> dict[str, Any]:
        seen: set[str] = set()
        for doc in docs:
            if doc.id in seen:
                raise OpenbookError(f"duplicate document id {doc.id!r}")
            seen.add(doc.id)
        report = self.retriever.add(docs)
        return {**asdict(report), "documents": [d.id for d in docs]}

    def add_files(self, files: list[tuple[str | None, bytes]]) -> dict[str, Any]:
        """Index uploaded files: each is read by the loader for its suffix from a staging folder inside the upload
        folder, indexed, then moved into place; ids become ``uploads/NAME`` (``uploads/NAME#...`` for many-document
        files)."""
        names = [upload_name(raw, tuple(READERS)) for raw, _ in files]
        if len(set(names)) != len(names):
            raise OpenbookError("two uploaded files have the same name")
        self.upload_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=self.upload_dir))
        try:
            docs: list[Document] = []
            for name, (_, data) in zip(names, files):
                path = staging / name
                path.write_bytes(data)
                docs += [self._as_upload(doc, path, name) for doc in load_documents([path])]
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

    def _as_upload(self, doc: Document, staged: Path, name: str) -> Document:
        prefix = str(staged.resolve())
        if doc.id.startswith(prefix):
            doc.id = f"{UPLOADS}/{name}{doc.id[len(prefix):]}"
        doc.source = str(self.upload_dir / name)
        return doc

    def remove(self, doc_id: str) -> dict[str, Any]:
        if current_generation(self.index_path) is None:
            raise ApiError(404, f"no document {doc_id!r}")
        removed = compat.remove_documents(self.retriever, [doc_id])
        if not removed:
            raise ApiError(404, f"no document {doc_id!r}")
        self._forget_upload(doc_id)
        return {"removed": doc_id, "passages_removed": removed}

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
