"""Hybrid retrieval: fusion on hand-made lists (reciprocal rank, min-max and z-score weighted sums, one-list passthrough),
then the real default retriever, where a passage only one side finds still comes back fused."""

from __future__ import annotations

from pathlib import Path

import pytest

from openbook.errors import OpenbookError
from openbook.retrieval.fusion import Fusion, check_mode, minmax, reciprocal_rank, weighted_sum, zscore
from openbook.ingest.loaders import load_documents
from openbook.retrieval.retriever import Retriever
from openbook.types import Document

DENSE = [(1, 0.9), (2, 0.8), (3, 0.5)]
LEXICAL = [(3, 12.0), (4, 11.0), (1, 2.0)]


def test_reciprocal_rank_sums_over_lists_and_keeps_ranks():
    fused = reciprocal_rank({"dense": DENSE, "lexical": LEXICAL}, k=1)
    scores = {f.id: f.score for f in fused}
    assert scores == pytest.approx({1: 1 / 2 + 1 / 4, 3: 1 / 4 + 1 / 2, 2: 1 / 3, 4: 1 / 3})
    assert [f.id for f in fused] == [1, 3, 2, 4]  # ties go to the better best rank, then the lower id
    one = fused[0]
    assert one.ranks == {"dense": 1, "lexical": 3} and one.scores == {"dense": 0.9, "lexical": 2.0}
    assert fused[2].ranks == {"dense": 2}  # found by one side only


def test_rrf_constant_trades_a_top_rank_against_agreement():
    lists = {"a": [(1, 0.0), (2, 0.0), (3, 0.0)], "b": [(4, 0.0), (5, 0.0), (3, 0.0)]}
    # passage 1: first in one list, 1/(k+1); passage 3: third in both, 2/(k+3); 1 wins only while k < 1
    assert reciprocal_rank(lists, k=0.5)[0].id == 1
    assert reciprocal_rank(lists, k=60)[0].id == 3


def test_normalisers():
    assert minmax([3.0, 1.0, 2.0]) == [1.0, 0.0, 0.5]
    assert minmax([5.0, 5.0]) == [1.0, 1.0] and minmax([]) == []
    z = zscore([1.0, 2.0, 3.0])
    assert z == pytest.approx([-1.2247, 0.0, 1.2247], abs=1e-4)
    assert zscore([2.0, 2.0]) == [0.0, 0.0]


def test_weighted_sum_normalises_each_side_and_floors_missing():
    fused = weighted_sum({"dense": DENSE, "lexical": LEXICAL}, {"dense": 0.5, "lexical": 0.5}, "minmax")
    scores = {f.id: round(f.score, 4) for f in fused}
    # dense min-max: 1 -> 1, 2 -> 0.75, 3 -> 0; lexical: 3 -> 1, 4 -> 0.9, 1 -> 0; a missing side counts its minimum 0
    assert scores == {1: 0.5, 2: 0.375, 3: 0.5, 4: 0.45}
    assert [f.id for f in fused] == [1, 3, 4, 2]
    dense_only = weighted_sum({"dense": DENSE, "lexical": LEXICAL}, {"dense": 1.0, "lexical": 0.0}, "zscore")
    assert [f.id for f in dense_only][:2] == [1, 2]


def test_weighted_sum_is_scale_free():
    scaled = [(i, 1000 * s) for i, s in LEXICAL]
    a = weighted_sum({"dense": DENSE, "lexical": LEXICAL}, {"dense": 0.4, "lexical": 0.6}, "zscore")
    b = weighted_sum({"dense": DENSE, "lexical": scaled}, {"dense": 0.4, "lexical": 0.6}, "zscore")
    assert [f.id for f in a] == [f.id for f in b]
    assert [f.score for f in a] == pytest.approx([f.score for f in b])


def test_fusion_alpha_weights_dense_against_lexical():
    dense_heavy = Fusion("minmax", alpha=0.9).fuse({"dense": DENSE, "lexical": LEXICAL})
    lexical_heavy = Fusion("minmax", alpha=0.1).fuse({"dense": DENSE, "lexical": LEXICAL})
    assert dense_heavy[0].id == 1 and lexical_heavy[0].id == 3


def test_one_list_comes_back_as_it_was():
    out = Fusion("zscore", alpha=0.5).fuse({"lexical": LEXICAL})
    assert [(f.id, f.score, f.ranks) for f in out] == [
        (3, 12.0, {"lexical": 1}),
        (4, 11.0, {"lexical": 2}),
        (1, 2.0, {"lexical": 3}),
    ]


def test_empty_lists_and_duplicates():
    assert Fusion().fuse({"dense": [], "lexical": []}) == []
    out = Fusion("rrf", k=60).fuse({"dense": DENSE, "lexical": []})
    assert [f.id for f in out] == [1, 2, 3] and all(set(f.ranks) == {"dense"} for f in out)
    twice = reciprocal_rank({"dense": [(1, 0.9), (1, 0.1)]}, k=0)
    assert twice[0].ranks == {"dense": 1} and twice[0].score == pytest.approx(1.0)


def test_bad_settings_are_one_line_errors():
    with pytest.raises(OpenbookError, match="unknown fusion"):
        Fusion("max")
    with pytest.raises(OpenbookError, match="unknown normalisation"):
        weighted_sum({"dense": DENSE}, {}, "rank")
    with pytest.raises(OpenbookError, match="use dense, lexical, hybrid"):
        check_mode("semantic")
    assert Fusion("rrf", k=60).label == "rrf k=60" and Fusion("zscore", alpha=0.55).label == "zscore alpha=0.55"


CORPUS = Path(__file__).resolve().parents[2] / "examples" / "corpus"
EXTRA = [
    Document(
        "plants", "Photosynthesis lets plants turn sunlight, water and carbon dioxide into sugar.", title="Plants"
    ),
    Document(
        "ledger",
        "The harbour ledger of 1887 lists the ships that called at the port, their cargo of grain, timber and coal, the "
        "names of their captains and the fees they paid. Most came from the Baltic. One entry records that crate "
        "ZX-4471-QQ was held back for inspection. The ledger also notes storms, repairs to the quay and the price of rope.",
        title="Ledger",
    ),
]


@pytest.fixture(scope="module")
def corpus_retriever(tmp_path_factory, vocab) -> Retriever:
    r = Retriever(tmp_path_factory.mktemp("hybrid") / "ix", model=vocab.parent)
    r.add(load_documents([CORPUS]) + EXTRA)
    return r


def top(r: Retriever, question: str, mode: str, k: int = 3) -> list[str]:
    return [h.passage.doc_id for h in r.search(question, k=k, mode=mode)]


def test_passage_only_the_lexical_side_finds_comes_back(corpus_retriever):
    r, q = corpus_retriever, "How is coffee ZX-4471-QQ roasted?"  # the meaning says coffee, the code says ledger
    assert "ledger" not in top(r, q, "dense") and top(r, q, "lexical")[0] == "ledger"
    hits = r.search(q, k=3)  # hybrid is the default
    ledger = next(h for h in hits if h.passage.doc_id == "ledger")
    assert ledger.found_by["lexical"] == 1 and ledger.found_by["dense"] > 3
    assert set(ledger.scores) == {"dense", "lexical"}


def test_passage_only_the_dense_side_finds_comes_back(corpus_retriever):
    r, q = corpus_retriever, "What do leaves make from light?"  # no word in common with the plants passage
    assert top(r, q, "dense", k=1) == ["plants"] and "plants" not in top(r, q, "lexical", k=20)
    hits = r.search(q, k=3, mode="hybrid")
    plants = next(h for h in hits if h.passage.doc_id == "plants")
    assert plants.found_by == {"dense": 1}
    assert [h.rank for h in hits] == [1, 2, 3] and hits[0].score >= hits[1].score >= hits[2].score


def test_modes_on_the_retriever(corpus_retriever, vocab):
    r = corpus_retriever
    assert all(set(h.found_by) == {"dense"} for h in r.search("volcano", mode="dense"))
    assert r.search("what is it?", mode="lexical") == []  # no searchable words: no hits, no error
    assert top(r, 'Who designed "a lens" AND NOT (glass* rings)?', "hybrid", k=1)[0].endswith("lighthouses.md")
    batch = r.search_many(["volcano", "honeybees dance"], k=1, mode="lexical")
    assert [b[0].passage.doc_id.rsplit("/", 1)[-1] for b in batch] == ["volcanoes.html", "honeybees.txt"]
    lexical_default = Retriever(r.index_path, mode="lexical")
    assert set(lexical_default.search("volcano")[0].found_by) == {"lexical"}
    with pytest.raises(OpenbookError, match="unknown retrieval mode"):
        r.search("volcano", mode="bm25")
