"""Tiny random BERTs with the exact signatures of the reference models, built with ``onnx.helper`` (no torch).

Each is a genuine BERT encoder: word, position and token-type embeddings, LayerNorm, then encoder layers of multi-head
self-attention (with the additive mask from ``attention_mask``), residual + LayerNorm, a GELU (Erf) feed-forward
block, residual + LayerNorm. The weights are random (seeded): word embeddings of scale ~1 and attention and
feed-forward weights of BERT's initial scale (0.02), so the residual path keeps the outputs close to
``LayerNorm(word + position + type)``. Mean-pooled, they behave like a bag of words, so retrieval on them works. As in
a trained BERT, the commonest word pieces (the first ids of the vocabulary: specials, characters, the ~500 commonest
words) lie close together, along one shared direction that the embedder's projection ignores: content words make the
embedding. Embedders are wider than readers (:data:`EMBEDDER_SIZE`) so that unrelated random word vectors seldom
overlap.

Heads:

- reader: a Linear hidden → 2 split into start and end logits, plus a per-token bias looked up by input id:
  ``boosts = {"word piece": (start bias, end bias)}`` (zero elsewhere), so a test places an answer by putting boosted
  words in a passage, as :mod:`tests.reader_standins` does;
- embedder: masked mean pooling, then a Linear projection to the contract's dimension, optionally L2-normalised.

``int8=True`` puts QuantizeLinear/DequantizeLinear pairs on the inputs and weights of every MatMul, which OpenVINO
reads as FakeQuantize ops and runs in low precision, as it does the INT8 reference models. A model is written as
``model.onnx`` or as OpenVINO IR (``model.xml``, converted from the ONNX file) with ``vocab.txt`` beside it, in a
folder named after its contract (the engine recognises a reference contract by its folder name).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
import openvino as ov
from onnx import TensorProto, helper, numpy_helper

MAX_POSITIONS = 512
OPSET = 17  # LayerNormalization
ROLES = ("input_ids", "attention_mask", "token_type_ids", "position_ids")
_OMZ = ("input_ids", "attention_mask", "token_type_ids")


@dataclass(frozen=True)
class Signature:
    """What a model declares: its kind, input names (by role, in order), output names (in order), static shape."""

    kind: str  # "reader" or "embedder"
    inputs: tuple[tuple[str, str], ...]  # (role, name)
    outputs: tuple[str, ...]  # reader: start, end; embedder: the embedding
    shape: tuple[int, int] | None = None  # None: dynamic ["batch", "length"]
    int8: bool = False
    dimension: int | None = None  # embedder: the projection's size (None: no projection, the hidden size)
    normalize: bool = False  # embedder: L2-normalise the embedding


def _roles(*names: str) -> tuple[tuple[str, str], ...]:
    return tuple(zip(ROLES, names))


# The reference contracts (see openbook.models.specs.KNOWN), by the name their folder must carry.
CONTRACTS: dict[str, Signature] = {
    "bert-small-uncased-whole-word-masking-squad-0001": Signature(
        "reader", _roles(*_OMZ), ("output_s", "output_e"), (1, 384)
    ),
    "bert-small-uncased-whole-word-masking-squad-emb-int8-0001": Signature(
        "embedder", _roles(*_OMZ, "position_ids"), ("embedding",), (1, 384), int8=True, dimension=1024
    ),
    "bert-large-uncased-whole-word-masking-squad-int8-0001": Signature(
        "reader", _roles("input_ids", "input_mask", "segment_ids"), ("Squeeze_a", "Squeeze_b"), (1, 384), int8=True
    ),
    "bert-large-uncased-wwm-squadv2-x2.63-f82.6-d16-hybrid-v1": Signature(
        "reader", _roles(*_OMZ), ("start_logits", "end_logits")
    ),
    "bert-tiny-squad-int8": Signature("reader", _roles(*_OMZ), ("output_s", "output_e"), (1, 384), int8=True),
}
# Older releases of the bert-large INT8 reader: numbered inputs and outputs, taken by position.
NUMBERED = Signature("reader", _roles("result.1", "result.2", "result.3"), ("5211", "5212"), (1, 384), int8=True)


@dataclass(frozen=True)
class Size:
    """The encoder's dimensions and weight scales."""

    hidden: int = 64
    heads: int = 4
    intermediate: int = 128
    layers: int = 2
    word_scale: float = 1.0
    scale: float = 0.02  # attention and feed-forward weights (BERT's initialiser)
    head_scale: float = 0.02  # the QA head and the embedding projection
    common: int = 2500  # ids below this (specials, characters, the commonest words) share one embedding direction
    common_spread: float = 0.1  # how far each of them strays from it


# Embedders get a wider encoder: with random word vectors, a bag of words tells passages apart only when the vectors
# are nearly orthogonal, and at hidden 64 chance overlaps between unrelated words outweigh a few shared ones.
EMBEDDER_SIZE = Size(hidden=256, heads=4, intermediate=512)


def vocabulary(path: Path) -> dict[str, int]:
    return {tok: i for i, tok in enumerate(Path(path).read_text(encoding="utf-8").splitlines())}


@dataclass
class _Graph:
    """Nodes and initializers being gathered, with fresh names."""

    int8: bool
    nodes: list = field(default_factory=list)
    inits: list = field(default_factory=list)
    count: int = 0

    def name(self, hint: str) -> str:
        self.count += 1
        return f"{hint}_{self.count}"

    def const(self, value: np.ndarray | float | list, hint: str = "c") -> str:
        array = np.asarray(value)
        if array.dtype == np.float64:
            array = array.astype(np.float32)
        name = self.name(hint)
        self.inits.append(numpy_helper.from_array(array, name))
        return name

    def op(self, kind: str, inputs: list[str], hint: str | None = None, out: str | None = None, **attrs) -> str:
        out = out or self.name(hint or kind.lower())
        self.nodes.append(helper.make_node(kind, inputs, [out], name=self.name(kind), **attrs))
        return out

    def qdq(self, x: str, scale: np.ndarray | float, axis: int | None = None) -> str:
        """``x`` through QuantizeLinear → DequantizeLinear (int8, symmetric)."""
        s = self.const(np.asarray(scale, dtype=np.float32), "scale")
        zero = self.const(np.zeros(np.shape(scale), dtype=np.int8), "zero")
        attrs = {} if axis is None else {"axis": axis}
        q = self.op("QuantizeLinear", [x, s, zero], "q", **attrs)
        return self.op("DequantizeLinear", [q, s, zero], "dq", **attrs)

    def linear(
        self, x: str, weight: np.ndarray, bias: np.ndarray, act_range: float = 8.0, out: str | None = None
    ) -> str:
        """``x @ weight + bias``; in INT8, per-tensor activation and per-output-channel weight quantisation."""
        w = self.const(weight, "weight")
        if self.int8:
            x = self.qdq(x, act_range / 127.0)
            w = self.qdq(w, np.maximum(np.abs(weight).max(axis=0), 1e-8) / 127.0, axis=1)
        return self.op("Add", [self.op("MatMul", [x, w]), self.const(bias, "bias")], out=out)

    def layer_norm(self, x: str, hidden: int) -> str:
        gamma = self.const(np.ones(hidden, dtype=np.float32), "gamma")
        beta = self.const(np.zeros(hidden, dtype=np.float32), "beta")
        return self.op("LayerNormalization", [x, gamma, beta], "ln", axis=-1, epsilon=1e-12)


def bert_graph(
    signature: Signature,
    vocab_size: int,
    vocab: dict[str, int] | None = None,
    boosts: dict[str, tuple[float, float]] | None = None,
    size: Size | None = None,
    seed: int = 0,
) -> onnx.ModelProto:
    """The ONNX model of a tiny BERT with ``signature``: ``boosts`` bias a reader's start/end logits by word piece."""
    size = size or (EMBEDDER_SIZE if signature.kind == "embedder" else Size())
    rng = np.random.default_rng(seed)
    h, heads = size.hidden, size.heads
    dh = h // heads

    def normal(*shape: int, scale: float) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    g = _Graph(signature.int8)
    names = dict(signature.inputs)
    dims: list = list(signature.shape) if signature.shape else ["batch", "length"]
    inputs = [helper.make_tensor_value_info(n, TensorProto.INT64, dims) for _, n in signature.inputs]
    ids = names["input_ids"]

    # embeddings: word + position + token type, then LayerNorm
    words = normal(vocab_size, h, scale=size.word_scale)
    common = min(size.common, vocab_size)
    shared = normal(1, h, scale=size.word_scale)
    words[:common] = shared + normal(common, h, scale=size.word_scale * size.common_spread)
    x = g.op("Gather", [g.const(words, "word_embeddings"), ids], "words")
    positions = g.const(normal(MAX_POSITIONS, h, scale=0.02), "position_embeddings")
    if "position_ids" in names:
        steps = names["position_ids"]
    else:  # range(L), broadcast over the batch
        length = g.op("Gather", [g.op("Shape", [ids]), g.const(np.int64(1))], "length")
        steps = g.op("Range", [g.const(np.int64(0)), length, g.const(np.int64(1))], "steps")
    x = g.op("Add", [x, g.op("Gather", [positions, steps], "positions")])
    if "token_type_ids" in names:
        types = g.const(normal(2, h, scale=0.02), "token_type_embeddings")
        x = g.op("Add", [x, g.op("Gather", [types, names["token_type_ids"]], "types")])
    x = g.layer_norm(x, h)

    # additive attention mask [B, 1, 1, L]: 0 where attended, -10000 at padding
    mask = g.op("Cast", [names["attention_mask"]], "mask", to=TensorProto.FLOAT)
    inverted = g.op("Sub", [g.const(np.float32(1.0)), mask])
    additive = g.op("Mul", [inverted, g.const(np.float32(-10000.0))])
    additive = g.op("Unsqueeze", [additive, g.const(np.array([1, 2], dtype=np.int64))], "additive_mask")

    split_heads = g.const(np.array([0, 0, heads, dh], dtype=np.int64), "split_heads")
    merge_heads = g.const(np.array([0, 0, h], dtype=np.int64), "merge_heads")
    for _ in range(size.layers):
        q, k, v = (
            g.op("Reshape", [g.linear(x, normal(h, h, scale=size.scale), np.zeros(h, np.float32)), split_heads])
            for _ in range(3)
        )
        q = g.op("Transpose", [q], perm=[0, 2, 1, 3])  # [B, heads, L, dh]
        k = g.op("Transpose", [k], perm=[0, 2, 3, 1])  # [B, heads, dh, L]
        v = g.op("Transpose", [v], perm=[0, 2, 1, 3])
        scores = g.op("Div", [g.op("MatMul", [q, k]), g.const(np.float32(np.sqrt(dh)))])
        probs = g.op("Softmax", [g.op("Add", [scores, additive])], axis=-1)
        context = g.op("Transpose", [g.op("MatMul", [probs, v])], perm=[0, 2, 1, 3])
        context = g.op("Reshape", [context, merge_heads])
        attended = g.linear(context, normal(h, h, scale=size.scale), np.zeros(h, np.float32))
        x = g.layer_norm(g.op("Add", [x, attended]), h)
        inner = g.linear(x, normal(h, size.intermediate, scale=size.scale), np.zeros(size.intermediate, np.float32))
        erf = g.op("Erf", [g.op("Div", [inner, g.const(np.float32(np.sqrt(2.0)))])])
        gelu = g.op("Mul", [g.op("Mul", [inner, g.const(np.float32(0.5))]), g.op("Add", [erf, g.const(np.float32(1))])])
        out = g.linear(gelu, normal(size.intermediate, h, scale=size.scale), np.zeros(h, np.float32), act_range=4.0)
        x = g.layer_norm(g.op("Add", [x, out]), h)

    batch, length = dims
    if signature.kind == "reader":
        bias = np.zeros((vocab_size, 2), dtype=np.float32)
        for token, pair in (boosts or {}).items():
            assert vocab is not None, "boosts need the vocabulary"
            bias[vocab[token]] = pair
        logits = g.linear(x, normal(h, 2, scale=size.head_scale), np.zeros(2, np.float32))
        logits = g.op("Add", [logits, g.op("Gather", [g.const(bias, "boosts"), ids])], "logits")
        halves = [g.name("half") for _ in range(2)]
        g.nodes.append(helper.make_node("Split", [logits, g.const(np.array([1, 1], np.int64))], halves, axis=2))
        last = g.const(np.array([2], dtype=np.int64))
        for half, name in zip(halves, signature.outputs, strict=True):
            g.op("Squeeze", [half, last], out=name)
        outputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [batch, length]) for n in signature.outputs]
    else:
        m = g.op("Unsqueeze", [mask, g.const(np.array([-1], dtype=np.int64))])
        total = g.op("ReduceSum", [g.op("Mul", [x, m]), g.const(np.array([1], dtype=np.int64))], keepdims=0)
        count = g.op("ReduceSum", [m, g.const(np.array([1], dtype=np.int64))], keepdims=0)
        pooled = g.op("Div", [total, g.op("Max", [count, g.const(np.float32(1e-9))])], "pooled")
        dim = signature.dimension or h
        (name,) = signature.outputs
        last = name if not signature.normalize else None
        if signature.dimension:
            # a random projection, blind to the direction common words share (LayerNorm centres it): content words
            # make the embedding, as they do in a trained retriever
            u = shared[0] - shared[0].mean()
            u /= np.linalg.norm(u)
            w = (np.eye(h, dtype=np.float32) - np.outer(u, u)) @ normal(h, dim, scale=1.0 / np.sqrt(h))
            pooled = g.linear(pooled, w, np.zeros(dim, np.float32), act_range=4.0, out=last)
        elif last:
            pooled = g.op("Identity", [pooled], out=last)
        if signature.normalize:
            norm = g.op("ReduceL2", [pooled], axes=[-1], keepdims=1)
            g.op("Div", [pooled, g.op("Max", [norm, g.const(np.float32(1e-12))])], out=name)
        outputs = [helper.make_tensor_value_info(name, TensorProto.FLOAT, [batch, dim])]

    graph = helper.make_graph(g.nodes, "tiny-bert", inputs, outputs, initializer=g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="openbook-tests")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def build(
    folder: Path,
    vocab: Path,
    signature: Signature | str,
    form: str = "ir",
    boosts: dict[str, tuple[float, float]] | None = None,
    size: Size | None = None,
    seed: int = 0,
) -> Path:
    """Write a tiny BERT with ``signature`` (or a contract's name) into ``folder`` as ``form`` ("ir" or "onnx"), with
    ``vocab.txt`` beside it; return the folder."""
    if isinstance(signature, str):
        signature = CONTRACTS[signature]
    words = vocabulary(vocab)
    model = bert_graph(signature, len(words), words, boosts, size, seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if form == "onnx":
        onnx.save(model, folder / "model.onnx")
    elif form == "ir":
        with tempfile.TemporaryDirectory() as tmp:
            onnx.save(model, Path(tmp) / "model.onnx")
            converted = ov.convert_model(Path(tmp) / "model.onnx")
        ov.save_model(converted, folder / "model.xml", compress_to_fp16=False)
    else:
        raise ValueError(f"form must be 'ir' or 'onnx', not {form!r}")
    shutil.copyfile(vocab, folder / "vocab.txt")
    return folder


def op_types(path: Path) -> set[str]:
    """The operation types OpenVINO reads from the model file at ``path`` (an .xml or .onnx file)."""
    return {op.get_type_name() for op in ov.Core().read_model(path).get_ops()}
