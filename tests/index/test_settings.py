"""Typed index settings (openbook.index.settings): exact JSON round trips, one-line errors for malformed values, what
older indexes hold, and keys of a newer openbook kept through writes."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from openbook.errors import OpenbookError
from openbook.index.folder import Index
from openbook.index.settings import DEFAULT_PASSAGE_TOKENS, IndexSettings
from openbook.retrieval.indexer import Indexer
from tests.index.helpers import DIM, consistent_ids, docs, encode, format_1_index, make_index, split


def stored(path: Path) -> str:
    """The settings text as committed in the store."""
    conn = sqlite3.connect(path / "store.sqlite")
    try:
        return conn.execute("SELECT value FROM meta WHERE key = 'settings'").fetchone()[0]
    finally:
        conn.close()


def store_settings(path: Path, text: str) -> None:
    conn = sqlite3.connect(path / "store.sqlite")
    with conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'settings'", (text,))
    conn.close()


# --- the dataclass --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "data",
    [
        {},
        {"passage_tokens": 256},
        {"passage_tokens": 128, "index_type": "ivf", "nlist": 64, "nprobe": 8},
        {"passage_tokens": 256, "index_type": "HNSW32"},
        {"index_type": "auto", "stride": 64, "future": {"a": [1, 2.5, None], "b": "x"}},
    ],
)
def test_round_trip_is_exact(data):
    settings = IndexSettings.from_dict(data, DIM)
    assert settings.to_dict() == data
    assert IndexSettings.from_json(settings.to_json(), DIM) == settings
    assert json.loads(settings.to_json()) == data


def test_absent_keys_take_the_defaults():
    empty = IndexSettings.from_json(None)
    assert empty == IndexSettings() == IndexSettings.from_json("") == IndexSettings.from_dict({"nlist": None})
    assert (empty.tokens, empty.kind, empty.nlist, empty.nprobe) == (DEFAULT_PASSAGE_TOKENS, "auto", None, None)
    assert IndexSettings(passage_tokens=96, index_type="flat").tokens == 96
    assert IndexSettings(index_type="flat").kind == "flat"


def test_unknown_keys_are_kept_apart_and_unchanged():
    data = {"passage_tokens": 200, "stride": 64, "tokenizer": {"lower": True}}
    settings = IndexSettings.from_dict(data)
    assert settings.passage_tokens == 200 and dict(settings.extra) == {"stride": 64, "tokenizer": {"lower": True}}
    data["tokenizer"]["lower"] = False  # the settings are a copy: neither the input nor the output aliases them
    settings.to_dict()["tokenizer"]["lower"] = None
    assert settings.extra["tokenizer"] == {"lower": True}
    with pytest.raises(TypeError):
        settings.extra["stride"] = 1  # type: ignore[index]


@pytest.mark.parametrize(
    "data,message",
    [
        ([256], "expected a JSON object, not [256]"),
        ("passage_tokens=256", "expected a JSON object"),
        ({"passage_tokens": "256"}, "'passage_tokens' must be a whole number from 1, not '256'"),
        ({"passage_tokens": 0}, "'passage_tokens' must be a whole number from 1, not 0"),
        ({"passage_tokens": -8}, "'passage_tokens' must be a whole number from 1, not -8"),
        ({"passage_tokens": 256.0}, "'passage_tokens' must be a whole number from 1, not 256.0"),
        ({"passage_tokens": True}, "'passage_tokens' must be a whole number from 1, not True"),
        ({"nlist": 0}, "'nlist' must be a whole number from 1, not 0"),
        ({"nprobe": "32"}, "'nprobe' must be a whole number from 1, not '32'"),
        ({"index_type": 3}, "'index_type' must be auto, flat, ivf or a FAISS index_factory string, not 3"),
        ({"index_type": " "}, "'index_type' must be auto, flat, ivf"),
        ({"index_type": "hnsw-please"}, "unknown index type 'hnsw-please'"),
        ({"passage_tokens": "x" * 500}, "not 'xxxx"),
    ],
)
def test_malformed_values_are_one_line_errors(data, message):
    with pytest.raises(OpenbookError) as caught:
        IndexSettings.from_dict(data, DIM, source="index notes: malformed settings")
    text = str(caught.value)
    assert text.startswith("index notes: malformed settings: ") and message in text, text
    assert "\n" not in text and len(text) < 200


@pytest.mark.parametrize("text,message", [("{not json", "not JSON (Expecting"), ("null", "not None"), ("7", "not 7")])
def test_malformed_json_is_a_one_line_error(text, message):
    with pytest.raises(OpenbookError, match="^index settings: .*") as caught:
        IndexSettings.from_json(text)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_built_directly_the_values_are_checked_too():
    with pytest.raises(OpenbookError, match="'nprobe' must be a whole number from 1, not 0"):
        IndexSettings(nprobe=0)
    with pytest.raises(OpenbookError, match="'nlist' is a known setting"):
        IndexSettings(extra={"nlist": 4})
    with pytest.raises(OpenbookError, match="must be JSON values"):
        IndexSettings(extra={"when": object()})
    assert IndexSettings.from_dict({"index_type": "nonsense"}).index_type == "nonsense"  # no dimension: not checked


# --- in an index ----------------------------------------------------------------------------------------------------
def test_the_store_holds_the_same_json_as_before(tmp_path):
    path = tmp_path / "notes"
    index = make_index(path)
    assert stored(path) == '{"passage_tokens": 256}'
    Indexer(index, split, encode).add(docs(0, 3), index_type="flat")
    assert stored(path) == '{"passage_tokens": 256, "index_type": "flat"}'
    assert index.settings == IndexSettings(passage_tokens=256, index_type="flat")
    assert index.info()["settings"] == {"passage_tokens": 256, "index_type": "flat"}
    Indexer(index, split, encode).add(docs(3, 2))  # nothing asked to change: nothing rewritten
    assert stored(path) == '{"passage_tokens": 256, "index_type": "flat"}'


def test_what_older_indexes_hold_is_read(tmp_path):
    """An upgraded format-1 index without settings holds ``{}``; hand-edited ones may hold nulls."""
    path = tmp_path / "old"
    index = make_index(path)
    Indexer(index, split, encode).add(docs(0, 4))
    index.close()
    store_settings(path, "{}")
    index = Index.open(path)
    assert index.settings == IndexSettings() and index.info()["settings"] == {}
    assert index.info()["index_type"] == "flat" and len(consistent_ids(index)) == index.count_passages() == 8
    report = Indexer(index, split, encode).add(docs(0, 4))  # the default split: same hashes, nothing redone
    assert report.documents_unchanged == 4
    index.close()
    store_settings(path, '{"passage_tokens": 256, "index_type": null, "nlist": null, "nprobe": 4}')
    index = Index.open(path)
    assert index.settings == IndexSettings(passage_tokens=256, nprobe=4)
    assert index.info()["nprobe"] == 4


def test_keys_of_a_newer_openbook_survive_a_write(tmp_path):
    path = tmp_path / "notes"
    make_index(path).close()
    store_settings(path, '{"passage_tokens": 256, "stride": 64}')
    index = Index.open(path)
    Indexer(index, split, encode).add(docs(0, 2), index_type="flat")
    assert json.loads(stored(path)) == {"passage_tokens": 256, "stride": 64, "index_type": "flat"}
    assert index.info()["settings"]["stride"] == 64


def test_nlist_and_nprobe_reach_the_vector_index(tmp_path):
    path = tmp_path / "notes"
    make_index(path).close()
    store_settings(path, '{"passage_tokens": 256, "nlist": 4, "nprobe": 3}')
    index = Index.open(path)
    Indexer(index, split, encode).add(docs(0, 60, words=200), index_type="ivf")  # ~400 passages: room for 10 cells
    for reader in (index, Index.open(path)):  # the writer's checkpoint, and a reader loading it
        vectors = reader.vectors
        assert vectors.kind == "ivf" and vectors.nprobe == 3
        assert vectors._ivf.nlist == 4  # the stored nlist, not the default


def test_malformed_settings_stop_a_writer_before_any_change(tmp_path):
    path = tmp_path / "notes"
    index = make_index(path)
    Indexer(index, split, encode).add(docs(0, 3))
    index.close()
    store_settings(path, '{"passage_tokens": 0}')
    index = Index.open(path)  # opening and reading rows still work (so does dropping the index)
    assert index.store.document_ids() == ["d0", "d1", "d2"]
    for write in (lambda: Indexer(index, split, encode).add(docs(3, 1)), lambda: Indexer(index).remove(["d0"])):
        with pytest.raises(OpenbookError, match=r"^index notes: malformed settings in store.sqlite: 'passage_tokens'"):
            write()
    with pytest.raises(OpenbookError, match="malformed settings"):
        index.vectors  # noqa: B018
    assert index.store.document_ids() == ["d0", "d1", "d2"] and stored(path) == '{"passage_tokens": 0}'


def test_format_1_settings_move_into_the_store(tmp_path):
    path = _format_1_index(tmp_path, {"passage_tokens": 128, "index_type": "flat", "stride": 32})
    index = Index.open(path)
    assert json.loads(stored(path)) == {"passage_tokens": 128, "index_type": "flat", "stride": 32}
    assert index.settings.tokens == 128 and index.settings.kind == "flat" and consistent_ids(index) == [1, 2]


def test_malformed_format_1_settings_are_refused_before_the_upgrade_touches_anything(tmp_path):
    path = _format_1_index(tmp_path, {"passage_tokens": "many"})
    before = {p.name: p.read_bytes() for p in path.iterdir()}
    with pytest.raises(OpenbookError) as caught:
        Index.open(path)
    assert str(caught.value) == (
        "index old: malformed settings in index.json: 'passage_tokens' must be a whole number from 1, not 'many'"
    )
    after = {p.name: p.read_bytes() for p in path.iterdir() if p.name != ".lock"}
    assert after == before


def _format_1_index(tmp_path: Path, settings: dict) -> Path:
    """A flat format-1 index (store-1.sqlite + vectors-1.faiss) whose index.json holds ``settings``."""
    format_1_index(tmp_path / "old", 1, settings)
    return tmp_path / "old"
