"""Static models at dynamic shape: a static [1,384] copy of the default reader, read one window at a time (padded to
384) and reshaped by openbook (``reshape=True``, batches unpadded), in the default precision and in float32.

Writes the copy to benchmarks/results/static-reader (re-made each run) and the figures to benchmarks/results/reshape.json.

    .venv/bin/python benchmarks/reshape.py --squad ../shared/data/squad/dev-v1.1.json
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import openvino as ov
from common import RESULTS, SQUAD_DEV, machine

from openbook.evaluation.reader import evaluate_reader
from openbook.paths import DEFAULT_READER, resolve_model
from openbook.reader import Reader


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
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "reshape.json").write_text(
        json.dumps({"machine": host, "questions": args.questions, "rows": rows}, indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
