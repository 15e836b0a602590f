"""Retrieval recall on a SQuAD file: each paragraph is one passage; a question's hit is its own paragraph."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from openbook.embedder import Embedder
from openbook.errors import OpenbookError
from openbook.vectors import VectorIndex


def load_paragraphs(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    """Paragraph texts, question texts and each question's paragraph number, from a SQuAD-format file."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))["data"]
    except FileNotFoundError:
        raise OpenbookError(f"no such file: {path}") from None
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise OpenbookError(f"{path}: not a SQuAD-format JSON file ({exc})") from None
    paragraphs: list[str] = []
    questions: list[str] = []
    gold: list[int] = []
    for article in data:
        for para in article["paragraphs"]:
            for qa in para["qas"]:
                questions.append(qa["question"])
                gold.append(len(paragraphs))
            paragraphs.append(para["context"])
    return paragraphs, questions, np.asarray(gold, dtype=np.int64)


def recall_at(ranked: np.ndarray, gold: np.ndarray, ks: tuple[int, ...]) -> dict[str, float]:
    """Percentage of rows whose gold id is among the first k ranked ids, for each k."""
    return {f"recall@{k}": round(100.0 * float(np.mean((ranked[:, :k] == gold[:, None]).any(axis=1))), 2) for k in ks}


def evaluate_retrieval(
    embedder: Embedder,
    squad_file: Path,
    ks: tuple[int, ...] = (1, 5, 20),
    latency_questions: int = 200,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """Recall@k of each question's own paragraph among all paragraphs, with encoding and search timings."""
    paragraphs, questions, gold = load_paragraphs(squad_file)
    if not questions:
        raise OpenbookError(f"{squad_file}: no questions")
    done = 0

    def step(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress("passages", done, len(paragraphs))

    t0 = time.perf_counter()
    vectors = embedder.encode_passages(paragraphs, step)
    index = VectorIndex(vectors.shape[1], embedder.metric)
    index.add(np.arange(len(paragraphs)), vectors)
    t1 = time.perf_counter()
    queries = embedder.encode_questions(questions)
    t2 = time.perf_counter()
    _, ranked = index.search(queries, max(ks))
    t3 = time.perf_counter()
    latencies = []
    for q in questions[:latency_questions]:  # one question at a time: encode + search, as `openbook search` does
        s = time.perf_counter()
        index.search(embedder.encode_questions([q]), max(ks))
        latencies.append(time.perf_counter() - s)
    if progress:
        progress("done", 1, 1)
    return {
        **recall_at(ranked, gold, ks),
        "questions": len(questions),
        "passages": len(paragraphs),
        "model": embedder.manifest.name,
        "index_seconds": round(t1 - t0, 3),
        "passages_per_second": round(len(paragraphs) / (t1 - t0), 1),
        "questions_per_second": round(len(questions) / (t2 - t1), 1),
        "search_seconds": round(t3 - t2, 3),
        "single_question_ms_median": round(1000 * float(np.median(latencies)), 2),
        "single_question_ms_p95": round(1000 * float(np.percentile(latencies, 95)), 2),
    }
