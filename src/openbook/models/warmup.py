"""Warm a long-running process's models up: run each batch shape once before a question meets it.

OpenVINO sets up each new [rows, length] shape of a dynamic-shape model on its first run: 10-15 ms here for the
reader, so a question whose batches are all shapes seen before is answered faster. A server or an interactive session
runs every shape one question can meet (:meth:`openbook.qa.pipeline.OpenBook.warm_shapes`) on a background thread
while it waits, one shape at a time; a question takes the models between two shapes (:meth:`Warmer.hold`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from openbook.errors import OpenbookError

log = logging.getLogger(__name__)

Step = Callable[[], None]


class Warmer:
    """Runs ``steps`` (each one model batch) on a background thread; ``hold()`` keeps them off the models."""

    def __init__(self, steps: Sequence[Step]) -> None:
        self.steps = list(steps)
        self.done = 0  # steps run
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="openbook-warm-up", daemon=True)

    def start(self) -> Warmer:
        self._thread.start()
        return self

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Use the models in this block: waits for the step under way (one batch), and no step starts until the block
        ends."""
        with self._lock:
            yield

    def stop(self) -> None:
        """Run no more steps; returns when the step under way has ended."""
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join()

    @property
    def finished(self) -> bool:
        return self.done == len(self.steps)

    def _run(self) -> None:
        for step in self.steps:
            with self._lock:
                if self._stopped.is_set():
                    return
                try:
                    step()
                except (OpenbookError, RuntimeError) as exc:  # such a model says why at its first real batch
                    log.debug("warm-up step failed: %s", exc)
                    return
                self.done += 1
