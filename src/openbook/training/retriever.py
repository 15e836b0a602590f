"""The retriever recipe: a bi-encoder trained with in-batch negatives, then INT8 IR.

Defaults follow ``../shared/models/README.md`` (retriever-minilm-squad11): each question (≤ 32 tokens) against its own
paragraph (≤ 384 tokens), mean pooling over the attention mask and L2 normalisation, one question per paragraph in a
batch of 256 so that the batch's other paragraphs are negatives, cross-entropy over 20 × cosine, 2 epochs, AdamW lr
5e-5, weight decay 0.01, 10% warm-up then linear decay.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from openbook.models.tokenization import WordPiece
from openbook.training import loop
from openbook.training.data import Example, paragraph_batches
from openbook.training.reader import CHECKPOINT
from openbook.training.weights import copy_tokenizer

DEFAULTS = loop.Settings(epochs=2.0, batch_size=256, lr=5e-5, weight_decay=0.01, warmup=0.1, seed=0)
SCALE = 20.0
QUESTION_LENGTH = 32
PASSAGE_LENGTH = 384


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """L2-normalised mean of the token vectors under the attention mask (as the built IR computes it)."""
    m = mask.unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled.float(), p=2, dim=-1)


def train_retriever(
    examples: Sequence[Example],
    base: Path,
    out: Path,
    settings: loop.Settings,
    progress: Callable[[loop.Progress], None] | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Fine-tune the encoder at ``base`` on the answerable ``examples`` (question, own paragraph); write the Hugging
    Face checkpoint (keys without prefix) to ``out/checkpoint`` and return the run's figures."""
    from transformers import BertModel

    loop.seed_all(settings.seed)
    pairs = [e for e in examples if not e.is_impossible]
    paragraphs = list(dict.fromkeys(e.context for e in pairs))
    number = {p: i for i, p in enumerate(paragraphs)}
    paragraph_of = [number[e.context] for e in pairs]
    log(f"{len(pairs)} questions over {len(paragraphs)} paragraphs")
    tok = WordPiece(base / "vocab.txt")
    question_ids = tok.id_lists([e.question for e in pairs])
    paragraph_ids = tok.id_lists(paragraphs)
    model = BertModel.from_pretrained(
        base, torch_dtype=torch.float32, add_pooling_layer=False, attn_implementation="sdpa"
    )

    def batches(epoch: int) -> list[list[int]]:
        return paragraph_batches(paragraph_of, settings.batch_size, settings.seed + epoch)

    def encode(model: torch.nn.Module, ids: list[list[int]], length: int, device: torch.device) -> torch.Tensor:
        batch = tok.encode_ids(ids, length)
        inputs = {
            "input_ids": torch.from_numpy(batch.input_ids).to(device),
            "attention_mask": torch.from_numpy(batch.attention_mask).to(device),
            "token_type_ids": torch.from_numpy(batch.token_type_ids).to(device),
        }
        return mean_pool(model(**inputs).last_hidden_state, inputs["attention_mask"])

    def loss_fn(model: torch.nn.Module, idx: list[int], device: torch.device) -> torch.Tensor:
        q = encode(model, [question_ids[i] for i in idx], QUESTION_LENGTH, device)
        p = encode(model, [paragraph_ids[paragraph_of[i]] for i in idx], PASSAGE_LENGTH, device)
        scores = SCALE * q @ p.T
        return torch.nn.functional.cross_entropy(scores, torch.arange(len(idx), device=device))

    checkpoint = out / CHECKPOINT
    result = loop.train(model, batches, loss_fn, settings, checkpoint, progress)
    model.to("cpu").float().save_pretrained(checkpoint, safe_serialization=True)
    copy_tokenizer(base, checkpoint)
    figures = {
        **result.to_dict(),
        "questions": len(pairs),
        "paragraphs": len(paragraphs),
        "epochs": settings.epochs,
        "batch_size": settings.batch_size,
        "lr": settings.lr,
    }
    (checkpoint / "training.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return figures


def recall(model_folder: Path, examples: Sequence[Example], ks: tuple[int, ...] = (1, 5, 20)) -> dict[str, float]:
    """Recall@k of each answerable question's own paragraph among all the paragraphs, by inner product, with the
    built model (OpenVINO)."""
    from openbook.evaluation.retrieval import recall_at
    from openbook.models.embedder import Embedder

    pairs = [e for e in examples if not e.is_impossible]
    paragraphs = list(dict.fromkeys(e.context for e in pairs))
    number = {p: i for i, p in enumerate(paragraphs)}
    gold = np.array([number[e.context] for e in pairs])
    embedder = Embedder(model_folder)
    p = embedder.encode_passages(paragraphs)
    q = embedder.encode_questions([e.question for e in pairs])
    ranked = np.argsort(-(q @ p.T), axis=1)[:, : max(ks)]
    return recall_at(ranked, gold, ks)
