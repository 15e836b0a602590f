"""Question answering: retrieve, read and rerank answers (the OpenBook pipeline)."""
