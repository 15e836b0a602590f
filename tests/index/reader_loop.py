"""A reader run as its own process: ``python -m tests.index.reader_loop INDEX STOPFILE`` opens the index and searches
it (dense and lexical) over and over until STOPFILE exists, then prints one JSON line: opens, searches, failures and
the first few errors. One index stays open throughout and is refreshed before each search, as a server's would."""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path

import numpy as np

from openbook.index.folder import Index
from tests.index.helpers import DIM


def main() -> None:
    path, stop = Path(sys.argv[1]), Path(sys.argv[2])
    rng = np.random.default_rng()
    counts = {"opens": 0, "searches": 0, "failures": 0, "errors": []}
    long_lived = Index.open(path)

    def search(index: Index) -> None:
        query = rng.standard_normal((1, DIM)).astype(np.float32)
        _, ids = index.vectors.search(query, 5)
        words = index.store.lexical_search("river planet", 5)
        wanted = [int(i) for i in ids[0] if i >= 0] + [pid for pid, _ in words]
        found = index.store.passages(wanted)
        if not found and index.count_passages():
            raise AssertionError("no passage found for any hit")
        counts["searches"] += 1

    while not stop.exists():
        for fresh in (True, False):
            try:
                if fresh:
                    index = Index.open(path)
                    counts["opens"] += 1
                    search(index)
                    index.close()
                else:
                    long_lived.refresh()
                    search(long_lived)
            except Exception:  # noqa: BLE001 - every failure counts
                counts["failures"] += 1
                if len(counts["errors"]) < 5:
                    counts["errors"].append(traceback.format_exc(limit=3))
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
