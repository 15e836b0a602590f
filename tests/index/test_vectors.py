"""Vector indexes keyed by passage id: exact and approximate, adds, removes, round trips."""

from __future__ import annotations

import numpy as np
import pytest

from openbook.errors import OpenbookError
from openbook.index.vectors import VectorIndex, choose_kind, default_nlist


def clustered(n: int, dim: int = 64, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(8, n // 100), dim)).astype(np.float32)
    x = centres[rng.integers(0, len(centres), n)] + 0.4 * rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("metric", ["ip", "l2"])
def test_flat_search_is_exact_and_keyed_by_id(metric):
    x = clustered(500)
    index = VectorIndex(64, metric)
    ids = np.arange(500) * 10 + 3
    index.add(ids, x)
    scores, found = index.search(x[:5], 3)
    assert found[:, 0].tolist() == ids[:5].tolist()
    assert np.all(np.diff(scores, axis=1) <= 1e-6)  # best first, higher is better for both metrics
    assert index.remove([3, 13]) == 2 and 3 not in index.ids()


def test_ivf_recall_and_deletes(tmp_path):
    x = clustered(8000)
    flat = VectorIndex(64, "ip")
    flat.add(np.arange(8000), x)
    ivf = flat.converted("ivf", nlist=64)
    assert ivf.kind == "ivf" and len(ivf) == 8000 and ivf.nprobe == 32
    q = x[:200] + 0.05 * np.random.default_rng(1).standard_normal((200, 64)).astype(np.float32)
    _, exact = flat.search(q, 10)
    _, approx = ivf.search(q, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(exact, approx)])
    assert recall >= 0.95
    assert ivf.remove(np.arange(100)) == 100
    assert len(ivf) == 7900 and not set(range(100)) & set(ivf.ids().tolist())
    ivf.save(tmp_path / "v.faiss")
    back = VectorIndex.load(tmp_path / "v.faiss", "ip")
    assert back.kind == "ivf" and sorted(back.ids().tolist()) == list(range(100, 8000))


def test_kind_choice_and_limits():
    assert choose_kind(1000) == "flat" and choose_kind(1_000_000) == "ivf"
    assert default_nlist(1_000_000) == 4096 and default_nlist(10) == 256
    empty = VectorIndex(64, "ip").converted("flat")
    with pytest.raises(OpenbookError, match="add documents first"):
        empty.converted("ivf")
    with pytest.raises(OpenbookError, match="unknown index type"):
        empty.converted("hnsw")
