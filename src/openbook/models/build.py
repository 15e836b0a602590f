"""Build the embedded default models: a Hugging Face BERT checkpoint to INT8 OpenVINO IR with its manifest.

Needs the ``build`` extra (torch, transformers, nncf); the runtime never imports this module.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np

from openbook.models.manifest import ModelManifest
from openbook.models.tokenization import WordPiece

QUESTION_LENGTH = 32
PASSAGE_LENGTH = 384
ATTENTION = "sdpa"  # exported as OpenVINO ScaledDotProductAttention


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def squad_samples(path: Path, seed: int = 0) -> tuple[list[str], list[str], list[tuple[str, str]]]:
    """Paragraphs, questions and (question, paragraph) pairs of a SQuAD file, shuffled with ``seed``."""
    from openbook.ingest.squad import parse_squad

    paragraphs, questions, pairs = [], [], []
    for _, _, _, para in parse_squad(path).paragraphs():
        paragraphs.append(para.context)
        for qa in para.questions:
            questions.append(qa.question)
            pairs.append((qa.question, para.context))
    rng = random.Random(seed)
    for items in (paragraphs, questions, pairs):
        rng.shuffle(items)
    return paragraphs, questions, pairs


def _export(module, example: dict[str, np.ndarray], out_names: list[str]):
    """Trace a torch module to an OpenVINO model with dynamic [batch, length] int64 inputs."""
    import openvino as ov
    import torch

    names = list(example)
    model = ov.convert_model(
        module,
        example_input={k: torch.from_numpy(v) for k, v in example.items()},
        input=[(name, ov.PartialShape([-1, -1]), ov.Type.i64) for name in names],
    )
    for output, name in zip(model.outputs, out_names, strict=True):
        output.get_tensor().set_names({name})
    return model


def _quantize(model, samples: list[dict[str, np.ndarray]]):
    import nncf

    return nncf.quantize(
        model,
        nncf.Dataset(samples),
        model_type=nncf.ModelType.TRANSFORMER,
        subset_size=len(samples),
    )


def _save(model, checkpoint: Path, out: Path, manifest: ModelManifest) -> None:
    import openvino as ov

    out.mkdir(parents=True, exist_ok=True)
    ov.save_model(model, out / "model.xml", compress_to_fp16=False)
    shutil.copyfile(checkpoint / "vocab.txt", out / "vocab.txt")
    manifest.save(out)


def build_retriever(
    checkpoint: Path,
    out: Path,
    calibration: Path,
    samples: int = 300,
    int8: bool = True,
    log: Callable[[str], None] = print,
) -> ModelManifest:
    """Convert a mean-pooled, L2-normalised bi-encoder checkpoint; pooling and normalisation go into the graph."""
    import torch
    from transformers import BertModel

    class Encoder(torch.nn.Module):
        def __init__(self, bert) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=-1)

    log(f"loading {checkpoint}")
    bert = BertModel.from_pretrained(checkpoint, torch_dtype=torch.float32, add_pooling_layer=False, attn_implementation=ATTENTION).eval()
    tok = WordPiece(checkpoint / "vocab.txt")
    example = _as_dict(tok.encode(["an example passage"], PASSAGE_LENGTH))
    with torch.no_grad():
        model = _export(Encoder(bert).eval(), example, ["embedding"])
    if int8:
        paragraphs, questions, _ = squad_samples(calibration)
        half = samples // 2
        calib = [_as_dict(tok.encode([p], PASSAGE_LENGTH)) for p in paragraphs[: samples - half]]
        calib += [_as_dict(tok.encode([q], QUESTION_LENGTH)) for q in questions[:half]]
        log(f"quantising to INT8 on {len(calib)} passages and questions from {calibration.name}")
        model = _quantize(model, calib)
    manifest = ModelManifest(
        name=out.name,
        kind="retriever",
        inputs={"input_ids": "input_ids", "attention_mask": "attention_mask", "token_type_ids": "token_type_ids"},
        outputs={"embedding": "embedding"},
        question_length=QUESTION_LENGTH,
        passage_length=PASSAGE_LENGTH,
        dimension=int(bert.config.hidden_size),
        pooling="mean (in graph)",
        normalized=True,
        metric="ip",
        lowercase=True,
        precision="int8" if int8 else "fp32",
        source=checkpoint.name,
        source_sha256=sha256(checkpoint / "model.safetensors"),
    )
    _save(model, checkpoint, out, manifest)
    return manifest


def build_reader(
    checkpoint: Path,
    out: Path,
    calibration: Path,
    samples: int = 300,
    int8: bool = True,
    log: Callable[[str], None] = print,
    squad_version: int = 1,
) -> ModelManifest:
    """Convert an extractive QA checkpoint (start and end logits); ``squad_version`` 2 marks a no-answer reader."""
    import torch
    from transformers import BertForQuestionAnswering

    class QA(torch.nn.Module):
        def __init__(self, bert) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            out = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return out.start_logits, out.end_logits

    log(f"loading {checkpoint}")
    bert = BertForQuestionAnswering.from_pretrained(checkpoint, torch_dtype=torch.float32, attn_implementation=ATTENTION).eval()
    tok = WordPiece(checkpoint / "vocab.txt")
    q, p = tok.ids("what is this?")[0], tok.ids("an example passage")[0]
    example = _as_dict(tok.encode_pairs([q], [p]))
    with torch.no_grad():
        model = _export(QA(bert).eval(), example, ["start_logits", "end_logits"])
    if int8:
        _, _, pairs = squad_samples(calibration)
        calib = []
        for question, context in pairs[:samples]:
            qi = tok.ids(question)[0][:64]
            ci = tok.ids(context)[0][: PASSAGE_LENGTH - len(qi) - 3]
            calib.append(_as_dict(tok.encode_pairs([qi], [ci])))
        log(f"quantising to INT8 on {len(calib)} question-passage pairs from {calibration.name}")
        model = _quantize(model, calib)
    manifest = ModelManifest(
        name=out.name,
        kind="reader",
        inputs={"input_ids": "input_ids", "attention_mask": "attention_mask", "token_type_ids": "token_type_ids"},
        outputs={"start": "start_logits", "end": "end_logits"},
        question_length=64,
        passage_length=PASSAGE_LENGTH,
        dimension=None,
        pooling=None,
        normalized=False,
        metric=None,
        lowercase=True,
        precision="int8" if int8 else "fp32",
        source=checkpoint.name,
        source_sha256=sha256(checkpoint / "model.safetensors"),
        squad_version=squad_version,
    )
    _save(model, checkpoint, out, manifest)
    return manifest


def _as_dict(batch) -> dict[str, np.ndarray]:
    return {
        "input_ids": batch.input_ids,
        "attention_mask": batch.attention_mask,
        "token_type_ids": batch.token_type_ids,
    }
