"""Batching across clients: concurrent requests share one model call, and get exactly their own answers."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from openbook.server.batching import MicroBatcher
from tests.server.conftest import VOLCANO


class Recorder:
    """A model stand-in on its own thread: answers ``key:item`` and records every call it gets."""

    def __init__(self, delay: float = 0.05) -> None:
        self.calls: list[tuple[str, list[int]]] = []
        self.threads: set[str] = set()
        self.delay = delay

    def __call__(self, key, items):
        self.calls.append((key, list(items)))
        self.threads.add(threading.current_thread().name)
        time.sleep(self.delay)
        if "fail" in key:
            raise ValueError(f"bad batch {key}")
        return [f"{key}:{i}" for i in items]


async def submit_all(batcher: MicroBatcher, requests: list[tuple[str, int]]) -> list:
    batcher.start()
    try:
        return await asyncio.gather(*(batcher.submit(k, i) for k, i in requests), return_exceptions=True)
    finally:
        await batcher.stop()


def test_concurrent_requests_share_calls_and_get_their_own_results():
    run = Recorder()
    batcher = MicroBatcher(run, ThreadPoolExecutor(1, thread_name_prefix="model"), max_batch=8, wait=0.005)
    results = asyncio.run(submit_all(batcher, [("ask", i) for i in range(20)]))
    assert results == [f"ask:{i}" for i in range(20)]
    sizes = [len(items) for _, items in run.calls]
    assert sum(sizes) == 20 and max(sizes) == 8 and len(run.calls) <= 4, sizes
    assert len(run.threads) == 1 and next(iter(run.threads)).startswith("model")
    assert batcher.stats.requests == 20 and batcher.stats.largest == 8


def test_requests_with_different_options_are_never_mixed():
    run = Recorder()
    batcher = MicroBatcher(run, ThreadPoolExecutor(1), max_batch=16)
    requests = [("k=5", 1), ("k=3", 2), ("k=5", 3), ("k=3", 4), ("k=5", 5)]
    assert asyncio.run(submit_all(batcher, requests)) == ["k=5:1", "k=3:2", "k=5:3", "k=3:4", "k=5:5"]
    assert sorted(run.calls) == [("k=3", [2, 4]), ("k=5", [1, 3, 5])]


def test_an_error_reaches_its_own_batch_only():
    run = Recorder()
    batcher = MicroBatcher(run, ThreadPoolExecutor(1), max_batch=16)
    results = asyncio.run(submit_all(batcher, [("fail", 1), ("ok", 2), ("fail", 3)]))
    assert isinstance(results[0], ValueError) and isinstance(results[2], ValueError)
    assert results[1] == "ok:2"


def test_a_lone_request_waits_only_the_window():
    run = Recorder(delay=0.0)
    batcher = MicroBatcher(run, ThreadPoolExecutor(1), max_batch=16, wait=0.005)

    async def one():
        batcher.start()
        start = time.perf_counter()
        result = await batcher.submit("ask", 7)
        elapsed = time.perf_counter() - start
        await batcher.stop()
        return result, elapsed

    result, elapsed = asyncio.run(one())
    assert result == "ask:7" and elapsed < 1.0  # a bound against hanging, not a speed figure


QUESTIONS = [
    VOLCANO,
    "Who designed a lens made of glass rings for lighthouses?",
    "Which piece in chess can jump over other pieces?",
    "In what year did Edward Jenner make the first vaccine?",
] * 3


@pytest.fixture(scope="module")
def sequential(live) -> list[str]:
    with httpx.Client(base_url=live.url, timeout=120) as client:
        return [client.post("/ask", json={"question": q}).json()["answers"][0]["answer"] for q in QUESTIONS[:4]]


def test_concurrent_clients_get_the_answers_they_would_get_alone(live, sequential):
    with httpx.Client(base_url=live.url, timeout=120) as client:
        before = client.get("/info").json()["batching"]
        with ThreadPoolExecutor(len(QUESTIONS)) as pool:
            got = list(pool.map(lambda q: client.post("/ask", json={"question": q}).json(), QUESTIONS))
        after = client.get("/info").json()["batching"]
    assert [g["answers"][0]["answer"] for g in got] == sequential * 3
    assert [g["question"] for g in got] == QUESTIONS
    assert after["requests"] - before["requests"] == len(QUESTIONS)
    assert after["batches"] - before["batches"] < len(QUESTIONS), "no two concurrent asks shared a model call"
    assert after["largest"] > 1


def test_reads_go_on_while_a_write_runs_and_see_it_after(live):
    big = " ".join(f"Line {i}: the Glimmer festival of Osterby is held every spring by the lake." for i in range(1500))
    with httpx.Client(base_url=live.url, timeout=120) as client:
        upload = {}
        thread = threading.Thread(
            target=lambda: upload.setdefault(
                "r", client.post("/documents", files=[("files", ("festival.txt", big.encode(), "text/plain"))])
            )
        )
        thread.start()
        answered_during = 0
        while thread.is_alive():
            assert client.post("/ask", json={"question": VOLCANO}).json()["answers"][0]["answer"] == "Olympus Mons"
            answered_during += thread.is_alive()
        assert upload["r"].status_code == 200
        assert answered_during >= 1, "no ask was answered while the upload was being indexed"
        hits = client.post("/search", json={"question": "Glimmer festival Osterby", "k": 1, "mode": "lexical"}).json()
        assert hits["results"][0]["passage"]["doc_id"] == "uploads/festival.txt"
        assert client.delete("/documents/uploads/festival.txt").status_code == 200
        hits = client.post("/search", json={"question": "Glimmer festival Osterby", "k": 1, "mode": "lexical"}).json()
        assert all(r["passage"]["doc_id"] != "uploads/festival.txt" for r in hits["results"])
