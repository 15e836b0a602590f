"""Distillation: a teacher with its own tokeniser, aligned on characters; a tiny distilled run on CPU."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.training.conftest import NEEDS_TORCH, squad_data, tiny_config

torch = pytest.importorskip("torch", reason=NEEDS_TORCH)
pytest.importorskip("transformers", reason=NEEDS_TORCH)

from openbook.training.data import load_examples, reader_features
from openbook.training.distill import NO_TARGET, Teacher, align, soft_loss, teacher_targets


@pytest.fixture(scope="module")
def teacher_dir(tmp_path_factory) -> Path:
    """A tiny QA teacher with a WordPiece vocabulary of its own (200 pieces learnt from the data, so it cuts words
    differently from the student's 30,522-piece vocabulary)."""
    from tokenizers.implementations import BertWordPieceTokenizer
    from transformers import BertForQuestionAnswering, BertTokenizerFast

    folder = tmp_path_factory.mktemp("teacher")
    texts = [
        p["context"] + " " + q["question"] for a in squad_data()["data"] for p in a["paragraphs"] for q in p["qas"]
    ]
    trainer = BertWordPieceTokenizer(lowercase=True)
    trainer.train_from_iterator(texts, vocab_size=200, min_frequency=1)
    trainer.save_model(str(folder))
    BertTokenizerFast(vocab_file=str(folder / "vocab.txt")).save_pretrained(folder)
    torch.manual_seed(1)
    n = len((folder / "vocab.txt").read_text(encoding="utf-8").splitlines())
    BertForQuestionAnswering(tiny_config(n)).save_pretrained(folder, safe_serialization=True)
    return folder


def test_align_maps_student_tokens_to_the_teacher_tokens_holding_their_characters():
    # text "fooling around": student pieces "fool" "##ing" "around"; teacher pieces "foo" "##ling" "ar" "##ound"
    student = np.array([[0, 4], [4, 7], [8, 14]])
    teacher = np.array([[0, 3], [3, 7], [8, 10], [10, 14]])
    start, end = align(student, teacher, np.array([1.0, 2.0, 3.0, 4.0]), np.array([10.0, 20.0, 30.0, 40.0]))
    assert start.tolist() == [1.0, 2.0, 3.0]  # first characters 0, 4, 8 lie in teacher tokens 0, 1, 2
    assert end.tolist() == [20.0, 20.0, 40.0]  # last characters 3, 6, 13 lie in teacher tokens 1, 1, 3


def test_teacher_targets_follow_the_teacher_on_the_same_characters(teacher_dir, squad_file, vocab):
    examples = load_examples(squad_file)[:10]
    features = reader_features(examples, vocab, max_length=64)
    from openbook.models.tokenization import WordPiece

    raw = {e.context: WordPiece(vocab).ids(e.context)[1] for e in examples}
    teacher = Teacher(teacher_dir, torch.device("cpu"))
    targets = teacher_targets(teacher, features, examples, raw)
    assert len(targets) == len(features)
    w, (start, end) = features.windows[0], targets[0]
    assert np.isfinite(start[0]) and np.all(np.isneginf(start[1 : w.offset]))  # [CLS] kept, question left out
    assert np.all(np.isfinite(start[w.offset : w.offset + w.count])) and np.all(
        np.isfinite(end[w.offset : w.offset + w.count])
    )
    # a whole word the student keeps as one piece: its target is the teacher's logit on the token starting there
    text = w.tokens.text
    chars, t_start, _, _, _ = teacher.logits([examples[w.query].question], [text])[0]
    word = text.index("lives")
    student_pos = w.offset + [a for a, _ in raw[text]].index(word)
    teacher_pos = [a for a, _ in chars].index(word)
    assert start[student_pos] == pytest.approx(t_start[teacher_pos], abs=1e-5)


def test_soft_loss_is_zero_on_the_teacher_and_ignores_positions_without_target():
    teacher = torch.tensor([[2.0, NO_TARGET, 1.0, 0.5]])
    same = torch.tensor([[2.0, 99.0, 1.0, 0.5]])  # position 1 has no target: whatever the student says there
    assert float(soft_loss(same, teacher, 2.0)) == pytest.approx(0.0, abs=1e-6)
    assert float(soft_loss(torch.tensor([[0.0, 0.0, 3.0, 0.0]]), teacher, 2.0)) > 0.1


def test_distilled_reader_trains_builds_and_answers(teacher_dir, tiny_reader_base, squad_file, tmp_path):
    from typer.testing import CliRunner

    from openbook.cli.app import app
    from openbook.reading.reader import Reader

    out = tmp_path / "distilled"
    args = [
        "train",
        "reader",
        str(squad_file),
        "--out",
        str(out),
        "--base",
        str(tiny_reader_base),
        "--teacher",
        str(teacher_dir),
        "--max-length",
        "64",
        "--batch-size",
        "128",
        "--lr",
        "3e-3",
        "--epochs",
        "2",
        "--fp32",
        "--samples",
        "4",
        "--json",
    ]
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout[result.stdout.index("{") :])
    figures = report["training"]
    assert figures["teacher"] == str(teacher_dir) and figures["steps"] == 2
    assert figures["last_loss"] < figures["first_loss"]
    context = "carol lives in berlin. carol works as a farmer."
    answers = Reader(out).read("where does carol live?", [context])
    assert answers and answers[0].text in context
