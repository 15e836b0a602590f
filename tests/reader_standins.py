"""Tiny BERT-like extractive QA stand-ins, built with the OpenVINO opset API (no torch needed).

Each stand-in embeds tokens (word + position + segment), mixes in a masked mean over the sequence (so wrong padding or
masking changes every logit), and projects to start and end logits, plus a per-token bias looked up by id. The bias
table is zero except for ``boosts``: ``{"word piece": (start bias, end bias)}``, so a test places an answer by putting
boosted words in a passage; the random part stays within about ±1.5. ``null_drop`` ({"word piece": amount}) lowers
both [CLS] logits of every window holding that word, as a real reader's null score falls where the answer is.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openvino as ov
import openvino.opset13 as ops

from openbook.models.manifest import ModelManifest

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_READER = ROOT / "models" / "reader-minilm-squad11-int8"
VOCAB = DEFAULT_READER / "vocab.txt" if (DEFAULT_READER / "vocab.txt").is_file() else None
HIDDEN = 8
MAX_POSITIONS = 512

# layout -> (input names for ids / mask / segments, output names for start / end, static shape, manifest written)
LAYOUTS = {
    "hf": (("input_ids", "attention_mask", "token_type_ids"), ("start_logits", "end_logits"), None, True),
    "omz": (("input_ids", "attention_mask", "token_type_ids"), ("output_s", "output_e"), (1, 384), False),
    # names the reader does not know: outputs are taken by position (0 start, 1 end)
    "omz-segment": (("input_ids", "input_mask", "segment_ids"), ("Squeeze_a", "Squeeze_b"), (1, 384), False),
    # a dynamic Hugging Face export with no manifest: its contract comes from a known name or from the file
    "hf-bare": (("input_ids", "attention_mask", "token_type_ids"), ("start_logits", "end_logits"), None, False),
    # older releases: numbered inputs and outputs, taken by position
    "numbered": (("result.1", "result.2", "result.3"), ("5211", "5212"), (1, 384), False),
}


def vocabulary(path: Path | None = None) -> dict[str, int]:
    lines = Path(path or VOCAB).read_text(encoding="utf-8").splitlines()
    return {tok: i for i, tok in enumerate(lines)}


def standin_model(
    vocab: dict[str, int],
    boosts: dict[str, tuple[float, float]] | None = None,
    layout: str = "hf",
    static: tuple[int, int] | None = None,
    seed: int = 0,
    null_drop: dict[str, float] | None = None,
) -> ov.Model:
    """The stand-in graph; ``static`` overrides the layout's shape (``None`` in "hf": dynamic [batch, length])."""
    in_names, out_names, shape, _ = LAYOUTS[layout]
    shape = static or shape
    rng = np.random.default_rng(seed)
    size = len(vocab)
    words = (rng.standard_normal((size, HIDDEN)) * 0.5).astype(np.float32)
    positions = (rng.standard_normal((MAX_POSITIONS, HIDDEN)) * 0.5).astype(np.float32)
    segment = (rng.standard_normal(HIDDEN) * 0.5).astype(np.float32)
    head = (rng.standard_normal((HIDDEN, 2)) * 0.5).astype(np.float32)
    bias = np.zeros((size, 2), dtype=np.float32)
    for token, (start, end) in (boosts or {}).items():
        bias[vocab[token]] = (start, end)
    drop = np.zeros(size, dtype=np.float32)
    for token, amount in (null_drop or {}).items():
        drop[vocab[token]] = amount
    first = np.zeros(MAX_POSITIONS, dtype=np.float32)
    first[0] = 1.0

    dims = ov.PartialShape(list(shape)) if shape else ov.PartialShape([-1, -1])
    ids, mask, types = (ops.parameter(dims, ov.Type.i64, name=n) for n in in_names)
    emb = ops.gather(ops.constant(words), ids, 0)  # [B, L, H]
    length = ops.gather(ops.shape_of(ids), ops.constant(np.int64(1)), 0)
    steps = ops.range(np.int64(0), length, np.int64(1), "i64")
    pos = ops.gather(ops.constant(positions), steps, 0)  # [L, H]
    seg = ops.multiply(ops.unsqueeze(ops.convert(types, "f32"), np.int64(-1)), ops.constant(segment))
    m = ops.unsqueeze(ops.convert(mask, "f32"), np.int64(-1))  # [B, L, 1]
    total = ops.reduce_sum(ops.multiply(emb, m), np.int64(1), True)
    count = ops.maximum(ops.reduce_sum(m, np.int64(1), True), ops.constant(np.float32(1)))
    hidden = ops.tanh(ops.add(ops.add(ops.add(emb, pos), seg), ops.divide(total, count)))
    logits = ops.add(ops.matmul(hidden, ops.constant(head), False, False), ops.gather(ops.constant(bias), ids, 0))
    dropped = ops.multiply(ops.gather(ops.constant(drop), ids, 0), ops.convert(mask, "f32"))
    present = ops.reduce_max(dropped, np.int64(1), True)  # [B, 1]
    at_cls = ops.unsqueeze(ops.gather(ops.constant(first), steps, 0), np.int64(0))  # [1, L]
    logits = ops.subtract(logits, ops.unsqueeze(ops.multiply(present, at_cls), np.int64(-1)))
    start, end = ops.split(logits, np.int64(2), 2).outputs()
    results = []
    for out, name in zip((start, end), out_names):
        node = ops.squeeze(out, np.int64(2))
        node.output(0).get_tensor().set_names({name})
        results.append(ops.result(node))
    return ov.Model(results, [ids, mask, types], f"standin-{layout}")


def build_standin(
    folder: Path,
    boosts: dict[str, tuple[float, float]] | None = None,
    layout: str = "hf",
    squad_version: int | None = 1,
    static: tuple[int, int] | None = None,
    seed: int = 0,
    null_drop: dict[str, float] | None = None,
) -> Path:
    """Write a stand-in reader folder (model.xml/.bin, vocab.txt, and for "hf" a manifest) and return it."""
    assert VOCAB is not None, "no vocab.txt to build stand-ins from"
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab = vocabulary()
    model = standin_model(vocab, boosts, layout, static, seed, null_drop)
    ov.save_model(model, folder / "model.xml", compress_to_fp16=False)
    (folder / "vocab.txt").write_bytes(VOCAB.read_bytes())
    in_names, out_names, _, manifest = LAYOUTS[layout]
    if manifest:
        ModelManifest(
            name=folder.name,
            kind="reader",
            inputs=dict(zip(("input_ids", "attention_mask", "token_type_ids"), in_names)),
            outputs={"start": out_names[0], "end": out_names[1]},
            question_length=64,
            passage_length=384,
            squad_version=squad_version,
        ).save(folder)
    return folder
