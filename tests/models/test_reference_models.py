"""The five reference contracts, each proved with a tiny random BERT of exactly its signature, as OpenVINO IR and as
ONNX: load, then index + ask on the example corpus. Also: the INT8 ones really hold quantised ops, and the same weights
exported at static [1,384] and at dynamic shape read alike."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from openbook.models.embedder import Embedder
from openbook.errors import OpenbookError
from openbook.ingest.loaders import load_documents
from openbook.qa.pipeline import OpenBook
from openbook.reading.reader import Reader
from openbook.retrieval.retriever import Retriever
from openbook.models.runtime import CompiledModel, core, find_model_file
from openbook.models.specs import KNOWN, describe, guess_kind
from tests.conftest import DEFAULT_READER
from tests.tiny_bert import CONTRACTS, NUMBERED, Signature, Size, build, op_types

CORPUS = Path(__file__).resolve().parents[2] / "examples" / "corpus"
BOOST = {"august": (12.0, 0.0), "##nel": (0.0, 12.0)}  # the tiny readers answer "Augustin Fresnel"
QUESTION = "Who designed a lens made of glass rings for lighthouses?"
CHESS = "Which chess piece can jump over other pieces?"
FORMS = ("ir", "onnx")
READERS = [name for name, s in CONTRACTS.items() if s.kind == "reader"]
EMBEDDER = "bert-small-uncased-whole-word-masking-squad-emb-int8-0001"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, vocab):
    """``tiny(name, form, signature=None, **build options)``: a tiny BERT folder named ``name``, built once."""
    root = tmp_path_factory.mktemp("tiny-berts")
    built: dict[tuple, Path] = {}

    def make(name: str, form: str = "ir", signature: Signature | None = None, **options) -> Path:
        key = (name, form, signature, repr(sorted(options.items())))
        if key not in built:
            folder = root / str(len(built)) / name
            built[key] = build(folder, vocab, signature or CONTRACTS[name], form, **options)
        return built[key]

    return make


@pytest.fixture(scope="module")
def corpus_index(tmp_path_factory, vocab) -> Retriever:
    retriever = Retriever(tmp_path_factory.mktemp("ix") / "corpus")
    retriever.add(load_documents([CORPUS]))
    return retriever


@pytest.fixture(scope="module")
def default_reader(vocab) -> Reader:
    return Reader(DEFAULT_READER)


def runs_in_int8(path: Path) -> bool:
    """Whether the CPU plugin runs some matrix product of the compiled model in 8-bit integers."""
    runtime = core().compile_model(core().read_model(path), "CPU").get_runtime_model()
    return any(
        op.get_rt_info()["runtimePrecision"].astype(str) in ("i8", "u8")
        for op in runtime.get_ops()
        if op.get_rt_info()["layerType"].astype(str) in ("FullyConnected", "MatMul", "Convolution")
    )


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("name", READERS)
def test_reference_reader_contract_index_and_ask(tiny, corpus_index, name, form):
    folder = tiny(name, form, boosts=BOOST)
    spec = describe(folder, "reader")
    assert spec.name == name and spec.kind == "reader" == guess_kind(folder)
    assert find_model_file(folder).suffix == {"ir": ".xml", "onnx": ".onnx"}[form]
    reader = Reader(folder)
    signature = CONTRACTS[name]
    assert list(reader.model.inputs.values()) == [n for _, n in signature.inputs]
    assert reader.outputs == signature.outputs
    assert (reader.model.max_length == 384) is (signature.shape is not None)
    assert reader.no_answer is (KNOWN[name].squad_version == 2)
    best = OpenBook(retriever=corpus_index, reader=reader).ask(QUESTION)[0]
    assert best.text == "Augustin Fresnel" and best.passage.title == "Lighthouses"


@pytest.mark.parametrize("form", FORMS)
def test_reference_embedder_contract_index_and_ask(tmp_path, tiny, default_reader, form):
    folder = tiny(EMBEDDER, form)
    assert describe(folder, "retriever").name == EMBEDDER and guess_kind(folder) == "retriever"
    emb = Embedder(folder)
    assert (emb.metric, emb.dimension, emb.model.max_length, emb.model.max_batch) == ("l2", 1024, 384, 1)
    assert (emb.question_model.max_batch, emb.question_model.max_length) == (1, 32)  # questions at [1,32], as its card
    assert list(emb.model.inputs) == ["input_ids", "attention_mask", "token_type_ids", "position_ids"]
    retriever = Retriever(tmp_path / "ix", model=folder)
    retriever.add(load_documents([CORPUS]))
    assert retriever.index.vectors.metric == "l2"
    for mode in ("dense", "hybrid"):
        assert retriever.search(CHESS, k=3, mode=mode)[0].passage.title == "chess", mode
    best = OpenBook(retriever=retriever, reader=default_reader).ask(CHESS)[0]
    assert "knight" in best.text.lower()


@pytest.mark.parametrize("name", [n for n, s in CONTRACTS.items() if s.int8])
def test_int8_standins_hold_quantised_ops(tiny, name):
    for form in FORMS:
        path = find_model_file(tiny(name, form, boosts=BOOST if CONTRACTS[name].kind == "reader" else None))
        assert "FakeQuantize" in op_types(path), (name, form)
        if platform.machine().lower() in ("x86_64", "amd64"):
            assert runs_in_int8(path), (name, form)
    plain = find_model_file(tiny("bert-small-uncased-whole-word-masking-squad-0001", "ir", boosts=BOOST))
    assert "FakeQuantize" not in op_types(plain)


@pytest.mark.parametrize("form", FORMS)
def test_numbered_inputs_are_taken_by_position(tiny, form):
    folder = tiny("bert-large-uncased-whole-word-masking-squad-int8-0001", form, NUMBERED, boosts=BOOST)
    reader = Reader(folder)
    assert reader.model.inputs == {"input_ids": "result.1", "attention_mask": "result.2", "token_type_ids": "result.3"}
    assert reader.outputs == ("5211", "5212")
    passage = "In 1822 the French engineer Augustin Fresnel designed a lens."
    assert reader.read(QUESTION, [passage])[0].text == "Augustin Fresnel"


def test_static_and_dynamic_exports_agree(tmp_path, vocab):
    """The same weights at static [1,384] (each window alone, padded to 384), at dynamic shape (windows batched,
    padded to the longest in the batch) and reshaped from static to dynamic give the same logits, answers and scores."""
    size = Size(scale=0.3, head_scale=1.0)  # attention that matters: a padding or masking slip would show
    signature = CONTRACTS["bert-small-uncased-whole-word-masking-squad-0001"]
    static = build(tmp_path / "static", vocab, signature, "ir", size=size, seed=7)
    dynamic = build(tmp_path / "dynamic", vocab, replace(signature, shape=None), "onnx", size=size, seed=7)
    documents = {d.title: d.text for d in load_documents([CORPUS])}
    passages = [documents["Lighthouses"], documents["chess"], " ".join(documents.values()), "A lens of glass rings."]
    one, many = Reader(static, precision="f32", reshape=False), Reader(dynamic, precision="f32")
    reshaped = Reader(static, precision="f32", reshape=True)
    assert (one.model.max_batch, one.model.max_length) == (1, 384)
    assert (many.model.max_batch, many.model.max_length) == (None, None)
    assert reshaped.model.reshaped and (reshaped.model.max_batch, reshaped.model.max_length) == (None, 384)

    windows = one.preprocess([(QUESTION, passages)])
    same = [(w.passage, w.question_ids, w.first, w.end) for w in windows]
    assert same == [(w.passage, w.question_ids, w.first, w.end) for w in many.preprocess([(QUESTION, passages)])]
    assert sum(w.passage == 2 for w in windows) > 1 and len({w.length for w in windows}) > 2
    last = windows[-1]  # the comparison would catch a masking slip: attending to padding moves the logits
    batch = one.tokenizer.encode_pairs([last.question_ids], [last.passage_ids], pad_to=384)
    masked = one.model.run(batch)["output_s"][0, : last.length]
    leaky_batch = replace(batch, attention_mask=np.ones_like(batch.attention_mask))
    leaky = one.model.run(leaky_batch)["output_s"][0, : last.length]
    assert np.abs(masked - leaky).max() > 0.1
    alone = one.call(windows)
    a = one.read(QUESTION, passages, top_k=5)
    for other in (many, reshaped):
        for (s1, e1), (s2, e2) in zip(alone, other.call(windows), strict=True):
            np.testing.assert_allclose(s1, s2, rtol=1e-3, atol=1e-3)
            np.testing.assert_allclose(e1, e2, rtol=1e-3, atol=1e-3)
        b = other.read(QUESTION, passages, top_k=5)
        assert [(x.text, x.passage_index) for x in a] == [(x.text, x.passage_index) for x in b]
        np.testing.assert_allclose([x.score for x in a], [x.score for x in b], rtol=1e-3, atol=1e-3)
        np.testing.assert_allclose([x.no_answer_score for x in a], [x.no_answer_score for x in b], rtol=1e-3, atol=1e-3)


def test_model_without_vocab_or_with_foreign_inputs_is_refused(tmp_path, vocab):
    bare = CONTRACTS["bert-large-uncased-wwm-squadv2-x2.63-f82.6-d16-hybrid-v1"]  # in a folder of no known name
    folder = build(tmp_path / "plain", vocab, bare, "onnx")
    (folder / "vocab.txt").unlink()
    with pytest.raises(OpenbookError, match="vocab.txt"):
        Reader(folder)
    pixels = Signature("embedder", (("input_ids", "input_ids"), ("attention_mask", "pixel_mask")), ("embedding",))
    wrong = build(tmp_path / "wrong", vocab, pixels, "ir")
    with pytest.raises(OpenbookError, match="attention_mask"):
        CompiledModel(wrong)


def test_ask_with_a_mismatched_reader_is_one_line(tmp_path, corpus_index, vocab):
    pixels = Signature("reader", (("input_ids", "input_ids"), ("attention_mask", "pixel_values")), ("start", "end"))
    wrong = build(tmp_path / "wrong-reader", vocab, pixels, "ir")
    env = {**os.environ, "OPENBOOK_INDEXES": str(corpus_index.index_path.parent)}
    result = subprocess.run(
        [sys.executable, "-m", "openbook.cli", "ask", QUESTION, "--index", "corpus", "--reader", str(wrong)],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "pixel_values" in lines[0], result.stderr


def test_models_info_shows_the_contract(tiny):
    folder = tiny("bert-small-uncased-whole-word-masking-squad-0001", "ir", boosts=BOOST)
    out = subprocess.run(
        [sys.executable, "-m", "openbook.cli", "models", "info", str(folder), "--json"],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    data = json.loads(out.stdout)
    assert data["contract"]["outputs"] == {"start": "output_s", "end": "output_e"}
    assert data["file"]["inputs"][0] == {"name": "input_ids", "type": "i64", "shape": "[1,384]"}
    assert [o["name"] for o in data["file"]["outputs"]] == ["output_s", "output_e"]
