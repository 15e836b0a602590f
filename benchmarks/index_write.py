"""What one small write costs on a big index: build an index of N passages (synthetic text and vectors), then add one
document of 3 passages, timing it and counting the bytes it writes (``/proc/self/io`` write_bytes), without encoding.

Both designs are measured on the same data: this checkout's (SQLite as the transaction log, FAISS a derived
checkpoint) and, with ``--old REF``, the one at git ref REF (every write copies the store and the vectors into a new
generation), run from ``git archive REF``. Each step runs in its own process so that its write_bytes are its own.

    python benchmarks/index_write.py --passages 1000000 --old main     # about 20 minutes on 2 shared cores

Vectors are 384-d float32 (the default retriever's size) in a flat index (the old design trains no IVF either).
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

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DIM = 384
PER_DOC = 10  # passages per synthetic document
WORDS = 30  # words per synthetic passage


def written() -> int:
    """Bytes this process has caused to be written to storage so far."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    raise RuntimeError("no write_bytes in /proc/self/io")


def synthetic(doc: int, passages: int = PER_DOC) -> tuple[Any, list[Any], np.ndarray]:
    """Document ``doc``: ``passages`` passages of pseudo-words and unit vectors, the same every time."""
    from openbook.types import Document, Passage

    rng = np.random.default_rng(doc)
    words = [f"w{n}" for n in rng.integers(0, 50_000, passages * WORDS)]
    texts = [" ".join(words[i * WORDS : (i + 1) * WORDS]) for i in range(passages)]
    body, spans, at = "", [], 0
    for t in texts:
        spans.append((at, at + len(t)))
        body += t + " "
        at += len(t) + 1
    document = Document(f"doc{doc}", body, f"Doc {doc}", f"/synthetic/doc{doc}.txt")
    ps = [Passage(t, document.id, s, e, document.title) for t, (s, e) in zip(texts, spans)]
    vectors = rng.standard_normal((passages, DIM)).astype(np.float32)
    return document, ps, vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# --- this checkout's design ---------------------------------------------------------------------------------------------
def model():
    from openbook.models.manifest import ModelManifest

    return ModelManifest(name="synthetic-384", kind="retriever", inputs={}, outputs={}, question_length=32,
                         passage_length=384, dimension=DIM, metric="ip")


def build_new(path: Path, passages: int) -> dict[str, Any]:
    from openbook.index.folder import Index
    from openbook.index.settings import IndexSettings
    from openbook.retrieval.indexer import Indexer

    start, before = time.perf_counter(), written()
    index = Index.create(path, model(), Path(sys.executable), IndexSettings(passage_tokens=256, index_type="flat"))
    Indexer(index).add_encoded((synthetic(d) for d in range(passages // PER_DOC)), model().identity())
    return {"seconds": time.perf_counter() - start, "write_bytes": written() - before, "passages": index.count_passages()}


def add_new(path: Path, doc: int) -> dict[str, Any]:
    from openbook.index.folder import Index
    from openbook.retrieval.indexer import Indexer

    item = synthetic(doc, 3)
    t0, w0 = time.perf_counter(), written()
    index = Index.open(path)
    t1, w1 = time.perf_counter(), written()
    report = Indexer(index).add_encoded([item], model().identity())
    index.close()  # the last connection folds the WAL into store.sqlite: counted too
    t2, w2 = time.perf_counter(), written()
    assert report.documents_added == 1
    return {"open_s": t1 - t0, "add_s": t2 - t1, "total_s": t2 - t0, "add_write_bytes": w2 - w1,
            "total_write_bytes": w2 - w0}


def search_new(path: Path, _: int = 0) -> dict[str, Any]:
    from openbook.index.folder import Index

    t0 = time.perf_counter()
    index = Index.open(path)
    _, ids = index.vectors.search(synthetic(123_456_789, 1)[2], 5)
    t1 = time.perf_counter()
    index.vectors.search(synthetic(5, 1)[2], 5)
    return {"open_and_first_search_s": t1 - t0, "next_search_s": time.perf_counter() - t1,
            "checkpoint_seq": index.info()["checkpoint_seq"], "log_seq": index.info()["log_seq"]}


# --- the old design (run with PYTHONPATH at an old checkout's src) -------------------------------------------------------
def build_old(path: Path, passages: int) -> dict[str, Any]:
    from openbook.index.folder import Index

    start, before = time.perf_counter(), written()
    index = Index.create(path, model(), Path(sys.executable), {"passage_tokens": 256, "index_type": "flat"})
    with index.transaction(DIM) as tx, tx.store.conn:
        for d in range(passages // PER_DOC):
            doc, ps, vectors = synthetic(d)
            ids = tx.store.add_document(doc, f"h{d}", ps)
            tx.vectors.add(ids, vectors)
    return {"seconds": time.perf_counter() - start, "write_bytes": written() - before, "passages": index.count_passages()}


def add_old(path: Path, doc: int) -> dict[str, Any]:
    from openbook.index.folder import Index

    doc_, ps, vectors = synthetic(doc, 3)
    t0, w0 = time.perf_counter(), written()
    index = Index.open(path)
    t1, w1 = time.perf_counter(), written()
    with index.transaction(DIM) as tx, tx.store.conn:
        ids = tx.store.add_document(doc_, f"h{doc}", ps)
        tx.vectors.add(ids, vectors)
    index.close()
    t2, w2 = time.perf_counter(), written()
    return {"open_s": t1 - t0, "add_s": t2 - t1, "total_s": t2 - t0, "add_write_bytes": w2 - w1,
            "total_write_bytes": w2 - w0}


STEPS = {"build-new": build_new, "add-new": add_new, "search-new": search_new, "build-old": build_old,
         "add-old": add_old}


def step(name: str, path: Path, arg: int, src: Path | None = None) -> dict[str, Any]:
    """Run one step in its own process (with ``src`` first on the path for the old design)."""
    env = {**os.environ}
    if src is not None:
        env["PYTHONPATH"] = f"{src}:{ROOT / 'benchmarks'}"
    out = subprocess.run([sys.executable, __file__, "--step", name, str(path), str(arg)], env=env,
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{name} failed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"{name}: {result}", file=sys.stderr, flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=1_000_000)
    parser.add_argument("--adds", type=int, default=5, help="single-document adds to time (the median is reported)")
    parser.add_argument("--old", help="also measure the design at this git ref (e.g. main)")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "openbook-index-write")
    parser.add_argument("--keep", action="store_true", help="keep the built indexes")
    parser.add_argument("--step", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        name, path, arg = args.step
        print(json.dumps(STEPS[name](Path(path), int(arg))))
        return
    from common import machine, write_result

    shutil.rmtree(args.dir, ignore_errors=True)
    args.dir.mkdir(parents=True)
    result: dict[str, Any] = {"passages": args.passages, "dimension": DIM, "index_type": "flat",
                              "data": "synthetic text (30 pseudo-words a passage) and random unit vectors",
                              "machine": machine()}
    designs = [("new", None)]
    if args.old:
        src = args.dir / "old-src"
        src.mkdir()
        archive = subprocess.run(["git", "archive", args.old, "src"], cwd=ROOT, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(src)], input=archive.stdout, check=True)
        designs.append(("old", src / "src"))
    for design, src in designs:
        path = args.dir / design
        built = step(f"build-{design}", path, args.passages, src)
        adds = [step(f"add-{design}", path, 10_000_000 + n, src) for n in range(args.adds)]
        key = "this checkout" if design == "new" else f"git {args.old}"
        result[key] = {
            "build": {**built, "index_bytes": folder_bytes(path)},
            "add_one_document": {
                field: float(np.median([a[field] for a in adds]))
                for field in ("open_s", "add_s", "total_s", "add_write_bytes", "total_write_bytes")
            },
            "add_one_document_max_write_bytes": max(a["total_write_bytes"] for a in adds),
            "adds": adds,
        }
        if design == "new":
            result[key]["reader"] = step("search-new", path, 0)
        if not args.keep:
            shutil.rmtree(path, ignore_errors=True)
    print(json.dumps({k: v for k, v in result.items() if k != "machine"}, indent=2))
    write_result("index_write", result)


if __name__ == "__main__":
    main()
