"""openbook encode in-process against Ray Data (1 actor of 2 CPUs, 2 actors of 1 CPU), and its peak memory by corpus size.

Speed: SQuAD v1.1 dev paragraphs (--limit of them) are cut into --slices JSON Lines files; each slice is encoded by the
three variants in turn (the order rotating from slice to slice), so that all three run under the same load on a shared
machine. Each call is a whole ``encode`` (Ray: the actor pool starts and loads the model every time, as the command
does), timed end to end, and each is preceded by the same variant on a one-paragraph file: its fixed cost, so that the
steady rate is (passages - that paragraph's) / (time - fixed cost). One local Ray of 2 CPUs for the encoders plus one
logical CPU for the reading-and-splitting tasks (Ray Data needs a free slot for them while the actors hold both encoder
CPUs); the machine has 2 cores either way.

Memory: in-process ``encode`` of 1, 2 and 4 copies of all the paragraphs (distinct ids) in a fresh process each, peak
RSS (ru_maxrss); with a stand-in 384-d encoder built in code (tests/standins.py), so that larger corpora take seconds:
streaming is a property of the write path, not of the model.

    nice .venv/bin/python benchmarks/ray_encode.py --squad ../shared/data/squad/dev-v1.1.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common import machine, versions, write_result

from openbook.config import DEFAULT_RETRIEVER, resolve_model
from openbook.scale.encode import encode

VARIANTS = {"in-process": None, "ray 1 actor x 2 cpus": (1, 2), "ray 2 actors x 1 cpu": (2, 1)}


def paragraphs(squad: Path) -> list[dict]:
    rows = []
    for i, article in enumerate(json.loads(squad.read_text(encoding="utf-8"))["data"]):
        for j, p in enumerate(article["paragraphs"]):
            rows.append({"id": f"{i}/{j}", "title": article["title"], "text": p["context"]})
    return rows


def write_jsonl(path: Path, rows: list[dict], copy: int = 0) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps({**r, "id": f"{copy}:{r['id']}"}) + "\n" for r in rows)
    return path


def run(name: str, file: Path, out: Path, model: Path) -> tuple[float, int]:
    setting = VARIANTS[name]
    start = time.perf_counter()
    if setting is None:
        report = encode([file], out, model)
    else:
        report = encode([file], out, model, ray_address="local", actors=setting[0], cpus_per_actor=setting[1])
    return time.perf_counter() - start, report.passages


def speed(rows: list[dict], slices: int, work: Path, model: Path) -> dict:
    """Each variant on each slice, and on a one-paragraph file just before it: the fixed cost of one ``encode`` (Ray:
    actors started, model loaded, plan run), so that the steady rate is (passages - 1 paragraph's) / (time - that)."""
    import ray

    ray.init(num_cpus=3, log_to_driver=False, configure_logging=False, include_dashboard=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    size = -(-len(rows) // slices)
    files = [write_jsonl(work / f"slice-{n}.jsonl", rows[n * size : (n + 1) * size]) for n in range(slices)]
    tiny = write_jsonl(work / "tiny.jsonl", rows[:1])
    total = {name: [0.0, 0, 0.0, 0] for name in VARIANTS}  # seconds, passages, fixed seconds, fixed passages
    per_slice: list[dict] = []
    names = list(VARIANTS)
    for n, file in enumerate(files):
        order = names[n % len(names) :] + names[: n % len(names)]
        row = {}
        for name in order:
            fixed, few = run(name, tiny, work / f"tiny-{n}-{names.index(name)}", model)
            took, passages = run(name, file, work / f"out-{n}-{names.index(name)}", model)
            for i, v in enumerate((took, passages, fixed, few)):
                total[name][i] += v
            row[name] = {"passages_per_s": round(passages / took, 1), "fixed_s": round(fixed, 2)}
        per_slice.append(row)
        print(f"slice {n}: {json.dumps(row)}", flush=True)
    ray.shutdown()
    end_to_end = {k: t[1] / t[0] for k, t in total.items()}
    steady = {k: (t[1] - t[3]) / (t[0] - t[2]) for k, t in total.items()}
    return {
        "passages": total["in-process"][1],
        "slices": slices,
        "passages_per_s": {k: round(v, 1) for k, v in end_to_end.items()},
        "ratio_to_in_process": {k: round(v / end_to_end["in-process"], 3) for k, v in end_to_end.items()},
        "fixed_seconds_per_encode": {k: round(t[2] / slices, 2) for k, t in total.items()},
        "steady_passages_per_s": {k: round(v, 1) for k, v in steady.items()},
        "steady_ratio_to_in_process": {k: round(v / steady["in-process"], 3) for k, v in steady.items()},
        "per_slice": per_slice,
    }


CHILD = """
import json, resource, sys, time
from openbook.scale.encode import encode
start = time.perf_counter()
report = encode(sys.argv[1:-2], sys.argv[-2], sys.argv[-1])
print(json.dumps({"passages": report.passages, "seconds": time.perf_counter() - start,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def memory(rows: list[dict], copies: list[int], work: Path) -> list[dict]:
    from tests.standins import build_embedder_ir

    model = work / "standin"
    build_embedder_ir(model, resolve_model(None, DEFAULT_RETRIEVER) / "vocab.txt", dim=384)
    files = [write_jsonl(work / f"copy-{c}.jsonl", rows, copy=c) for c in range(max(copies))]
    out = []
    for n in copies:
        target = work / f"mem-{n}"
        done = subprocess.run(
            [sys.executable, "-c", CHILD, *map(str, files[:n]), str(target), str(model)],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        row = {"copies": n, **json.loads(done.stdout.strip().splitlines()[-1])}
        row["peak_rss_mb"] = round(row["peak_rss_mb"], 1)
        row["seconds"] = round(row["seconds"], 1)
        out.append(row)
        print(f"{n} copies: {row}", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=Path, default=Path("../shared/data/squad/dev-v1.1.json"))
    parser.add_argument("--slices", type=int, default=2)
    parser.add_argument("--limit", type=int, default=None, help="Only the first N paragraphs for the speed part.")
    parser.add_argument("--copies", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    rows = paragraphs(args.squad)
    load = machine()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        result = {
            "speed": speed(rows[: args.limit], args.slices, work, resolve_model(None, DEFAULT_RETRIEVER)),
            "memory": memory(rows, args.copies, work),
            "machine": load,
            "load_average_at_end": [round(x, 2) for x in __import__("os").getloadavg()],
            "versions": versions("ray", "pyarrow", "openvino"),
        }
    write_result("ray_encode", result)
    keys = (
        "passages_per_s",
        "ratio_to_in_process",
        "fixed_seconds_per_encode",
        "steady_passages_per_s",
        "steady_ratio_to_in_process",
    )
    print(json.dumps({k: result["speed"][k] for k in keys}))


if __name__ == "__main__":
    main()
