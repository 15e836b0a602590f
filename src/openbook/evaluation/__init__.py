"""Evaluation on SQuAD-format files: retrieval recall, reader and open-book QA accuracy."""
