"""The five reference contracts, each proved with a stand-in of exactly its signature: load, then index + ask."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from openbook.embedder import Embedder
from openbook.errors import OpenbookError
from openbook.loaders import load_documents
from openbook.pipeline import OpenBook
from openbook.reader import Reader
from openbook.retriever import Retriever
from openbook.runtime import CompiledModel
from openbook.specs import KNOWN, describe, guess_kind
from tests.reader_standins import build_standin
from tests.standins import build_embedder_ir

CORPUS = Path(__file__).resolve().parents[1] / "examples" / "corpus"
BOOST = {"august": (12.0, 0.0), "##nel": (0.0, 12.0)}  # the stand-in readers answer "Augustin Fresnel"
QUESTION = "Who designed a lens made of glass rings for lighthouses?"

READERS = {  # reference model -> (stand-in layout, static shape)
    "bert-small-uncased-whole-word-masking-squad-0001": "omz",
    "bert-large-uncased-whole-word-masking-squad-int8-0001": "omz-segment",
    "bert-large-uncased-wwm-squadv2-x2.63-f82.6-d16-hybrid-v1": "hf-bare",
    "bert-tiny-squad-int8": "omz",
}
EMBEDDER = "bert-small-uncased-whole-word-masking-squad-emb-int8-0001"


@pytest.fixture(scope="module")
def corpus_index(tmp_path_factory, vocab) -> Retriever:
    retriever = Retriever(tmp_path_factory.mktemp("ix") / "corpus")
    retriever.add(load_documents([CORPUS]))
    return retriever


@pytest.mark.parametrize("name", list(READERS))
def test_reference_reader_contract_index_and_ask(tmp_path, corpus_index, name):
    folder = build_standin(tmp_path / name, BOOST, layout=READERS[name])
    spec = describe(folder, "reader")
    assert spec.name == name and spec.kind == "reader" == guess_kind(folder)
    reader = Reader(folder)
    expected_static = READERS[name] != "hf-bare"
    assert (reader.model.max_length == 384) is expected_static
    assert reader.no_answer is (KNOWN[name].squad_version == 2)
    best = OpenBook(retriever=corpus_index, reader=reader).ask(QUESTION)[0]
    assert best.text == "Augustin Fresnel" and best.passage.title == "Lighthouses"


def test_numbered_inputs_are_taken_by_position(tmp_path, vocab):
    folder = build_standin(tmp_path / "bert-large-uncased-whole-word-masking-squad-int8-0001", BOOST, layout="numbered")
    reader = Reader(folder)
    assert reader.model.inputs == {"input_ids": "result.1", "attention_mask": "result.2", "token_type_ids": "result.3"}
    passage = "In 1822 the French engineer Augustin Fresnel designed a lens."
    assert reader.read(QUESTION, [passage])[0].text == "Augustin Fresnel"


def test_reference_embedder_contract_index_and_ask(tmp_path, vocab):
    folder = tmp_path / EMBEDDER
    build_embedder_ir(
        folder,
        vocab,
        shape=(1, 384),
        names={r: r for r in ("input_ids", "attention_mask", "token_type_ids", "position_ids")},
        dim=1024,
    )
    emb = Embedder(folder)
    assert (emb.metric, emb.dimension, emb.model.max_length) == ("l2", 1024, 384)
    assert set(emb.model.inputs) == {"input_ids", "attention_mask", "token_type_ids", "position_ids"}
    retriever = Retriever(tmp_path / "ix", model=folder)
    retriever.add(load_documents([CORPUS]))
    hits = retriever.search("Which chess piece can jump over other pieces?", k=3)
    assert hits[0].passage.title == "chess"
    assert retriever.index.vectors.metric == "l2"
    best = OpenBook(retriever=retriever).ask("Which chess piece can jump over other pieces?")[0]
    assert "knight" in best.text.lower()


def test_model_without_vocab_or_with_foreign_inputs_is_refused(tmp_path, vocab):
    folder = build_standin(tmp_path / "plain", BOOST, layout="hf-bare")
    (folder / "vocab.txt").unlink()
    with pytest.raises(OpenbookError, match="vocab.txt"):
        Reader(folder)
    wrong = build_embedder_ir(tmp_path / "wrong", vocab, names={"input_ids": "input_ids", "attention_mask": "pixel_mask"})
    with pytest.raises(OpenbookError, match="attention_mask"):
        CompiledModel(wrong)


def test_ask_with_a_mismatched_reader_is_one_line(tmp_path, corpus_index):
    wrong = tmp_path / "wrong-reader"
    build_embedder_ir(wrong, corpus_index.model_path / "vocab.txt", names={"input_ids": "input_ids", "attention_mask": "pixel_values"})
    env = {**os.environ, "OPENBOOK_INDEXES": str(corpus_index.index_path.parent)}
    result = subprocess.run(
        [sys.executable, "-m", "openbook.cli", "ask", QUESTION, "--index", "corpus", "--reader", str(wrong)],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "pixel_values" in lines[0], result.stderr


def test_models_info_shows_the_contract(tmp_path, vocab):
    folder = build_standin(tmp_path / "bert-small-uncased-whole-word-masking-squad-0001", BOOST, layout="omz")
    out = subprocess.run(
        [sys.executable, "-m", "openbook.cli", "models", "info", str(folder), "--json"],
        capture_output=True, text=True, timeout=120,
    )
    data = json.loads(out.stdout)
    assert data["contract"]["outputs"] == {"start": "output_s", "end": "output_e"}
    assert data["file"]["inputs"][0] == {"name": "input_ids", "type": "i64", "shape": "[1,384]"}
