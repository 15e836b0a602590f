"""PDF text extraction: pypdf against pdfminer.six on real PDFs, for speed and text quality.

Quality is measured two ways: the share of extracted words that are whole words of the default model's vocabulary
(words run together or split by the layout fail it), and, where the same document exists as HTML, the word-level
similarity (difflib ratio over lower-cased words) and the recall of its words.

    .venv/bin/pip install pypdf pdfminer.six
    DOC=/usr/share/doc/shared-mime-info
    .venv/bin/python benchmarks/pdf_text.py $DOC/shared-mime-info-spec.pdf /usr/share/doc/libtasn1-doc/libtasn1.pdf \\
        --html $DOC/shared-mime-info-spec.html/{index,x34,x497,b518}.html
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import time
from collections import Counter
from pathlib import Path

WORD = re.compile(r"[a-z]+")


def pypdf_text(path: Path) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text() or "" for page in PdfReader(path).pages]


def pdfminer_text(path: Path) -> list[str]:
    from pdfminer.high_level import extract_text

    pages = extract_text(path).split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages  # the text ends with a form feed


def vocabulary() -> set[str]:
    vocab = Path(__file__).resolve().parents[1] / "models" / "retriever-minilm-squad11-int8" / "vocab.txt"
    return {w for w in vocab.read_text().split("\n") if w.isalpha()}


def quality(text: str, vocab: set[str], reference: list[str] | None) -> dict[str, float]:
    words = WORD.findall(text.lower())
    out = {"words": len(words), "in_vocab_%": round(100 * sum(w in vocab for w in words) / max(1, len(words)), 2)}
    if reference is not None:
        matcher = difflib.SequenceMatcher(None, reference, words, autojunk=False)
        out["similarity_%"] = round(100 * matcher.ratio(), 2)
        ref, got = Counter(reference), Counter(words)
        out["recall_%"] = round(100 * sum((ref & got).values()) / max(1, sum(ref.values())), 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pdfs", nargs="+", type=Path)
    parser.add_argument("--html", type=Path, nargs="+", help="The first PDF's document as HTML, its pages in order.")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "pdf_text.json")
    args = parser.parse_args()
    vocab = vocabulary()
    reference = None
    if args.html:
        from openbook.ingest.loaders import read_html

        reference = [w for page in args.html for w in WORD.findall(read_html(page)[0].text.lower())]
    rows = []
    for n, pdf in enumerate(args.pdfs):
        for name, fn in (("pypdf", pypdf_text), ("pdfminer.six", pdfminer_text)):
            times = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                pages = fn(pdf)
                times.append(time.perf_counter() - t)
            row = {"file": pdf.name, "library": name, "pages": len(pages), "seconds": round(min(times), 3)}
            row.update(quality("\n".join(pages), vocab, reference if n == 0 else None))
            rows.append(row)
            print(json.dumps(row))
    args.out.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
