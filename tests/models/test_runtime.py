"""The runtime and embedder on models of static and dynamic shape, IR and ONNX, with input names read from the model."""

from __future__ import annotations

import numpy as np
import openvino as ov
import openvino.opset13 as ops
import pytest

from openbook.models.embedder import Embedder
from openbook.errors import OpenbookError
from openbook.models.runtime import CompiledModel, match_inputs
from openbook.models.tokenization import WordPiece

TEXTS = [
    "The river Thames flows through London.",
    "Photosynthesis turns light into chemical energy in plants.",
    "A short one.",
    "The Thames is a river that flows through the city of London and out to the North Sea " * 3,
]


def test_match_inputs_by_alias():
    got = match_inputs(["input_ids", "input_mask", "segment_ids"])
    assert got == {"input_ids": "input_ids", "attention_mask": "input_mask", "token_type_ids": "segment_ids"}


def test_match_inputs_names_what_is_missing():
    with pytest.raises(OpenbookError, match="attention_mask"):
        match_inputs(["input_ids", "token_type_ids"])
    with pytest.raises(OpenbookError, match="pixel_values"):
        match_inputs(["input_ids", "attention_mask", "pixel_values"])


def test_static_model_reports_its_shape(standin_dir):
    model = CompiledModel(standin_dir / "static")
    assert (model.max_batch, model.max_length) == (1, 384)
    assert "position_ids" in model.inputs
    dynamic = CompiledModel(standin_dir / "dynamic")
    assert (dynamic.max_batch, dynamic.max_length) == (None, None)


@pytest.mark.parametrize("kind", ["static", "dynamic", "onnx"])
def test_encode_matches_one_at_a_time(standin_dir, kind):
    """Batched, length-sorted encoding gives each text the vector it gets alone, in the caller's order."""
    emb = Embedder(standin_dir / kind, batch_size=3)
    batched = emb.encode_passages(TEXTS)
    alone = np.vstack([emb.encode_passages([t]) for t in TEXTS])
    assert batched.shape == (len(TEXTS), emb.dimension)
    np.testing.assert_allclose(batched, alone, rtol=1e-4, atol=1e-5)
    # vectors differ between texts: order was kept, not shuffled by the length sort
    assert not np.allclose(batched[0], batched[1])


def test_reshape_runs_a_static_model_unpadded_with_the_same_vectors(standin_dir):
    static = Embedder(standin_dir / "static", precision="f32", reshape=False)
    reshaped = Embedder(standin_dir / "static", precision="f32", reshape=True, batch_size=3)
    assert not static.model.reshaped and (static.model.max_batch, static.model.max_length) == (1, 384)
    assert reshaped.model.reshaped and (reshaped.model.max_batch, reshaped.model.max_length) == (None, 384)
    np.testing.assert_allclose(reshaped.encode_passages(TEXTS), static.encode_passages(TEXTS), rtol=1e-4, atol=1e-5)
    questions = ["Which river flows through London?", "What do plants make from light?"]
    np.testing.assert_allclose(reshaped.encode_questions(questions), static.encode_questions(questions), atol=1e-5)


def test_static_embedder_encodes_questions_at_their_own_length(standin_dir):
    """[1,384] passages and [1,32] questions, as the reference embedder's card runs it; same vectors as padding."""
    emb = Embedder(standin_dir / "static", precision="f32")
    declared = Embedder(standin_dir / "static", precision="f32", reshape=False)
    assert (emb.model.max_batch, emb.model.max_length, emb.model.reshaped) == (1, 384, False)
    assert (emb.question_model.max_batch, emb.question_model.max_length) == (1, 32) and emb.question_model.reshaped
    assert declared.question_model is declared.model
    questions = ["Which river flows through London?", "What do plants make from light? " * 8]  # the second is cut
    np.testing.assert_allclose(emb.encode_questions(questions), declared.encode_questions(questions), atol=1e-5)


def test_reshape_keeps_a_graph_that_fixes_its_shape(tmp_path, vocab):
    """A Reshape to a constant [1, 384, …] inside the graph cannot follow a new input shape: the model stays static."""
    folder = tmp_path / "fixed"
    folder.mkdir()
    ids = ops.parameter([1, 384], ov.Type.i64, name="input_ids")
    mask = ops.parameter([1, 384], ov.Type.i64, name="attention_mask")
    for p in (ids, mask):
        p.output(0).get_tensor().set_names({p.get_friendly_name()})
    table = np.random.default_rng(0).standard_normal((30522, 8)).astype(np.float32)
    hidden = ops.reshape(ops.gather(ops.constant(table), ids, 0), ops.constant(np.array([1, 384, 8])), False)
    weights = ops.unsqueeze(ops.convert(mask, ov.Type.f32), -1)
    pooled = ops.reduce_sum(ops.multiply(hidden, weights), 1, False)
    pooled.output(0).get_tensor().set_names({"embedding"})
    ov.save_model(ov.Model([pooled], [ids, mask], "fixed"), folder / "model.xml", compress_to_fp16=False)
    (folder / "vocab.txt").write_bytes(vocab.read_bytes())
    emb = Embedder(folder, reshape=True)
    assert not emb.model.reshaped and (emb.model.max_batch, emb.model.max_length) == (1, 384)
    assert emb.question_model is emb.model  # nor can it take [1, 32] questions
    assert emb.encode_passages(TEXTS).shape == (len(TEXTS), 8)


def test_static_and_dynamic_agree_on_meaning(standin_dir):
    """Texts that share words are nearer than texts that do not, whatever the shape."""
    for kind in ("static", "dynamic", "onnx"):
        emb = Embedder(standin_dir / kind)
        q = emb.encode_questions(["Which river flows through London?"])[0]
        p = emb.encode_passages(TEXTS[:2])
        cos = p @ q / (np.linalg.norm(p, axis=1) * np.linalg.norm(q))
        assert cos[0] > cos[1], kind


def test_questions_are_cut_at_32_tokens(standin_dir, vocab):
    emb = Embedder(standin_dir / "dynamic")
    tok = WordPiece(vocab)
    long_question = "why " * 100
    assert tok.encode([long_question], 32).input_ids.shape[1] == 32
    a = emb.encode_questions([long_question])
    b = emb.encode_questions(["why " * 30])  # 30 words + [CLS] [SEP] = 32 tokens
    np.testing.assert_allclose(a, b, rtol=1e-5)


def test_default_retriever_is_int8_and_normalised(vocab):
    emb = Embedder(vocab.parent)
    assert emb.manifest.precision == "int8" and emb.manifest.dimension == 384
    v = emb.encode_passages(TEXTS)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-3)
    q = emb.encode_questions(["What process do plants use to turn light into energy?"])[0]
    assert int(np.argmax(v @ q)) == 1


def test_wrong_model_is_refused(tmp_path):
    with pytest.raises(OpenbookError, match="model not found"):
        Embedder(tmp_path / "nothing-here")
    (tmp_path / "empty").mkdir()
    with pytest.raises(OpenbookError, match="no .xml or .onnx"):
        Embedder(tmp_path / "empty")


def test_fewer_threads_than_cores_run_unpinned(standin_dir):
    """OpenVINO pins threads from core 0, so processes of fewer threads than cores would share the first ones."""
    import os

    cores = len(os.sched_getaffinity(0))
    if cores < 2:
        pytest.skip("one core: nothing to share")
    one = CompiledModel(standin_dir / "dynamic", threads=1)
    assert one._compiled.get_property("ENABLE_CPU_PINNING") is False
    every = CompiledModel(standin_dir / "dynamic", threads=cores)
    assert int(every._compiled.get_property("INFERENCE_NUM_THREADS")) == cores


def test_loading_models_on_threads_at_once_keeps_the_process_locale(tmp_path):
    # OpenVINO switches the C locale while it loads a model from its cache; unguarded, two threads at once left the
    # process in "C" most rounds (and Python's default text encoding with it: ASCII)
    import locale
    import threading

    from openbook.config import DEFAULT_READER, DEFAULT_RETRIEVER, resolve_model
    from openbook.models.runtime import find_model_file, keeping_locale

    core = ov.Core()
    core.set_property({"CACHE_DIR": str(tmp_path / "cache")})
    paths = [str(find_model_file(resolve_model(None, name))) for name in (DEFAULT_READER, DEFAULT_RETRIEVER)]
    before = locale.setlocale(locale.LC_ALL)

    def load(path: str) -> None:
        with keeping_locale():
            core.read_model(path)
            core.compile_model(path, "CPU")

    for _ in range(6):
        threads = [threading.Thread(target=load, args=(p,)) for p in paths * 2]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert locale.setlocale(locale.LC_ALL) == before
