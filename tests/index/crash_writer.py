"""A writer run as its own process: ``python -m tests.index.crash_writer INDEX [STEP N]`` runs a fixed sequence of
writes (batches, a long staged document, a remove, more batches, several checkpoints) and, given STEP and N, kills
itself with SIGKILL at the N-th time the commit path reaches STEP."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from openbook.index import folder
from openbook.retrieval import indexer
from openbook.retrieval.indexer import Indexer
from openbook.types import Document
from tests.index.helpers import docs, encode, make_index, split, text

STEPS = [
    "batch:encoded", "batch:inserted", "batch:committed", "segment:encoded", "segment:staged", "document:inserted",
    "document:published", "remove:committed", "checkpoint:intent", "checkpoint:writing", "checkpoint:written",
    "checkpoint:ready", "checkpoint:obsolete", "checkpoint:unlinked",
]
LONG = Document("long", " ".join(text(1000 + n, 30) for n in range(20)), title="Long")


def workload(path: Path) -> None:
    index = make_index(path)
    Indexer(index, split, encode).add(docs(0, 60))
    Indexer(index, split, encode).add([LONG])
    Indexer(index).remove([f"d{n}" for n in range(10)])
    Indexer(index, split, encode).add(docs(60, 30))
    Indexer(index, split, encode).add(docs(20, 10, words=80))  # updates


def main() -> None:
    indexer.COMMIT_PASSAGES = 20
    indexer.SEGMENT_CHARS = 1500
    folder.CHECKPOINT_MIN = 10
    folder.CHECKPOINT_FRACTION = 0.1
    if len(sys.argv) == 4:
        target, wanted = sys.argv[2], int(sys.argv[3])
        seen = {"n": 0}

        def hook(name: str) -> None:
            if name == target:
                seen["n"] += 1
                if seen["n"] == wanted:
                    os.kill(os.getpid(), signal.SIGKILL)

        folder.step_hook = hook
    workload(Path(sys.argv[1]))


if __name__ == "__main__":
    main()
