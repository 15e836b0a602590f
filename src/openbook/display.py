"""How results look in a terminal (rich) and as JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from openbook.types import SearchResult

console = Console()
errors = Console(stderr=True)


def print_json(data: Any) -> None:
    """One JSON document on stdout, nothing else."""
    print(json.dumps(data, ensure_ascii=False, indent=2))


def result_dict(result: SearchResult) -> dict[str, Any]:
    return {"rank": result.rank, "score": round(result.score, 6), **asdict(result.passage)}


def snippet(text: str, limit: int = 400) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + " …"


def show_results(question: str, results: list[SearchResult]) -> None:
    console.print(Text.assemble(("Q: ", "bold"), question))
    for r in results:
        where = r.passage.title or r.passage.doc_id
        head = Text.assemble(
            (f"{r.rank}. ", "bold cyan"),
            (f"{r.score:.3f} ", "green"),
            (where, "bold"),
            (f"  [{r.passage.start}:{r.passage.end}] {r.passage.source}", "dim"),
        )
        console.print(head)
        console.print(Text(snippet(r.passage.text), style=""), highlight=False)
        console.print()


def show_table(title: str, rows: dict[str, Any]) -> None:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for key, value in rows.items():
        table.add_row(key, json.dumps(value) if isinstance(value, (dict, list)) else str(value))
    console.print(table)


@contextmanager
def progress_bar(enabled: bool = True) -> Iterator[Any]:
    """A rich progress display; yields ``update(stage, done, total)``."""
    progress = Progress(
        TextColumn("{task.description:>8}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=errors,
        disable=not enabled,
        transient=False,
    )
    tasks: dict[str, int] = {}

    def update(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = progress.add_task(stage, total=total)
        progress.update(tasks[stage], completed=done, total=total)

    with progress:
        yield update
