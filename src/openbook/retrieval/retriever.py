"""Passage retrieval: documents in (split, encode, store), questions out by meaning (dense), words (lexical) or both.

The read side delegates to the searchers (:mod:`openbook.retrieval.search`, ``dense``, ``lexical``, ``fusion``);
hybrid search asks each side for a deeper candidate list (``depth``) than the ``k`` it returns and fuses the two.
Metadata filters (:mod:`openbook.index.filters`) restrict both sides before ranking. The embedding model is loaded on
first use: lexical search never loads it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from openbook.config import DEFAULT_RETRIEVER, resolve_model
from openbook.errors import OpenbookError
from openbook.index import filters
from openbook.index.filters import Filter
from openbook.index.folder import Index, model_mismatch
from openbook.index.names import resolve_index
from openbook.index.settings import IndexSettings
from openbook.index.vectors import check_kind
from openbook.ingest.splitting import split_document
from openbook.models.embedder import Embedder
from openbook.models.manifest import ModelManifest
from openbook.models.specs import describe
from openbook.retrieval.dense import DenseSearcher
from openbook.retrieval.fusion import DEFAULT_DEPTH, DEFAULT_FUSION, DEFAULT_MODE, Fusion, check_mode
from openbook.retrieval.indexer import (
    DEFAULT_PASSAGE_TOKENS,
    IndexReport,
    Indexer,
    check_passage_tokens,
    digest,
)
from openbook.retrieval.lexical import LexicalSearcher
from openbook.retrieval.search import Searcher, sides
from openbook.types import Document, Passage, SearchResult

Where = Filter | Mapping[str, Any] | Sequence[str] | str | None

DEFAULT_OVERLAP_TOKENS = 48
__all__ = ["DEFAULT_PASSAGE_TOKENS", "IndexReport", "Retriever", "digest"]


class Retriever:
    """Finds the passages of an index that answer a question: by the meaning of their embeddings (``dense``), by BM25
    over their words (``lexical``) or both fused (``hybrid``, the default).

    ``Retriever("docs")`` opens (or, on first ``add``, creates) ``indexes/docs`` with the default INT8 retriever (a
    ``str`` is an index name, checked; ``index_dir`` moves ``indexes/``; a ``Path`` is the index folder itself); an
    existing index is searched with the model that built it unless ``model`` is given, which must then match it.
    ``mode`` is the default for ``search``; ``fusion`` and ``depth`` say how hybrid search fuses its candidates.
    """

    def __init__(
        self,
        index: str | Path | None = None,
        model: str | Path | None = None,
        batch_size: int = 32,
        precision: str | None = None,
        mode: str = DEFAULT_MODE,
        fusion: Fusion = DEFAULT_FUSION,
        depth: int = DEFAULT_DEPTH,
        nprobe: int | None = None,
        index_dir: Path | None = None,
    ) -> None:
        self.mode = check_mode(mode)
        self.fusion = fusion
        self.depth = depth
        self.nprobe = nprobe  # cells searched by an ivf index (more: slower, closer to exact); None: the index's own
        self.index_path = resolve_index(index, index_dir)
        self._index: Index | None = None
        if (self.index_path / "index.json").is_file() or (self.index_path / "store.sqlite").is_file():
            self._index = Index.open(self.index_path)
            if model is None:  # search with the model that built the index
                model = self._index.model.get("path")
                if model is None or not Path(model).exists():
                    model = resolve_model(self._index.model.get("name"), DEFAULT_RETRIEVER)
        self.model_path = resolve_model(model, DEFAULT_RETRIEVER)
        self.batch_size = batch_size
        self.precision = precision
        self._embedder: Embedder | None = None
        self._described = describe(self.model_path, "retriever")  # the contract alone: no model compiled yet
        self._check_model(self._described)

    def _check_model(self, manifest: ModelManifest) -> None:
        if self._index is not None:
            why = model_mismatch(self._index.model, manifest)
            if why:
                raise OpenbookError(f"index {self._index.name} cannot be searched with this model: {why}")

    @property
    def embedder(self) -> Embedder:
        """The embedding model, loaded and compiled on first use (lexical search never uses it)."""
        if self._embedder is None:
            embedder = Embedder(self.model_path, batch_size=self.batch_size, precision=self.precision)
            self._check_model(embedder.manifest)  # a model described from its file knows its dimension only now
            self._embedder = embedder
        return self._embedder

    @property
    def manifest(self) -> ModelManifest:
        """The model's contract (the loaded model's once loaded: a model described from its file learns its
        dimension then)."""
        return self._embedder.manifest if self._embedder is not None else self._described


    @property
    def index(self) -> Index:
        if self._index is None:
            self._index = Index.open(self.index_path, self.manifest)
        self._index.nprobe = self.nprobe
        self._index.refresh()  # replay what writers committed since the last search
        return self._index

    def encode_questions(self, questions: Sequence[str]) -> np.ndarray:
        return self.embedder.encode_questions(questions)

    def encode_passages(self, passages: Sequence[str | Passage], progress: Callable[[int], None] | None = None) -> np.ndarray:
        texts = [p.text if isinstance(p, Passage) else p for p in passages]
        return self.embedder.encode_passages(texts, progress)

    def split(self, doc: Document, passage_tokens: int = DEFAULT_PASSAGE_TOKENS) -> list[Passage]:
        limit = min(passage_tokens, self.manifest.passage_length - 2)
        return split_document(doc, self.embedder.tokenizer, max_tokens=limit, overlap_tokens=DEFAULT_OVERLAP_TOKENS)

    def add(
        self,
        documents: Iterable[Document],
        passage_tokens: int | None = None,
        progress: Callable[[str, int, int], None] | None = None,
        index_type: str | None = None,
    ) -> IndexReport:
        """Index ``documents``: new ones are added, changed ones replaced, unchanged ones skipped.

        Streams: documents are split and encoded in batches committed every few thousand passages; a run stopped by
        Ctrl-C (:class:`openbook.retrieval.indexer.Interrupted`) or a kill keeps its commits and the next run goes on
        from them. ``index_type`` (auto, flat, ivf or a FAISS ``index_factory`` string) sets the vector index type
        from this write on; auto switches to ivf from :data:`openbook.index.vectors.IVF_THRESHOLD` vectors."""
        passage_tokens = check_passage_tokens(passage_tokens, self.manifest.passage_length - 2)
        if index_type is not None:
            check_kind(index_type, self.embedder.dimension)
        indexer = Indexer(self._writable(passage_tokens), self.split, self.encode_passages, progress)
        return indexer.add(documents, passage_tokens, index_type)

    def add_encoded(self, items: Iterable[tuple[Document, list[Passage], np.ndarray]], model: dict) -> IndexReport:
        """Index documents already split and encoded elsewhere (vectors row-aligned with passages); ``model`` is the
        identity (:meth:`ModelManifest.identity`) of the model that made the vectors; refused when not the index's."""
        why = model_mismatch(self.manifest.identity(), model)
        if why:
            raise OpenbookError(f"these vectors cannot go into an index of this retriever: {why}")
        return Indexer(self._writable(None)).add_encoded(items, model)

    def remove(self, doc_ids: Iterable[str]) -> int:
        """Remove documents by id; returns the number of passages removed (unknown ids are ignored)."""
        self.last_report = Indexer(self.index).remove(doc_ids)
        return self.last_report.passages_removed

    def documents(self, where: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """The indexed documents (id, title, source, passages, metadata, indexed_at), by id; ``where`` keeps those
        whose id, title or source contains it."""
        if self._index is None:
            return []
        return self.index.store.documents(where, limit)

    def _writable(self, passage_tokens: int | None) -> Index:
        if self._index is None:
            settings = IndexSettings(passage_tokens=passage_tokens or DEFAULT_PASSAGE_TOKENS)
            self._index = Index.create(self.index_path, self.embedder.manifest, self.model_path, settings)
        return self._index

    def search(self, question: str, k: int = 5, mode: str | None = None, where: Where = None) -> list[SearchResult]:
        """Top-``k`` passages for ``question``, best first; see :meth:`search_many`."""
        return self.search_many([question], k, mode, where)[0]

    def search_many(
        self, questions: Sequence[str], k: int = 5, mode: str | None = None, where: Where = None
    ) -> list[list[SearchResult]]:
        """Top-``k`` passages for each question, best first, by ``mode`` (default: the retriever's), among the passages
        whose metadata passes ``where`` (a :class:`~openbook.index.filters.Filter`, a Haystack-style dict or clauses
        like ``["year>=2020"]``), filtered before ranking: ``k`` results whenever ``k`` such passages match."""
        mode = check_mode(mode or self.mode)
        wanted = filters.as_filter(where)
        index = self.index
        if index.count_passages() == 0:
            raise OpenbookError(f"index {index.name} is empty (add documents with: openbook index PATH)")
        if "lexical" in sides(mode) and not index.store.has_lexical:
            raise OpenbookError(
                f"index {index.name} has no lexical index (it was written before lexical search); "
                f"run `openbook index` on it once to build one, or search with --mode dense"
            )
        allowed = wanted.passage_ids(index.store.conn) if wanted is not None else None
        used = sides(mode)  # lexical search never loads the vectors (nor FAISS)
        searcher = Searcher(
            DenseSearcher(index.vectors, self.encode_questions) if "dense" in used else None,
            LexicalSearcher(index.store.conn) if "lexical" in used else None,
            self.fusion,
            self.depth,
        )
        fused = searcher.search(questions, k, mode, allowed)
        ids = [f.id for row in fused for f in row[: 2 * k]]
        found = index.store.passages(ids)  # with metadata: the document's merged with the passage's own
        results = []
        for row in fused:
            kept = [f for f in row if f.id in found][:k]
            results.append(
                [SearchResult(found[f.id], f.score, rank, f.ranks, f.scores) for rank, f in enumerate(kept, start=1)]
            )
        return results
