"""``python -m tests.retrieval.resume_script FILE MODEL COUNTS [N]``: ``openbook index FILE --retriever MODEL`` with small
segments, appending the number of passages each encode call gets to COUNTS; with N, the process sends itself SIGINT
(as Ctrl-C does) once the N-th segment is encoded, before it is committed."""

from __future__ import annotations

import os
import signal
import sys

from openbook.index import folder
from openbook.retrieval import indexer
from openbook.retrieval.retriever import Retriever


def main() -> None:
    file, model, counts = sys.argv[1:4]
    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C as in a terminal, even if started with it ignored
    indexer.SEGMENT_CHARS = 3000
    encode = Retriever.encode_passages

    def counted(self, passages, progress=None):  # type: ignore[no-untyped-def]
        with open(counts, "a") as fh:
            fh.write(f"{len(passages)}\n")
        return encode(self, passages, progress)

    Retriever.encode_passages = counted  # type: ignore[method-assign]
    if len(sys.argv) > 4:
        stop_at, seen = int(sys.argv[4]), {"n": 0}

        def hook(name: str) -> None:
            if name == "segment:encoded":
                seen["n"] += 1
                if seen["n"] == stop_at:
                    os.kill(os.getpid(), signal.SIGINT)

        folder.step_hook = hook
    from openbook.cli.app import main as cli

    sys.argv = ["openbook", "index", file, "--retriever", model, "--json"]
    cli()


if __name__ == "__main__":
    main()
