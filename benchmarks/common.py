"""Helpers shared by the benchmark scripts: the machine, summaries of repeated timings, results as JSON, plots, tables.

Every script writes ``benchmarks/results/NAME.json`` and, where it has something to draw, ``benchmarks/results/NAME.png``.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
SHARED = Path(__file__).resolve().parents[2] / "shared"
SQUAD_DEV = SHARED / "data" / "squad" / "dev-v1.1.json"


# ---------------------------------------------------------------------------------------------------- the machine


def _lscpu() -> dict[str, str]:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    except OSError:
        return {}
    fields = {}
    for line in out.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields.setdefault(key.strip(), value.strip())
    return fields


def cpu_name() -> str:
    """The CPU's model name as ``lscpu`` gives it."""
    return _lscpu().get("Model name") or platform.processor() or "unknown"


def cpu_cores() -> int:
    """Physical cores (``lscpu``: cores per socket × sockets), else the CPUs this process may use."""
    info = _lscpu()
    try:
        return int(info["Core(s) per socket"]) * int(info.get("Socket(s)", "1"))
    except (KeyError, ValueError):
        return usable_cpus()


def usable_cpus() -> int:
    """Logical CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def machine() -> dict[str, Any]:
    """What a result was measured on, for its JSON."""
    info = _lscpu()
    return {
        "cpu": cpu_name(),
        "cores": cpu_cores(),
        "logical_cpus": int(info["CPU(s)"]) if info.get("CPU(s)", "").isdigit() else usable_cpus(),
        "usable_cpus": usable_cpus(),
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def versions(*modules: str) -> dict[str, str]:
    """Installed versions of the named distributions (those missing are left out)."""
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in modules:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            pass
    return found


# ---------------------------------------------------------------------------------------------------- timing


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds one call of ``fn`` takes, and what it returns."""
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def interleaved(
    sides: dict[str, Callable[[list[Any]], Any]],
    items: Sequence[Any],
    slices: int,
    batch: int = 1,
    key: Callable[[int], Any] | None = None,
) -> tuple[dict[str, float], dict[str, list[Any]], list[list[int]]]:
    """Run every side over ``items`` slice by slice, the sides taking turns on each slice, and sum each side's seconds.

    On a shared machine the load changes from minute to minute; alternating the sides on slices of a few seconds
    puts both under the same load, where whole back-to-back runs would not. The items are first put in ``key`` order
    (e.g. by length, so that each slice batches as one sorted run would) and cut into ``slices`` slices of whole
    batches of ``batch``; the side that goes first alternates from slice to slice.

    Returns each side's total seconds, its outputs slice by slice, and the item indices of each slice.
    """
    order = sorted(range(len(items)), key=key) if key else list(range(len(items)))
    size = batch * max(1, -(-len(order) // (max(slices, 1) * batch)))
    parts = [order[at : at + size] for at in range(0, len(order), size)]
    seconds = dict.fromkeys(sides, 0.0)
    outputs: dict[str, list[Any]] = {name: [] for name in sides}
    names = list(sides)
    for n, idx in enumerate(parts):
        chunk = [items[i] for i in idx]
        for name in names if n % 2 == 0 else names[::-1]:
            took, out = timed(partial(sides[name], chunk))
            seconds[name] += took
            outputs[name].append(out)
    return seconds, outputs, parts


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def summary(values: Sequence[float], digits: int = 2) -> dict[str, Any]:
    """Median, minimum, maximum and every value of repeated measurements."""
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
        "runs": [round(v, digits) for v in values],
    }


def latency_summary(milliseconds: Sequence[float], digits: int = 2) -> dict[str, float]:
    """p50, p95 and p99 of latencies in milliseconds."""
    return {f"p{q}_ms": round(percentile(milliseconds, q), digits) for q in (50, 95, 99)}


# ---------------------------------------------------------------------------------------------------- output


def write_result(name: str, result: dict[str, Any]) -> Path:
    """Write ``result`` to ``benchmarks/results/NAME.json``."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return path


SIDE_LABELS = {"openbook": "openbook INT8 (OpenVINO)", "torch": "PyTorch float32"}


def side_label(side: str) -> str:
    return SIDE_LABELS[side]


def plot_against_torch(
    name: str,
    rates: dict[tuple[str, int], list[float]],
    batches: Sequence[int],
    ratios: Sequence[float],
    ylabel: str,
    title: str,
    note: str,
) -> Path:
    """Bars of each side's median rate at each batch size, openbook's labelled with its ratio to torch."""
    openbook = [statistics.median(rates["openbook", b]) for b in batches]
    return plot(
        name,
        [f"batch {b}" for b in batches],
        {side_label(n): [statistics.median(rates[n, b]) for b in batches] for n in SIDE_LABELS},
        ylabel,
        title,
        labels={side_label("openbook"): [f"{rate:,.0f} ({ratio:.1f}×)" for rate, ratio in zip(openbook, ratios)]},
        note=note,
    )


def plot(
    name: str,
    categories: Sequence[str],
    series: dict[str, Sequence[float]],
    ylabel: str,
    title: str,
    kind: str = "bar",
    labels: dict[str, Sequence[str]] | None = None,
    log_y: bool = False,
    xlabel: str | None = None,
    note: str | None = None,
) -> Path:
    """Grouped bars (``kind="bar"``) or lines (``kind="line"``) of each series over ``categories``, saved as
    ``benchmarks/results/NAME.png``. ``labels`` puts a text above each bar or point of a series (e.g. "5.1×")."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = labels or {}
    fig, ax = plt.subplots(figsize=(7.0, 4.2), dpi=120)
    x = np.arange(len(categories))
    if kind == "bar":
        width = 0.8 / max(len(series), 1)
        for n, (label, values) in enumerate(series.items()):
            bars = ax.bar(x + (n - (len(series) - 1) / 2) * width, values, width, label=label)
            texts = labels.get(label) or [_short(v) for v in values]
            ax.bar_label(bars, labels=list(texts), padding=2, fontsize=8)
        ax.set_xticks(x, list(categories))
        ax.margins(y=0.12)
    elif kind == "line":
        for label, values in series.items():
            ax.plot(x, values, marker="o", label=label)
            for xi, v, text in zip(x, values, labels.get(label) or [""] * len(values)):
                if text:
                    ax.annotate(text, (xi, v), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=8)
        ax.set_xticks(x, list(categories))
    else:
        raise ValueError(f"unknown plot kind {kind!r}")
    if log_y:
        ax.set_yscale("log")
    ax.set_ylabel(ylabel)
    if xlabel:
        ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(
        fontsize=8,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.18 if xlabel else -0.1),
        ncol=max(len(series), 1),
        frameon=False,
    )
    if note:
        fig.text(0.01, 0.01, note, fontsize=7, color="0.35")
    fig.tight_layout(rect=(0, 0.04 if note else 0, 1, 1))
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.png"
    fig.savefig(path)
    plt.close(fig)
    return path


def _short(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.1f}" if abs(value) >= 10 else f"{value:.2f}"


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    """A plain-text table of ``rows`` (dicts), one column per key; numbers right-aligned."""
    if not rows:
        return ""
    columns = list(columns or rows[0].keys())
    cells = [[_cell(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    numeric = [all(isinstance(r.get(c), (int, float)) for r in rows if r.get(c) not in (None, "")) for c in columns]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)).rstrip()

    return "\n".join([line(columns), line(["-" * w for w in widths]), *(line(row) for row in cells)])


def print_table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None, title: str | None = None) -> None:
    if title:
        print(title)
    print(table(rows, columns))
    print()


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "" if value is None else str(value)
