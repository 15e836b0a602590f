"""openbook: semantic passage retrieval with extractive question answering, on your own machine."""

from openbook.errors import OpenbookError
from openbook.types import Document, Passage, SearchResult

__version__ = "0.1.0"

__all__ = ["Document", "Embedder", "Index", "OpenbookError", "Passage", "Retriever", "SearchResult"]


def __getattr__(name: str):  # heavy modules load on first use, so `import openbook` stays quick
    if name == "Retriever":
        from openbook.retriever import Retriever

        return Retriever
    if name == "Embedder":
        from openbook.embedder import Embedder

        return Embedder
    if name == "Index":
        from openbook.index import Index

        return Index
    raise AttributeError(f"module 'openbook' has no attribute {name!r}")
