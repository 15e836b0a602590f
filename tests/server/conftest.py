"""Served indexes for the server tests: a copy of the example corpus index per module, apps and real servers."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the server tests need the serve extra (pip install -e '.[serve]')")

from openbook.server.app import create_app
from openbook.server.settings import ServerSettings

CORPUS = Path(__file__).resolve().parents[2] / "examples" / "corpus"
VOLCANO = "What is the largest volcano in the solar system?"


@pytest.fixture(scope="session")
def corpus_index(tmp_path_factory, vocab) -> Path:
    """The example corpus indexed once with the default retriever; tests serve copies of it."""
    from openbook.ingest.loaders import load_documents
    from openbook.retrieval.retriever import Retriever

    path = tmp_path_factory.mktemp("served") / "corpus"
    Retriever(path).add(load_documents([CORPUS]))
    return path


def copy_index(source: Path, target_parent: Path) -> Path:
    target = target_parent / "corpus"
    shutil.copytree(source, target)
    return target


def wait_ready(client, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while client.get("/ready").status_code != 200:
        if time.monotonic() > deadline:
            raise AssertionError(f"server not ready: {client.get('/ready').json()}")
        time.sleep(0.05)


class LiveServer:
    """uvicorn serving ``app`` on 127.0.0.1 at a free port, in a thread of the test process."""

    def __init__(self, app) -> None:
        import uvicorn

        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise AssertionError("uvicorn did not start")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(30)


@pytest.fixture(scope="session")
def live(corpus_index, tmp_path_factory) -> Iterator[LiveServer]:
    """A real server on a copy of the corpus index, models loaded; tests that add documents remove them again."""
    import httpx

    path = copy_index(corpus_index, tmp_path_factory.mktemp("live"))
    with LiveServer(create_app(ServerSettings(index=path))) as server:
        with httpx.Client(base_url=server.url, timeout=120) as client:
            wait_ready(client)
        yield server
