"""openbook: semantic passage retrieval with extractive question answering, on your own machine."""

from openbook.errors import OpenbookError
from openbook.types import Document, Passage, SearchResult

__version__ = "0.1.0"

__all__ = [
    "Answer", "Document", "Embedder", "Fusion", "Index", "OpenBook", "OpenbookError", "Passage", "RankedAnswer",
    "Reader", "Retriever", "SearchResult", "Weights",
]

_LAZY = {  # heavy modules (OpenVINO, FAISS) load on first use, so `import openbook` stays quick
    "Answer": "openbook.reading.reader",
    "Embedder": "openbook.models.embedder",
    "Fusion": "openbook.retrieval.fusion",
    "Index": "openbook.index.folder",
    "OpenBook": "openbook.qa.pipeline",
    "RankedAnswer": "openbook.qa.pipeline",
    "Reader": "openbook.reading.reader",
    "Retriever": "openbook.retrieval.retriever",
    "Weights": "openbook.qa.rerank",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'openbook' has no attribute {name!r}")
