"""Index housekeeping commands: ``remove``, ``documents``, ``indexes`` and ``drop``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from openbook.cli import display
from openbook.cli.app import IndexDirOpt, IndexOpt, JsonOpt, app
from openbook.errors import OpenbookError
from openbook.index.names import resolve_index


@app.command()
def remove(
    doc_ids: Annotated[list[str], typer.Argument(help="Document ids (as `openbook documents` lists them).")],
    index: IndexOpt = "default",
    index_dir: IndexDirOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Remove documents from an index (one commit); ids it does not hold are reported."""
    from dataclasses import asdict

    from openbook.index.folder import Index
    from openbook.retrieval.indexer import Indexer

    report = Indexer(Index.open(resolve_index(index, index_dir))).remove(doc_ids)
    if json_out:
        display.print_json(asdict(report))
        return
    display.console.print(
        f"removed {report.documents_removed} documents ({report.passages_removed} passages)"
        + (f"; not in the index: {', '.join(report.unknown)}" if report.unknown else "")
    )


@app.command()
def documents(
    index: IndexOpt = "default",
    index_dir: IndexDirOpt = None,
    where: Annotated[str | None, typer.Option(help="Only documents whose id, title or source contains this.")] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """List the documents of an index: id, title, source, passages, metadata, when indexed."""
    from rich.table import Table

    from openbook.index.folder import Index

    if limit is not None and limit < 1:
        raise OpenbookError("--limit must be at least 1")
    rows = Index.open(resolve_index(index, index_dir)).store.documents(where, limit)
    if json_out:
        display.print_json(rows)
        return
    table = Table("id", "title", "source", "passages", "metadata", "indexed at")
    for row in rows:
        meta = ", ".join(f"{k}={v}" for k, v in row["metadata"].items())
        table.add_row(row["id"], row["title"], row["source"], str(row["passages"]), meta, row["indexed_at"] or "")
    display.console.print(table)


@app.command()
def indexes(index_dir: IndexDirOpt = None, json_out: JsonOpt = False) -> None:
    """List the indexes in the indexes folder."""
    from openbook.config import indexes_dir
    from openbook.index.folder import Index
    from openbook.index.names import is_index

    folder = Path(index_dir) if index_dir is not None else indexes_dir()
    found = []
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        if path.is_dir() and is_index(path):
            try:
                info = Index.open(path).info()
                found.append({k: info[k] for k in ("index", "documents", "passages", "model", "size_bytes", "updated")})
            except OpenbookError as exc:
                found.append({"index": path.name, "error": str(exc)})
    if json_out:
        display.print_json(found)
        return
    from rich.table import Table

    table = Table("index", "documents", "passages", "model", "size", "updated")
    for row in found:
        if "error" in row:
            table.add_row(row["index"], "", "", row["error"], "", "")
        else:
            size = f"{row['size_bytes'] / 1e6:.1f} MB"
            table.add_row(row["index"], str(row["documents"]), str(row["passages"]), row["model"], size, row["updated"] or "")
    display.console.print(table)


@app.command()
def drop(
    name: Annotated[str, typer.Argument(help="The index to delete.")],
    index_dir: IndexDirOpt = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
) -> None:
    """Delete an index: only the files it owns (its manifest, store and checkpoints); the folder goes when empty."""
    from openbook.index.folder import Index

    path = resolve_index(name, index_dir)
    index = Index.open(path)
    files = index.files()
    index.close()
    if not yes and not typer.confirm(f"delete index {name} ({len(files)} files in {path})?"):
        raise typer.Exit(1)
    for file in files:
        file.unlink(missing_ok=True)
    try:
        path.rmdir()
    except OSError:
        display.errors.print(f"kept {path}: it holds files openbook did not write", highlight=False)
    display.console.print(f"dropped index {name}")
