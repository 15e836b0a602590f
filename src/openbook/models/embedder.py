"""Text to vectors: tokenise, batch by length, run the embedding model, pool and normalise."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from openbook.errors import OpenbookError
from openbook.models.runtime import CompiledModel, probe_batch
from openbook.models.specs import describe
from openbook.models.tokenization import WordPiece, padded_length

DEFAULT_BATCH = 32


class Embedder:
    """Encodes questions (≤ ``question_length`` tokens) and passages (≤ ``passage_length``) into vectors."""

    def __init__(
        self,
        path: str | Path,
        batch_size: int = DEFAULT_BATCH,
        precision: str | None = None,
        reshape: bool | None = None,
    ) -> None:
        """Load the model folder (or file) at ``path``; ``precision`` and ``reshape`` as in :class:`CompiledModel`.

        A model of static shape encodes questions at [1, question_length] where its graph allows it, as the reference
        embedder's card asks ([1,32] questions, [1,384] passages), unless ``reshape`` is False: as declared, no reshape.
        """
        path = Path(path)
        self.folder = path if path.is_dir() else path.parent
        self.manifest = describe(path, "retriever")
        vocab = self.folder / self.manifest.vocab
        self.tokenizer = WordPiece(vocab, lowercase=self.manifest.lowercase)
        self.model = CompiledModel(
            self.folder / self.manifest.model_file, self.manifest.inputs or None, precision, reshape=reshape
        )
        self.output = self.manifest.outputs.get("embedding") or self.model.output_names[0]
        if self.output not in self.model.output_names:
            raise OpenbookError(
                f"model has no output {self.output!r} (its outputs: {', '.join(self.model.output_names)})"
            )
        self.batch_size = batch_size
        if self.model.max_length is not None and self.model.max_length < self.manifest.question_length:
            raise OpenbookError(
                f"model takes {self.model.max_length} tokens, fewer than a question's {self.manifest.question_length}"
            )
        self.question_model = self.model
        fed = self.model.shape  # a reshaped model is fed at dynamic shape: its questions need no model of their own
        if reshape is not False and fed.length is not None and fed.length > self.manifest.question_length:
            short = CompiledModel(
                self.model.path, self.model.inputs, precision, shape=(fed.batch or 1, self.manifest.question_length)
            )
            if short.reshaped:
                self.question_model = short
        if self.manifest.dimension is None:  # described from the file: learn the dimension from one vector
            self.manifest.dimension = int(self.encode_questions(["dimension probe"]).shape[1])

    @property
    def dimension(self) -> int:
        assert self.manifest.dimension is not None
        return self.manifest.dimension

    @property
    def metric(self) -> str:
        return self.manifest.metric or "ip"

    def _length(self, wanted: int) -> int:
        static = self.model.max_length
        return wanted if static is None else min(wanted, static)

    def encode_questions(self, questions: Sequence[str]) -> np.ndarray:
        return self.encode(questions, self._length(self.manifest.question_length), model=self.question_model)

    def warm_shapes(self) -> list[tuple[int, int]]:
        """The [rows, length] shapes one question is encoded at (a model of static shape has one)."""
        fed = self.question_model.shape
        longest = self._length(self.manifest.question_length)
        lengths = sorted({padded_length(n, longest) for n in range(1, longest + 1)})
        if fed.length is not None:
            lengths = [fed.length]
        return [(fed.batch or 1, n) for n in lengths]

    def warm(self, rows: int, length: int) -> None:
        """Encode one batch of this shape with the question model (its first run pays a one-off set-up)."""
        self.question_model.run(probe_batch(rows, length))

    def encode_passages(self, passages: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        return self.encode(passages, self._length(self.manifest.passage_length), progress)

    def encode(
        self,
        texts: Sequence[str],
        max_length: int,
        progress: Callable[[int], None] | None = None,
        model: CompiledModel | None = None,
    ) -> np.ndarray:
        """Vectors for ``texts`` in their order ([n, dimension] float32), batching texts of similar length, from
        ``model`` (default: the passage model)."""
        model = model or self.model
        if not texts:
            return np.zeros((0, self.manifest.dimension or 0), dtype=np.float32)
        ids = self.tokenizer.id_lists(list(texts))
        counts = [len(x) for x in ids]
        order = np.argsort(counts, kind="stable")
        out: np.ndarray | None = None
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            longest = min(max(counts[i] for i in idx) + 2, max_length)
            pad = padded_length(longest, max_length)
            batch = self.tokenizer.encode_ids([ids[i] for i in idx], max_length, pad_to=pad)
            vectors = self._pool(model.run(batch)[self.output], batch.attention_mask)
            if out is None:
                out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
            out[idx] = vectors
            if progress:
                progress(len(idx))
        assert out is not None
        return out

    def _pool(self, output: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if output.ndim == 3:  # token states: pool them here
            if self.manifest.pooling == "cls":
                output = output[:, 0]
            else:
                m = mask[:, : output.shape[1], None].astype(np.float32)
                output = (output * m).sum(1) / np.maximum(m.sum(1), 1e-9)
            if self.manifest.normalized:
                output = output / np.maximum(np.linalg.norm(output, axis=1, keepdims=True), 1e-12)
        return np.ascontiguousarray(output.reshape(output.shape[0], -1), dtype=np.float32)
