"""``openbook train reader|retriever``: fine-tune, build to INT8 OpenVINO IR, and measure before and after (needs the
``train`` extra)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from openbook.cli import display
from openbook.config import DEFAULT_READER, DEFAULT_RETRIEVER
from openbook.errors import OpenbookError

train_app = typer.Typer(help="Train readers and retrievers (needs the train extra).", no_args_is_help=True)

DataArg = Annotated[Path, typer.Argument(help="SQuAD v1.1/v2.0 .json, or .jsonl of question, answer, doc_id.")]
OutOpt = Annotated[Path, typer.Option("--out", "-o", help="Folder for the model (IR, manifest) and its checkpoint/.")]
BaseOpt = Annotated[
    Path | None, typer.Option(help="Starting Hugging Face checkpoint (default: the installed all-MiniLM-L6-v2).")
]
IndexOpt = Annotated[
    str | None, typer.Option("--index", "-i", help="Index whose passages hold a JSONL file's answers.")
]
HoldoutOpt = Annotated[
    float | None, typer.Option(help="Share of the questions held back (seeded) and measured before and after.")
]
ArticlesOpt = Annotated[
    bool, typer.Option("--holdout-articles", help="Train on half of the articles, measure on the other half.")
]
EpochsOpt = Annotated[float | None, typer.Option(help="Passes over the data (default: the recipe's).")]
BatchOpt = Annotated[int | None, typer.Option("--batch-size", help="Examples a step (default: the recipe's).")]
LrOpt = Annotated[float | None, typer.Option("--lr", help="Peak learning rate (default: the recipe's).")]
StepsOpt = Annotated[int | None, typer.Option(help="Stop after this many steps (the schedule ends there too).")]
LimitOpt = Annotated[int | None, typer.Option(help="Only the first N questions of the file.")]
DeviceOpt = Annotated[str, typer.Option(help="auto (CUDA when present, else CPU), cpu or cuda.")]
Bf16Opt = Annotated[
    bool | None, typer.Option("--bf16/--no-bf16", help="bf16 autocast (default: on CUDA, and on CPUs with AMX).")
]
FreshOpt = Annotated[bool, typer.Option("--fresh", help="Start over instead of resuming from out/checkpoint.")]
Fp32Opt = Annotated[bool, typer.Option("--fp32", help="Build a float32 IR instead of INT8.")]
SamplesOpt = Annotated[int, typer.Option(help="Calibration samples for INT8.")]
SaveOpt = Annotated[int, typer.Option("--save-every", help="Steps between checkpoints.")]
SeedOpt = Annotated[int, typer.Option(help="Seed of the shuffles, negatives and splits.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")]


@train_app.command("reader")
def train_reader(
    data: DataArg,
    out: OutOpt,
    base: BaseOpt = None,
    index: IndexOpt = None,
    teacher: Annotated[Path | None, typer.Option(help="A larger QA checkpoint to distil (any tokeniser).")] = None,
    alpha: Annotated[float, typer.Option(help="Weight of the teacher's soft loss.")] = 0.5,
    temperature: Annotated[float, typer.Option(help="Distillation temperature.")] = 2.0,
    holdout: HoldoutOpt = None,
    holdout_articles: ArticlesOpt = False,
    negatives: Annotated[float, typer.Option(help="Share of questions given a wrong-passage negative.")] = 0.5,
    extra_negatives: Annotated[
        Path | None, typer.Option(help="A SQuAD file whose questions add wrong-passage negatives.")
    ] = None,
    extra_count: Annotated[int, typer.Option(help="How many negatives --extra-negatives adds.")] = 2000,
    squad_version: Annotated[
        int | None, typer.Option(help="1 or 2 (no-answer reader); default 2 when the data has unanswerable questions.")
    ] = None,
    max_length: Annotated[int, typer.Option(help="Window length in tokens.")] = 384,
    doc_stride: Annotated[int, typer.Option(help="Tokens between window starts.")] = 128,
    epochs: EpochsOpt = None,
    batch_size: BatchOpt = None,
    lr: LrOpt = None,
    max_steps: StepsOpt = None,
    limit: LimitOpt = None,
    device: DeviceOpt = "auto",
    bf16: Bf16Opt = None,
    fresh: FreshOpt = False,
    save_every: SaveOpt = 200,
    fp32: Fp32Opt = False,
    samples: SamplesOpt = 300,
    before: Annotated[str | None, typer.Option(help="Reader measured before training (default: the default).")] = None,
    threshold: Annotated[float, typer.Option(help="No-answer threshold of the before/after measure.")] = 0.0,
    seed: SeedOpt = 0,
    json_out: JsonOpt = False,
) -> None:
    """Fine-tune an extractive reader, build it to INT8 IR with its manifest, and measure it on the held-back part."""
    mods = _modules()
    from openbook.training import data as d
    from openbook.training.loop import overridden
    from openbook.training.reader import DEFAULTS, ReaderRecipe, calibration_file
    from openbook.training.reader import train_reader as run

    base_path = mods.resolve_base(base)
    _check_out(out)
    examples = _examples(data, index, limit)
    train, held = _split(examples, holdout, holdout_articles, seed)
    version = squad_version or (2 if any(e.is_impossible for e in train) else 1)
    if version not in (1, 2):
        raise OpenbookError("--squad-version must be 1 or 2")
    if extra_negatives is not None:
        train += _extra_negatives(extra_negatives, extra_count, seed)
    settings = overridden(  # bf16 None keeps the recipe's None: decided by the device
        DEFAULTS, epochs=epochs, batch_size=batch_size, lr=lr, max_steps=max_steps, seed=seed, device=device, bf16=bf16,
        resume=not fresh, save_every=save_every,
    )
    recipe = ReaderRecipe(
        max_length=max_length,
        doc_stride=doc_stride,
        negatives=negatives,
        teacher=teacher,
        alpha=alpha,
        temperature=temperature,
    )
    log = display.errors.print
    out.mkdir(parents=True, exist_ok=True)
    if held:
        d.write_squad(held, out / "holdout.json")
    figures = run(train, base_path, out, recipe, settings, progress=_progress(json_out), log=log)
    checkpoint = out / "checkpoint"
    calibration = calibration_file(train, checkpoint, samples)
    began = time.perf_counter()
    manifest = mods.build.build_reader(
        checkpoint, out, calibration, samples=samples, int8=not fp32, log=log, squad_version=version
    )
    figures["build_seconds"] = round(time.perf_counter() - began, 1)
    manifest.source = f"{base_path.name} trained on {data.name}"
    manifest.measured["training"] = figures
    manifest.save(out)
    report: dict[str, Any] = {"model": str(out), "squad_version": version, "training": figures}
    if held:
        report["holdout"] = _reader_before_after(out, before, out / "holdout.json", threshold, version)
        manifest.measured["holdout.json"] = report["holdout"]["after"]
        manifest.save(out)
    _report(report, json_out)


@train_app.command("retriever")
def train_retriever(
    data: DataArg,
    out: OutOpt,
    base: BaseOpt = None,
    index: IndexOpt = None,
    holdout: HoldoutOpt = None,
    holdout_articles: ArticlesOpt = False,
    epochs: EpochsOpt = None,
    batch_size: BatchOpt = None,
    lr: LrOpt = None,
    max_steps: StepsOpt = None,
    limit: LimitOpt = None,
    device: DeviceOpt = "auto",
    bf16: Bf16Opt = None,
    fresh: FreshOpt = False,
    save_every: SaveOpt = 200,
    fp32: Fp32Opt = False,
    samples: SamplesOpt = 300,
    before: Annotated[
        str | None, typer.Option(help="Retriever measured before training (default: the default).")
    ] = None,
    seed: SeedOpt = 0,
    json_out: JsonOpt = False,
) -> None:
    """Fine-tune a bi-encoder retriever, build it to INT8 IR with its manifest, and measure recall on the held-back
    part (each question's own paragraph among the held-back paragraphs)."""
    mods = _modules()
    from openbook.training.reader import calibration_file
    from openbook.training.loop import overridden
    from openbook.training.retriever import DEFAULTS, recall
    from openbook.training.retriever import train_retriever as run

    base_path = mods.resolve_base(base)
    _check_out(out)
    train, held = _split(_examples(data, index, limit), holdout, holdout_articles, seed)
    settings = overridden(  # bf16 None keeps the recipe's None: decided by the device
        DEFAULTS, epochs=epochs, batch_size=batch_size, lr=lr, max_steps=max_steps, seed=seed, device=device, bf16=bf16,
        resume=not fresh, save_every=save_every,
    )
    log = display.errors.print
    out.mkdir(parents=True, exist_ok=True)
    figures = run(train, base_path, out, settings, progress=_progress(json_out), log=log)
    checkpoint = out / "checkpoint"
    calibration = calibration_file(train, checkpoint, samples)
    manifest = mods.build.build_retriever(checkpoint, out, calibration, samples=samples, int8=not fp32, log=log)
    manifest.source = f"{base_path.name} trained on {data.name}"
    manifest.measured["training"] = figures
    manifest.save(out)
    report: dict[str, Any] = {"model": str(out), "training": figures}
    if held:
        from openbook.config import resolve_model

        old = resolve_model(before, DEFAULT_RETRIEVER)
        report["holdout"] = {
            "questions": sum(not e.is_impossible for e in held),
            "before": {"model": str(old), **recall(old, held)} if old.exists() else None,
            "after": {"model": str(out), **recall(out, held)},
        }
        manifest.measured["holdout"] = report["holdout"]["after"]
        manifest.save(out)
    _report(report, json_out)


# ------------------------------------------------------------------------------------------------------------ helpers


class _Mods:
    def __init__(self) -> None:
        from openbook.models import build
        from openbook.training.weights import resolve_base

        self.build = build
        self.resolve_base = resolve_base


def _modules() -> _Mods:
    """The training modules, or one line saying how to install them."""
    try:
        return _Mods()
    except ImportError as exc:
        raise OpenbookError(f"training needs the train extra (pip install -e '.[train]'): {exc}") from None


def _check_out(out: Path) -> None:
    """``out`` must be new, empty, or a folder this command wrote before (it holds ``checkpoint/``): nothing else
    is overwritten."""
    if out.exists() and not out.is_dir():
        raise OpenbookError(f"--out {out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / "checkpoint").is_dir():
        raise OpenbookError(f"--out {out} holds other files: choose a new or empty folder")


def _examples(path: Path, index: str | None, limit: int | None):
    from openbook.training.data import load_examples

    examples = load_examples(path, index)
    return examples[:limit] if limit else examples


def _split(examples, holdout: float | None, articles: bool, seed: int):
    from openbook.training import data as d

    if holdout is not None and articles:
        raise OpenbookError("use either --holdout or --holdout-articles")
    if articles:
        train, held = d.split_articles(examples, seed)
        if not train or not held:
            raise OpenbookError("--holdout-articles needs a file with at least two articles")
        return train, held
    if holdout is not None:
        return d.holdout(examples, holdout, seed)
    return list(examples), []


def _extra_negatives(path: Path, count: int, seed: int):
    import random

    from openbook.training.data import load_examples, wrong_passage_negatives

    extra = load_examples(path)
    rng = random.Random(seed)
    rng.shuffle(extra)
    return wrong_passage_negatives(extra[: 2 * count], 1.0, seed)[:count]


def _reader_before_after(
    out: Path, before: str | None, holdout_file: Path, threshold: float, version: int
) -> dict[str, Any]:
    from openbook.config import resolve_model
    from openbook.evaluation.reader import evaluate_reader
    from openbook.reading.reader import Reader

    keys = ("exact_match", "f1", "no_answer_accuracy", "has_answer_f1", "no_answer_f1", "questions")
    no_answer = version == 2 or None

    def measure(path: Path) -> dict[str, Any]:
        result = evaluate_reader(Reader(path, no_answer=no_answer, no_answer_threshold=threshold), holdout_file)
        return {"model": str(path), **{k: result[k] for k in keys if k in result}}

    old = resolve_model(before, DEFAULT_READER)
    return {
        "file": str(holdout_file),
        "before": measure(old) if old.exists() else None,
        "after": measure(out),
    }


def _progress(quiet: bool):
    """A callback printing step, loss, speed and ETA to stderr about every 10 seconds (and at the last step)."""
    last = [0.0]

    def show(p) -> None:
        if p.step != p.total and p.seconds - last[0] < 10:
            return
        last[0] = p.seconds
        eta = time.strftime("%H:%M:%S", time.gmtime(p.eta))
        display.errors.print(
            f"step {p.step}/{p.total}  loss {p.loss:.4f}  {p.seconds:.0f} s  ETA {eta}", highlight=False
        )

    return show


def _report(report: dict[str, Any], json_out: bool) -> None:
    if json_out:
        display.print_json(report)
        return
    display.console.print(f"built [bold]{report['model']}[/]")
    display.show_table("training", report["training"])
    held = report.get("holdout")
    if held:
        from rich.table import Table

        rows = [r for r in (held.get("before"), held.get("after")) if r]
        keys = [k for k in rows[-1] if k != "model"]
        table = Table("", *keys, title="held-back part: before and after", title_justify="left")
        for label, row in (("before", held.get("before")), ("after", held.get("after"))):
            if row:
                table.add_row(f"{label} ({Path(row['model']).name})", *(str(row.get(k, "")) for k in keys))
        display.console.print(table)
