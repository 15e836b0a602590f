"""Retrieval: writing documents into an index, and finding the passages that answer a question (dense, lexical, fused)."""
