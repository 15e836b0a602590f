"""Start-up cost of the command line: wall time of `openbook ask` and `openbook search --mode lexical` on an existing
index, each a fresh process, p50 over N runs (targets: ask <= 1.0 s, lexical search <= 0.5 s). The package's bytecode is
compiled first, as an installed package has it.

With ``--baseline-src`` (the ``src/`` folder of another checkout, e.g. main before the model cache and lazy imports)
both codes run interleaved on the same index and the same Python, so their figures compare on a shared machine.

    .venv/bin/python benchmarks/startup.py --runs 20
    git archive main | tar -x -C /tmp/openbook-main
    .venv/bin/pip install --target /tmp/typer-0.29 --no-deps typer==0.29.2   # main resolved typer 0.29.2
    .venv/bin/python benchmarks/startup.py --runs 20 --baseline-src /tmp/openbook-main/src \\
        --baseline-path /tmp/typer-0.29 [--baseline-models /tmp/openbook-main/models]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "examples" / "corpus"
QUESTION = "How do honeybees tell each other where flowers are?"
COMMANDS = {
    "ask": ["ask", QUESTION, "-n", "1"],
    "search --mode lexical": ["search", QUESTION, "--mode", "lexical"],
}


def run(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "openbook.cli", *args], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"openbook {' '.join(args)} failed: {done.stderr.strip()}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--baseline-src", type=Path, help="src/ of the code to compare against.")
    parser.add_argument(
        "--baseline-path", default="", help="More PYTHONPATH entries for the baseline (its own dependency versions)."
    )
    parser.add_argument("--baseline-models", type=Path, help="models/ of the baseline checkout (its own manifests).")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "startup.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = {**os.environ, "OPENBOOK_INDEXES": str(Path(tmp) / "indexes"), "COLUMNS": "200"}
        codes = {"current": {**base, "OPENBOOK_MODEL_CACHE": str(Path(tmp) / "cache")}}
        if args.baseline_src:
            path = os.pathsep.join(p for p in (str(args.baseline_src.resolve()), args.baseline_path) if p)
            codes["baseline"] = {**base, "PYTHONPATH": path}
            if args.baseline_models:
                codes["baseline"]["OPENBOOK_MODELS"] = str(args.baseline_models.resolve())
        # Bytecode first, as pip writes it at install: with PYTHONDONTWRITEBYTECODE set (this machine sets it) a
        # checkout's modules would otherwise be compiled from source at every start (about 0.1 s of openbook alone).
        for src in [ROOT / "src", *([args.baseline_src] if args.baseline_src else [])]:
            subprocess.run([sys.executable, "-m", "compileall", "-q", str(src)], check=True, capture_output=True)
        run(["index", str(CORPUS)], codes["current"])
        for env in codes.values():  # one untimed run each: fills the model cache, warms the page cache
            for command in COMMANDS.values():
                run(command, env)
        times: dict[str, dict[str, list[float]]] = {code: {name: [] for name in COMMANDS} for code in codes}
        for _ in range(args.runs):
            for code, env in codes.items():
                for name, command in COMMANDS.items():
                    times[code][name].append(run(command, env))
    result = {
        "runs": args.runs,
        "cpus": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        **{
            code: {
                name: {"p50_s": round(statistics.median(t), 3), "p90_s": round(sorted(t)[int(0.9 * (len(t) - 1))], 3)}
                for name, t in per.items()
            }
            for code, per in times.items()
        },
    }
    if "baseline" in result:
        result["speedup_p50"] = {
            name: round(result["baseline"][name]["p50_s"] / result["current"][name]["p50_s"], 2) for name in COMMANDS
        }
    print(json.dumps(result, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
