"""Dense passage retrieval: documents in (split, encode, store), questions out (encode, search, fetch)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from openbook.embedder import Embedder
from openbook.errors import OpenbookError
from openbook.index import Index, model_mismatch
from openbook.manifest import ModelManifest
from openbook.paths import DEFAULT_RETRIEVER, resolve_index, resolve_model
from openbook.splitting import split_document
from openbook.types import Document, Passage, SearchResult

DEFAULT_PASSAGE_TOKENS = 256
DEFAULT_OVERLAP_TOKENS = 48


@dataclass
class IndexReport:
    """What one ``add`` did."""

    documents_added: int = 0
    documents_updated: int = 0
    documents_unchanged: int = 0
    passages_added: int = 0
    passages_removed: int = 0
    seconds: float = 0.0


def digest(doc: Document, passage_tokens: int) -> str:
    """Content hash of a document as indexed (its text, title and the split that applies)."""
    h = hashlib.sha256()
    for part in (doc.title, "\x00", doc.text, "\x00", str(passage_tokens)):
        h.update(part.encode("utf-8"))
    return h.hexdigest()


class Retriever:
    """Finds the passages of an index that answer a question, by the meaning of their embeddings.

    ``Retriever("docs")`` opens (or, on first ``add``, creates) ``indexes/docs`` with the default INT8 retriever; an
    existing index is searched with the model that built it unless ``model`` is given, which must then match it.
    """

    def __init__(
        self,
        index: str | Path | None = None,
        model: str | Path | None = None,
        batch_size: int = 32,
        precision: str | None = None,
    ) -> None:
        self.index_path = resolve_index(index)
        self._index: Index | None = None
        if (self.index_path / "index.json").is_file():
            self._index = Index.open(self.index_path)
            if model is None:  # search with the model that built the index
                model = self._index.model.get("path")
                if model is None or not Path(model).exists():
                    model = resolve_model(self._index.model.get("name"), DEFAULT_RETRIEVER)
        self.model_path = resolve_model(model, DEFAULT_RETRIEVER)
        self.embedder = Embedder(self.model_path, batch_size=batch_size, precision=precision)
        if self._index is not None:
            why = model_mismatch(self._index.model, self.manifest)
            if why:
                raise OpenbookError(f"index {self._index.name} cannot be searched with this model: {why}")

    @property
    def manifest(self) -> ModelManifest:
        return self.embedder.manifest

    @property
    def index(self) -> Index:
        if self._index is None:
            self._index = Index.open(self.index_path, self.manifest)
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
        documents: Sequence[Document],
        passage_tokens: int | None = None,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> IndexReport:
        """Index ``documents``: new ones are added, changed ones replaced, unchanged ones skipped. Atomic."""
        start = time.perf_counter()
        if self._index is None:
            settings = {"passage_tokens": passage_tokens or DEFAULT_PASSAGE_TOKENS}
            self._index = Index.create(self.index_path, self.manifest, self.model_path, settings)
        index = self._index
        report = IndexReport()
        with index.transaction(self.embedder.dimension) as tx:
            tokens = passage_tokens or int(tx.settings.get("passage_tokens", DEFAULT_PASSAGE_TOKENS))
            todo: list[tuple[Document, str, list[Passage]]] = []
            replaced: list[str] = []
            for n, doc in enumerate(documents):
                key = digest(doc, tokens)
                known = tx.store.document_hash(doc.id)
                if known == key:
                    report.documents_unchanged += 1
                    continue
                if known is None:
                    report.documents_added += 1
                else:
                    report.documents_updated += 1
                    replaced.append(doc.id)
                todo.append((doc, key, self.split(doc, tokens)))
                if progress:
                    progress("split", n + 1, len(documents))
            passages = [p for _, _, ps in todo for p in ps]
            tx.discard = not todo and tokens == tx.settings.get("passage_tokens")
            done = 0

            def step(count: int) -> None:
                nonlocal done
                done += count
                if progress:
                    progress("encode", done, len(passages))

            vectors = self.encode_passages(passages, step) if passages else None
            with tx.store.conn:
                removed = tx.store.delete_documents(replaced)
                tx.vectors.remove(removed)
                ids: list[int] = []
                for doc, key, ps in todo:
                    ids += tx.store.add_document(doc, key, ps)
                if vectors is not None:
                    tx.vectors.add(ids, vectors)
            tx.settings["passage_tokens"] = tokens
            report.passages_added = len(passages)
            report.passages_removed = len(removed)
        report.seconds = time.perf_counter() - start
        return report

    def search(self, question: str, k: int = 5) -> list[SearchResult]:
        return self.search_many([question], k)[0]

    def search_many(self, questions: Sequence[str], k: int = 5) -> list[list[SearchResult]]:
        """Top-``k`` passages for each question, best first."""
        index = self.index
        if index.vectors is None or index.store is None or len(index.vectors) == 0:
            raise OpenbookError(f"index {index.name} is empty (add documents with: openbook index PATH)")
        scores, ids = index.vectors.search(self.encode_questions(questions), k)
        found = index.store.passages([i for row in ids for i in row if i >= 0])
        return [
            [
                SearchResult(found[i], float(s), rank)
                for rank, (s, i) in enumerate(((s, i) for s, i in zip(srow, irow) if i in found), start=1)
            ]
            for srow, irow in zip(scores, ids)
        ]
