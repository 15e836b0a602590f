"""The behaviour every encoder (:class:`openbook.models.encoder.Encoder`) must show.

A test class inherits :class:`EncoderContract` and provides an ``encoder`` fixture; every test here then runs on it.
"""

from __future__ import annotations

import numpy as np
import pytest

from openbook.models.encoder import Encoder

PASSAGES = [
    "Honeybees perform a waggle dance to tell the hive where flowers with nectar are.",
    "The Eiffel Tower in Paris was finished in 1889 for the World's Fair.",
    "Penicillin was discovered by Alexander Fleming in 1928 from a mould.",
    "A short one.",
]
QUESTIONS = [
    "How do honeybees tell the hive where the flowers are?",
    "When was the Eiffel Tower in Paris finished?",
    "Who discovered penicillin?",
]


def similarity(encoder: Encoder, questions: np.ndarray, passages: np.ndarray) -> np.ndarray:
    """[questions, passages] similarity, higher is better, in the encoder's metric."""
    if (encoder.manifest.metric or "ip") == "l2":
        return -((questions[:, None, :] - passages[None, :, :]) ** 2).sum(-1)
    return questions @ passages.T


class EncoderContract:
    @pytest.fixture
    def encoder(self) -> Encoder:
        raise NotImplementedError

    def test_is_an_encoder_with_a_retriever_manifest(self, encoder):
        assert isinstance(encoder, Encoder)
        assert encoder.manifest.kind == "retriever"
        assert encoder.manifest.dimension == encoder.dimension > 0
        assert encoder.manifest.identity()["dimension"] == encoder.dimension

    def test_shapes_and_dtype(self, encoder):
        p = encoder.encode_passages(PASSAGES)
        q = encoder.encode_questions(QUESTIONS)
        assert p.shape == (len(PASSAGES), encoder.dimension) and p.dtype == np.float32
        assert q.shape == (len(QUESTIONS), encoder.dimension) and q.dtype == np.float32
        assert np.isfinite(p).all() and np.isfinite(q).all()

    def test_nothing_in_gives_no_rows(self, encoder):
        assert encoder.encode_passages([]).shape == (0, encoder.dimension)
        assert encoder.encode_questions([]).shape == (0, encoder.dimension)

    def test_a_row_does_not_depend_on_its_batch(self, encoder):
        batched = encoder.encode_passages(PASSAGES)
        alone = np.vstack([encoder.encode_passages([t]) for t in PASSAGES])
        np.testing.assert_allclose(batched, alone, rtol=1e-4, atol=1e-4)
        reordered = encoder.encode_passages(PASSAGES[::-1])[::-1]
        np.testing.assert_allclose(batched, reordered, rtol=1e-4, atol=1e-4)
        assert not np.allclose(batched[0], batched[1])

    def test_deterministic(self, encoder):
        np.testing.assert_array_equal(encoder.encode_questions(QUESTIONS), encoder.encode_questions(QUESTIONS))

    def test_progress_counts_every_passage(self, encoder):
        seen: list[int] = []
        encoder.encode_passages(PASSAGES, seen.append)
        assert sum(seen) == len(PASSAGES)

    def test_normalised_when_the_manifest_says_so(self, encoder):
        if not encoder.manifest.normalized:
            pytest.skip("the manifest does not promise unit vectors")
        norms = np.linalg.norm(encoder.encode_passages(PASSAGES), axis=1)
        np.testing.assert_allclose(norms, 1.0, rtol=1e-3)

    def test_each_question_finds_its_own_passage(self, encoder):
        scores = similarity(encoder, encoder.encode_questions(QUESTIONS), encoder.encode_passages(PASSAGES))
        assert scores.argmax(axis=1).tolist() == [0, 1, 2]
