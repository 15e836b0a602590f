"""Distillation targets: a teacher reader's start/end logits on the student's windows, aligned by characters.

The teacher may tokenise differently (all-mpnet-base-v2 uses its own vocabulary). Each student window covers the
characters ``[c0, c1)`` of its context; the teacher reads ``question`` + ``context[c0:c1]`` with its own tokeniser, and
each student passage token takes the teacher's start logit of the teacher token holding the student token's first
character and the teacher's end logit of the one holding its last character. [CLS] maps to [CLS]; question and
separator positions get no target (``-inf``, left out of the soft loss).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from openbook.reading.reader import Window
from openbook.training.data import Example, ReaderFeatures

NO_TARGET = float("-inf")


def char_spans(windows: Sequence[Window], raw: dict[str, list[tuple[int, int]]]) -> list[np.ndarray]:
    """For each window, the ``[start, end)`` characters of each of its passage tokens (raw tokeniser offsets)."""
    return [np.asarray(raw[w.tokens.text][w.first : w.end], dtype=np.int64).reshape(-1, 2) for w in windows]


def align(
    student_chars: np.ndarray, teacher_chars: np.ndarray, teacher_start: np.ndarray, teacher_end: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Teacher start/end logits for each student token. ``student_chars`` [n, 2] and ``teacher_chars`` [m, 2] are
    character spans in the same text; ``teacher_start``/``teacher_end`` the teacher's logits of those m tokens."""
    t_starts = teacher_chars[:, 0]
    # the teacher token holding a character: the last one starting at or before it (clipped into range)
    first = np.clip(np.searchsorted(t_starts, student_chars[:, 0], side="right") - 1, 0, len(t_starts) - 1)
    last = np.clip(np.searchsorted(t_starts, student_chars[:, 1] - 1, side="right") - 1, 0, len(t_starts) - 1)
    return teacher_start[first], teacher_end[last]


class Teacher:
    """A Hugging Face extractive QA checkpoint with its own tokeniser (any architecture ``AutoModelForQuestionAnswering``
    loads), read in float32 on ``device``."""

    def __init__(self, path: Path, device: torch.device, max_length: int = 512) -> None:
        from transformers import AutoModelForQuestionAnswering, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModelForQuestionAnswering.from_pretrained(path).to(device).eval()
        self.device = device
        self.max_length = max_length

    @torch.no_grad()
    def logits(
        self, questions: list[str], texts: list[str]
    ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, float, float]]:
        """For each (question, text): the character spans of the text's tokens, their start and end logits, and the
        [CLS] start and end logits."""
        enc = self.tokenizer(
            questions,
            texts,
            truncation="only_second",
            max_length=self.max_length,
            padding=True,
            return_offsets_mapping=True,
            return_tensors="pt",
        )
        offsets = enc.pop("offset_mapping").numpy()
        out = self.model(**{k: v.to(self.device) for k, v in enc.items()})
        starts, ends = out.start_logits.float().cpu().numpy(), out.end_logits.float().cpu().numpy()
        results = []
        for row in range(len(texts)):
            seq = np.array([s == 1 for s in enc.sequence_ids(row)])
            results.append(
                (offsets[row][seq], starts[row][seq], ends[row][seq], float(starts[row, 0]), float(ends[row, 0]))
            )
        return results


def teacher_targets(
    teacher: Teacher,
    features: ReaderFeatures,
    examples: Sequence[Example],
    raw_offsets: dict[str, list[tuple[int, int]]],
    batch_size: int = 32,
    progress: Callable[[int, int], None] | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per window, teacher start and end logits over the student's sequence positions (``NO_TARGET`` where none)."""
    spans = char_spans(features.windows, raw_offsets)
    targets: list[tuple[np.ndarray, np.ndarray]] = []
    for at in range(0, len(features), batch_size):
        idx = range(at, min(at + batch_size, len(features)))
        windows = [features.windows[i] for i in idx]
        lows = [int(spans[i][0, 0]) if len(spans[i]) else 0 for i in idx]
        texts = [
            w.tokens.text[lo : int(spans[i][-1, 1])] if len(spans[i]) else "" for w, i, lo in zip(windows, idx, lows)
        ]
        got = teacher.logits([examples[w.query].question for w in windows], texts)
        for w, i, lo, (chars, t_start, t_end, cls_start, cls_end) in zip(windows, idx, lows, got):
            start = np.full(w.length, NO_TARGET, dtype=np.float32)
            end = np.full(w.length, NO_TARGET, dtype=np.float32)
            start[0], end[0] = cls_start, cls_end
            if len(chars) and len(spans[i]):
                s, e = align(spans[i] - lo, chars, t_start, t_end)
                start[w.offset : w.offset + w.count] = s
                end[w.offset : w.offset + w.count] = e
            targets.append((start, end))
        if progress:
            progress(min(at + batch_size, len(features)), len(features))
    return targets


def soft_loss(student: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    """KL(teacher ‖ student) over the positions with a target, on logits divided by ``temperature``, times T²
    (Hinton et al.), averaged over the batch. ``teacher`` holds ``-inf`` where it has no target."""
    mask = torch.isfinite(teacher)
    t = torch.where(mask, teacher, torch.full_like(teacher, -1e4)) / temperature
    s = torch.where(mask, student.float(), torch.full_like(teacher, -1e4)) / temperature
    p = torch.softmax(t, dim=-1)
    kl = (p * (torch.log_softmax(t, dim=-1) - torch.log_softmax(s, dim=-1))).sum(-1)
    return kl.mean() * temperature**2
