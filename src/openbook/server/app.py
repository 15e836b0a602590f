"""The HTTP API and the web page: ``create_app(settings)`` builds the FastAPI application ``openbook serve`` runs.

Reads (ask, search) from many clients are batched (:mod:`openbook.server.batching`) onto the one thread that owns
the models; writes (uploads, deletes) run on their own thread, one at a time (:mod:`openbook.server.engine`).
Every error is JSON ``{"error": message}``: 400 bad input, 401 no or wrong token, 404 not found, 409 a write in
progress, 413 too large, 503 not ready; an unexpected one is 500 with no details (they go to the server log).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from openbook import __version__
from openbook.errors import OpenbookError
from openbook.server.batching import MicroBatcher
from openbook.server.engine import Query as BatchQuery
from openbook.server.engine import ReaderSide, WriterSide, filter_key
from openbook.server.errors import ApiError, status_of
from openbook.server.schemas import AskRequest, DocumentIn, DocumentsIn, SearchRequest, Where
from openbook.server.security import token_matches
from openbook.server.settings import ServerSettings
from openbook.types import Document

log = logging.getLogger("openbook.server")
STATIC = Path(__file__).resolve().parent / "static"
PUBLIC = ("/", "/favicon.ico", "/docs", "/openapi.json")  # the page shell and the API description: no index data
PUBLIC_PREFIXES = ("/static/", "/docs/assets/")


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def create_app(settings: ServerSettings) -> FastAPI:
    """The application for ``settings``: models load in the background at start-up (``/ready`` says when)."""
    reader = ReaderSide(settings)
    writer = WriterSide(settings, reader.index_path)
    batcher = MicroBatcher(reader.run_batch, reader.executor, settings.max_batch, settings.batch_wait_ms / 1000)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        batcher.start()
        loop.run_in_executor(reader.executor, reader.load)
        loop.run_in_executor(writer.executor, writer.load)
        yield
        await batcher.stop()
        reader.warmer.stop()
        reader.executor.shutdown(wait=False, cancel_futures=True)
        writer.executor.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(
        title="openbook",
        version=__version__,
        description="Ask questions of your own documents: passages retrieved, answers read and ranked.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings, app.state.reader, app.state.writer, app.state.batcher = settings, reader, writer, batcher
    _add_error_handlers(app)
    _add_middleware(app, settings)
    _add_docs(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    def need_ready() -> None:
        if not reader.ready:
            raise ApiError(503, reader.error or "the models are still loading; try again in a moment")

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/health", summary="The process answers")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready", summary="Models loaded: 200, else 503")
    async def ready() -> dict[str, Any]:
        need_ready()
        warm = reader.warmer
        return {
            "status": "ready",
            "load_seconds": round(reader.load_seconds or 0.0, 3),
            "warm_up": {"shapes": len(warm.steps), "done": warm.done},
        }

    @app.get("/info", summary="The index, the models and the server's batching")
    async def info() -> dict[str, Any]:
        need_ready()
        data = await _on(reader.executor, reader.info)
        stats = batcher.stats
        return {
            **data,
            "version": __version__,
            "reader": str(Path(reader.book.reader.folder).name),
            "mode": settings.mode,
            "k": settings.k,
            "top_answers": settings.top_answers,
            "batching": {
                "max_batch": batcher.max_batch,
                "wait_ms": settings.batch_wait_ms,
                "batches": stats.batches,
                "requests": stats.requests,
                "largest": stats.largest,
            },
            "limits": {"request_bytes": settings.max_request_bytes, "upload_bytes": settings.max_upload_bytes},
        }

    @app.post("/ask", summary="Answers to a question, best first, each highlighted in its passage")
    async def ask(body: AskRequest) -> dict[str, Any]:
        need_ready()
        query = _query("ask", body, settings)
        answers = await batcher.submit(query, _question(body.question, settings))
        return {**_echo(body, query), "answers": answers}

    @app.post("/search", summary="The passages that best answer a question")
    async def search(body: SearchRequest) -> dict[str, Any]:
        need_ready()
        query = _query("search", body, settings)
        results = await batcher.submit(query, _question(body.question, settings))
        return {**_echo(body, query), "results": results}

    @app.get("/documents", summary="The indexed documents (optionally filtered by metadata or by name)")
    async def documents(
        where: list[str] | None = Query(
            None, description="Metadata clauses like year>=2020 (repeat, or separate with ';', for AND): documents "
            "with a passage whose metadata passes them."
        ),
        contains: str | None = Query(None, description="Only documents whose id, title or source contains this."),
        limit: int | None = Query(None, ge=1),
    ) -> dict[str, Any]:
        need_ready()
        wanted = _where(";".join(where) if where else None)
        rows = await _on(reader.executor, reader.documents, wanted, contains or None, limit)
        return {"count": len(rows), "documents": rows}

    @app.post(
        "/documents",
        summary="Add documents: files (multipart, field 'files') or JSON {'documents': [...]}",
        openapi_extra={
            "requestBody": {
                "content": {
                    "application/json": {"schema": DocumentsIn.model_json_schema()},
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"}}},
                        }
                    },
                }
            }
        },
    )
    async def add_documents(request: Request) -> dict[str, Any]:
        need_ready()
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind == "multipart/form-data":
            files = await _files(request)
            return await _write(writer, writer.add_files, files)
        if kind == "application/json":
            docs = await _json_documents(request)
            return await _write(writer, writer.add_documents, docs)
        raise ApiError(400, "send files as multipart/form-data (field 'files') or documents as application/json")

    @app.delete("/documents/{doc_id:path}", summary="Remove a document (its passages leave every index)")
    async def remove_document(doc_id: str) -> dict[str, Any]:
        need_ready()
        return await _write(writer, writer.remove, doc_id)

    return app


# --- request helpers ------------------------------------------------------------------------------------------------
async def _on(executor: Any, fn: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(executor, fn, *args)


async def _write(writer: WriterSide, fn: Callable[..., Any], *args: Any) -> Any:
    """Run one write on the writer thread; 409 while another is running."""
    if writer.busy:
        raise ApiError(409, "another write is in progress; try again when it has finished")
    writer.busy = True
    try:
        return await _on(writer.executor, fn, *args)
    finally:
        writer.busy = False


def _question(text: str, settings: ServerSettings) -> str:
    question = text.strip()
    if not question:
        raise ApiError(400, "the question is empty")
    if len(question) > settings.max_question_chars:
        raise ApiError(400, f"the question is longer than {settings.max_question_chars} characters")
    return question


def _where(where: Where) -> list[str] | dict[str, Any] | None:
    """A filter as the library takes it: clauses (a list, or one string split at ';') or a filter object."""
    if isinstance(where, str):
        where = [part for part in where.split(";")]
    if isinstance(where, list):
        where = [clause.strip() for clause in where if clause.strip()]
    return where or None


def _query(kind: str, body: SearchRequest, settings: ServerSettings) -> BatchQuery:
    k = body.k or settings.k
    if k > settings.max_k:
        raise ApiError(400, f"k must be at most {settings.max_k}")
    top = getattr(body, "top_answers", None) or settings.top_answers
    if top > settings.max_top_answers:
        raise ApiError(400, f"top_answers must be at most {settings.max_top_answers}")
    return BatchQuery(
        kind=kind,
        k=k,
        top_answers=top if kind == "ask" else 0,
        mode=body.mode or settings.mode,
        where=filter_key(_where(body.where)),  # a bad filter is a 400 here, before the request queues
        min_confidence=getattr(body, "min_confidence", None),
        read_all=kind == "ask" and (settings.read_all if getattr(body, "read_all", None) is None else body.read_all),
    )


def _echo(body: SearchRequest, query: BatchQuery) -> dict[str, Any]:
    """The request as answered: question, mode, k and, when one was given, the filter as a Haystack-style dict."""
    out: dict[str, Any] = {"question": body.question, "mode": query.mode, "k": query.k}
    if query.where is not None:
        out["where"] = json.loads(query.where)
    if query.min_confidence is not None:
        out["min_confidence"] = query.min_confidence
    if getattr(body, "read_all", None) is not None:
        out["read_all"] = query.read_all
    return out


async def _files(request: Request) -> list[tuple[str | None, bytes]]:
    form = await request.form(max_files=1000, max_fields=100)
    try:
        uploads = [item for _, item in form.multi_items() if not isinstance(item, str)]
        if not uploads:
            raise ApiError(400, "no files in the upload (send them in the multipart field 'files')")
        return [(item.filename, await item.read()) for item in uploads]
    finally:
        await form.close()


async def _json_documents(request: Request) -> list[Document]:
    try:
        body = DocumentsIn.model_validate_json(await request.body())
    except ValidationError as exc:
        raise ApiError(400, _validation_message(exc.errors())) from None
    return [_document(d) for d in body.documents]


def _document(d: DocumentIn) -> Document:
    return Document(id=d.id, text=d.text, title=d.title, source=d.source, metadata=d.metadata)


def _validation_message(errors: list[dict[str, Any]]) -> str:
    first = errors[0] if errors else {}
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    message = first.get("msg", "invalid request")
    return f"{where}: {message}" if where else message


# --- errors, security, documentation ----------------------------------------------------------------------------------
def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(OpenbookError)
    async def openbook_error(request: Request, exc: OpenbookError) -> JSONResponse:
        return error(status_of(exc), str(exc))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        message = {404: "not found", 405: "method not allowed"}.get(exc.status_code, str(exc.detail))
        return error(exc.status_code, message, getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error(400, _validation_message(list(exc.errors())))

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
        return error(500, "internal error (details are in the server log)")


def _add_middleware(app: FastAPI, settings: ServerSettings) -> None:
    """Token check inside, body limits around it, CORS (when asked for) outermost so preflights get their answer."""
    if settings.token is not None:
        token = settings.token

        @app.middleware("http")
        async def check_token(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
            path = request.url.path
            if path in PUBLIC or path.startswith(PUBLIC_PREFIXES) or request.method == "OPTIONS":
                return await call_next(request)
            if not token_matches(request.headers.get("authorization"), token):
                return error(401, "missing or wrong bearer token", {"WWW-Authenticate": "Bearer"})
            return await call_next(request)

    app.add_middleware(BodyLimit, settings=settings)
    if settings.cors:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )


class TooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request is larger than the limit of {limit:,} bytes")


class BodyLimit:
    """Refuse request bodies over the limit (413): by ``Content-Length`` up front, and by counting as they arrive.
    Multipart uploads get ``max_upload_bytes``, every other body ``max_request_bytes``."""

    def __init__(self, app: Any, settings: ServerSettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        upload = headers.get("content-type", "").lower().startswith("multipart/")
        limit = self.settings.max_upload_bytes if upload else self.settings.max_request_bytes
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await error(413, TooLarge(limit).detail)(scope, receive, send)
            return
        seen = 0

        async def counted() -> dict:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise TooLarge(limit)
            return message

        await self.app(scope, counted, send)


def _add_docs(app: FastAPI) -> None:
    """Swagger UI at /docs from the locally installed bundle (no CDN); the description itself is /openapi.json."""
    try:
        import swagger_ui_bundle
    except ImportError:
        return
    from fastapi.openapi.docs import get_swagger_ui_html

    app.mount("/docs/assets", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="openbook API",
            swagger_js_url="/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/docs/assets/favicon-32x32.png",
        )
