"""The reader recipe: extractive QA on SQuAD-format examples, optionally distilled from a teacher, then INT8 IR.

Defaults follow ``../shared/models/README.md`` (reader-minilm-squad11): windows of 384 tokens starting 128 apart, a
wrong-passage negative for half of the questions (seeded), 3 epochs, batch 64, AdamW lr 1e-4, weight decay 0.01, 10%
warm-up then linear decay, seed 0. The loss is the mean of the start and end cross-entropies; with a teacher it is
``(1 − alpha) · hard + alpha · T² · KL`` on logits divided by the temperature T (see :mod:`openbook.training.distill`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from openbook.models.tokenization import WordPiece
from openbook.training import loop
from openbook.training.data import (
    Example,
    ReaderFeatures,
    encode_windows,
    length_batches,
    reader_features,
    write_squad,
    wrong_passage_negatives,
)
from openbook.training.weights import copy_tokenizer

CHECKPOINT = "checkpoint"
DEFAULTS = loop.Settings(epochs=3.0, batch_size=64, lr=1e-4, weight_decay=0.01, warmup=0.1, seed=0)


@dataclass
class ReaderRecipe:
    """What the reader learns from: window lengths, negatives and distillation."""

    max_length: int = 384
    doc_stride: int = 128
    question_tokens: int = 64
    negatives: float = 0.5  # share of answerable questions given a wrong-passage negative
    teacher: Path | None = None
    alpha: float = 0.5  # weight of the soft (teacher) loss
    temperature: float = 2.0


def train_reader(
    examples: Sequence[Example],
    base: Path,
    out: Path,
    recipe: ReaderRecipe,
    settings: loop.Settings,
    progress: Callable[[loop.Progress], None] | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Fine-tune the QA model at ``base`` (a BERT checkpoint with or without a ``qa_outputs`` head) on ``examples``
    plus their wrong-passage negatives; write the Hugging Face checkpoint to ``out/checkpoint`` and return the run's
    figures."""
    from transformers import BertForQuestionAnswering

    loop.seed_all(settings.seed)
    data = list(examples) + wrong_passage_negatives(examples, recipe.negatives, settings.seed)
    vocab = base / "vocab.txt"
    features = reader_features(data, vocab, recipe.max_length, recipe.doc_stride, recipe.question_tokens)
    unanswerable = int(sum(e.is_impossible for e in data))
    log(f"{len(data)} examples ({unanswerable} without an answer), {len(features)} windows")
    model = BertForQuestionAnswering.from_pretrained(base, torch_dtype=torch.float32, attn_implementation="sdpa")
    targets = None
    if recipe.teacher is not None:
        targets = _teacher_targets(recipe.teacher, features, data, vocab, settings, log)
    tok = WordPiece(vocab)
    lengths = features.lengths

    def batches(epoch: int) -> list[list[int]]:
        return length_batches(lengths, settings.batch_size, settings.seed + epoch)

    def loss_fn(model: torch.nn.Module, idx: list[int], device: torch.device) -> torch.Tensor:
        inputs = {
            k: torch.from_numpy(v).to(device)
            for k, v in encode_windows(tok, [features.windows[i] for i in idx]).items()
        }
        out = model(**inputs)
        starts = torch.from_numpy(features.starts[idx]).to(device)
        ends = torch.from_numpy(features.ends[idx]).to(device)
        ce = torch.nn.functional.cross_entropy
        hard = (ce(out.start_logits.float(), starts) + ce(out.end_logits.float(), ends)) / 2
        if targets is None:
            return hard
        from openbook.training.distill import soft_loss

        width = inputs["input_ids"].shape[1]
        t_start, t_end = (_pad([targets[i][side] for i in idx], width).to(device) for side in (0, 1))
        soft = (
            soft_loss(out.start_logits, t_start, recipe.temperature)
            + soft_loss(out.end_logits, t_end, recipe.temperature)
        ) / 2
        return (1 - recipe.alpha) * hard + recipe.alpha * soft

    checkpoint = out / CHECKPOINT
    result = loop.train(model, batches, loss_fn, settings, checkpoint, progress)
    save_checkpoint(model, base, checkpoint)
    figures = {
        **result.to_dict(),
        "examples": len(data),
        "unanswerable": unanswerable,
        "windows": len(features),
        "epochs": settings.epochs,
        "batch_size": settings.batch_size,
        "lr": settings.lr,
        "max_length": recipe.max_length,
        "teacher": str(recipe.teacher) if recipe.teacher else None,
    }
    (checkpoint / "training.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return figures


def save_checkpoint(model: torch.nn.Module, base: Path, checkpoint: Path) -> None:
    """The model as a float32 Hugging Face checkpoint (safetensors) with the base's tokeniser files."""
    model.to("cpu").float().save_pretrained(checkpoint, safe_serialization=True)
    copy_tokenizer(base, checkpoint)


def calibration_file(examples: Sequence[Example], folder: Path, samples: int = 300) -> Path:
    """A small SQuAD file of answerable training examples for INT8 calibration (the build path reads SQuAD files)."""
    rng = np.random.default_rng(0)
    answerable = [e for e in examples if not e.is_impossible] or list(examples)
    pick = rng.choice(len(answerable), size=min(samples, len(answerable)), replace=False)
    return write_squad([answerable[i] for i in sorted(pick)], folder / "calibration.json")


def _pad(rows: list[np.ndarray], width: int) -> torch.Tensor:
    from openbook.training.distill import NO_TARGET

    out = np.full((len(rows), width), NO_TARGET, dtype=np.float32)
    for r, row in enumerate(rows):
        out[r, : len(row)] = row
    return torch.from_numpy(out)


def _teacher_targets(
    path: Path,
    features: ReaderFeatures,
    data: list[Example],
    vocab: Path,
    settings: loop.Settings,
    log: Callable[[str], None],
) -> list[tuple[np.ndarray, np.ndarray]]:
    from openbook.training.distill import Teacher, teacher_targets

    device = loop.pick_device(settings.device)
    log(f"reading {len(features)} windows with the teacher {path} on {device.type}")
    teacher = Teacher(path, device)
    tok = WordPiece(vocab)
    texts = list(dict.fromkeys(e.context for e in data))
    raw = {t: offs for t, (_, offs) in zip(texts, tok.ids_batch(texts))}
    return teacher_targets(teacher, features, data, raw)
