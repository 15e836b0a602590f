"""How results look in a terminal (rich) and as JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
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


def snippet(text: str, limit: int = 400) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + " …"


SHOWN_IN_LOCATION = ("page", "last_page", "section")  # shown by location() instead


def metadata_line(metadata: dict[str, Any], limit: int = 160) -> str:
    """Metadata on one line, ``key: value · key: value``, cut at ``limit`` characters ("" when there is none)."""
    parts = []
    for key, value in metadata.items():
        if key in SHOWN_IN_LOCATION:
            continue
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        parts.append(f"{key}: {' '.join(str(shown).split())}")
    line = " · ".join(parts)
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def location(passage: Any) -> str:
    """Where a passage is: ``/docs/manual.pdf, p. 12 § Installing`` (page and section where the document has them)."""
    meta = getattr(passage, "metadata", None) or {}
    where = passage.source or passage.doc_id
    if "page" in meta:
        last = meta.get("last_page")
        where += f", pp. {meta['page']}–{last}" if last not in (None, meta["page"]) else f", p. {meta['page']}"
    if meta.get("section"):
        where += f" § {meta['section']}"
    return where


def warn(problem: Any) -> None:
    """One line on stderr for a file skipped or read with a caveat."""
    errors.print(Text.assemble(("warning: ", "yellow"), problem.line()), highlight=False, soft_wrap=True)


def show_results(question: str, results: list[SearchResult]) -> None:
    console.print(Text.assemble(("Q: ", "bold"), question))
    if not results:
        console.print("[yellow]no passages found[/]")
    for r in results:
        where = r.passage.title or r.passage.doc_id
        found = ", ".join(f"{name} #{rank}" for name, rank in getattr(r, "found_by", {}).items())
        head = Text.assemble(
            (f"{r.rank}. ", "bold cyan"),
            (f"{r.score:.3f} ", "green"),
            (where, "bold"),
            (f"  [{r.passage.start}:{r.passage.end}] {location(r.passage)}", "dim"),
            (f"  ({found})" if found else "", "dim"),
        )
        console.print(head)
        if r.passage.metadata:
            console.print(Text(metadata_line(r.passage.metadata), style="dim"), highlight=False)
        console.print(Text(snippet(r.passage.text), style=""), highlight=False)
        console.print()


def show_table(title: str, rows: dict[str, Any]) -> None:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for key, value in rows.items():
        table.add_row(key, json.dumps(value) if isinstance(value, (dict, list)) else str(value))
    console.print(table)


PROGRESS_EVERY_S = 5.0


@contextmanager
def progress_bar(enabled: bool = True) -> Iterator[Any]:
    """A rich progress display, or when stderr is not a terminal one line per stage every few seconds (and when a
    stage ends); yields ``update(stage, done, total)``."""
    if enabled and not errors.is_terminal:
        yield _progress_lines()
        return
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


def _progress_lines() -> Any:
    import time

    start = time.monotonic()
    last: dict[str, float] = {}

    def update(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - last.get(stage, start) < PROGRESS_EVERY_S:
            return
        if done >= total and last.get(stage) == float("inf"):
            return
        last[stage] = float("inf") if done >= total else now
        share = f" ({100 * done // total}%)" if total else ""
        errors.print(f"{stage} {done}/{total}{share} at {now - start:.0f} s", highlight=False, soft_wrap=True)

    return update


def highlighted(text: str, start: int, end: int, context: int = 300) -> Text:
    """The passage around ``text[start:end]`` with the span highlighted; long passages are trimmed to ``context``."""
    left = max(0, start - context)
    right = min(len(text), end + context)
    if left > 0:
        left = text.find(" ", left, start) + 1 or left
    if right < len(text):
        right = text.rfind(" ", end, right) if text.rfind(" ", end, right) > 0 else right
    out = Text("… " if left > 0 else "")
    out.append(" ".join(text[left:start].split()) + (" " if text[start - 1 : start].isspace() else ""))
    out.append(text[start:end], style="bold black on yellow")
    out.append((" " if text[end : end + 1].isspace() else "") + " ".join(text[end:right].split()))
    if right < len(text):
        out.append(" …")
    return out


def confidence_label(value: float) -> str:
    """A confidence as a person reads it: ``87%``."""
    return "–" if value != value else f"{100 * value:.0f}%"


def show_answers(question: str, answers: list[Any]) -> None:
    """The best answer highlighted in its passage, its confidence and source, then the next best answers.

    When the best answer's confidence is below the threshold, the reply is "not in your documents" and the best
    guess follows, marked as a guess.
    """
    console.print(Text.assemble(("Q: ", "bold"), question))
    if not answers:
        console.print("[yellow]No answer found in the retrieved passages.[/]")
        return
    best = answers[0]
    p = best.passage
    if best.abstain:
        console.print(Text.assemble(("A: ", "bold"), ("Not in your documents.", "bold yellow")))
        console.print(
            Text.assemble(
                ("Best guess: ", "dim"), (best.text, "bold"), (f"  (confidence {confidence_label(best.confidence)})", "dim")
            )
        )
    else:
        console.print(
            Text.assemble(
                ("A: ", "bold"), (best.text, "bold green"), (f"  (confidence {confidence_label(best.confidence)})", "")
            )
        )
    console.print(highlighted(p.text, best.start, best.end), highlight=False)
    console.print(
        Text(
            f"{p.title or p.doc_id} · {location(p)} [{best.document_start}:{best.document_end}] "
            f"· score {best.score:.2f} "
            f"(span {best.span_score:.2f}, no-answer {best.no_answer_score:.2f}, "
            f"retrieval {best.retrieval_score:.3f} at rank {best.retrieval_rank})",
            style="dim",
        )
    )
    if p.metadata:
        console.print(Text(metadata_line(p.metadata), style="dim"), highlight=False)
    if len(answers) > 1:
        table = Table("#", "answer", "confidence", "source", box=None, title="next best", title_justify="left")
        for n, a in enumerate(answers[1:], start=2):
            table.add_row(str(n), a.text, confidence_label(a.confidence), a.passage.title or a.passage.doc_id)
        console.print(table)
    console.print()
