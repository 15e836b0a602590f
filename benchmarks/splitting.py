"""Splitting speed: ``split_document`` on one document of growing size (256-token passages, 48 of overlap).

The documents are SQuAD dev contexts joined by blank lines (``--squad``; synthetic prose when the file is absent),
cut to each size in ``--sizes`` (kB). Reports the median seconds of ``--runs`` splits per size, the kB split per second
and each size's seconds per kB relative to the smallest size's (about 1 when the work grows linearly; the test
``tests/ingest/test_splitting.py`` checks that by counting, not timing). Writes benchmarks/results/splitting.json.

    .venv/bin/python benchmarks/splitting.py --sizes 250 500 1000 2000
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from common import SQUAD_DEV, machine, print_table, timed, write_result

from openbook.config import DEFAULT_RETRIEVER, resolve_model
from openbook.ingest.splitting import split_document
from openbook.models.tokenization import WordPiece
from openbook.types import Document


def source_text(squad: Path, chars: int) -> tuple[str, str]:
    """At least ``chars`` characters of text, and where they came from."""
    if squad.is_file():
        data = json.loads(squad.read_text(encoding="utf-8"))
        contexts = [p["context"] for article in data["data"] for p in article["paragraphs"]]
        text = "\n\n".join(contexts)
        while len(text) < chars:
            text += "\n\n" + text
        return text, str(squad.name)
    sentence = "Sentence {} tells of the old mill by the river, e.g. its wheel."
    paragraph = " ".join(sentence.format(i) for i in range(20))
    return "\n\n".join(paragraph for _ in range(chars // len(paragraph) + 1)), "synthetic prose"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=Path, default=SQUAD_DEV)
    parser.add_argument("--sizes", type=int, nargs="+", default=[250, 500, 1000, 2000], help="document sizes in kB")
    parser.add_argument("--runs", type=int, default=3, help="splits per size (the median is reported)")
    args = parser.parse_args()

    tokenizer = WordPiece(resolve_model(None, DEFAULT_RETRIEVER) / "vocab.txt")
    text, source = source_text(args.squad, max(args.sizes) * 1000)
    rows = []
    for size in sorted(args.sizes):
        doc = Document("big", text[: size * 1000].strip())
        split = lambda: split_document(doc, tokenizer, max_tokens=256, overlap_tokens=48)  # noqa: E731, B023
        runs = [timed(split) for _ in range(args.runs)]
        seconds = statistics.median(s for s, _ in runs)
        rows.append({"kB": size, "passages": len(runs[0][1]), "seconds": round(seconds, 3),
                     "kB_per_s": round(size / seconds, 1)})
    base = rows[0]["seconds"] / rows[0]["kB"]
    for row in rows:
        row["per_kB_vs_smallest"] = round(row["seconds"] / row["kB"] / base, 2)
    print_table(rows, title=f"split_document, {source}")
    path = write_result("splitting", {"machine": machine(), "source": source, "runs": args.runs, "rows": rows})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
