"""Tiny training runs on CPU for each command: the loss falls, the checkpoint loads, builds to IR and answers."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.training.conftest import NEEDS_TORCH

torch = pytest.importorskip("torch", reason=NEEDS_TORCH)
pytest.importorskip("transformers", reason=NEEDS_TORCH)
pytest.importorskip("nncf", reason=NEEDS_TORCH)

from openbook.cli.app import app
from openbook.models.manifest import ModelManifest
from openbook.reading.reader import Reader

FAST = ["--max-length", "64", "--batch-size", "128", "--lr", "3e-3", "--epochs", "2", "--samples", "4", "--json"]
CONTEXT = "bob lives in london. bob works as a teacher. The favourite colour of bob is blue. Every day bob eats cheese for lunch."


def run(*args: str) -> dict:
    result = CliRunner().invoke(app, ["train", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout[result.stdout.index("{") :])


def test_reader_trains_builds_and_answers(tiny_reader_base, squad_file, tmp_path):
    out = tmp_path / "reader"
    report = run("reader", str(squad_file), "--out", str(out), "--base", str(tiny_reader_base), *FAST)
    figures = report["training"]
    assert figures["steps"] == 2 and figures["resumed_from"] == 0
    assert figures["last_loss"] < figures["first_loss"]
    from transformers import BertForQuestionAnswering

    loaded = BertForQuestionAnswering.from_pretrained(out / "checkpoint")
    assert loaded.config.num_hidden_layers == 2
    manifest = ModelManifest.load(out)
    assert manifest.kind == "reader" and manifest.squad_version == 1 and manifest.precision == "int8"
    assert manifest.measured["training"]["steps"] == 2
    answers = Reader(out).read("where does bob live?", [CONTEXT])
    assert answers and answers[0].text and answers[0].text in CONTEXT


def test_training_resumes_from_its_checkpoint(tiny_reader_base, squad_file, tmp_path):
    out = tmp_path / "resumed"
    common = ["reader", str(squad_file), "--out", str(out), "--base", str(tiny_reader_base), "--fp32", *FAST]
    first = run(*common, "--max-steps", "1")
    assert first["training"]["steps"] == 1
    second = run(*common)  # one batch an epoch, two epochs: the second run does the second step
    assert second["training"]["resumed_from"] == 1 and second["training"]["steps"] == 2


def test_no_answer_reader(tiny_reader_base, squad2_file, tmp_path):
    out = tmp_path / "noanswer"
    report = run(
        "reader",
        str(squad2_file),
        "--out",
        str(out),
        "--base",
        str(tiny_reader_base),
        "--fp32",
        "--holdout-articles",
        *FAST,
    )
    assert report["squad_version"] == 2
    assert report["training"]["last_loss"] < report["training"]["first_loss"]
    assert report["training"]["unanswerable"] >= 5
    held = report["holdout"]
    assert held["after"]["questions"] == held["before"]["questions"] > 0  # before = the default reader
    assert "no_answer_accuracy" in held["after"]
    reader = Reader(out)
    assert ModelManifest.load(out).squad_version == 2 and reader.no_answer
    reader.no_answer_threshold = -1e9  # any null score wins: the no-answer path answers "no answer"
    assert reader.read("what car does bob drive?", [CONTEXT])[0].is_no_answer


def test_retriever_trains_builds_and_retrieves(tiny_encoder_base, squad_file, tmp_path):
    out = tmp_path / "retriever"
    report = run(
        "retriever",
        str(squad_file),
        "--out",
        str(out),
        "--base",
        str(tiny_encoder_base),
        "--batch-size",
        "64",
        "--lr",
        "3e-3",
        "--epochs",
        "2",
        "--samples",
        "4",
        "--holdout",
        "0.2",
        "--json",
    )
    figures = report["training"]
    assert figures["steps"] >= 8  # at most one question per paragraph in a batch: 10 paragraphs, 4-5 batches an epoch
    assert figures["last_loss"] < figures["first_loss"]
    from transformers import BertModel

    assert BertModel.from_pretrained(out / "checkpoint").config.hidden_size == 32
    manifest = ModelManifest.load(out)
    assert manifest.kind == "retriever" and manifest.dimension == 32 and manifest.precision == "int8"
    after = report["holdout"]["after"]
    assert 0 <= after["recall@1"] <= after["recall@5"] <= 100
    from openbook.models.embedder import Embedder

    vectors = Embedder(out).encode_passages([CONTEXT, "where does bob live?"])
    assert vectors.shape == (2, 32)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)


def test_bad_input_is_one_line(squad_file, tmp_path):
    (tmp_path / "foreign.txt").write_text("not ours")
    result = CliRunner().invoke(app, ["train", "reader", str(squad_file), "--out", str(tmp_path)])
    assert result.exit_code != 0
    assert "holds other files" in str(result.exception)
    assert (tmp_path / "foreign.txt").read_text() == "not ours"
