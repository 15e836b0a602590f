"""Shared fixtures: the committed default models, SQuAD data from ../shared, stand-in models and temporary indexes."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "models"
SHARED = ROOT.parent / "shared"
DEFAULT_RETRIEVER = MODELS / "retriever-minilm-squad11-int8"
DEFAULT_READER = MODELS / "reader-minilm-squad11-int8"
SQUAD_DEV = SHARED / "data" / "squad" / "dev-v1.1.json"


@pytest.fixture(scope="session")
def vocab() -> Path:
    path = DEFAULT_RETRIEVER / "vocab.txt"
    if not path.is_file():
        pytest.skip(f"default retriever not built: {path} missing (run: make models)")
    return path


@pytest.fixture(scope="session")
def squad_dev() -> Path:
    if not SQUAD_DEV.is_file():
        pytest.skip(f"SQuAD dev set not found at {SQUAD_DEV} (../shared/data is absent)")
    return SQUAD_DEV


@pytest.fixture(scope="session")
def _model_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(autouse=True)
def _isolated_indexes(tmp_path, monkeypatch, _model_cache):
    """Every test writes indexes under its own temporary folder, never the checkout's indexes/, keeps compiled models
    in the session's own cache, never the user's, and runs models with the runtime's defaults whatever the
    environment sets."""
    monkeypatch.setenv("OPENBOOK_INDEXES", str(tmp_path / "indexes"))
    monkeypatch.setenv("OPENBOOK_MODEL_CACHE", str(_model_cache))
    for knob in ("OPENBOOK_RESHAPE", "OPENBOOK_PRECISION", "OPENBOOK_HINT", "OPENBOOK_THREADS"):
        monkeypatch.delenv(knob, raising=False)


@pytest.fixture(scope="session")
def standin_dir(tmp_path_factory, vocab) -> Path:
    """Stand-in embedders: dynamic IR, static [1,384] IR with position_ids, ONNX."""
    from tests.standins import build_embedder_ir, build_embedder_onnx

    root = tmp_path_factory.mktemp("standins")
    build_embedder_ir(root / "dynamic", vocab)
    build_embedder_ir(
        root / "static",
        vocab,
        shape=(1, 384),
        names={
            "input_ids": "input_ids",
            "attention_mask": "attention_mask",
            "token_type_ids": "token_type_ids",
            "position_ids": "position_ids",
        },
        dim=96,
    )
    build_embedder_onnx(root / "onnx", vocab)
    return root
