"""Model contracts: the reference models known by name, and any other model described from its own file.

A contract is a :class:`~openbook.models.manifest.ModelManifest`. Where it comes from, in order: a ``manifest.json`` beside the
model; a known reference model whose name the folder or file carries; otherwise what the IR/ONNX file says (its input
and output names and shapes), with BERT defaults for the rest.
"""

from __future__ import annotations

import copy
from pathlib import Path

from openbook.errors import OpenbookError
from openbook.models.manifest import MANIFEST, ModelManifest
from openbook.models.runtime import find_model_file

_OMZ_INPUTS = {"input_ids": "input_ids", "attention_mask": "attention_mask", "token_type_ids": "token_type_ids"}

KNOWN: dict[str, ModelManifest] = {
    m.name: m
    for m in (
        ModelManifest(
            name="bert-small-uncased-whole-word-masking-squad-0001",
            kind="reader",
            inputs=dict(_OMZ_INPUTS),
            outputs={"start": "output_s", "end": "output_e"},
            question_length=64,
            passage_length=384,
            squad_version=1,
            source="Open Model Zoo (SQuAD v1.1: EM 85.04, F1 91.57)",
        ),
        ModelManifest(
            name="bert-small-uncased-whole-word-masking-squad-emb-int8-0001",
            kind="retriever",
            inputs={**_OMZ_INPUTS, "position_ids": "position_ids"},
            outputs={"embedding": "embedding"},
            question_length=32,
            passage_length=384,
            dimension=1024,
            pooling="model",
            metric="l2",
            precision="int8",
            source="Open Model Zoo (SQuAD v1.1 top-5 retrieval 87.6%)",
        ),
        ModelManifest(
            name="bert-large-uncased-whole-word-masking-squad-int8-0001",
            kind="reader",
            inputs={},  # input_ids, input_mask, segment_ids (older releases: numbered, taken by position)
            outputs={},  # start then end, by position
            question_length=64,
            passage_length=384,
            precision="int8",
            squad_version=1,
            source="Open Model Zoo (SQuAD v1.1: EM 86.36, F1 92.60)",
        ),
        ModelManifest(
            name="bert-large-uncased-wwm-squadv2-x2.63-f82.6-d16-hybrid-v1",
            kind="reader",
            inputs=dict(_OMZ_INPUTS),
            outputs={"start": "start_logits", "end": "end_logits"},
            question_length=64,
            passage_length=384,
            squad_version=2,
            source="Hugging Face nn_pruning, fine-pruned on SQuAD v2 (EM 80.19, F1 83.22)",
        ),
        ModelManifest(
            name="bert-tiny-squad-int8",
            kind="reader",
            inputs={},
            outputs={},
            question_length=64,
            passage_length=384,
            precision="int8",
            squad_version=1,
            source="BERT tiny quantised to INT8 (SQuAD v1.1 F1 0.52)",
        ),
    )
}


def known(path: Path) -> ModelManifest | None:
    """The reference contract whose name the model's folder or file carries (the longest name wins)."""
    names = {path.name, path.stem, path.parent.name} if path.is_file() else {path.name}
    found = [m for key, m in KNOWN.items() for n in names if key in n]
    return copy.deepcopy(max(found, key=lambda m: len(m.name))) if found else None


def describe(path: str | Path, kind: str) -> ModelManifest:
    """The contract of the model at ``path`` (a model file or a folder holding one) for the role ``kind``."""
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    model_file = find_model_file(path)
    if (folder / MANIFEST).is_file():
        manifest = ModelManifest.load(folder)
    else:
        manifest = known(path) or ModelManifest(
            name=model_file.stem if path.is_file() else folder.name,
            kind=kind,
            inputs={},
            outputs={},
            question_length=32 if kind == "retriever" else 64,
            passage_length=384,
            pooling="mean",
            metric="ip",
        )
    if manifest.kind != kind:
        raise OpenbookError(f"{path} holds a {manifest.kind} model, not a {kind}")
    if path.is_file() or not (folder / manifest.model_file).is_file():
        manifest.model_file = model_file.name
    if not (folder / manifest.vocab).is_file():
        raise OpenbookError(f"{folder} has no {manifest.vocab} beside the model (the model's WordPiece vocabulary)")
    return manifest


def guess_kind(path: str | Path) -> str:
    """``reader`` or ``retriever``: from the manifest or known name, else from the number of outputs (2: a reader)."""
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    if (folder / MANIFEST).is_file():
        return ModelManifest.load(folder).kind
    spec = known(path)
    if spec is not None:
        return spec.kind
    from openbook.models.runtime import core

    model = core().read_model(find_model_file(path))
    return "reader" if len(model.outputs) == 2 else "retriever"


def signature(path: str | Path) -> dict[str, list[dict[str, str]]]:
    """The inputs and outputs the model file itself declares: names, element types and shapes."""
    from openbook.models.runtime import core

    model = core().read_model(find_model_file(Path(path)))
    return {
        side: [{"name": p.get_any_name(), "type": p.get_element_type().get_type_name(), "shape": str(p.get_partial_shape())}
               for p in ports]
        for side, ports in (("inputs", model.inputs), ("outputs", model.outputs))
    }
