"""Search at scale: latency, recall against exact search, build time and memory, for each vector index type.

The vectors are synthetic (say so wherever the figures are quoted): unit vectors of the default dimension (384) drawn
around n/50 random centres, like the clustered embeddings of a real corpus; queries are perturbed copies of held-out
points. Writes benchmarks/results/scale.json and scale.png.

    .venv/bin/python benchmarks/scale.py --sizes 100000 1000000
"""

from __future__ import annotations

import argparse
import time

import faiss
import numpy as np

from openbook.index.vectors import VectorIndex

try:
    from benchmarks import common
except ImportError:  # run as a script from the repository root
    import common  # type: ignore[no-redef]


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def synthetic(n: int, dim: int, seed: int, spread: float = 0.6) -> np.ndarray:
    """``n`` unit vectors around ``n / 50`` random unit centres (cosine to their centre about 0.86)."""
    rng = np.random.default_rng(seed)
    centres = unit(rng.standard_normal((max(1, n // 50), dim)).astype(np.float32))
    out = np.empty((n, dim), dtype=np.float32)
    for s in range(0, n, 100_000):
        m = min(100_000, n - s)
        noise = rng.standard_normal((m, dim)).astype(np.float32) * (spread / np.sqrt(dim))
        out[s : s + m] = unit(centres[rng.integers(0, len(centres), m)] + noise)
    return out


def timed_search(index: VectorIndex, queries: np.ndarray, k: int) -> tuple[np.ndarray, list[float]]:
    found, latencies = [], []
    for q in queries:
        start = time.perf_counter()
        _, ids = index.search(q[None, :], k)
        latencies.append(1000 * (time.perf_counter() - start))
        found.append(ids[0])
    return np.array(found), latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--nprobe", type=int, nargs="+", default=[16, 32, 64])
    args = parser.parse_args()
    k = 10
    rows = []
    for n in args.sizes:
        data = synthetic(n + args.queries, args.dim, seed=n)
        base, held = data[:n], data[n:]
        noise = np.random.default_rng(1).standard_normal(held.shape).astype(np.float32) * (0.3 / np.sqrt(args.dim))
        queries = unit(held + noise)
        ids = np.arange(n, dtype=np.int64)

        start = time.perf_counter()
        flat = VectorIndex(args.dim, "ip")
        flat.add(ids, base)
        flat_build = time.perf_counter() - start
        exact, flat_lat = timed_search(flat, queries, k)
        raw = base.nbytes
        rows.append(
            {
                "vectors": n, "index": "flat", "nprobe": None, "build_s": round(flat_build, 1),
                "memory_mb": round(len(faiss.serialize_index(flat.index)) / 2**20, 1),
                "memory_vs_raw": round(len(faiss.serialize_index(flat.index)) / raw, 2),
                "p50_ms": round(float(np.percentile(flat_lat, 50)), 2),
                "p95_ms": round(float(np.percentile(flat_lat, 95)), 2), "recall@10": 1.0,
            }
        )
        start = time.perf_counter()
        ivf = flat.converted("ivf")
        ivf_build = time.perf_counter() - start
        size = len(faiss.serialize_index(ivf.index))
        del flat
        for nprobe in args.nprobe:
            ivf.nprobe = nprobe
            found, lat = timed_search(ivf, queries, k)
            recall = float(np.mean([len(set(a) & set(b)) / k for a, b in zip(exact, found)]))
            rows.append(
                {
                    "vectors": n, "index": f"ivf{faiss.extract_index_ivf(ivf.index).nlist},sq8", "nprobe": nprobe,
                    "build_s": round(ivf_build, 1), "memory_mb": round(size / 2**20, 1),
                    "memory_vs_raw": round(size / raw, 2), "p50_ms": round(float(np.percentile(lat, 50)), 2),
                    "p95_ms": round(float(np.percentile(lat, 95)), 2), "recall@10": round(recall, 4),
                }
            )
        del ivf, data, base
    result = {"synthetic": True, "dimension": args.dim, "queries": args.queries, "rows": rows, **common.machine()}
    common.write_result("scale", result)
    configs = list(dict.fromkeys((r["index"].split(",")[0].rstrip("0123456789") or r["index"], r["nprobe"]) for r in rows))
    names = [f"{kind} nprobe {p}" if p else kind for kind, p in configs]
    sizes = [f"{n:,} vectors" for n in args.sizes]
    series = {
        name: [next(r["p50_ms"] for r in rows if r["vectors"] == n and
                    (r["index"].startswith(kind) and r["nprobe"] == p)) for n in args.sizes]
        for name, (kind, p) in zip(names, configs)
    }
    recall_labels = {
        name: [f"R {next(r['recall@10'] for r in rows if r['vectors'] == n and r['index'].startswith(kind) and r['nprobe'] == p):.3f}"
               for n in args.sizes]
        for name, (kind, p) in zip(names, configs)
    }
    common.plot("scale", sizes, series, "search p50 (ms, one question)", "Search latency by index type (synthetic vectors)",
                labels=recall_labels, log_y=True, note="label: recall@10 against exact search")
    common.print_table(rows, title="scale (synthetic vectors)")


if __name__ == "__main__":
    main()
