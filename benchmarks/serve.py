"""`openbook serve` under load: 32 concurrent clients for 60 s against a server on the SQuAD v1.1 dev index.

31 clients ask SQuAD dev questions back to back; one client writes: it uploads a small file with a made-up fact, checks
that a search finds it, deletes an earlier upload and checks that it is gone, and so on. Every response must be a
success (0 errors) and every write must be seen by the reads after it (0 lost writes); at the end the document list
must hold exactly the uploads not deleted. Throughput (asks per second over HTTP) is compared with the sequential
in-process `OpenBook.ask` rate measured in the same run, before and after the load. The server is a real
`openbook serve` process on 127.0.0.1; the clients are asyncio tasks in this process. Writes
benchmarks/results/serve.json.

    .venv/bin/python benchmarks/serve.py --squad ../shared/data/squad/dev-v1.1.json
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from common import RESULTS, SQUAD_DEV, latency_summary, machine, write_result

from openbook.evaluation.squad import load_squad
from openbook.ingest.loaders import read_squad
from openbook.qa.pipeline import OpenBook
from openbook.retrieval.retriever import Retriever

HOST = "127.0.0.1"  # the benchmark never listens or connects anywhere else


def build_index(squad: Path) -> Path:
    """The dev index benchmarks/ask.py uses (built once, reused), copied so the writes here leave it untouched."""
    source = RESULTS / "index-dev"
    Retriever(source).add(read_squad(squad), passage_tokens=382, index_type="flat")  # a no-op once built
    copy = RESULTS / "index-serve"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(source, copy, ignore=shutil.ignore_patterns(".lock"))
    return copy


def sequential_rate(book: OpenBook, questions: list[str], seconds: float) -> dict:
    """Questions per second asked one at a time in this process, for about ``seconds``."""
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        book.ask(questions[done % len(questions)])
        done += 1
    took = time.perf_counter() - start
    return {"questions": done, "seconds": round(took, 2), "per_second": round(done / took, 2)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start_server(index: Path, port: int, max_batch: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "openbook.cli", "serve", "--index", Path(index).name,
               "--index-dir", str(Path(index).parent), "--host", HOST, "--port", str(port), "--max-batch", str(max_batch)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


async def wait_ready(client: httpx.AsyncClient, server: subprocess.Popen, limit: float = 300) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"server exited: {server.stderr.read()}")
        try:
            if (await client.get("/ready")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    raise SystemExit("server not ready in time")


class Load:
    """Shared counters of the load run."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.asked = 0
        self.uploaded: list[str] = []
        self.deleted: list[str] = []
        self.lost: list[str] = []
        self.write_ms: list[float] = []


async def asker(client: httpx.AsyncClient, questions: list[str], offset: int, until: float, load: Load) -> None:
    n = offset
    while time.monotonic() < until:
        question = questions[n % len(questions)]
        n += 31
        start = time.perf_counter()
        try:
            r = await client.post("/ask", json={"question": question})
            ok = r.status_code == 200 and r.json()["question"] == question and "answers" in r.json()
        except (httpx.HTTPError, ValueError) as exc:
            load.errors.append(f"ask: {type(exc).__name__}: {exc}")
            continue
        if not ok:
            load.errors.append(f"ask: {r.status_code} {r.text[:200]}")
            continue
        load.latencies.append(1000 * (time.perf_counter() - start))
        load.asked += 1


async def findable(client: httpx.AsyncClient, word: str) -> set[str]:
    r = await client.post("/search", json={"question": word, "k": 3, "mode": "lexical"})
    if r.status_code != 200:
        raise RuntimeError(f"search: {r.status_code} {r.text[:200]}")
    return {hit["passage"]["doc_id"] for hit in r.json()["results"]}


async def writer(client: httpx.AsyncClient, until: float, every: float, load: Load) -> None:
    """Upload, check, delete, check: every write must be visible to the next read."""
    n = 0
    while time.monotonic() + every < until:
        await asyncio.sleep(every)
        n += 1
        word = f"zqx{n:03d}{random.Random(n).randrange(10**6):06d}"
        name = f"bench-{n:03d}.txt"
        text = f"The {word} lighthouse was built by engineer Orla Venn{n} in the year {1800 + n}.\n"
        try:
            start = time.perf_counter()
            r = await client.post("/documents", files=[("files", (name, text.encode(), "text/plain"))])
            load.write_ms.append(1000 * (time.perf_counter() - start))
            if r.status_code != 200:
                load.errors.append(f"upload: {r.status_code} {r.text[:200]}")
                continue
            doc_id = r.json()["documents"][0]
            load.uploaded.append(doc_id)
            if doc_id not in await findable(client, word):
                load.lost.append(f"uploaded {doc_id} not found")
            if n % 2 == 0:  # delete every other upload: the one before this
                old = load.uploaded[-2]
                start = time.perf_counter()
                r = await client.delete(f"/documents/{old}")
                load.write_ms.append(1000 * (time.perf_counter() - start))
                if r.status_code != 200:
                    load.errors.append(f"delete: {r.status_code} {r.text[:200]}")
                    continue
                load.deleted.append(old)
                old_word = f"zqx{n - 1:03d}{random.Random(n - 1).randrange(10**6):06d}"
                if old in await findable(client, old_word):
                    load.lost.append(f"deleted {old} still found")
        except (httpx.HTTPError, RuntimeError, ValueError) as exc:
            load.errors.append(f"write: {type(exc).__name__}: {exc}")


async def run_load(url: str, server: subprocess.Popen, questions: list[str], args) -> tuple[Load, dict, float]:
    limits = httpx.Limits(max_connections=args.clients + 2, max_keepalive_connections=args.clients + 2)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        await wait_ready(client, server)
        for q in questions[:8]:  # warm up
            await client.post("/ask", json={"question": q})
        before = (await client.get("/info")).json()
        load = Load()
        start = time.monotonic()
        until = start + args.seconds
        tasks = [asker(client, questions, i, until, load) for i in range(args.clients - 1)]
        tasks.append(writer(client, until, args.write_every, load))
        await asyncio.gather(*tasks)
        took = time.monotonic() - start
        info = (await client.get("/info")).json()
        listed = {d["id"] for d in (await client.get("/documents")).json()["documents"]}
        for doc_id in load.uploaded:
            if (doc_id in listed) == (doc_id in load.deleted):
                load.lost.append(f"{doc_id}: listed={doc_id in listed}, deleted={doc_id in load.deleted}")
        batching = {
            key: info["batching"][key] - before["batching"].get(key, 0) for key in ("batches", "requests")
        }
        batching["largest"] = info["batching"]["largest"]
        batching["mean_batch"] = round(batching["requests"] / max(1, batching["batches"]), 2)
        batching["documents_at_end"] = info["documents"]
        return load, batching, took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=Path, default=SQUAD_DEV)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--sequential-seconds", type=float, default=20.0, help="in-process rate, before and after")
    parser.add_argument("--write-every", type=float, default=4.0, help="seconds between the writer's uploads")
    parser.add_argument("--max-batch", type=int, default=16, help="the server's --max-batch (its default: 16)")
    args = parser.parse_args()

    index = build_index(args.squad)
    questions = [q.question for q in load_squad(args.squad)]
    random.Random(0).shuffle(questions)
    book = OpenBook(retriever=Retriever(index), k=5, top_answers=3)
    book.ask_many(questions[:16])  # warm up
    host = machine()

    port = free_port()
    server = start_server(index, port, args.max_batch)
    try:
        # the server loads meanwhile; measure the in-process rate once it is idle, then load it, then measure again
        asyncio.run(wait_ready(httpx.AsyncClient(base_url=f"http://{HOST}:{port}", timeout=30), server))
        before = sequential_rate(book, questions[1000:], args.sequential_seconds)
        load, batching, took = asyncio.run(run_load(f"http://{HOST}:{port}", server, questions, args))
        after = sequential_rate(book, questions[1000:], args.sequential_seconds)
    finally:
        server.terminate()
        server.wait(30)
    shutil.rmtree(index, ignore_errors=True)

    sequential = (before["per_second"] + after["per_second"]) / 2
    served = load.asked / took
    result = {
        "machine": host,
        "note": "2 shared CPU cores; other jobs ran on the machine during the run",
        "passages": book.retriever.index.count_passages(),
        "clients": args.clients,
        "seconds": round(took, 1),
        "max_batch": args.max_batch,
        "errors": len(load.errors),
        "error_samples": load.errors[:5],
        "lost_writes": len(load.lost),
        "lost_samples": load.lost[:5],
        "asks": load.asked,
        "uploads": len(load.uploaded),
        "deletes": len(load.deleted),
        "latency": latency_summary(load.latencies),
        "write_latency": latency_summary(load.write_ms) if load.write_ms else {},
        "served_asks_per_second": round(served, 2),
        "sequential_in_process": {"before": before, "after": after, "per_second": round(sequential, 2)},
        "throughput_ratio": round(served / sequential, 2),
        "batching": batching,
    }
    path = write_result("serve", result)
    print(f"{load.asked} asks in {took:.1f} s: {served:.2f}/s against {sequential:.2f}/s in process "
          f"({served / sequential:.2f}x); p50 {result['latency']['p50_ms']} ms, p99 {result['latency']['p99_ms']} ms; "
          f"{len(load.errors)} errors, {len(load.lost)} lost writes; mean batch {batching['mean_batch']} -> {path}")


if __name__ == "__main__":
    os.environ.setdefault("OPENBOOK_INDEXES", str(RESULTS))
    main()
