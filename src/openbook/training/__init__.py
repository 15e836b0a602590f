"""Training: readers and retrievers from SQuAD-format data, distillation, no-answer readers (the ``train`` extra).

- :mod:`openbook.training.data`: examples from SQuAD v1.1/v2.0 files or JSONL over an index, wrong-passage negatives,
  article splits, windows labelled as the reader reads them;
- :mod:`openbook.training.loop`: device and precision choice, the optimiser and schedule, progress, checkpoints
  and resume;
- :mod:`openbook.training.reader` / :mod:`openbook.training.retriever`: the two recipes, each ending in a Hugging Face
  checkpoint built to INT8 OpenVINO IR with its manifest;
- :mod:`openbook.training.distill`: a teacher's start/end logits aligned to the student's tokens by characters.

The runtime never imports this package.
"""
