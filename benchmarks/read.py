"""Reading: windows per second of the default reader through openbook (INT8 OpenVINO) against the same checkpoint in
plain PyTorch float32, on SQuAD v1.1 dev questions each read with its gold paragraph, with EM and F1 of each side.

Both sides read the very same windows (``[CLS] question [SEP] piece of paragraph [SEP]``, made once by openbook's
preprocessing: at most 64 question tokens, 384 in all, doc stride 128), sorted by length and batched:

- openbook: ``Reader.call`` (the INT8 OpenVINO model; batches padded to a multiple of 8 tokens).
- torch: ``transformers.BertForQuestionAnswering`` from the float checkpoint in float32, batches padded to their
  longest window, under ``torch.inference_mode`` with ``torch.set_num_threads(cores)``.

Timed is the model stage, window ids in, start/end logits out (batch assembly included). Each side's logits then go
through openbook's own postprocessing (``postprocess`` and ``rank``: best span by start + end logits, at most 30
tokens, whole words), so the EM/F1 comparison is of the model, not of the decoding.

Each run puts the windows in length order and cuts them into ``--slices`` slices of whole batches; the sides take turns
on each slice (openbook, torch, torch, openbook, …), so both meet the same load on a shared machine, and each side's
rate is its windows over its summed time. Batch 1 runs on the windows of the first ``--batch1-questions`` questions of
the subset, the default batch on all its windows. Rates are the median of ``--repeats`` runs; the ratio is of the
medians, and the JSON adds the median of the per-repeat ratios. The subset is ``--questions`` questions of the dev
set drawn with ``--seed`` (kept in file order). Prints a table and writes benchmarks/results/read.json and read.png.

    .venv/bin/python benchmarks/read.py --squad ../shared/data/squad/dev-v1.1.json
"""

from __future__ import annotations

import argparse
import inspect
import random
import statistics
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from common import (
    SHARED,
    SQUAD_DEV,
    interleaved,
    machine,
    plot_against_torch,
    print_table,
    side_label,
    summary,
    timed,
    versions,
    write_result,
)

from openbook.config import DEFAULT_READER, resolve_model
from openbook.evaluation.squad import SquadQuestion, exact_match, f1, load_squad
from openbook.models.tokenization import WordPiece
from openbook.reading.reader import N_BEST, READ_LENGTH_STEP, Reader, Window, postprocess, rank

CHECKPOINT = SHARED / "models" / "reader-minilm-squad11"
DEFAULT_BATCH = inspect.signature(Reader).parameters["batch_size"].default

Logits = list[tuple[np.ndarray, np.ndarray]]


class TorchReader:
    """The float QA checkpoint in PyTorch float32, reading windows made by openbook."""

    def __init__(self, folder: Path, tokenizer: WordPiece, threads: int) -> None:
        import torch
        from transformers import BertForQuestionAnswering

        torch.set_num_threads(threads)
        self.torch = torch
        self.tokenizer = tokenizer
        self.model = BertForQuestionAnswering.from_pretrained(folder, dtype=torch.float32).eval()
        self.batch_size = DEFAULT_BATCH

    def call(self, windows: Sequence[Window]) -> Logits:
        """Start and end logits of each window, batching windows of similar length (padded to the batch's longest)."""
        torch = self.torch
        results: Logits = [None] * len(windows)  # type: ignore[list-item]
        order = sorted(range(len(windows)), key=lambda i: windows[i].length)
        with torch.inference_mode():
            for at in range(0, len(order), self.batch_size):
                idx = order[at : at + self.batch_size]
                batch = self.tokenizer.encode_pairs(
                    [windows[i].question_ids for i in idx], [windows[i].passage_ids for i in idx]
                )
                out = self.model(
                    input_ids=torch.from_numpy(batch.input_ids),
                    attention_mask=torch.from_numpy(batch.attention_mask),
                    token_type_ids=torch.from_numpy(batch.token_type_ids),
                )
                starts = out.start_logits.numpy()
                ends = out.end_logits.numpy()
                for row, i in enumerate(idx):
                    n = windows[i].length
                    results[i] = (starts[row, :n].copy(), ends[row, :n].copy())
        return results


class OpenbookSide:
    """``Reader.call`` with a settable batch size, so both sides are driven alike."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader

    @property
    def batch_size(self) -> int:
        return self.reader.batch_size

    @batch_size.setter
    def batch_size(self, value: int) -> None:
        self.reader.batch_size = value

    def call(self, windows: Sequence[Window]) -> Logits:
        return self.reader.call(windows)


def answers(reader: Reader, questions: Sequence[SquadQuestion], windows: Sequence[Window], logits: Logits) -> list[str]:
    """Each question's best answer text, decoded from the logits by openbook's postprocessing."""
    spans = postprocess(windows, logits, len(questions), reader.n_best, reader.max_answer_tokens)
    found = [rank(s, [q.context], 1, False, 0.0) for s, q in zip(spans, questions, strict=True)]
    return [a[0].text if a else "" for a in found]


def scores(predictions: Sequence[str], questions: Sequence[SquadQuestion]) -> dict[str, float]:
    n = len(questions)
    return {
        "exact_match": round(100.0 * sum(exact_match(p, q.answers) for p, q in zip(predictions, questions)) / n, 2),
        "f1": round(100.0 * sum(f1(p, q.answers) for p, q in zip(predictions, questions)) / n, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=Path, default=SQUAD_DEV)
    parser.add_argument("--model", default=None, help="openbook reader model (default: the embedded INT8 reader)")
    parser.add_argument("--checkpoint", type=Path, default=CHECKPOINT, help="the float checkpoint for the torch side")
    parser.add_argument("--questions", type=int, default=1000, help="questions in the subset (0: all)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the subset's draw")
    parser.add_argument("--batch1-questions", type=int, default=300, help="questions whose windows run at batch 1")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH, help="the default batch (besides batch 1)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each side at each batch size")
    parser.add_argument("--slices", type=int, default=8, help="slices per run, the sides taking turns on each")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: the machine's cores)")
    parser.add_argument("--name", default="read", help="result name under benchmarks/results")
    args = parser.parse_args()

    host = machine()
    threads = args.threads or host["cores"]
    every = load_squad(args.squad)
    if args.questions and args.questions < len(every):
        chosen = sorted(random.Random(args.seed).sample(range(len(every)), args.questions))
        questions = [every[i] for i in chosen]
    else:
        questions = every
    reader = Reader(resolve_model(args.model, DEFAULT_READER))
    pairs = [(q.question, [q.context]) for q in questions]
    prep_seconds, windows = timed(lambda: reader.preprocess(pairs))
    first = set(range(min(args.batch1_questions, len(questions))))
    runs = {1: [w for w in windows if w.query in first], args.batch_size: windows}
    sides = {"openbook": OpenbookSide(reader), "torch": TorchReader(args.checkpoint, reader.tokenizer, threads)}
    for side in sides.values():  # warm up: shapes, caches, thread pools
        side.batch_size = args.batch_size
        side.call(windows[: 4 * args.batch_size])
        side.batch_size = 1
        side.call(windows[:16])

    rates: dict[tuple[str, int], list[float]] = {(s, b): [] for b in runs for s in sides}
    logits: dict[str, Logits] = {}
    for repeat in range(args.repeats):
        for batch, subset in runs.items():
            for side in sides.values():
                side.batch_size = batch
            seconds, outputs, parts = interleaved(
                {name: side.call for name, side in sides.items()},
                subset,
                args.slices,
                batch,
                key=lambda i, subset=subset: subset[i].length,
            )
            for name in sides:
                rates[name, batch].append(len(subset) / seconds[name])
                if batch == args.batch_size:
                    logits[name] = [None] * len(subset)  # type: ignore[list-item]
                    for idx, out in zip(parts, outputs[name], strict=True):
                        for i, pair in zip(idx, out, strict=True):
                            logits[name][i] = pair
            print(
                f"repeat {repeat + 1}/{args.repeats}  batch {batch:>3}  "
                + "  ".join(f"{name} {rates[name, batch][-1]:7.1f}" for name in sides)
                + " windows/s"
            )

    predicted = {name: answers(reader, questions, windows, logits[name]) for name in sides}
    accuracy = {name: scores(predicted[name], questions) for name in sides}
    same = sum(a == b for a, b in zip(predicted["openbook"], predicted["torch"])) / len(questions)

    rows = []
    result_runs = []
    for batch, subset in runs.items():
        ob = statistics.median(rates["openbook", batch])
        pt = statistics.median(rates["torch", batch])
        for name in sides:
            rows.append(
                {
                    "batch": batch,
                    "windows": len(subset),
                    "side": side_label(name),
                    "windows/s": round(statistics.median(rates[name, batch]), 1),
                    "openbook/torch": round(ob / pt, 2) if name == "openbook" else None,
                    "EM": accuracy[name]["exact_match"] if batch == args.batch_size else None,
                    "F1": accuracy[name]["f1"] if batch == args.batch_size else None,
                }
            )
        result_runs.append(
            {
                "batch": batch,
                "windows": len(subset),
                "openbook_windows_per_second": summary(rates["openbook", batch], 1),
                "torch_windows_per_second": summary(rates["torch", batch], 1),
                "ratio": round(ob / pt, 2),
                "ratio_paired_median": round(
                    statistics.median(o / t for o, t in zip(rates["openbook", batch], rates["torch", batch])), 2
                ),
            }
        )
    result = {
        "benchmark": "read",
        "model": reader.manifest.name,
        "checkpoint": str(args.checkpoint),
        "squad": str(args.squad),
        "questions": len(questions),
        "seed": args.seed,
        "windows": len(windows),
        "repeats": args.repeats,
        "torch_threads": threads,
        "window_settings": {
            "max_length": reader.max_length,
            "question_tokens": reader.question_tokens,
            "doc_stride": reader.doc_stride,
            "openbook_pad_multiple": READ_LENGTH_STEP,
            "n_best": N_BEST,
            "max_answer_tokens": reader.max_answer_tokens,
        },
        "preprocess_seconds": round(prep_seconds, 3),
        "runs": result_runs,
        "ratio_at_default_batch": result_runs[-1]["ratio"],
        "accuracy": accuracy,
        "f1_difference": round(accuracy["openbook"]["f1"] - accuracy["torch"]["f1"], 2),
        "same_answer_percent": round(100.0 * same, 2),
        "machine": host,
        "versions": versions("openvino", "torch", "transformers", "tokenizers", "numpy"),
        "notes": (
            f"{len(questions)} questions (seed {args.seed}) with their gold paragraphs; batch 1 on the windows of the "
            f"first {len(first)}; the model stage timed (window ids to logits); both sides decoded by openbook's "
            "postprocessing; in one process, the sides taking turns slice by slice "
            f"({args.slices} slices of whole batches per run, windows in length order); median of repeats"
        ),
    }
    write_result(args.name, result)
    print()
    print_table(
        rows,
        title=f"Reading SQuAD v1.1 dev questions with their paragraphs ({len(questions):,} questions, "
        f"{len(windows):,} windows; {host['cpu']}, {host['cores']} cores; median of {args.repeats})",
    )
    for r in result_runs:
        ratios = [round(o / t, 2) for o, t in zip(rates["openbook", r["batch"]], rates["torch", r["batch"]])]
        print(f"batch {r['batch']}: openbook/torch in each repeat {ratios} (median {r['ratio_paired_median']})")
    print()
    print(f"same best answer from both sides: {100.0 * same:.1f}% of questions\n")
    plot_against_torch(
        args.name,
        rates,
        list(runs),
        [r["ratio"] for r in result_runs],
        "windows per second",
        f"Reading SQuAD dev windows: {reader.manifest.name} vs PyTorch float32",
        note=f"{host['cpu']}, {host['cores']} cores; median of {args.repeats} interleaved runs; {len(questions)} questions; "
        f"F1: openbook {accuracy['openbook']['f1']}, torch {accuracy['torch']['f1']}",
    )


if __name__ == "__main__":
    main()
