"""Reader accuracy on a SQuAD file: each question read with its own gold paragraph (official EM and F1)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from openbook.reading.reader import Reader
from openbook.evaluation.squad import exact_match, f1, load_squad

CHUNK = 256  # questions per read_batch call


def evaluate_reader(
    reader: Reader,
    squad_file: str | Path,
    limit: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """Exact match and F1 (percent) of the reader's best answer, with throughput.

    For a SQuAD 2.0 file (one with unanswerable questions) the result adds ``no_answer_accuracy`` (the answer / no-answer
    verdict is right), ``has_answer_f1`` and ``no_answer_f1`` (F1 over answerable and unanswerable questions).
    """
    questions = load_squad(squad_file)[:limit]
    windows_before = reader.windows_run
    began = time.perf_counter()
    em: list[float] = []
    scores: list[float] = []
    abstained: list[bool] = []
    for at in range(0, len(questions), CHUNK):
        chunk = questions[at : at + CHUNK]
        answers = reader.read_batch([(q.question, [q.context]) for q in chunk], top_k=1)
        for q, found in zip(chunk, answers, strict=True):
            prediction = found[0].text if found else ""
            em.append(exact_match(prediction, q.answers))
            scores.append(f1(prediction, q.answers))
            abstained.append(not prediction)
        if progress:
            progress("questions", at + len(chunk), len(questions))
    seconds = time.perf_counter() - began
    n = len(questions)
    windows = reader.windows_run - windows_before
    result: dict[str, Any] = {
        "exact_match": _percent(em),
        "f1": _percent(scores),
        "questions": n,
        "windows": windows,
        "seconds": round(seconds, 2),
        "questions_per_second": round(n / seconds, 2) if seconds else 0.0,
        "windows_per_second": round(windows / seconds, 2) if seconds else 0.0,
    }
    if any(q.is_impossible for q in questions):
        result["no_answer_accuracy"] = _percent([float(a == q.is_impossible) for a, q in zip(abstained, questions)])
        result["has_answer_f1"] = _percent([s for s, q in zip(scores, questions) if not q.is_impossible])
        result["no_answer_f1"] = _percent([s for s, q in zip(scores, questions) if q.is_impossible])
        result["no_answer_threshold"] = reader.no_answer_threshold if reader.no_answer else None
    return result


def _percent(values: list[float]) -> float:
    return round(100.0 * sum(values) / len(values), 2) if values else 0.0
