"""Retrieval and reading run once per evaluation setting, kept on disk, so that reranking weights, the confidence
calibrator and thresholds are chosen and measured from the cache in seconds.

A *setting* is a SQuAD file, the articles indexed (all, a range, or none: each question with its own paragraph) and
the articles asked. For every question the cache keeps its top-``k`` search hits (passage text, fused, dense and
lexical scores) and, for every (question, passage) pair read, the passage's null score and its best raw spans
(character offsets before cleaning, the ``start + end`` logit score). Reads are shared across settings: a pair read
once is never read again.
"""

from __future__ import annotations

import hashlib
import pickle
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from openbook.config import DEFAULT_READER, resolve_model
from openbook.evaluation.squad import SquadQuestion, load_squad
from openbook.ingest.loaders import read_squad
from openbook.reading.reader import N_BEST, Reader, Spans, postprocess
from openbook.retrieval.retriever import Retriever
from openbook.types import Passage, SearchResult

PAIR_SPANS = 50  # raw spans kept per (question, passage) pair
CHUNK = 64


@dataclass
class Pair:
    """What the reader saw in one passage for one question: its null score and best raw spans."""

    null: float
    start: np.ndarray  # int32 character offsets into the passage text
    end: np.ndarray
    score: np.ndarray  # float32 start + end logits


@dataclass
class Asked:
    """One question of a setting: its hits (best first) and the reader's pairs, in hit order."""

    question: SquadQuestion
    article: int
    hits: list[SearchResult]
    pairs: list[Pair]
    absent: bool = False  # the question's own article is not indexed

    def spans(self) -> Spans:
        """The pairs as the reader's :class:`Spans` over this question's passages."""
        parts = [(np.full(len(p.score), i), p.start, p.end, p.score) for i, p in enumerate(self.pairs)]
        if parts:
            passage, start, end, score = (np.concatenate(x) for x in zip(*parts))
        else:
            passage = start = end = np.zeros(0, dtype=np.int64)
            score = np.zeros(0, dtype=np.float32)
        return Spans(passage, start, end, score, {i: p.null for i, p in enumerate(self.pairs)})


@dataclass
class Setting:
    name: str
    questions: list[Asked] = field(default_factory=list)


def _key(question: str, passage: str) -> bytes:
    return hashlib.blake2b(f"{question}\x00{passage}".encode(), digest_size=16).digest()


class PairCache:
    """(question, passage text) → :class:`Pair`, kept in one pickle file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.pairs: dict[bytes, Pair] = {}
        if path.is_file():
            self.pairs = _loads(path.read_bytes())

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_bytes(pickle.dumps(self.pairs, protocol=pickle.HIGHEST_PROTOCOL))
        tmp.replace(self.path)

    def read(self, reader: Reader, pairs: Sequence[tuple[str, str]]) -> list[Pair]:
        """Pairs from the cache, reading (in shared batches) those it lacks."""
        missing = list(dict.fromkeys((q, p) for q, p in pairs if _key(q, p) not in self.pairs))
        if missing:
            windows = reader.preprocess([(q, [p]) for q, p in missing])
            logits = reader.call(windows)
            for (q, p), spans in zip(missing, postprocess(windows, logits, len(missing), N_BEST, reader.max_answer_tokens)):
                self.pairs[_key(q, p)] = _prune(spans)
        return [self.pairs[_key(q, p)] for q, p in pairs]


def _prune(spans: Spans) -> Pair:
    order = np.argsort(-spans.score, kind="stable")
    seen: set[tuple[int, int]] = set()
    keep = []
    for i in order:
        key = (int(spans.start[i]), int(spans.end[i]))
        if key in seen:
            continue
        seen.add(key)
        keep.append(i)
        if len(keep) == PAIR_SPANS:
            break
    keep_arr = np.array(keep, dtype=np.int64)
    return Pair(
        float(spans.nulls.get(0, 0.0)),
        spans.start[keep_arr].astype(np.int32),
        spans.end[keep_arr].astype(np.int32),
        spans.score[keep_arr].astype(np.float32),
    )


def _article_of(doc_id: str) -> int:
    return int(doc_id.rsplit("#", 1)[1].split("/", 1)[0])


def extract(
    squad_file: Path,
    cache: Path,
    name: str,
    reader: Reader,
    indexed: range | None,
    asked: range | None = None,
    k: int = 5,
    mode: str = "hybrid",
    own_paragraph: bool = False,
    progress: Callable[[str], None] | None = None,
    limit: int | None = None,
    retriever_model: str | Path | None = None,
    stride: int = 1,
) -> Setting:
    """Search and read every asked question of ``squad_file`` once; the result is also pickled as ``cache/name.pkl``.

    ``indexed``/``asked`` are 0-based article ranges (None: all); ``own_paragraph`` reads each question with its own
    paragraph instead of searching; ``stride`` > 1 reads a sample: every n-th question of the file, plus those whose passages
    were all read before (in another setting).
    """
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / f"{name}.pkl"
    if target.is_file():
        return load(target)
    reads = PairCache(cache / "pairs.pkl")
    questions = load_squad(squad_file)
    titles = {t: n for n, t in enumerate(dict.fromkeys(q.title for q in questions))}
    chosen = [q for q in questions if asked is None or titles[q.title] in asked][:limit]
    number = {q.id: n for n, q in enumerate(questions)}  # a sample is the same questions in every setting
    setting = Setting(name)
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="openbook-signals-") as tmp:
        retriever = None
        if not own_paragraph:
            docs = [d for d in read_squad(Path(squad_file)) if indexed is None or _article_of(d.id) in indexed]
            retriever = Retriever(Path(tmp) / "idx", model=retriever_model, mode=mode)
            retriever.add(docs, passage_tokens=retriever.manifest.passage_length - 2)
        for at in range(0, len(chosen), CHUNK):
            chunk = chosen[at : at + CHUNK]
            if retriever is None:
                hits = [[SearchResult(Passage(q.context, q.id, 0, len(q.context), q.title), 0.0, 1)] for q in chunk]
            else:
                hits = retriever.search_many([q.question for q in chunk], k)
            # a sample: every ``stride``-th question, and every question whose passages were all read before
            keep = [
                (q, found)
                for q, found in zip(chunk, hits)
                if number[q.id] % stride == 0 or all(_key(q.question, h.passage.text) in reads.pairs for h in found)
            ]
            flat = [(q.question, h.passage.text) for q, found in keep for h in found]
            pairs = reads.read(reader, flat)
            at_pair = 0
            for q, found in keep:
                n = len(found)
                art = titles[q.title]
                setting.questions.append(
                    Asked(q, art, found, pairs[at_pair : at_pair + n], indexed is not None and art not in indexed)
                )
                at_pair += n
            if progress:
                done = at + len(chunk)
                rate = done / (time.perf_counter() - began)
                progress(f"{name}: {done}/{len(chosen)} questions ({len(setting.questions)} kept), {rate:.1f}/s")
            if (at // CHUNK) % 10 == 9:
                reads.save()
                (cache / f"{name}.partial.pkl").write_bytes(pickle.dumps(setting, protocol=pickle.HIGHEST_PROTOCOL))
    reads.save()
    target.write_bytes(pickle.dumps(setting, protocol=pickle.HIGHEST_PROTOCOL))
    return setting


class _Unpickler(pickle.Unpickler):
    """Reads what this module wrote when run as ``python -m`` (its classes then live in ``__main__``)."""

    def find_class(self, module: str, name: str):
        if module == "__main__" and name in ("Pair", "Asked", "Setting"):
            return globals()[name]
        return super().find_class(module, name)


def _loads(data: bytes):
    import io

    return _Unpickler(io.BytesIO(data)).load()


def load(path: Path) -> Setting:
    return _loads(Path(path).read_bytes())


SETTINGS = {
    # name: (file, indexed articles, asked articles, own paragraph, stride); names as evaluation.qa's
    "dev-v1.1-indexall-hybrid-k5-askall": ("dev-v1.1.json", None, None, False, 3),
    # absent topics for fitting: 13-24
    "dev-v1.1-index1-12-hybrid-k5-ask1-24": ("dev-v1.1.json", range(12), range(24), False, 3),
    "dev-v1.1-index1-40-hybrid-k5-ask25-48": ("dev-v1.1.json", range(40), range(24, 48), False, 3),
    "dev-v2.0-own-askall": ("dev-v2.0.json", None, None, True, 3),
    "dev-v2.0-indexall-hybrid-k5-askall": ("dev-v2.0.json", None, None, False, 10),
}


def main(argv: Sequence[str]) -> None:
    """``python -m openbook.evaluation.signals DATA_DIR CACHE_DIR [SETTING...]``: extract the named settings."""
    data, cache = Path(argv[0]), Path(argv[1])
    reader = Reader(resolve_model(None, DEFAULT_READER))
    for name in argv[2:] or list(SETTINGS):
        file, indexed, asked, own, stride = SETTINGS[name]
        extract(
            data / file, cache, name, reader, indexed, asked, own_paragraph=own,
            progress=lambda s: print(s, flush=True), stride=stride,
        )
        print(f"{name}: done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
