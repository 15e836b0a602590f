"""Encoding: passages per second of the default retriever through openbook (INT8 OpenVINO) against the same checkpoint in
plain PyTorch float32, on the SQuAD v1.1 dev paragraphs, with recall@5 of each side's vectors and single-question latency.

Two sides, in one process:

- openbook: ``Embedder.encode_passages`` of the default retriever (its WordPiece tokeniser, length-sorted batches padded
  per batch, the INT8 OpenVINO model with mean pooling and L2 normalisation in the graph).
- torch: what a sentence-transformers user runs: ``transformers.BertModel`` from the float checkpoint in float32,
  the checkpoint's fast tokenizer (truncation at 384 for passages, 32 for questions, padding to the batch's longest),
  batches sorted by length as sentence-transformers sorts them, mean pooling over the attention mask, L2 normalisation,
  under ``torch.inference_mode`` with ``torch.set_num_threads(cores)``.

Both are timed from texts to vectors (tokenising included). Each run puts the paragraphs in length order and cuts them
into ``--slices`` slices of whole batches; the sides take turns on each slice (openbook, torch, torch, openbook, …), so
both meet the same load on a shared machine, and each side's rate is its paragraphs over its summed time. Batch 1 runs
on ``--batch1-passages`` paragraphs evenly spaced through the file (batch 1 over all of them takes long; the first few
hundred are shorter than the rest, so they would flatter it); the default batch on all 2,067. Rates are the median of
``--repeats`` runs; the ratio is of the medians, and the JSON adds the median of the per-repeat ratios.

Recall@1/5/20 is of every dev question's own paragraph among all paragraphs by inner product, from each side's
vectors (of the last run at the default batch). Then ``--questions`` questions are encoded and searched one at a time
(the sides in turn, exact inner-product search) for p50/p95 latency.
Prints a table and writes benchmarks/results/encode.json and encode.png.

    .venv/bin/python benchmarks/encode.py --squad ../shared/data/squad/dev-v1.1.json
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from common import (
    SHARED,
    SQUAD_DEV,
    interleaved,
    latency_summary,
    machine,
    plot_against_torch,
    print_table,
    side_label,
    summary,
    versions,
    write_result,
)

from openbook.models.embedder import DEFAULT_BATCH, Embedder
from openbook.evaluation.retrieval import load_paragraphs, recall_at
from openbook.config import DEFAULT_RETRIEVER, resolve_model
from openbook.index.vectors import VectorIndex

CHECKPOINT = SHARED / "models" / "retriever-minilm-squad11"


class TorchEncoder:
    """The float checkpoint in PyTorch float32, used the way sentence-transformers uses it."""

    def __init__(self, folder: Path, threads: int, question_length: int = 32, passage_length: int = 384) -> None:
        import torch
        from transformers import AutoTokenizer, BertModel

        torch.set_num_threads(threads)
        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        if not self.tokenizer.is_fast:
            raise SystemExit(f"{folder}: no fast tokenizer")
        self.model = BertModel.from_pretrained(folder, dtype=torch.float32, add_pooling_layer=False).eval()
        self.question_length = question_length
        self.passage_length = passage_length
        self.batch_size = DEFAULT_BATCH

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode(texts, self.passage_length)

    def encode_questions(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode(texts, self.question_length)

    def encode(self, texts: Sequence[str], max_length: int) -> np.ndarray:
        torch = self.torch
        order = np.argsort([-len(t) for t in texts], kind="stable")  # longest first, as sentence-transformers does
        out = np.empty((len(texts), self.model.config.hidden_size), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                idx = order[start : start + self.batch_size]
                features = self.tokenizer(
                    [texts[i] for i in idx], padding=True, truncation=True, max_length=max_length, return_tensors="pt"
                )
                states = self.model(**features).last_hidden_state
                mask = features["attention_mask"].unsqueeze(-1).to(states.dtype)
                pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out[idx] = torch.nn.functional.normalize(pooled, p=2, dim=1).numpy()
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=Path, default=SQUAD_DEV)
    parser.add_argument("--model", default=None, help="openbook retriever model (default: the embedded INT8 retriever)")
    parser.add_argument("--checkpoint", type=Path, default=CHECKPOINT, help="the float checkpoint for the torch side")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each side at each batch size")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH, help="the default batch (besides batch 1)")
    parser.add_argument(
        "--batch1-passages", type=int, default=300, help="paragraphs encoded at batch 1 (evenly spaced)"
    )
    parser.add_argument("--passages", type=int, default=None, help="paragraphs at the default batch (default: all)")
    parser.add_argument("--questions", type=int, default=300, help="questions timed one at a time")
    parser.add_argument("--slices", type=int, default=8, help="slices per run, the sides taking turns on each")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: the machine's cores)")
    parser.add_argument("--name", default="encode", help="result name under benchmarks/results")
    args = parser.parse_args()

    host = machine()
    threads = args.threads or host["cores"]
    paragraphs, questions, gold = load_paragraphs(args.squad)
    embedder = Embedder(resolve_model(args.model, DEFAULT_RETRIEVER))
    encoder = TorchEncoder(
        args.checkpoint, threads, embedder.manifest.question_length, embedder.manifest.passage_length
    )
    sides = {"openbook": embedder, "torch": encoder}
    every = paragraphs[: args.passages]
    spaced = np.unique(np.linspace(0, len(every) - 1, min(args.batch1_passages, len(every))).round().astype(int))
    runs = {1: [every[i] for i in spaced], args.batch_size: every}
    for side in sides.values():  # warm up: shapes, caches, thread pools
        side.batch_size = args.batch_size
        side.encode_passages(paragraphs[:128])
        side.batch_size = 1
        side.encode_passages(paragraphs[:16])

    rates: dict[tuple[str, int], list[float]] = {(s, b): [] for b in runs for s in sides}
    vectors: dict[str, np.ndarray] = {}
    for repeat in range(args.repeats):
        for batch, texts in runs.items():
            for side in sides.values():
                side.batch_size = batch
            counts = embedder.tokenizer.token_counts(texts)
            seconds, outputs, parts = interleaved(
                {name: side.encode_passages for name, side in sides.items()},
                texts,
                args.slices,
                batch,
                key=counts.__getitem__,
            )
            for name in sides:
                rates[name, batch].append(len(texts) / seconds[name])
                if batch == args.batch_size:
                    vectors[name] = np.empty((len(texts), embedder.dimension), dtype=np.float32)
                    for idx, out in zip(parts, outputs[name], strict=True):
                        vectors[name][idx] = out
            print(
                f"repeat {repeat + 1}/{args.repeats}  batch {batch:>3}  "
                + "  ".join(f"{name} {rates[name, batch][-1]:7.1f}" for name in sides)
                + " passages/s"
            )

    recall: dict[str, dict[str, float]] = {}
    question_vectors: dict[str, np.ndarray] = {}
    indexes: dict[str, VectorIndex] = {}
    for name, side in sides.items():
        side.batch_size = args.batch_size
        passages = vectors[name] if len(vectors[name]) == len(paragraphs) else side.encode_passages(paragraphs)
        question_vectors[name] = side.encode_questions(questions)
        indexes[name] = VectorIndex(passages.shape[1], "ip")
        indexes[name].add(np.arange(len(paragraphs)), passages)
        _, ranked = indexes[name].search(question_vectors[name], 20)
        recall[name] = recall_at(ranked, gold, (1, 5, 20))

    latencies: dict[str, list[float]] = {name: [] for name in sides}
    for q in questions[: args.questions]:  # one question at a time: encode and search, both sides in turn
        for name, side in sides.items():
            start = time.perf_counter()
            indexes[name].search(side.encode_questions([q]), 5)
            latencies[name].append(1000 * (time.perf_counter() - start))

    rows = []
    result_runs = []
    for batch, texts in runs.items():
        ob = statistics.median(rates["openbook", batch])
        pt = statistics.median(rates["torch", batch])
        for name in sides:
            median = statistics.median(rates[name, batch])
            rows.append(
                {
                    "batch": batch,
                    "passages": len(texts),
                    "side": side_label(name),
                    "passages/s": round(median, 1),
                    "openbook/torch": round(ob / pt, 2) if name == "openbook" else None,
                    "recall@5": recall[name]["recall@5"] if batch == args.batch_size else None,
                }
            )
        result_runs.append(
            {
                "batch": batch,
                "passages": len(texts),
                "openbook_passages_per_second": summary(rates["openbook", batch], 1),
                "torch_passages_per_second": summary(rates["torch", batch], 1),
                "ratio": round(ob / pt, 2),
                "ratio_paired_median": round(
                    statistics.median(o / t for o, t in zip(rates["openbook", batch], rates["torch", batch])), 2
                ),
            }
        )
    default = result_runs[-1]
    result = {
        "benchmark": "encode",
        "model": embedder.manifest.name,
        "checkpoint": str(args.checkpoint),
        "squad": str(args.squad),
        "repeats": args.repeats,
        "torch_threads": threads,
        "runs": result_runs,
        "ratio_at_default_batch": default["ratio"],
        "recall": {name: recall[name] for name in sides},
        "recall@5_difference": round(recall["openbook"]["recall@5"] - recall["torch"]["recall@5"], 2),
        "questions": len(questions),
        "single_question": {
            "questions": len(latencies["openbook"]),
            **{name: latency_summary(latencies[name]) for name in sides},
        },
        "machine": host,
        "versions": versions("openvino", "torch", "transformers", "tokenizers", "faiss-cpu", "numpy"),
        "notes": (
            f"batch 1 on {len(runs[1])} paragraphs evenly spaced through the file, batch {args.batch_size} on {len(runs[args.batch_size])}; "
            "texts to vectors, tokenising included; in one process, the sides taking turns slice by slice "
            f"({args.slices} slices of whole batches per run, paragraphs in length order); median of repeats"
        ),
    }
    write_result(args.name, result)
    print()
    print_table(
        rows,
        title=f"Encoding SQuAD v1.1 dev paragraphs ({host['cpu']}, {host['cores']} cores; median of {args.repeats})",
    )
    for r in result_runs:
        ratios = [round(o / t, 2) for o, t in zip(rates["openbook", r["batch"]], rates["torch", r["batch"]])]
        print(f"batch {r['batch']}: openbook/torch in each repeat {ratios} (median {r['ratio_paired_median']})")
    print()
    lat_rows = [{"side": side_label(n), **latency_summary(latencies[n])} for n in sides]
    print_table(lat_rows, title=f"One question at a time, encode + search ({len(latencies['openbook'])} questions)")
    print_table(
        [{"side": side_label(n), **recall[n]} for n in sides],
        title=f"Recall of each question's own paragraph among {len(paragraphs):,} ({len(questions):,} questions)",
    )
    plot_against_torch(
        args.name,
        rates,
        list(runs),
        [r["ratio"] for r in result_runs],
        "passages per second",
        f"Encoding SQuAD dev paragraphs: {embedder.manifest.name} vs PyTorch float32",
        note=f"{host['cpu']}, {host['cores']} cores; median of {args.repeats} interleaved runs; batch 1 on "
        f"{len(runs[1])} of the paragraphs. recall@5: openbook {recall['openbook']['recall@5']}, torch {recall['torch']['recall@5']}",
    )


if __name__ == "__main__":
    main()
