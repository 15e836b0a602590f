"""Every encoder runs the shared contract: the shipped OpenVINO embedder and the deterministic test encoder."""

from __future__ import annotations

import pytest

from openbook.models.embedder import Embedder
from tests.conftest import DEFAULT_RETRIEVER
from tests.encoders import HashEncoder
from tests.models.encoder_contract import EncoderContract


@pytest.fixture(scope="module")
def default_embedder(vocab) -> Embedder:
    return Embedder(DEFAULT_RETRIEVER)


class TestOpenVinoEmbedder(EncoderContract):
    @pytest.fixture
    def encoder(self, default_embedder):
        return default_embedder


class TestHashEncoder(EncoderContract):
    @pytest.fixture
    def encoder(self):
        return HashEncoder(dimension=64)
