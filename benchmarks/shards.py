"""Sharded search against the unsharded index on SQuAD v1.1 dev: recall@1/5/20 by mode, and how often the sharded top
10 is exactly the unsharded one.

Builds (once) the index of the dev paragraphs under --work (passages of up to 382 word pieces, as benchmarks/search.py),
splits it into 2 and 4 shards (``openbook shard``: no encoding), encodes every question once and searches each index
with the same vectors. A question's hit is any passage of its own paragraph. Writes benchmarks/results/shards.json.

    nice .venv/bin/python benchmarks/shards.py --squad ../shared/data/squad/dev-v1.1.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from common import machine, write_result

from openbook.ingest.loaders import read_squad
from openbook.retrieval.fusion import MODES
from openbook.retrieval.retriever import Retriever
from openbook.scale.shards import ShardedRetriever, split_index

KS = (1, 5, 20)


def questions_and_gold(squad: Path) -> tuple[list[str], list[str]]:
    """Every question and the document id of its paragraph (as ``read_squad`` names it)."""
    name = str(squad.resolve())
    questions, gold = [], []
    for i, article in enumerate(json.loads(squad.read_text(encoding="utf-8"))["data"]):
        for j, paragraph in enumerate(article["paragraphs"]):
            for qa in paragraph["qas"]:
                questions.append(qa["question"])
                gold.append(f"{name}#{i}/{j}")
    return questions, gold


def recall(results, gold: list[str]) -> dict[str, float]:
    ranks = []
    for hits, g in zip(results, gold):
        ranks.append(next((h.rank for h in hits if h.passage.doc_id == g), 0))
    ranks = np.asarray(ranks)
    return {f"recall@{k}": round(100.0 * float(np.mean((ranks > 0) & (ranks <= k))), 2) for k in KS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=Path, default=Path("../shared/data/squad/dev-v1.1.json"))
    parser.add_argument("--work", type=Path, default=Path(__file__).resolve().parent / "results" / "index-shards")
    parser.add_argument("--shards", type=int, nargs="+", default=[2, 4])
    parser.add_argument("--limit", type=int, default=None, help="Only the first N questions.")
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    parser.add_argument("--name", default="shards", help="Results file: benchmarks/results/NAME.json")
    args = parser.parse_args()

    start = time.perf_counter()
    base_path = args.work / "dev"
    base = Retriever(base_path)
    if not (base_path / "index.json").is_file():
        base.add(read_squad(args.squad), passage_tokens=382)
    built = time.perf_counter() - start
    for n in args.shards:
        if not (args.work / f"dev-{n}" / "shards.json").is_file():
            split_index(base_path, args.work / f"dev-{n}", n)
    questions, gold = questions_and_gold(args.squad)
    cached_vectors = args.work / f"questions-{len(questions)}.npy"  # kept beside the indexes: encoded once
    if cached_vectors.is_file():
        vectors = np.load(cached_vectors)
    else:
        vectors = base.encode_questions(questions)
        np.save(cached_vectors, vectors)
    if args.limit:
        questions, gold, vectors = questions[: args.limit], gold[: args.limit], vectors[: args.limit]
    cache = {q: v for q, v in zip(questions, vectors)}

    def cached(qs):  # every index is searched with the same question vectors, encoded once
        return np.stack([cache[q] for q in qs])

    base.encode_questions = cached
    rows: list[dict] = []
    top = {}
    for mode in args.modes:
        top[mode] = base.search_many(questions, 20, mode)
        rows.append({"index": "unsharded", "merge": "", "mode": mode, **recall(top[mode], gold)})
        print(json.dumps(rows[-1]), flush=True)
    for n in args.shards:
        # dense merging does not depend on the lexical merge; the rank merge is measured on the most shards only
        runs = [("bm25", mode) for mode in args.modes]
        runs += [("rrf", "hybrid")] if n == max(args.shards) and "hybrid" in args.modes else []
        for merge, mode in runs:
            sharded = ShardedRetriever(args.work / f"dev-{n}", merge=merge)
            sharded.encode_questions = cached
            found = sharded.search_many(questions, 20, mode)
            same10 = np.mean(
                [[h.passage.id for h in a[:10]] == [h.passage.id for h in b[:10]] for a, b in zip(found, top[mode])]
            )
            rows.append(
                {
                    "index": f"{n} shards",
                    "merge": merge,
                    "mode": mode,
                    **recall(found, gold),
                    "same_top10": round(100.0 * float(same10), 2),
                }
            )
            print(json.dumps(rows[-1]), flush=True)
            sharded.close()
    result = {
        "questions": len(questions),
        "passages": base.index.count_passages(),
        "fusion": base.fusion.label,
        "build_seconds": round(built, 1),
        "seconds": round(time.perf_counter() - start, 1),
        "rows": rows,
        "machine": machine(),
    }
    write_result(args.name, result)


if __name__ == "__main__":
    main()
