"""``openbook encode`` (passages to Parquet vectors, in-process or on Ray), ``openbook shard`` (an index split into
shards) and ``openbook index --from-vectors`` (an index from encoded passages)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from openbook.cli import display
from openbook.config import DEFAULT_RETRIEVER, resolve_index, resolve_model
from openbook.errors import OpenbookError

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")]


def encode(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders: .txt .md .html .jsonl, SQuAD .json.")],
    out: Annotated[Path, typer.Option("--out", help="A new (or empty) folder for the Parquet files.")],
    ray: Annotated[
        str | None,
        typer.Option("--ray", help="Encode on Ray: a cluster address (ray://host:10001, auto) or 'local'."),
    ] = None,
    actors: Annotated[int, typer.Option(help="Encoder actors on Ray (each loads the model once).")] = 1,
    cpus_per_actor: Annotated[int, typer.Option(help="CPUs (and inference threads) of each actor.")] = 1,
    batch_rows: Annotated[
        int, typer.Option(help="Passages per Ray block: each actor length-sorts a block and encodes it in batches.")
    ] = 256,
    retriever: Annotated[
        str | None, typer.Option("--retriever", help="Retriever model (default: the default).")
    ] = None,
    passage_tokens: Annotated[
        int | None, typer.Option(help="Most word pieces in a passage (default 256; at most 382).")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Split documents into passages and encode them to Parquet (vectors, text, offsets, metadata, the model)."""
    from openbook.scale.encode import encode as run

    model = resolve_model(retriever, DEFAULT_RETRIEVER)
    with display.progress_bar(enabled=not json_out and ray is None) as update:
        report = run(paths, out, model, passage_tokens, ray, actors, cpus_per_actor, batch_rows, progress=update)
    if json_out:
        display.print_json(asdict(report))
        return
    docs = f"{report.documents} documents, " if report.documents is not None else ""
    where = f"on Ray ({report.ray})" if report.ray else "in-process"
    display.console.print(
        f"[bold]{report.out}[/]: {docs}{report.passages} passages encoded {where} by {report.model.get('name')} "
        f"in {report.seconds:.1f} s ({report.passages / max(report.seconds, 1e-9):.1f} passages/s), "
        f"{len(report.files)} Parquet file(s)."
    )


def shard(
    source: Annotated[str, typer.Argument(help="The index to split (name or folder); it is left as it is.")],
    shards: Annotated[int, typer.Option("--shards", help="How many shards.")],
    index: Annotated[str, typer.Option("--index", "-i", help="Name (or folder) of the new sharded index.")],
    from_vectors: Annotated[
        bool, typer.Option("--from-vectors", help="SOURCE is a folder of encoded passages (openbook encode).")
    ] = False,
    retriever: Annotated[str | None, typer.Option("--retriever", help="Retriever model (with --from-vectors).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Split an index (or encoded passages) into N shard indexes, searched together by search and ask."""
    from openbook.scale.shards import split_encoded, split_index

    if from_vectors:
        report = split_encoded(Path(source), index, shards, retriever)
    else:
        report = split_index(source, index, shards)
    if json_out:
        display.print_json(asdict(report))
        return
    parts = ", ".join(f"{s['shard']}: {s['passages']}" for s in report.shards)
    display.console.print(
        f"[bold]{report.index}[/]: {len(report.shards)} shards (passages {parts}) in {report.seconds:.1f} s."
    )


def index_from_vectors(folder: Path, index: str, retriever: str | None, json_out: bool) -> None:
    """``openbook index --from-vectors DIR``: add encoded passages to an index without encoding them, refusing vectors
    of another model than the index's."""
    from openbook.index.folder import model_mismatch
    from openbook.retrieval.retriever import Retriever
    from openbook.scale.encode import iter_encoded, open_encoded
    from openbook.scale.shards import _model_for, is_sharded

    if is_sharded(resolve_index(index)):
        raise OpenbookError(f"{index} is a sharded index: build shards with openbook shard DIR --from-vectors")
    encoded = open_encoded(folder)
    exists = (resolve_index(index) / "index.json").is_file()  # then searched with its own model, unless one is given
    r = Retriever(index, model=retriever or (None if exists else _model_for(encoded.model)))
    why = model_mismatch(encoded.model, r.manifest)
    if why:
        raise OpenbookError(f"vectors in {folder} cannot go into index {r.index_path.name}: {why}")
    if not hasattr(r, "add_encoded"):
        raise OpenbookError("this openbook cannot index precomputed vectors (Retriever.add_encoded is missing)")
    report = r.add_encoded(iter_encoded(encoded), encoded.model)
    info = r.index.info()
    if json_out:
        display.print_json({**asdict(report), "index": info})
        return
    display.console.print(
        f"[bold]{info['index']}[/]: {report.passages_added} passages added from {folder} without encoding "
        f"in {report.seconds:.1f} s. Now {info['documents']} documents, {info['passages']} passages."
    )


def register(app: typer.Typer) -> None:
    """Add ``encode`` and ``shard`` to the ``openbook`` command line."""
    app.command()(encode)
    app.command()(shard)
