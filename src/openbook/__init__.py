"""openbook: semantic passage retrieval with extractive question answering, on your own machine."""

__version__ = "0.1.0"
