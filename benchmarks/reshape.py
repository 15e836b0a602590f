"""Static models reshaped: static [1,384] copies of the default reader and retriever.

- reader: one window at a time (padded to 384) against reshaped by openbook (``reshape=True``, batches unpadded), in
  the default precision and in float32: windows/s, EM and F1 on the first ``--questions`` questions;
- retriever: one question at a time, padded to 384 (``reshape=False``) against at [1,32] (the default for a static
  embedder): p50 latency of encoding, and the largest difference between the two sides' vectors.

Writes the copies under benchmarks/results/static-* (re-made each run) and the figures to benchmarks/results/reshape.json.

    .venv/bin/python benchmarks/reshape.py --squad ../shared/data/squad/dev-v1.1.json
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import time
from pathlib import Path

import numpy as np
import openvino as ov
from common import RESULTS, SQUAD_DEV, machine

from openbook.models.embedder import Embedder
from openbook.evaluation.reader import evaluate_reader
from openbook.config import DEFAULT_READER, DEFAULT_RETRIEVER, resolve_model
from openbook.reading.reader import Reader
from openbook.evaluation.squad import load_squad


def static_copy(source: Path, folder: Path, length: int = 384) -> Path:
    """``source``'s model fixed at [1, length], with its vocab and manifest, in ``folder``."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    model = ov.Core().read_model(source / "model.xml")
    model.reshape({i.get_any_name(): ov.PartialShape([1, length]) for i in model.inputs})
    ov.save_model(model, folder / "model.xml", compress_to_fp16=False)
    for name in ("vocab.txt", "manifest.json"):
        shutil.copyfile(source / name, folder / name)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=Path, default=SQUAD_DEV)
    parser.add_argument("--questions", type=int, default=1000, help="the file's first N questions")
    args = parser.parse_args()

    folder = static_copy(resolve_model(None, DEFAULT_READER), RESULTS / "static-reader")
    host = machine()
    rows = []
    for precision in (None, "f32"):
        for reshape in (False, True):
            reader = Reader(folder, precision=precision, reshape=reshape)
            assert reader.model.reshaped is reshape
            result = evaluate_reader(reader, args.squad, limit=args.questions)
            rows.append(
                {
                    "precision": precision or "default",
                    "run": "reshaped, batched" if reshape else "one window at a time, padded to 384",
                    **{k: result[k] for k in ("exact_match", "f1", "windows", "windows_per_second")},
                }
            )
            print(rows[-1])
    questions = [q.question for q in load_squad(args.squad)][:300]
    static = static_copy(resolve_model(None, DEFAULT_RETRIEVER), RESULTS / "static-retriever")
    short, padded = Embedder(static), Embedder(static, reshape=False)
    assert (short.question_model.max_length, padded.question_model.max_length) == (32, 384)
    gap = float(np.abs(short.encode_questions(questions) - padded.encode_questions(questions)).max())
    times: dict[str, list[float]] = {"[1,32]": [], "[1,384], padded": []}
    for _ in range(3):  # the sides in turn
        for name, embedder in (("[1,32]", short), ("[1,384], padded", padded)):
            for q in questions[:100]:
                began = time.perf_counter()
                embedder.encode_questions([q])
                times[name].append(1000 * (time.perf_counter() - began))
    questions_ms = {name: round(statistics.median(t), 2) for name, t in times.items()}
    print({"question_ms_p50": questions_ms, "largest_vector_difference": gap})
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "reshape.json").write_text(
        json.dumps(
            {
                "machine": host,
                "questions": args.questions,
                "reader": rows,
                "retriever_question_ms_p50": questions_ms,
                "retriever_largest_vector_difference": gap,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
