"""Index: the passage store, the lexical (BM25) index and the vector index, and the folder that commits them together."""
