"""The ``openbook`` command line."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path
from typing import Annotated

import typer

from openbook.cli import display, encode
from openbook.cli.serve import serve
from openbook.cli.train import train_app
from openbook.errors import OpenbookError
from openbook.retrieval.fusion import DEFAULT_MODE
from openbook.config import DEFAULT_READER, DEFAULT_RETRIEVER, models_dir
from openbook.index.names import resolve_index

app = typer.Typer(
    help="Ask questions of your own documents: semantic passage retrieval with extractive QA.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
models_app = typer.Typer(help="Build and list models.", no_args_is_help=True)
eval_app = typer.Typer(help="Measure retrieval and answer quality on SQuAD-format files.", no_args_is_help=True)
app.add_typer(models_app, name="models")
app.add_typer(eval_app, name="eval")
app.command()(serve)
encode.register(app)  # encode, shard (Ray and shards: src/openbook/scale/)
app.add_typer(train_app, name="train")


def _version(value: bool) -> None:
    if value:
        from openbook import __version__

        print(f"openbook {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Ask questions of your own documents: semantic passage retrieval with extractive QA."""


def _question(text: str) -> str:
    if not text.strip():
        raise OpenbookError("the question is empty: ask something, e.g. openbook ask \"what is a waggle dance\"")
    return text


IndexOpt = Annotated[str, typer.Option("--index", "-i", help="Index name: letters, digits, '-', '_', '.'.")]
IndexDirOpt = Annotated[
    Path | None, typer.Option("--index-dir", help="Folder holding the indexes (default: indexes/ or OPENBOOK_INDEXES).")
]
RetrieverOpt = Annotated[
    str | None, typer.Option("--retriever", help="Retriever model folder or file (default: the index's own).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")]
RecordOpt = Annotated[
    bool, typer.Option("--record", help="Keep the figures in the model's manifest.json (measured, by file name).")
]
ModeOpt = Annotated[
    str, typer.Option("--mode", help="Retrieval: dense (meaning), lexical (BM25 over words) or hybrid (both, fused).")
]
NprobeOpt = Annotated[int | None, typer.Option(help="IVF cells searched (ivf indexes; more is closer to exact).")]
WhereOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--where",
        "-w",
        help="Only passages whose metadata passes: KEY=VALUE, != < <= > >=, 'KEY in A,B' (repeat: all must hold).",
    ),
]


@app.command()
def index(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Files or folders: .txt .md .rst .html .pdf .docx .jsonl, SQuAD .json, README-like text."),
    ] = None,
    index: IndexOpt = "default",
    index_dir: IndexDirOpt = None,
    retriever: RetrieverOpt = None,
    passage_tokens: Annotated[
        int | None, typer.Option(help="Most word pieces in a passage (default 256; at most 382).")
    ] = None,
    index_type: Annotated[
        str | None,
        typer.Option(help="Vector index: auto (flat, then ivf from 100k passages), flat, ivf or a FAISS factory string."),
    ] = None,
    sync: Annotated[
        bool, typer.Option("--sync", help="Also remove the documents of these folders whose files are gone.")
    ] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Stop at the first file that cannot be indexed.")] = False,
    include: Annotated[
        list[str] | None, typer.Option("--include", help="Only files matching this glob (repeatable), e.g. '*.md'.")
    ] = None,
    exclude: Annotated[
        list[str] | None, typer.Option("--exclude", help="Leave out files and folders matching this glob (repeatable).")
    ] = None,
    from_vectors: Annotated[
        Path | None, typer.Option(help="Add passages encoded by `openbook encode` (a Parquet folder) instead.")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Split documents into passages, encode them and add them to an index (committed every few thousand passages;
    run again after an interruption to continue).

    Files in a folder that cannot be indexed are skipped with one warning each; a file named here must read cleanly."""
    import itertools
    from dataclasses import asdict

    if from_vectors is not None or not paths:
        if from_vectors is None or paths:
            raise OpenbookError("give files or folders to index, or --from-vectors DIR (not both)")
        return encode.index_from_vectors(from_vectors, index, retriever, json_out)

    from openbook.index.vectors import check_kind
    from openbook.ingest.scan import scan
    from openbook.retrieval.indexer import Indexer, Interrupted, check_passage_tokens
    from openbook.retrieval.retriever import Retriever

    r = Retriever(resolve_index(index, index_dir), model=retriever)
    check_passage_tokens(passage_tokens, r.manifest.passage_length - 2)  # options first, before any work
    if index_type is not None:
        check_kind(index_type, r.embedder.dimension)
    try:
        with display.progress_bar(enabled=not json_out) as update:
            found = scan(paths, include or (), exclude or (), strict=strict, on_problem=display.warn, progress=update)
            # streamed: read, split, encoded and committed in batches; --strict reads every file before writing
            docs = iter(list(found) if strict else found)
            first = next(docs, None)
            if first is None and not sync:
                raise OpenbookError(f"nothing to index: {found.summary()}")
            stream = itertools.chain([first], docs) if first is not None else iter(())
            report = r.add(stream, passage_tokens=passage_tokens, progress=update, index_type=index_type)
    except Interrupted as stop:  # typer turns a bare Ctrl-C into exit 130 with no word: say what was kept
        display.errors.print(str(stop), highlight=False)
        raise typer.Exit(130) from None
    if sync:
        indexer = Indexer(r.index)
        gone = [doc_id for folder in paths if folder.is_dir() for doc_id in indexer.missing_under(folder)]
        removed = indexer.remove(gone)
        report.documents_removed, report.passages_removed = removed.documents_removed, (
            report.passages_removed + removed.passages_removed
        )
    info = r.index.info()
    if json_out:
        problems = [asdict(p) for p in found.problems]
        display.print_json({**asdict(report), "files": found.files, "problems": problems, "index": info})
        return
    display.console.print(found.summary(), highlight=False, soft_wrap=True)
    display.console.print(
        f"[bold]{info['index']}[/]: {report.documents_added} added, {report.documents_updated} updated, "
        f"{report.documents_unchanged} unchanged, {report.documents_removed} removed; "
        f"{report.passages_added} passages added ({report.passages_resumed} from an interrupted run), "
        f"{report.passages_removed} removed in {report.seconds:.1f} s. "
        f"Now {info['documents']} documents, {info['passages']} passages."
    )


@app.command()
def search(
    question: Annotated[str, typer.Argument(help="A question in plain words.")],
    k: Annotated[int, typer.Option("-k", help="How many passages.")] = 5,
    index: IndexOpt = "default",
    index_dir: IndexDirOpt = None,
    retriever: RetrieverOpt = None,
    mode: ModeOpt = DEFAULT_MODE,
    nprobe: NprobeOpt = None,
    where: WhereOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Find the passages that best answer a question."""
    from openbook.index.filters import parse_where
    from openbook.scale.shards import open_retriever

    _question(question)
    if k < 1:
        raise OpenbookError("-k must be at least 1")
    wanted = parse_where(where) if where else None
    found = open_retriever(index, index_dir=index_dir, model=retriever, mode=mode, nprobe=nprobe)
    results = found.search(question, k, where=wanted)
    if json_out:
        display.print_json(
            {
                "question": question,
                "mode": mode,
                **({"where": wanted.to_dict()} if wanted else {}),
                "results": [r.to_dict() for r in results],
            }
        )
    else:
        display.show_results(question, results)


ReaderOpt = Annotated[str | None, typer.Option("--reader", help="Reader model folder or file.")]
MinConfidenceOpt = Annotated[
    float | None,
    typer.Option(
        "--min-confidence",
        help="Below this confidence (0-1) the answer is 'not in your documents' (default: the reader's threshold).",
    ),
]


@app.command()
def ask(
    question: Annotated[str | None, typer.Argument(help="A question; leave out for the interactive mode.")] = None,
    k: Annotated[int, typer.Option("-k", help="How many passages to read.")] = 5,
    top_answers: Annotated[int, typer.Option("--top-answers", "-n", help="How many answers to show.")] = 3,
    index: IndexOpt = "default",
    index_dir: IndexDirOpt = None,
    retriever: RetrieverOpt = None,
    reader: ReaderOpt = None,
    mode: ModeOpt = DEFAULT_MODE,
    nprobe: NprobeOpt = None,
    where: WhereOpt = None,
    min_confidence: MinConfidenceOpt = None,
    read_all: Annotated[
        bool,
        typer.Option("--read-all", help="Read all k passages whole, not only those that could still change the answer."),
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Answer a question from the top passages: the answer highlighted in its passage, then the next best.

    The best-ranked passage is read first, and the others (as the sentences that share the question's words) only when
    they could still change the answer (the reading cascade); --read-all reads all k whole."""
    from openbook.index.filters import parse_where
    from openbook.qa.pipeline import OpenBook
    from openbook.scale.shards import open_retriever

    if question is not None:
        _question(question)
    if k < 1 or top_answers < 1:
        raise OpenbookError("-k and --top-answers must be at least 1")
    wanted = parse_where(where) if where else None
    if min_confidence is not None and not 0.0 <= min_confidence <= 1.0:
        raise OpenbookError("--min-confidence must be between 0 and 1")
    found = open_retriever(index, index_dir=index_dir, model=retriever, mode=mode, nprobe=nprobe)
    book = OpenBook(
        retriever=found, reader=reader, k=k, top_answers=top_answers, min_confidence=min_confidence, read_all=read_all
    )
    if book.retriever.index.count_passages() == 0:  # fail now, not at the first question
        raise OpenbookError(f"index {book.retriever.index.name} is empty (add documents with: openbook index PATH)")
    if question is None:
        from openbook.cli import interactive

        interactive.run(book, json_out, wanted)
        return
    answers = book.ask(question, where=wanted)
    if json_out:
        display.print_json({"question": question, "answers": [a.to_dict() for a in answers]})
    else:
        display.show_answers(question, answers)


@app.command()
def info(index: IndexOpt = "default", index_dir: IndexDirOpt = None, json_out: JsonOpt = False) -> None:
    """Show an index: documents, passages, model, size."""
    from openbook.index.folder import Index
    from openbook.scale.shards import is_sharded, sharded_info

    path = resolve_index(index, index_dir)
    data = sharded_info(path) if is_sharded(path) else Index.open(path).info()
    if json_out:
        display.print_json(data)
    else:
        display.show_table(f"index {data['index']}", data)


@eval_app.command("retrieval")
def eval_retrieval(
    squad_file: Annotated[Path, typer.Argument(help="A SQuAD-format JSON file.")],
    retriever: Annotated[str | None, typer.Option("--retriever", help="Retriever model.")] = None,
    mode: ModeOpt = DEFAULT_MODE,
    tune: Annotated[
        bool, typer.Option("--tune", help="Compare every fusion on articles 1-24 (tuning), the rest and all.")
    ] = False,
    record: RecordOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Recall@1/5/20 and MRR@20 of each question's own paragraph among all the file's paragraphs."""
    from openbook.models.embedder import Embedder
    from openbook.evaluation.retrieval import evaluate_retrieval
    from openbook.retrieval.fusion import check_mode
    from openbook.models.manifest import ModelManifest
    from openbook.config import resolve_model

    if record and mode == "lexical":
        raise OpenbookError("--record keeps the model's own (dense) recall: use --mode dense or hybrid")
    lexical = mode == "lexical" and not tune  # BM25 alone: no model to load
    embedder = None if lexical else Embedder(resolve_model(retriever, DEFAULT_RETRIEVER))
    if record and embedder is not None:
        ModelManifest.load(embedder.folder)  # a model described from its file alone has nowhere to keep figures
    with display.progress_bar(enabled=not json_out) as update:
        result = evaluate_retrieval(embedder, squad_file, progress=update, mode=check_mode(mode), tune=tune)
    if record and embedder is not None:
        dense = result if mode == "dense" else result["dense"]
        figures = {k: v for k, v in dense.items() if k.startswith(("recall@", "mrr@"))}
        embedder.manifest.record(embedder.folder, squad_file.name, figures)
    if json_out:
        display.print_json(result)
        return
    tuning = result.pop("tuning", None)
    display.show_table(f"retrieval on {squad_file.name}", result)
    if tuning:
        _show_tuning(tuning)


def _show_tuning(tuning: dict) -> None:
    """The fusion grid as a table: recall@1/5/20 and MRR on each part of the file."""
    from rich.table import Table

    rows = tuning["rows"]
    parts = [key for key in rows[0] if key != "retrieval"]
    metrics = list(rows[0][parts[0]])
    table = Table(title=f"fusion grid (chosen: {tuning['chosen']}, by {tuning['selected_by']})", title_justify="left")
    table.add_column("retrieval")
    for part in parts:
        for m in metrics:
            table.add_column(f"{part.split(' (')[0]} {m.replace('recall', 'R')}", justify="right")
    for row in rows:
        table.add_row(row["retrieval"], *(f"{row[part][m]:.2f}" for part in parts for m in metrics))
    display.console.print(table)


@eval_app.command("reader")
def eval_reader(
    squad_file: Annotated[Path, typer.Argument(help="A SQuAD v1.1 or v2.0 JSON file.")],
    reader: ReaderOpt = None,
    no_answer: Annotated[
        bool | None, typer.Option("--no-answer/--always-answer", help="Allow 'no answer' (default: by model).")
    ] = None,
    threshold: Annotated[float, typer.Option(help="No-answer when null - best span exceeds this.")] = 0.0,
    limit: Annotated[int | None, typer.Option(help="Only the first N questions.")] = None,
    record: RecordOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Exact match and F1 of the reader given each question's own paragraph (no-answer accuracy on v2 files)."""
    from openbook.evaluation.reader import evaluate_reader
    from openbook.models.manifest import ModelManifest
    from openbook.config import resolve_model
    from openbook.reading.reader import Reader

    if record and limit is not None:
        raise OpenbookError("--record keeps figures of whole files only: leave out --limit")
    model = Reader(resolve_model(reader, DEFAULT_READER), no_answer=no_answer, no_answer_threshold=threshold)
    if record:
        ModelManifest.load(model.folder)  # a model described from its file alone has nowhere to keep figures
    with display.progress_bar(enabled=not json_out) as update:
        result = evaluate_reader(model, squad_file, limit=limit, progress=update)
    if record:
        keys = ("exact_match", "f1", "no_answer_accuracy")
        model.manifest.record(model.folder, squad_file.name, {k: result[k] for k in keys if k in result})
    if json_out:
        display.print_json(result)
    else:
        display.show_table(f"reader on {squad_file.name}", result)


def _articles(spec: str | None) -> range | None:
    """``"25-48"`` (1-based, inclusive) as a 0-based range; None for all."""
    if spec is None:
        return None
    first, _, last = spec.partition("-")
    try:
        a, b = int(first), int(last or first)
    except ValueError:
        raise OpenbookError(f"articles must be given as FIRST-LAST (1-based), e.g. 25-48, not {spec!r}") from None
    if a < 1 or b < a:
        raise OpenbookError(f"articles must be given as FIRST-LAST with 1 <= FIRST <= LAST, not {spec!r}")
    return range(a - 1, b)


CacheOpt = Annotated[
    Path | None,
    typer.Option("--cache", help="Folder keeping what was searched and read, so that a rerun reads nothing again."),
]


@eval_app.command("qa")
def eval_qa(
    squad_file: Annotated[Path, typer.Argument(help="A SQuAD-format JSON file.")],
    k: Annotated[int, typer.Option("-k", help="Passages read per question.")] = 5,
    retriever: Annotated[str | None, typer.Option("--retriever", help="Retriever model.")] = None,
    reader: ReaderOpt = None,
    mode: ModeOpt = DEFAULT_MODE,
    limit: Annotated[int | None, typer.Option(help="Only the first N questions.")] = None,
    index_articles: Annotated[
        str | None, typer.Option("--index-articles", help="Index only these articles (e.g. 1-40); default all.")
    ] = None,
    ask_articles: Annotated[
        str | None, typer.Option("--ask-articles", help="Ask only these articles' questions (e.g. 25-48).")
    ] = None,
    own_paragraph: Annotated[
        bool, typer.Option("--own-paragraph", help="Read each question with its own paragraph (the reader alone).")
    ] = False,
    min_confidence: MinConfidenceOpt = None,
    cache: CacheOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Open-book QA: EM/F1 of the top answer, calibration of its confidence, and abstention by confidence.

    Questions whose article is not indexed (--index-articles/--ask-articles) and SQuAD v2.0's unanswerable questions
    have no answer to find: the report gives how often openbook abstains on them, and coverage, precision and F1 of
    what it answers, at the threshold and along a curve of thresholds.
    """
    from openbook.config import resolve_model
    from openbook.evaluation.qa import evaluate_qa
    from openbook.reading.reader import Reader
    from openbook.retrieval.fusion import check_mode

    model = Reader(resolve_model(reader, DEFAULT_READER))
    if True:
        result = evaluate_qa(
            squad_file, retriever, model, k=k, mode=check_mode(mode), limit=limit,
            progress=lambda line: display.errors.print(line) if not json_out else None,
            index_articles=_articles(index_articles), ask_articles=_articles(ask_articles),
            own_paragraph=own_paragraph, min_confidence=min_confidence, cache=cache,
        )
    if json_out:
        display.print_json(result)
    else:
        display.show_table(f"open-book QA on {squad_file.name}", result)


@eval_app.command("calibrate")
def eval_calibrate(
    squad_file: Annotated[Path, typer.Argument(help="SQuAD v1.1 dev (or another SQuAD v1.1-format file).")],
    reader: ReaderOpt = None,
    cache: CacheOpt = None,
    record: Annotated[
        bool, typer.Option("--record", help="Keep the calibrator, weights and threshold in the reader's manifest.json.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Fit the answer-confidence calibrator and choose the reranking weights on articles 1-24 (report 25-48)."""
    from openbook.config import resolve_model
    from openbook.evaluation.calibrate import calibrate, record as keep
    from openbook.reading.reader import Reader

    model = Reader(resolve_model(reader, DEFAULT_READER))
    section, report = calibrate(
        squad_file, model, cache, progress=lambda line: display.errors.print(line) if not json_out else None
    )
    if record:
        report["recorded_in"] = str(keep(model, section))
    if json_out:
        display.print_json(report)
    else:
        display.show_table(f"confidence calibration on {squad_file.name}", report)


@models_app.command("list")
def models_list(json_out: JsonOpt = False) -> None:
    """The models installed under models/."""
    from dataclasses import asdict

    from openbook.models.manifest import MANIFEST, ModelManifest

    found = [ModelManifest.load(p.parent) for p in sorted(models_dir().glob(f"*/{MANIFEST}"))]
    if json_out:
        display.print_json([asdict(m) for m in found])
        return
    from rich.table import Table

    table = Table("name", "kind", "precision", "inputs", "outputs", "lengths", "measured")
    for m in found:
        table.add_row(
            m.name,
            m.kind,
            m.precision,
            ", ".join(m.inputs.values()),
            ", ".join(m.outputs.values()),
            f"{m.question_length}/{m.passage_length}",
            _figures(m.measured),
        )
    display.console.print(table)


def _figures(measured: dict) -> str:
    """``{"dev-v1.1.json": {"recall@5": 90.01}}`` as ``dev-v1.1.json: recall@5 90.01``, one file a line."""
    lines = []
    for dataset, figures in measured.items():
        text = ", ".join(f"{k} {v}" for k, v in figures.items()) if isinstance(figures, dict) else str(figures)
        lines.append(f"{dataset}: {text}")
    return "\n".join(lines)


@models_app.command("info")
def models_info(
    path: Annotated[Path, typer.Argument(help="A model file (.xml, .onnx) or a folder holding one.")],
    json_out: JsonOpt = False,
) -> None:
    """A model's contract: role, inputs and outputs by role, lengths, and what the file itself declares."""
    from dataclasses import asdict

    from openbook.models.specs import describe, guess_kind, signature

    contract = asdict(describe(path, guess_kind(path)))
    data = {"contract": contract, "file": signature(path)}
    if json_out:
        display.print_json(data)
        return
    display.show_table(f"model {contract['name']}", contract)
    for side, ports in data["file"].items():
        display.console.print(f"[bold]{side}[/]: " + ", ".join(f"{p['name']} {p['shape']} {p['type']}" for p in ports))


@models_app.command("build")
def models_build(
    which: Annotated[str, typer.Argument(help="retriever, reader or all")] = "all",
    shared: Annotated[Path, typer.Option(help="Folder with models/ and data/ checkpoints.")] = Path("../shared"),
    samples: Annotated[int, typer.Option(help="Calibration samples for INT8.")] = 300,
    fp32: Annotated[bool, typer.Option("--fp32", help="Skip INT8 quantisation.")] = False,
    out: Annotated[Path | None, typer.Option(help="Folder for the built models (default models/).")] = None,
) -> None:
    """Rebuild the embedded defaults from the fine-tuned checkpoints (needs the 'build' extra)."""
    try:
        from openbook.models import build
    except ImportError as exc:
        raise OpenbookError(f"building models needs the build extra (pip install -e '.[build]'): {exc}") from None
    out = out or models_dir()
    calibration = shared / "data" / "squad" / "train-v1.1.json"
    if which not in ("retriever", "reader", "all"):
        raise OpenbookError(f"unknown model {which!r}: use retriever, reader or all")
    for kind, name, fn in (
        ("retriever", DEFAULT_RETRIEVER, build.build_retriever),
        ("reader", DEFAULT_READER, build.build_reader),
    ):
        if which in (kind, "all"):
            checkpoint = shared / "models" / f"{kind}-minilm-squad11"
            if not checkpoint.is_dir():
                raise OpenbookError(f"checkpoint not found: {checkpoint}")
            target = out / (name if not fp32 else name.replace("-int8", "-fp32"))
            fn(checkpoint, target, calibration, samples=samples, int8=not fp32, log=display.errors.print)
            display.console.print(f"built {target}")


from openbook.cli import manage  # noqa: E402,F401  (remove, documents, indexes, drop)


def main() -> None:
    """Entry point: user errors become one line on stderr and exit code 1."""
    try:
        app()
    except OpenbookError as exc:
        display.errors.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except (OSError, sqlite3.Error) as exc:  # environmental errors the layers below did not word themselves
        display.errors.print(f"[red]error:[/] {str(exc).splitlines()[0] if str(exc) else exc!r}", highlight=False)
        sys.exit(1)
    except KeyboardInterrupt as exc:  # the write path's Interrupted says what it kept
        display.errors.print(str(exc) or "interrupted: nothing was changed", highlight=False)
        sys.exit(130)


if __name__ == "__main__":
    main()
