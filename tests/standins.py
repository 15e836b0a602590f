"""Small embedding models with real BERT signatures, built in code for tests (no downloads, no torch).

Each is a bag of word pieces: a random vector per vocabulary entry (plus small type and position terms), mean-pooled
over the attention mask. Texts that share words get similar vectors, so retrieval on them is meaningful.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import openvino as ov
import openvino.opset13 as ops

VOCAB_SIZE = 30522


def _tables(dim: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    words = rng.standard_normal((VOCAB_SIZE, dim)).astype(np.float32)
    types = 0.01 * rng.standard_normal((2, dim)).astype(np.float32)
    positions = 0.01 * rng.standard_normal((512, dim)).astype(np.float32)
    return words, types, positions


def build_embedder_ir(
    folder: Path,
    vocab: Path,
    shape: tuple[int, int] | None = None,
    names: dict[str, str] | None = None,
    output: str = "embedding",
    dim: int = 64,
    seed: int = 0,
) -> Path:
    """An OpenVINO IR embedder in ``folder`` (with ``vocab.txt``); ``shape`` fixes [batch, length], else dynamic.

    ``names`` maps roles (input_ids, attention_mask, token_type_ids, position_ids) to input names; roles left out are
    not inputs of the model (position_ids is left out by default).
    """
    names = names or {"input_ids": "input_ids", "attention_mask": "attention_mask", "token_type_ids": "token_type_ids"}
    words, types, positions = _tables(dim, seed)
    pshape = ov.PartialShape(list(shape) if shape else [-1, -1])
    params = {}
    for role, name in names.items():
        p = ops.parameter(pshape, ov.Type.i64, name=name)
        p.output(0).get_tensor().set_names({name})
        params[role] = p
    hidden = ops.gather(ops.constant(words), params["input_ids"], ops.constant(0))
    if "token_type_ids" in params:
        hidden = ops.add(hidden, ops.gather(ops.constant(types), params["token_type_ids"], ops.constant(0)))
    if "position_ids" in params:
        hidden = ops.add(hidden, ops.gather(ops.constant(positions), params["position_ids"], ops.constant(0)))
    mask = ops.unsqueeze(ops.convert(params["attention_mask"], ov.Type.f32), ops.constant(-1))
    summed = ops.reduce_sum(ops.multiply(hidden, mask), ops.constant(1), keep_dims=False)
    count = ops.maximum(ops.reduce_sum(mask, ops.constant(1), keep_dims=False), ops.constant(np.float32(1e-9)))
    pooled = ops.divide(summed, count)
    pooled.output(0).get_tensor().set_names({output})
    model = ov.Model([pooled], list(params.values()), "standin-embedder")
    folder.mkdir(parents=True, exist_ok=True)
    ov.save_model(model, folder / "model.xml", compress_to_fp16=False)
    shutil.copyfile(vocab, folder / "vocab.txt")
    return folder / "model.xml"


def build_embedder_onnx(folder: Path, vocab: Path, dim: int = 64, seed: int = 0) -> Path:
    """The same bag-of-words embedder as an ONNX file with dynamic [batch, length] inputs."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    words, types, _ = _tables(dim, seed)
    inputs = [
        helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "length"])
        for n in ("input_ids", "attention_mask", "token_type_ids")
    ]
    nodes = [
        helper.make_node("Gather", ["words", "input_ids"], ["w"]),
        helper.make_node("Gather", ["types", "token_type_ids"], ["t"]),
        helper.make_node("Add", ["w", "t"], ["h"]),
        helper.make_node("Cast", ["attention_mask"], ["m"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["m", "last"], ["m3"]),
        helper.make_node("Mul", ["h", "m3"], ["hm"]),
        helper.make_node("ReduceSum", ["hm", "one"], ["s"], keepdims=0),
        helper.make_node("ReduceSum", ["m3", "one"], ["c"], keepdims=0),
        helper.make_node("Div", ["s", "c"], ["embedding"]),
    ]
    graph = helper.make_graph(
        nodes,
        "standin",
        inputs,
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", dim])],
        initializer=[
            numpy_helper.from_array(words, "words"),
            numpy_helper.from_array(types, "types"),
            numpy_helper.from_array(np.array([-1], dtype=np.int64), "last"),
            numpy_helper.from_array(np.array([1], dtype=np.int64), "one"),
        ],
    )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "model.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    shutil.copyfile(vocab, folder / "vocab.txt")
    return path
