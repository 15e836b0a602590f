"""Peak memory of ``openbook index`` on one big text file: 5, 10 and 20 MB of real prose (SQuAD train contexts, end to
end), each indexed by its own process; peak RSS from the kernel (``wait4`` ru_maxrss) and RSS sampled every second.

    python benchmarks/index_memory.py                                  # the default INT8 retriever, 5 MB
    python benchmarks/index_memory.py --standin --sizes 5 10 20        # a tiny stand-in encoder (tests/standins.py)
    python benchmarks/index_memory.py --standin --old main             # also the design at git ref main

The stand-in encoder (2 layers, 64-d) only makes encoding fast; splitting, batching, storage and commits are the real
code. With ``--old REF`` the same files are indexed by the code at that git ref (``git archive``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TRAIN = ROOT.parent / "shared" / "data" / "squad" / "train-v1.1.json"
MB = 1_000_000


def prose(megabytes: int, path: Path) -> Path:
    """A text file of ``megabytes`` MB: SQuAD train contexts, one paragraph each, repeated as needed."""
    contexts = [p["context"] for a in json.loads(TRAIN.read_text())["data"] for p in a["paragraphs"]]
    out, size, n = [], 0, 0
    while size < megabytes * MB:
        text = contexts[n % len(contexts)]
        out.append(text)
        size += len(text.encode()) + 2
        n += 1
    path.write_text("\n\n".join(out))
    return path


def standin(folder: Path) -> Path:
    sys.path.insert(0, str(ROOT))
    from tests.standins import build_embedder_ir

    build_embedder_ir(folder / "dynamic", ROOT / "models" / "retriever-minilm-squad11-int8" / "vocab.txt")
    return folder / "dynamic"


def run_child(file: Path, index_dir: Path, model: Path | None, src: Path | None) -> dict[str, Any]:
    """Index ``file`` in a fresh process: its wall time, peak RSS (``wait4``: exactly that child) and RSS by quarter."""
    env = {**os.environ, "OPENBOOK_INDEXES": str(index_dir)}
    if src is not None:
        env["PYTHONPATH"] = str(src)
    args = [sys.executable, "-m", "openbook.cli", "index", str(file), "--json"]
    if model is not None:
        args += ["--retriever", str(model)]
    start = time.perf_counter()
    out_file = index_dir.parent / "stdout.json"
    err_file = index_dir.parent / "stderr.txt"
    with open(out_file, "w") as out, open(err_file, "w") as err:
        pid = os.posix_spawn(args[0], args, env, file_actions=[
            (os.POSIX_SPAWN_DUP2, out.fileno(), 1), (os.POSIX_SPAWN_DUP2, err.fileno(), 2)])
    samples: list[float] = []
    status = Path(f"/proc/{pid}/status")
    while True:
        done, code, usage = os.wait4(pid, os.WNOHANG)
        if done:
            break
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmRSS:"):
                    samples.append(int(line.split()[1]) / 1024)
        except OSError:
            pass
        time.sleep(1.0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(code) != 0:
        raise SystemExit(f"indexing {file} failed:\n{err_file.read_text()[-3000:]}")
    report = json.loads(out_file.read_text())
    quarter = len(samples) // 4
    return {
        "seconds": round(seconds, 1),
        "passages": report.get("passages_added"),
        "peak_rss_mb": round(usage.ru_maxrss / 1024),
        "rss_mb_at_25_50_75_100_percent": [round(samples[min(len(samples) - 1, q * quarter)]) for q in (1, 2, 3, 4)]
        if samples else [],
        "rss_samples": len(samples),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5], help="file sizes in MB")
    parser.add_argument("--standin", action="store_true", help="a tiny stand-in encoder instead of the default model")
    parser.add_argument("--old", help="also index with the code at this git ref (e.g. main)")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "openbook-index-memory")
    parser.add_argument("--name", default=None, help="result file name (default index_memory[-standin])")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from common import machine, write_result

    shutil.rmtree(args.dir, ignore_errors=True)
    args.dir.mkdir(parents=True)
    model = standin(args.dir / "model") if args.standin else None
    designs: list[tuple[str, Path | None]] = [("this checkout", None)]
    if args.old:
        src = args.dir / "old-src"
        src.mkdir()
        archive = subprocess.run(["git", "archive", args.old, "src"], cwd=ROOT, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(src)], input=archive.stdout, check=True)
        designs.append((f"git {args.old}", src / "src"))
    result: dict[str, Any] = {"encoder": "stand-in (tests/standins.py, dynamic)" if args.standin else
                              "retriever-minilm-squad11-int8", "text": "SQuAD train contexts", "machine": machine()}
    for design, src in designs:
        rows = {}
        for size in args.sizes:
            file = prose(size, args.dir / f"prose-{size}mb.txt")
            work = args.dir / f"run-{size}-{len(result)}"
            work.mkdir()
            rows[f"{size} MB"] = run_child(file, work / "indexes", model, src)
            print(f"{design} {size} MB: {rows[f'{size} MB']}", file=sys.stderr, flush=True)
            shutil.rmtree(work, ignore_errors=True)
        result[design] = rows
    print(json.dumps({k: v for k, v in result.items() if k != "machine"}, indent=2))
    write_result(args.name or ("index_memory-standin" if args.standin else "index_memory"), result)


if __name__ == "__main__":
    main()
