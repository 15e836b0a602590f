"""Documents to encoded passages in Parquet: load, split, encode (in-process, streaming, or on Ray Data), write.

A folder of Parquet files holds one row per passage (:func:`schema`): its stable ``key`` (``DOC_ID#ORDINAL``), document
id, ordinal and the document's passage count, character offsets, title, source, text, metadata (JSON) and its vector
(``fixed_size_list<float32>[dimension]``); the first passage of each document also carries the document's text, title
and metadata, so the index can be rebuilt from the folder alone. Every file's metadata names the model that made the
vectors (``openbook.model``: ``ModelManifest.identity()``) and the passage length (``openbook.passage_tokens``).

:func:`iter_encoded` reads such a folder back as (document, passages, vectors) items for ``Retriever.add_encoded``, in
bounded memory and in any row order (Ray writes its files in no particular order).
"""

from __future__ import annotations

import functools
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from openbook.errors import OpenbookError
from openbook.ingest.loaders import reader_for, relative_id
from openbook.ingest.splitting import split_document
from openbook.models.embedder import Embedder
from openbook.models.specs import describe
from openbook.models.tokenization import WordPiece
from openbook.retrieval.retriever import DEFAULT_OVERLAP_TOKENS, DEFAULT_PASSAGE_TOKENS
from openbook.types import Document, Passage

MODEL_KEY = b"openbook.model"
TOKENS_KEY = b"openbook.passage_tokens"
CHUNK = 1024  # passages encoded and written together in-process: one Parquet row group
DEFAULT_BATCH_ROWS = 256  # passages in one Ray Data block, one call of an encoder actor: the unit of dispatch
READ_ROWS = 4096  # rows read at a time by iter_encoded


def pyarrow():
    """The pyarrow module, or a one-line error naming the extra that brings it."""
    try:
        import pyarrow as pa
        import pyarrow.parquet
    except ImportError:
        raise OpenbookError("Parquet needs the ray extra: pip install -e '.[ray]'") from None
    return pa


def schema(dimension: int, model: dict[str, Any], passage_tokens: int):
    """The Parquet schema of encoded passages, the model's identity in its metadata."""
    pa = pyarrow()
    text = pa.string()
    fields = [
        ("key", text),
        ("doc_id", text),
        ("ordinal", pa.int32()),
        ("passages", pa.int32()),
        ("start", pa.int64()),
        ("end", pa.int64()),
        ("title", text),
        ("source", text),
        ("text", text),
        ("metadata", text),
        ("document", text),  # these three on a document's first passage only, null elsewhere
        ("document_title", text),
        ("document_metadata", text),
        ("vector", pa.list_(pa.float32(), dimension)),
    ]
    meta = {MODEL_KEY: json.dumps(model, sort_keys=True).encode(), TOKENS_KEY: str(passage_tokens).encode()}
    return pa.schema([pa.field(name, kind) for name, kind in fields], metadata=meta)


# --- loading and splitting ---------------------------------------------------------------------------------------
def document_files(paths: Sequence[str | Path]) -> list[Path]:
    """The files that ``paths`` name (folders walked as ``openbook index`` walks them), each once; each file keeps
    the folder it was found from in :data:`ROOTS`, so document ids are relative to it as in ``openbook index``."""
    from openbook.ingest.scan import Scan

    files = []
    for path, _named, root in Scan([Path(p) for p in paths], strict=True)._targets():
        ROOTS[str(path.resolve())] = str(root.resolve())
        files.append(path)
    return files


ROOTS: dict[str, str] = {}  # resolved file -> resolved folder it was found from


def read_file(path: Path, root: str | Path | None = None) -> list[Document]:
    """The documents of one file, ids relative to ``root`` (default: the folder it was found from, else its own)."""
    reader = reader_for(path)
    if reader is None:
        raise OpenbookError(f"{path}: unsupported file type {path.suffix or '(no suffix)'}")
    root = Path(root or ROOTS.get(str(Path(path).resolve())) or Path(path).resolve().parent)
    docs = reader(path, None)
    for doc in docs:
        doc.id = relative_id(doc.id, path, root)
    return docs


def iter_documents(files: Iterable[Path]) -> Iterator[Document]:
    """Documents of ``files`` one file at a time; a document id seen twice is an error, as in ``openbook index``."""
    origin: dict[str, Path] = {}
    for path in files:
        for doc in read_file(path):
            if doc.id in origin:
                raise OpenbookError(f"{path}: duplicate document id {doc.id!r} (first seen in {origin[doc.id]})")
            origin[doc.id] = path
            yield doc


class Splitter:
    """The retriever's split (:meth:`Retriever.split`) without loading the model: its tokenizer and limits only."""

    def __init__(self, model: str | Path, passage_tokens: int | None = None) -> None:
        model = Path(model)
        manifest = describe(model, "retriever")
        folder = model if model.is_dir() else model.parent
        self.tokenizer = WordPiece(folder / manifest.vocab, lowercase=manifest.lowercase)
        self.passage_tokens = passage_tokens or DEFAULT_PASSAGE_TOKENS
        self.max_tokens = min(self.passage_tokens, manifest.passage_length - 2)

    def split(self, doc: Document) -> list[Passage]:
        return split_document(doc, self.tokenizer, max_tokens=self.max_tokens, overlap_tokens=DEFAULT_OVERLAP_TOKENS)


def passage_rows(doc: Document, passages: Sequence[Passage]) -> list[dict[str, Any]]:
    """One row per passage (no vector yet); the first carries the document's text, title and metadata."""
    rows = []
    for n, p in enumerate(passages):
        first = n == 0
        rows.append(
            {
                "key": f"{doc.id}#{n}",
                "doc_id": doc.id,
                "ordinal": n,
                "passages": len(passages),
                "start": p.start,
                "end": p.end,
                "title": p.title,
                "source": p.source,
                "text": p.text,
                "metadata": json.dumps(p.metadata, ensure_ascii=False),
                "document": doc.text if first else None,
                "document_title": doc.title if first else None,
                "document_metadata": json.dumps(doc.metadata, ensure_ascii=False) if first else None,
            }
        )
    return rows


@functools.lru_cache(maxsize=4)
def _splitter(model: str, passage_tokens: int | None) -> Splitter:
    return Splitter(model, passage_tokens)


def split_file(row: dict[str, Any], model: str, passage_tokens: int | None) -> list[dict[str, Any]]:
    """Ray Data ``flat_map``: one file's passages as rows (the tokenizer is loaded once per worker process)."""
    splitter = _splitter(model, passage_tokens)
    path = Path(row["path"])
    return [r for doc in read_file(path, row.get("root")) for r in passage_rows(doc, splitter.split(doc))]


# --- encoding ------------------------------------------------------------------------------------------------------
def with_vectors(table, vectors: np.ndarray):
    """``table`` with a ``vector`` column (fixed-size lists of float32) from the rows of ``vectors``."""
    pa = pyarrow()
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    column = pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel(), pa.float32()), vectors.shape[1])
    return table.append_column("vector", column)


class PassageEncoder:
    """Adds vectors to batches of passage rows. As a Ray Data actor it loads the embedder once, running ``threads``
    inference threads (its ``num_cpus``); 0 keeps the runtime's default (every core)."""

    def __init__(self, model: str, threads: int = 0, batch_size: int = 32) -> None:
        if threads:
            os.environ["OPENBOOK_THREADS"] = str(threads)  # read by the runtime when it compiles the model
        self.embedder = Embedder(Path(model), batch_size=batch_size)

    def __call__(self, batch):
        texts = batch.column("text").to_pylist()
        return with_vectors(batch, self.embedder.encode_passages(texts))


@dataclass
class EncodeReport:
    """What one ``encode`` wrote."""

    out: str
    files: list[str] = field(default_factory=list)
    documents: int | None = None
    passages: int = 0
    model: dict[str, Any] = field(default_factory=dict)
    ray: str | None = None
    seconds: float = 0.0


def prepare_out(out: Path) -> None:
    """Create ``out``, which must be new or empty: encoding never overwrites files it did not write."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise OpenbookError(f"{out} exists and is not an empty folder: encode into a new folder")
    out.mkdir(parents=True, exist_ok=True)


def encode(
    paths: Sequence[str | Path],
    out: str | Path,
    model: str | Path,
    passage_tokens: int | None = None,
    ray_address: str | None = None,
    actors: int = 1,
    cpus_per_actor: int = 1,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    progress: Callable[[str, int, int], None] | None = None,
) -> EncodeReport:
    """Encode the passages of the documents in ``paths`` into Parquet files in ``out`` (a new or empty folder).

    ``ray_address`` None encodes in-process; otherwise on Ray Data (``"local"`` or ``"auto"``: a Ray started here or
    the one already running; ``ray://host:10001``: a cluster), ``actors`` encoders of ``cpus_per_actor`` CPUs each.
    """
    if passage_tokens is not None and not 8 <= passage_tokens <= 382:
        raise OpenbookError(f"--passage-tokens must be from 8 to 382, not {passage_tokens}")
    if batch_rows < 1:  # before the output folder is made
        raise OpenbookError(f"batch_rows must be at least 1, not {batch_rows}")
    start = time.perf_counter()
    out = Path(out)
    files = document_files(paths)
    model = Path(model)
    prepare_out(out)
    if ray_address is None:
        report = _encode_local(files, out, model, passage_tokens, progress)
    else:
        report = _encode_ray(files, out, model, passage_tokens, ray_address, actors, cpus_per_actor, batch_rows)
    report.seconds = time.perf_counter() - start
    return report


def _encode_local(
    files: list[Path],
    out: Path,
    model: Path,
    passage_tokens: int | None,
    progress: Callable[[str, int, int], None] | None,
) -> EncodeReport:
    """In-process: CHUNK passages at a time are encoded and written as one row group, so memory stays bounded."""
    import pyarrow.parquet as pq

    pa = pyarrow()
    encoder = PassageEncoder(str(model))
    splitter = Splitter(model, passage_tokens)
    identity = encoder.embedder.manifest.identity()
    target = schema(encoder.embedder.dimension, identity, splitter.passage_tokens)
    path = out / "part-00000.parquet"
    report = EncodeReport(str(out), [path.name], documents=0, model=identity)
    rows: list[dict[str, Any]] = []

    def flush(writer) -> None:
        if rows:
            table = pa.Table.from_pylist(rows, schema=pa.schema([f for f in target if f.name != "vector"]))
            writer.write_table(encoder(table).cast(target))
            report.passages += len(rows)
            rows.clear()
            if progress:
                progress("encode", report.passages, 0)

    try:
        with pq.ParquetWriter(path, target) as writer:
            for doc in iter_documents(files):
                rows.extend(passage_rows(doc, splitter.split(doc)))
                report.documents = (report.documents or 0) + 1
                if len(rows) >= CHUNK:
                    flush(writer)
            flush(writer)
    except BaseException:
        path.unlink(missing_ok=True)  # ours, and incomplete
        raise
    return report


def ray_module():
    """The ray module, or a one-line error naming the extra that brings it."""
    try:
        import ray
        import ray.data
    except ImportError:
        raise OpenbookError("Ray needs the ray extra: pip install -e '.[ray]'") from None
    return ray


def connect(address: str) -> None:
    """Join the Ray cluster at ``address`` unless this process already has one (``local``: start one here)."""
    ray = ray_module()
    if ray.is_initialized():
        return
    try:
        ray.init(address=None if address == "local" else address, log_to_driver=False, configure_logging=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise OpenbookError(f"cannot join Ray at {address}: {str(exc).splitlines()[0]}") from None


def _encode_ray(
    files: list[Path],
    out: Path,
    model: Path,
    passage_tokens: int | None,
    address: str,
    actors: int,
    cpus_per_actor: int,
    batch_rows: int,
) -> EncodeReport:
    """On Ray Data: files are read and split by tasks (``flat_map``), passages encoded by an actor pool
    (``map_batches``), rows written by Ray's Parquet writer; every stage streams. Paths must be readable on every node,
    and ``out`` writable by all (a shared filesystem)."""
    if actors < 1 or cpus_per_actor < 1:
        raise OpenbookError("--actors and --cpus-per-actor must be at least 1")
    connect(address)
    from ray.data import DataContext

    context = DataContext.get_current()
    saved = context.enable_progress_bars
    context.enable_progress_bars = False
    try:
        return _run_ray(files, out, model, passage_tokens, address, actors, cpus_per_actor, batch_rows)
    finally:
        context.enable_progress_bars = saved


def _run_ray(
    files: list[Path],
    out: Path,
    model: Path,
    passage_tokens: int | None,
    address: str,
    actors: int,
    cpus_per_actor: int,
    batch_rows: int,
) -> EncodeReport:
    import pyarrow.parquet as pq

    ray = ray_module()
    from ray.data import ActorPoolStrategy

    embedder = Embedder(model)  # here only for the model's identity and dimension
    identity = embedder.manifest.identity()
    tokens = passage_tokens or DEFAULT_PASSAGE_TOKENS
    target = schema(embedder.dimension, identity, tokens)
    del embedder
    rows = [{"path": str(p.resolve()), "root": ROOTS.get(str(p.resolve()))} for p in files]
    ds = ray.data.from_items(rows)
    ds = ds.flat_map(split_file, fn_kwargs={"model": str(model.resolve()), "passage_tokens": passage_tokens})
    # One file's passages come out of one task as one block, and an actor pool hands out whole blocks (gathered into
    # bundles of at least batch_rows passages): cut them, as they stream, into blocks of batch_rows passages, so that
    # every actor gets work even from a single file.
    ds = ds.repartition(target_num_rows_per_block=batch_rows, strict=True)
    ds = ds.map_batches(
        PassageEncoder,
        fn_constructor_kwargs={"model": str(model.resolve()), "threads": cpus_per_actor},
        batch_size=batch_rows,
        batch_format="pyarrow",
        compute=ActorPoolStrategy(size=actors),
        num_cpus=cpus_per_actor,
        udf_modifying_row_count=False,
    )
    try:
        ds.write_parquet(str(out.resolve()), schema=target)
    except Exception as exc:
        for part in out.glob("*.parquet"):  # ours: the folder was empty
            part.unlink()
        cause = _openbook_cause(exc)
        if cause is not None:
            raise OpenbookError(cause) from None
        raise
    written = sorted(out.glob("*.parquet"))
    passages = sum(pq.read_metadata(p).num_rows for p in written)
    return EncodeReport(str(out), [p.name for p in written], None, passages, identity, address)


_REMOTE_ERROR = re.compile(r"openbook\.errors\.OpenbookError: (.+)")


def _openbook_cause(exc: BaseException) -> str | None:
    """The message of the OpenbookError behind an error raised through Ray (a bad file read by a task), if any: Ray
    hands back the task's traceback as text."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, OpenbookError):
            return str(e)
        todo += [e.__cause__, e.__context__]
    found = _REMOTE_ERROR.search(str(exc))
    return found.group(1).strip() if found else None


# --- reading back ----------------------------------------------------------------------------------------------------
@dataclass
class EncodedFolder:
    """A folder of encoded passages: its files, the model that made the vectors, the passage length, the row count."""

    path: Path
    files: list[Path]
    model: dict[str, Any]
    passage_tokens: int | None
    passages: int
    dimension: int


def open_encoded(folder: str | Path) -> EncodedFolder:
    """Check a folder written by :func:`encode`: Parquet files that all name the same model."""
    import pyarrow.parquet as pq

    pyarrow()
    folder = Path(folder)
    if not folder.is_dir():
        raise OpenbookError(f"no such folder: {folder}")
    files = sorted(folder.glob("*.parquet"))
    if not files:
        raise OpenbookError(f"{folder} holds no .parquet files (write them with: openbook encode PATH --out {folder})")
    models, tokens, rows, dims = set(), set(), 0, set()
    for path in files:
        try:
            meta = pq.read_schema(path)
            rows += pq.read_metadata(path).num_rows
        except Exception as exc:  # noqa: BLE001 (pyarrow raises several kinds for a file that is not Parquet)
            raise OpenbookError(f"{path}: not a Parquet file ({str(exc).splitlines()[0]})") from None
        found = (meta.metadata or {}).get(MODEL_KEY)
        if found is None or "vector" not in meta.names:
            raise OpenbookError(f"{path}: not written by openbook encode (no model identity or vector column)")
        models.add(found)
        tokens.add((meta.metadata or {}).get(TOKENS_KEY))
        dims.add(meta.field("vector").type.list_size)
    if len(models) > 1:
        raise OpenbookError(f"{folder} mixes vectors from {len(models)} different models")
    passage_tokens = tokens.pop() if len(tokens) == 1 else None
    return EncodedFolder(
        folder,
        files,
        json.loads(models.pop()),
        int(passage_tokens) if passage_tokens else None,
        rows,
        int(dims.pop()),
    )


@dataclass
class _Pending:
    document: Document | None = None
    count: int = 0
    parts: dict[int, tuple[Passage, np.ndarray]] = field(default_factory=dict)


def iter_encoded(encoded: EncodedFolder) -> Iterator[tuple[Document, list[Passage], np.ndarray]]:
    """(document, passages in order, their vectors) for every document of the folder, each as soon as all its
    passages are read; memory holds only documents whose passages are still arriving."""
    import pyarrow.parquet as pq

    pending: dict[str, _Pending] = {}
    done: set[str] = set()
    for path in encoded.files:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=READ_ROWS):
            cols = batch.to_pydict()
            vectors = batch.column("vector").flatten().to_numpy(zero_copy_only=False)
            vectors = vectors.reshape(batch.num_rows, encoded.dimension)
            for i in range(batch.num_rows):
                doc_id = cols["doc_id"][i]
                if doc_id in done:
                    raise OpenbookError(f"{path}: document {doc_id!r} appears twice in {encoded.path}")
                item = pending.setdefault(doc_id, _Pending())
                item.count = cols["passages"][i]
                ordinal = cols["ordinal"][i]
                passage = Passage(
                    text=cols["text"][i],
                    doc_id=doc_id,
                    start=cols["start"][i],
                    end=cols["end"][i],
                    title=cols["title"][i] or "",
                    source=cols["source"][i] or "",
                    metadata=json.loads(cols["metadata"][i] or "{}"),
                )
                if ordinal in item.parts:
                    raise OpenbookError(f"{path}: passage {cols['key'][i]!r} appears twice in {encoded.path}")
                item.parts[ordinal] = (passage, vectors[i])
                if cols["document"][i] is not None:
                    item.document = Document(
                        id=doc_id,
                        text=cols["document"][i],
                        title=cols["document_title"][i] or "",
                        source=passage.source,
                        metadata=json.loads(cols["document_metadata"][i] or "{}"),
                    )
                if item.document is not None and len(item.parts) == item.count:
                    order = sorted(item.parts)
                    yield item.document, [item.parts[n][0] for n in order], np.stack([item.parts[n][1] for n in order])
                    del pending[doc_id]
                    done.add(doc_id)
    if pending:
        doc_id, item = next(iter(pending.items()))
        raise OpenbookError(
            f"{encoded.path} is incomplete: document {doc_id!r} has {len(item.parts)} of {item.count} passages"
            + ("" if item.document else " and no text")
        )
