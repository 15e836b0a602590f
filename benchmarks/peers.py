"""openbook against Haystack and txtai: the same two checkpoints, the same SQuAD v1.1 dev paragraphs, the same questions.

Each system indexes all 2,067 dev paragraphs (timed: index build), then answers the same sample of dev questions,
asked in rotation (question by question, every system in turn, the first system changing each question), so that the
load of a shared machine falls on every system alike: ask p50/p95 (retrieve the top 5, read them, answer) and EM/F1 of
the top answer (official SQuAD normalisation).

- openbook: the INT8 OpenVINO models built from the checkpoints (the defaults): hybrid retrieval read as ``ask`` reads
  by default (the reading cascade), hybrid reading all five passages (``--read-all``), and dense retrieval.
- Haystack: ``SentenceTransformersDocumentEmbedder``/``TextEmbedder`` over the retriever checkpoint (mean pooling, L2
  normalisation), ``InMemoryDocumentStore`` (dot product), ``InMemoryEmbeddingRetriever`` and
  ``TransformersExtractiveReader`` over the reader checkpoint, in one ``Pipeline``; PyTorch float32.
- txtai: ``Embeddings`` (mean pooling, normalised) over the retriever checkpoint with content storage, and its ``RAG``
  pipeline with the reader checkpoint, which loads txtai's extractive ``Questions`` pipeline; PyTorch float32.

Same k (5), same 384-token windows, 2 threads everywhere. The 128 "stride" does not mean the same everywhere: openbook
starts a window 128 passage tokens after the previous one (BERT's ``doc_stride``), Haystack's windows overlap by 128
tokens (Hugging Face's ``stride``); txtai's ``Questions`` reads one window, the five passages joined and cut at 384.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python benchmarks/peers.py --squad ../shared/data/squad/dev-v1.1.json --questions 300

Writes benchmarks/results/peers.json.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

THREADS = 2
os.environ.setdefault("OPENBOOK_THREADS", str(THREADS))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402
from common import SHARED, latency_summary, machine, versions, write_result  # noqa: E402

from openbook.evaluation.squad import exact_match, f1, load_squad  # noqa: E402
from openbook.ingest.loaders import read_squad  # noqa: E402
from openbook.types import Document  # noqa: E402

K = 5
MAX_LENGTH = 384
STRIDE = 128
READER = SHARED / "models" / "reader-minilm-squad11"
RETRIEVER = SHARED / "models" / "retriever-minilm-squad11"

Ask = Callable[[str], str]  # question -> the top answer's text
TXTAI_FAILURES: list[list[str]] = []  # questions txtai's Questions pipeline raised on (counted as no answer)


def openbook_system(docs: list[Document], folder: Path, mode: str, read_all: bool = False) -> tuple[float, Ask]:
    """openbook's default INT8 models: build an index of ``docs`` under ``folder``; ask in ``mode``, reading as
    ``OpenBook`` does by default (the reading cascade where one is tuned) or, with ``read_all``, all ``K`` passages."""
    from openbook.qa.pipeline import OpenBook
    from openbook.retrieval.retriever import Retriever

    began = time.perf_counter()
    retriever = Retriever(folder, mode=mode)
    retriever.add(docs, passage_tokens=retriever.manifest.passage_length - 2)
    built = time.perf_counter() - began
    book = OpenBook(retriever=retriever, k=K, read_all=read_all)
    book.warm_up()  # every batch shape a question meets, as `openbook serve` runs them at start (not in `built`)

    def ask(question: str) -> str:
        answers = book.ask(question)
        return answers[0].text if answers else ""

    return built, ask


def _float32(model) -> None:
    """The checkpoints are stored in float16: run the peers in float32, as their CPU defaults do."""
    import torch

    if next(model.parameters()).dtype != torch.float32:
        model.float()
    model.eval()


def haystack_system(docs: list[Document]) -> tuple[float, Ask]:
    """Haystack 2.x+ components in one pipeline: embed the question, retrieve the top k, read them."""
    import torch
    from haystack import Document as HDocument
    from haystack import Pipeline
    from haystack.components.retrievers.in_memory import InMemoryEmbeddingRetriever
    from haystack.document_stores.in_memory import InMemoryDocumentStore
    from haystack_integrations.components.embedders.sentence_transformers import (
        SentenceTransformersDocumentEmbedder,
        SentenceTransformersTextEmbedder,
    )
    from haystack_integrations.components.readers.transformers import TransformersExtractiveReader

    settings = {
        "model": str(RETRIEVER),
        "normalize_embeddings": True,
        "progress_bar": False,
        "local_files_only": True,
        "model_kwargs": {"dtype": torch.float32},
        "tokenizer_kwargs": {"model_max_length": MAX_LENGTH},
    }
    began = time.perf_counter()
    store = InMemoryDocumentStore(embedding_similarity_function="dot_product")
    embedder = SentenceTransformersDocumentEmbedder(batch_size=32, **settings)
    embedder.warm_up()
    _float32(embedder.embedding_backend.model)
    embedded = embedder.run([HDocument(id=d.id, content=d.text, meta={"title": d.title}) for d in docs])["documents"]
    store.write_documents(embedded)
    built = time.perf_counter() - began

    text_embedder = SentenceTransformersTextEmbedder(**settings)
    reader = TransformersExtractiveReader(
        model=str(READER),
        top_k=1,
        max_seq_length=MAX_LENGTH,
        stride=STRIDE,
        no_answer=False,
        model_kwargs={"dtype": torch.float32},
    )
    pipe = Pipeline()
    pipe.add_component("embedder", text_embedder)
    pipe.add_component("retriever", InMemoryEmbeddingRetriever(document_store=store, top_k=K))
    pipe.add_component("reader", reader)
    pipe.connect("embedder.embedding", "retriever.query_embedding")
    pipe.connect("retriever.documents", "reader.documents")
    pipe.warm_up()
    _float32(text_embedder.embedding_backend.model)
    _float32(reader.model)

    def ask(question: str) -> str:
        out = pipe.run({"embedder": {"text": question}, "reader": {"query": question}})
        answers = [a for a in out["reader"]["answers"] if a.data]
        return answers[0].data if answers else ""

    return built, ask


def txtai_system(docs: list[Document]) -> tuple[float, Ask]:
    """txtai: Embeddings with content over the retriever checkpoint; RAG with an extractive QA model as its reader."""
    from txtai import Embeddings
    from txtai.pipeline import RAG

    began = time.perf_counter()
    embeddings = Embeddings(path=str(RETRIEVER), method="meanpooling", maxlength=MAX_LENGTH, content=True)
    _float32(embeddings.model.model.model)
    embeddings.index([(d.id, d.text, None) for d in docs])
    built = time.perf_counter() - began

    failures: list[str] = []
    TXTAI_FAILURES.append(failures)
    rag = RAG(embeddings, str(READER), task="question-answering", context=K, output="flatten")
    _float32(rag.model.model)
    rag.model.tokenizer.model_max_length = MAX_LENGTH

    def ask(question: str) -> str:
        try:
            return rag(question) or ""
        except TypeError:  # Questions maps its argmax start/end to words; [CLS] or a question token has none
            failures.append(question)
            return ""

    return built, ask


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=Path, default=SHARED / "data" / "squad" / "dev-v1.1.json")
    parser.add_argument("--questions", type=int, default=300, help="dev questions asked (a seeded sample)")
    parser.add_argument("--systems", default="openbook-hybrid,openbook-hybrid-read-all,openbook-dense,haystack,txtai")
    parser.add_argument("--paragraphs", type=int, default=None, help="only the first N paragraphs (a quick check)")
    parser.add_argument("--out", default="peers", help="writes benchmarks/results/OUT.json")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(THREADS)
    docs = read_squad(args.squad)[: args.paragraphs]
    texts = {d.text for d in docs}
    sample = [q for q in load_squad(args.squad) if q.context in texts]
    random.Random(0).shuffle(sample)
    sample = sample[: args.questions]
    names = args.systems.split(",")
    systems: dict[str, Ask] = {}
    build: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="openbook-peers-") as tmp:
        for name in names:
            print(f"building {name} ...", flush=True)
            if name.startswith("openbook-"):  # one index serves every mode: built once, timed once
                built = next((build[n] for n in build if n.startswith("openbook-")), None)
                mode = name.removeprefix("openbook-").removesuffix("-read-all")
                build[name], systems[name] = openbook_system(
                    docs, Path(tmp) / "openbook", mode, read_all=name.endswith("-read-all")
                )
                build[name] = built or build[name]
            elif name == "haystack":
                build[name], systems[name] = haystack_system(docs)
            elif name == "txtai":
                build[name], systems[name] = txtai_system(docs)
            else:
                raise SystemExit(f"unknown system {name!r}")
            print(f"  {build[name]:.1f} s", flush=True)
        for q in sample[:5]:  # warm up
            for ask in systems.values():
                ask(q.question)
        host = machine()
        latencies: dict[str, list[float]] = {n: [] for n in names}
        answers: dict[str, list[str]] = {n: [] for n in names}
        for i, q in enumerate(sample):
            turn = names[i % len(names) :] + names[: i % len(names)]  # the first system changes every question
            for name in turn:
                began = time.perf_counter()
                text = systems[name](q.question)
                latencies[name].append(1000 * (time.perf_counter() - began))
                answers[name].append(text)
            if (i + 1) % 25 == 0 or i + 1 == len(sample):
                print(f"{i + 1}/{len(sample)} questions", flush=True)
                report(args, host, docs, sample[: i + 1], names, build, latencies, answers)


def report(args, host, docs, sample, names, build, latencies, answers) -> None:
    """Write benchmarks/results/peers.json from the questions asked so far."""
    rows = {}
    for name in names:
        golds = [q.answers for q in sample]
        rows[name] = {
            "index_build_seconds": round(build[name], 1),
            **latency_summary(latencies[name], 1),
            "mean_ms": round(statistics.fmean(latencies[name]), 1),
            "exact_match": round(100 * float(np.mean([exact_match(a, g) for a, g in zip(answers[name], golds)])), 2),
            "f1": round(100 * float(np.mean([f1(a, g) for a, g in zip(answers[name], golds)])), 2),
        }
    result = {
        "machine": host,
        "load_average_at_last_write": [round(x, 2) for x in os.getloadavg()],
        "versions": versions(
            "openbook", "openvino", "faiss-cpu", "torch", "transformers", "sentence-transformers", "haystack-ai",
            "transformers-haystack", "sentence-transformers-haystack", "txtai",
        ),
        "threads": THREADS,
        "k": K,
        "max_length": MAX_LENGTH,
        "stride": STRIDE,
        "paragraphs": len(docs),
        "questions": len(sample),
        "question_sample": "SQuAD v1.1 dev, shuffled with random.Random(0), first N",
        "precision": {"openbook": "INT8 OpenVINO", "haystack": "float32 PyTorch", "txtai": "float32 PyTorch"},
        "systems": rows,
        "txtai_questions_raised": sum(len(f) for f in TXTAI_FAILURES),
    }
    write_result(args.out, result)
    width = max(map(len, names))
    for name, row in rows.items():
        print(f"{name:<{width}}  " + "  ".join(f"{k} {v}" for k, v in row.items()))


if __name__ == "__main__":
    main()
