"""Tiny BERT checkpoints built in code (no download) and small SQuAD-format files for the training tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NEEDS_TORCH = "training needs torch and transformers: pip install -e '.[train]'"

NAMES = ["alice", "bob", "carol", "david", "emma", "frank", "grace", "henry", "irene", "jack"]
CITIES = ["paris", "london", "berlin", "madrid", "rome", "vienna", "dublin", "oslo", "prague", "lisbon"]
JOBS = ["doctor", "teacher", "farmer", "painter", "lawyer", "baker", "pilot", "nurse", "writer", "singer"]
COLOURS = ["red", "blue", "green", "yellow", "purple", "orange", "black", "white", "brown", "pink"]
FOODS = ["bread", "cheese", "apples", "rice", "soup", "fish", "cake", "pasta", "beans", "eggs"]


def tiny_config(vocab_size: int, **kw):
    """A 2-layer BERT of hidden size 32 (a few seconds to train and convert)."""
    from transformers import BertConfig

    return BertConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
        **kw,
    )


def save_tiny(folder: Path, vocab: Path, qa: bool, seed: int = 0) -> Path:
    """A random tiny BERT saved as a Hugging Face checkpoint with ``vocab.txt`` (QA head when ``qa``)."""
    import torch
    from transformers import BertForQuestionAnswering, BertModel

    torch.manual_seed(seed)
    n = sum(1 for _ in vocab.open(encoding="utf-8"))
    model = BertForQuestionAnswering(tiny_config(n)) if qa else BertModel(tiny_config(n), add_pooling_layer=False)
    model.save_pretrained(folder, safe_serialization=True)
    (folder / "vocab.txt").write_bytes(vocab.read_bytes())
    return folder


def squad_data(impossible: bool = False) -> dict:
    """50 questions over 10 paragraphs in 5 articles; with ``impossible``, 10 more that the paragraph cannot answer."""
    data = []
    for a in range(5):
        paragraphs = []
        for p in range(2):
            i = 2 * a + p
            who, city, job, colour, food = NAMES[i], CITIES[i], JOBS[i], COLOURS[i], FOODS[i]
            context = (
                f"{who} lives in {city}. {who} works as a {job}. The favourite colour of {who} is {colour}. "
                f"Every day {who} eats {food} for lunch."
            )
            pairs = [
                (f"where does {who} live?", city),
                (f"what is the job of {who}?", job),
                (f"which colour does {who} like?", colour),
                (f"what does {who} eat for lunch?", food),
                (f"in which city does the {job} live?", city),
            ]
            qas = [
                {"id": f"q{i}_{n}", "question": q, "answers": [{"text": ans, "answer_start": context.index(ans)}]}
                for n, (q, ans) in enumerate(pairs)
            ]
            if impossible:
                qas.append(
                    {"id": f"q{i}_x", "question": f"what car does {who} drive?", "answers": [], "is_impossible": True}
                )
            paragraphs.append({"context": context, "qas": qas})
        data.append({"title": f"people {a}", "paragraphs": paragraphs})
    return {"version": "v2.0" if impossible else "1.1", "data": data}


@pytest.fixture(scope="session")
def tiny_reader_base(tmp_path_factory, vocab) -> Path:
    return save_tiny(tmp_path_factory.mktemp("tiny-reader"), vocab, qa=True)


@pytest.fixture(scope="session")
def tiny_encoder_base(tmp_path_factory, vocab) -> Path:
    return save_tiny(tmp_path_factory.mktemp("tiny-encoder"), vocab, qa=False)


@pytest.fixture(scope="session")
def squad_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "people.json"
    path.write_text(json.dumps(squad_data()), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def squad2_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data2") / "people-v2.json"
    path.write_text(json.dumps(squad_data(impossible=True)), encoding="utf-8")
    return path
