"""Micro-batching across clients: requests that arrive within a few milliseconds share one model call.

Requests wait in an asyncio queue. One collector takes the first, then gathers more for up to ``wait`` seconds or
``max_batch`` requests, groups them by key (requests with the same options), and hands each group to ``run`` on the
model thread (a single-thread executor: one thread owns the models). While a batch runs, new requests queue up, so
the next batch fills at once: under load, batches grow to ``max_batch`` without waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

Run = Callable[[Hashable, list[Any]], Sequence[Any]]


@dataclass
class _Pending:
    key: Hashable
    item: Any
    future: asyncio.Future


@dataclass
class BatchStats:
    batches: int = 0
    requests: int = 0
    largest: int = 0
    sizes: dict[int, int] = field(default_factory=dict)  # batch size -> how many batches had it

    def add(self, size: int) -> None:
        self.batches += 1
        self.requests += size
        self.largest = max(self.largest, size)
        self.sizes[size] = self.sizes.get(size, 0) + 1


class MicroBatcher:
    """``await submit(key, item)`` returns ``run(key, items)[i]`` for this item, computed together with the items of
    other requests with the same key that arrived at about the same time."""

    def __init__(self, run: Run, executor: Executor, max_batch: int = 16, wait: float = 0.005) -> None:
        self.run = run
        self.executor = executor
        self.max_batch = max(1, max_batch)
        self.wait = max(0.0, wait)
        self.stats = BatchStats()
        self._queue: asyncio.Queue[_Pending] | None = None
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._queue = asyncio.Queue()
        self._task = asyncio.get_running_loop().create_task(self._collect())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def submit(self, key: Hashable, item: Any) -> Any:
        if self._queue is None:
            raise RuntimeError("MicroBatcher.submit before start")
        future = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(key, item, future))
        return await future

    async def _collect(self) -> None:
        assert self._queue is not None
        while True:
            batch = await self._gather()
            groups: dict[Hashable, list[_Pending]] = {}
            for pending in batch:
                groups.setdefault(pending.key, []).append(pending)
            for key, group in groups.items():
                await self._run_group(key, group)

    async def _gather(self) -> list[_Pending]:
        """The first waiting request, then whatever arrives within ``wait`` seconds, at most ``max_batch``."""
        queue = self._queue
        batch = [await queue.get()]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait
        while len(batch) < self.max_batch:
            if not queue.empty():
                batch.append(queue.get_nowait())
                continue
            left = deadline - loop.time()
            if left <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(queue.get(), left))
            except asyncio.TimeoutError:
                break
        return batch

    async def _run_group(self, key: Hashable, group: list[_Pending]) -> None:
        live = [p for p in group if not p.future.done()]  # a client that went away needs no answer
        if not live:
            return
        self.stats.add(len(live))
        loop = asyncio.get_running_loop()
        try:
            results = await loop.run_in_executor(self.executor, self.run, key, [p.item for p in live])
        except Exception as exc:  # every request of the group gets the error (inputs are checked before they queue)
            for p in live:
                if not p.future.done():
                    p.future.set_exception(exc)
            return
        for p, result in zip(live, results):
            if not p.future.done():
                p.future.set_result(result)
