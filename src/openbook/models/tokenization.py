"""WordPiece tokenisation for BERT-style models, with character offsets into the original text."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer
from tokenizers.implementations import BertWordPieceTokenizer

from openbook.errors import OpenbookError

LENGTH_STEP = 8  # batch lengths are padded up to a multiple of this, so the runtime sees few distinct shapes


def padded_length(longest: int, limit: int, step: int = LENGTH_STEP) -> int:
    """The length to pad a batch whose longest row has ``longest`` tokens to: the next multiple of ``step``, at most
    ``limit``."""
    return min(-(-longest // step) * step, limit)


@dataclass(frozen=True)
class Batch:
    """Padded model inputs for a batch of sequences (int64 arrays of shape [batch, length])."""

    input_ids: np.ndarray
    attention_mask: np.ndarray
    token_type_ids: np.ndarray

    @property
    def lengths(self) -> np.ndarray:
        return self.attention_mask.sum(axis=1)


class WordPiece:
    """A lower-casing BERT WordPiece tokeniser built from a model's ``vocab.txt``.

    Text is normalised the BERT way (lower-case, accents stripped, control characters removed); offsets returned by
    :meth:`offsets` always point into the text as given, so spans map back exactly.
    """

    def __init__(self, vocab: str | Path, lowercase: bool = True) -> None:
        vocab = Path(vocab)
        if not vocab.is_file():
            raise OpenbookError(f"vocabulary not found: {vocab}")
        self._tok: Tokenizer = BertWordPieceTokenizer(str(vocab), lowercase=lowercase)
        self._tok.no_truncation()
        self._tok.no_padding()
        self.vocab_size = self._tok.get_vocab_size()
        self.cls_id = self._require("[CLS]")
        self.sep_id = self._require("[SEP]")
        self.pad_id = self._require("[PAD]")

    def _require(self, token: str) -> int:
        idx = self._tok.token_to_id(token)
        if idx is None:
            raise OpenbookError(f"vocabulary lacks the special token {token}")
        return idx

    def token_counts(self, texts: list[str]) -> list[int]:
        """Number of word pieces in each text, without special tokens."""
        encs = self._tok.encode_batch(texts, add_special_tokens=False)
        return [len(e.ids) for e in encs]

    def offsets(self, text: str) -> list[tuple[int, int]]:
        """Character span in ``text`` of each word piece (no special tokens)."""
        return list(self._tok.encode(text, add_special_tokens=False).offsets)

    def encode(self, texts: list[str], max_length: int, pad_to: int | None = None) -> Batch:
        """Encode ``[CLS] text [SEP]`` for each text, truncated to ``max_length``, padded to the longest (or ``pad_to``)."""
        return self.encode_ids(self.id_lists(texts), max_length, pad_to)

    def id_lists(self, texts: list[str]) -> list[list[int]]:
        """Word-piece ids of each text (no special tokens)."""
        return [e.ids for e in self._tok.encode_batch(texts, add_special_tokens=False)]

    def encode_ids(self, id_lists: list[list[int]], max_length: int, pad_to: int | None = None) -> Batch:
        """``[CLS] ids [SEP]`` for each id list, truncated to ``max_length`` and padded."""
        body = max_length - 2
        rows = [[self.cls_id, *ids[:body], self.sep_id] for ids in id_lists]
        return self._pad(rows, [None] * len(rows), pad_to)

    def encode_pairs(
        self, first: list[list[int]], second: list[list[int]], pad_to: int | None = None
    ) -> Batch:
        """Encode ``[CLS] a [SEP] b [SEP]`` from already-tokenised id lists (segment 1 for ``b``)."""
        rows, types = [], []
        for a, b in zip(first, second, strict=True):
            rows.append([self.cls_id, *a, self.sep_id, *b, self.sep_id])
            types.append(len(a) + 2)
        return self._pad(rows, types, pad_to)

    def ids(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        """Word-piece ids of ``text`` and their character offsets (no special tokens)."""
        enc = self._tok.encode(text, add_special_tokens=False)
        return list(enc.ids), list(enc.offsets)

    def ids_batch(self, texts: list[str]) -> list[tuple[list[int], list[tuple[int, int]]]]:
        return [(list(e.ids), list(e.offsets)) for e in self._tok.encode_batch(texts, add_special_tokens=False)]

    def _pad(self, rows: list[list[int]], first_segment: list[int | None], pad_to: int | None) -> Batch:
        length = pad_to or max(len(r) for r in rows)
        ids = np.full((len(rows), length), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(rows), length), dtype=np.int64)
        types = np.zeros((len(rows), length), dtype=np.int64)
        for i, (row, seg) in enumerate(zip(rows, first_segment)):
            ids[i, : len(row)] = row
            mask[i, : len(row)] = 1
            if seg is not None:
                types[i, seg : len(row)] = 1
        return Batch(ids, mask, types)
