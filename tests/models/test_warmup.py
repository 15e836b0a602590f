"""The background warm-up: steps run in order on their own thread, never while the models are held, and stop."""

from __future__ import annotations

import threading
import time

from openbook.models.warmup import Warmer


def _wait(predicate, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_steps_run_in_order_on_another_thread():
    ran: list[tuple[int, str]] = []
    steps = [lambda i=i: ran.append((i, threading.current_thread().name)) for i in range(5)]
    warmer = Warmer(steps).start()
    assert _wait(lambda: warmer.finished)
    assert [i for i, _ in ran] == list(range(5))
    assert {name for _, name in ran} == {"openbook-warm-up"}


def test_no_step_runs_while_the_models_are_held():
    ran: list[int] = []
    warmer = Warmer([lambda i=i: ran.append(i) for i in range(3)])
    with warmer.hold():
        warmer.start()
        time.sleep(0.2)
        assert ran == []  # the question has the models
    assert _wait(lambda: warmer.finished)
    assert ran == [0, 1, 2]


def test_hold_waits_for_the_step_under_way_and_stop_ends_it():
    started, release = threading.Event(), threading.Event()
    ran: list[int] = []

    def slow() -> None:
        started.set()
        release.wait(5)
        ran.append(0)

    warmer = Warmer([slow, lambda: ran.append(1), lambda: ran.append(2)]).start()
    assert started.wait(5)
    got_hold = threading.Event()

    def ask() -> None:
        with warmer.hold():
            got_hold.set()

    asker = threading.Thread(target=ask)
    asker.start()
    time.sleep(0.1)
    assert not got_hold.is_set()  # a question waits for the one step running
    release.set()
    asker.join(5)
    assert got_hold.is_set()
    warmer.stop()
    assert ran[0] == 0 and not warmer._thread.is_alive()


def test_stop_runs_no_more_steps():
    ran: list[int] = []
    warmer = Warmer([lambda i=i: ran.append(i) for i in range(100)])
    with warmer.hold():  # the warm-up thread waits for the first step
        warmer.start()
        stopper = threading.Thread(target=warmer.stop)
        stopper.start()
        time.sleep(0.05)
    stopper.join(5)
    assert ran == [] and not warmer.finished and not stopper.is_alive()


def test_a_failing_step_ends_the_warm_up_quietly():
    ran: list[int] = []

    def bad() -> None:
        raise RuntimeError("shape not supported")

    warmer = Warmer([lambda: ran.append(0), bad, lambda: ran.append(2)]).start()
    warmer._thread.join(5)
    assert ran == [0] and warmer.done == 1 and not warmer.finished
