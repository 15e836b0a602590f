"""The one JSON shape of passages and search results."""

from __future__ import annotations

import json

from openbook.types import Passage, SearchResult


def test_passage_and_result_to_dict():
    p = Passage("Mars has two moons.", "doc-1", 10, 29, "Mars", id=7, source="mars.txt", metadata={"year": 2020})
    assert p.to_dict() == {
        "id": 7, "doc_id": "doc-1", "title": "Mars", "source": "mars.txt", "start": 10, "end": 29,
        "text": "Mars has two moons.", "metadata": {"year": 2020},
    }
    r = SearchResult(p, 0.123456789, 1, {"dense": 2, "lexical": 1}, {"dense": 0.5, "lexical": 7.25})
    data = json.loads(json.dumps(r.to_dict()))
    assert data == {
        "rank": 1, "score": 0.123457, "found_by": {"dense": 2, "lexical": 1}, "scores": {"dense": 0.5, "lexical": 7.25},
        "passage": p.to_dict(),
    }
    data["passage"]["metadata"]["year"] = 1999
    assert p.metadata == {"year": 2020}  # a copy: the JSON can be changed freely
