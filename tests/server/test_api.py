"""Every endpoint and every error status of the HTTP API, through the real app with the default models."""

from __future__ import annotations

import fcntl
import json
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from openbook.server.app import create_app
from openbook.server.settings import ServerSettings
from tests.server.conftest import VOLCANO, copy_index, wait_ready

LIMIT_REQUEST = 64 * 1024
LIMIT_UPLOAD = 256 * 1024


@pytest.fixture(scope="module")
def served(corpus_index, tmp_path_factory):
    path = copy_index(corpus_index, tmp_path_factory.mktemp("api"))
    settings = ServerSettings(index=path, max_request_bytes=LIMIT_REQUEST, max_upload_bytes=LIMIT_UPLOAD)
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        wait_ready(client)
        yield client, path, app


@pytest.fixture
def client(served) -> TestClient:
    return served[0]


def ids(client) -> set[str]:
    return {d["id"] for d in client.get("/documents").json()["documents"]}


# --- reads ------------------------------------------------------------------------------------------------------------
def test_health_ready_info(client):
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").json()["status"] == "ready"
    info = client.get("/info").json()
    assert info["documents"] == 12 and info["passages"] >= 12
    assert info["model"] == "retriever-minilm-squad11-int8" and info["reader"] == "reader-minilm-squad11-int8"
    assert "path" not in info
    assert info["batching"]["max_batch"] == 16


def test_the_models_warm_up_in_the_background_and_answer_meanwhile(client):
    warm = client.get("/ready").json()["warm_up"]
    assert warm["shapes"] == 4 + 5 * 12  # question lengths 8-32; 1-5 windows × lengths 32-384
    assert client.post("/ask", json={"question": VOLCANO}).json()["answers"][0]["answer"] == "Olympus Mons"
    deadline = time.monotonic() + 120
    while warm["done"] < warm["shapes"] and time.monotonic() < deadline:
        time.sleep(0.1)
        warm = client.get("/ready").json()["warm_up"]
    assert warm["done"] == warm["shapes"]


def test_ask_highlights_the_answer_in_its_passage(client):
    body = client.post("/ask", json={"question": VOLCANO, "top_answers": 2}).json()
    assert body["question"] == VOLCANO and body["mode"] == "hybrid" and len(body["answers"]) == 2
    best = body["answers"][0]
    assert best["answer"] == "Olympus Mons"
    assert best["passage"]["text"][best["start"] : best["end"]] == "Olympus Mons"
    assert best["passage"]["title"] == "Volcanoes" and best["passage"]["source"].endswith("volcanoes.html")


def test_ask_json_is_the_cli_json(client, served):
    """The API's answers are the library's ``RankedAnswer.to_dict`` (the CLI's --json), passage as an object."""
    reader = served[2].state.reader  # the served OpenBook itself, called on the thread that owns it
    expected = [a.to_dict() for a in reader.executor.submit(reader.book.ask, VOLCANO).result()]
    got = client.post("/ask", json={"question": VOLCANO}).json()["answers"]
    assert got == expected
    assert set(got[0]) >= {"answer", "confidence", "abstain", "start", "end", "passage"}
    assert set(got[0]["passage"]) == {"id", "doc_id", "title", "source", "start", "end", "text", "metadata"}


def test_search_json_is_the_library_json(client, served):
    reader = served[2].state.reader
    question = "Which piece in chess can jump?"
    search = reader.book.retriever.search
    expected = [r.to_dict() for r in reader.executor.submit(search, question, 3, "dense").result()]
    assert client.post("/search", json={"question": question, "k": 3, "mode": "dense"}).json()["results"] == expected


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_search_each_mode(client, mode):
    body = client.post("/search", json={"question": "Which piece in chess can jump?", "k": 3, "mode": mode}).json()
    ranks = [r["rank"] for r in body["results"]]
    assert body["mode"] == mode and ranks == list(range(1, len(ranks) + 1)) and 1 <= len(ranks) <= 3
    top = body["results"][0]
    assert "knight" in top["passage"]["text"].lower()
    assert set(top) >= {"passage", "score", "rank", "found_by"}


def test_ask_in_lexical_mode_then_default_again(client):
    lexical = client.post("/ask", json={"question": VOLCANO, "mode": "lexical"}).json()
    assert lexical["mode"] == "lexical" and lexical["answers"][0]["answer"] == "Olympus Mons"
    assert client.post("/ask", json={"question": VOLCANO}).json()["mode"] == "hybrid"


def test_documents_list(client):
    docs = client.get("/documents").json()
    assert docs["count"] == 12
    assert {"id", "title", "source", "passages", "metadata"} <= set(docs["documents"][0])
    assert client.get("/documents", params={"limit": 2}).json()["count"] == 2


# --- writes -----------------------------------------------------------------------------------------------------------
def test_upload_ask_remove(client, served):
    path = served[1]
    text = b"The zorblax engine was invented by Ada Quux in the town of Pellow in 1911."
    r = client.post("/documents", files=[("files", ("zorblax notes.txt", text, "text/plain"))])
    assert r.status_code == 200, r.json()
    assert r.json()["documents"] == ["uploads/zorblax notes.txt"] and r.json()["documents_added"] == 1
    assert (path / "uploads" / "zorblax notes.txt").read_bytes() == text
    assert not [p for p in (path / "uploads").iterdir() if p.name.startswith(".")], "staging folder left behind"
    assert "uploads/zorblax notes.txt" in ids(client)
    best = client.post("/ask", json={"question": "Who invented the zorblax engine?"}).json()["answers"][0]
    assert best["answer"] == "Ada Quux" and best["passage"]["doc_id"] == "uploads/zorblax notes.txt"

    r = client.delete("/documents/uploads/zorblax notes.txt")
    assert r.json() == {"removed": "uploads/zorblax notes.txt", "passages_removed": 1}
    assert "uploads/zorblax notes.txt" not in ids(client)
    assert not (path / "uploads" / "zorblax notes.txt").exists()
    answers = client.post("/ask", json={"question": "Who invented the zorblax engine?"}).json()["answers"]
    assert all("Quux" not in a["answer"] for a in answers)
    assert client.delete("/documents/uploads/zorblax notes.txt").status_code == 404


def test_json_documents_and_remove_by_encoded_id(client):
    doc = {"id": "notes/kettle", "text": "The Brimble kettle whistles at exactly 97 degrees.", "title": "Kettle",
           "metadata": {"year": 2021}}
    r = client.post("/documents", json={"documents": [doc]})
    assert r.status_code == 200 and r.json()["documents_added"] == 1
    listed = {d["id"]: d for d in client.get("/documents").json()["documents"]}
    assert listed["notes/kettle"]["metadata"] == {"year": 2021}
    again = client.post("/documents", json={"documents": [doc]}).json()
    assert again["documents_unchanged"] == 1
    assert client.delete("/documents/notes%2Fkettle").status_code == 200
    assert "notes/kettle" not in ids(client)


def test_markdown_and_jsonl_uploads_keep_the_loaders_ids(client):
    files = [
        ("files", ("guide.md", b"# Sourdough\n\nA starter is flour and water kept alive by wild yeast.", "text/plain")),
        ("files", ("facts.jsonl", b'{"id": "fact-1", "text": "Tin melts at 232 degrees."}\n{"text": "Lead is soft."}\n',
                   "application/jsonl")),
    ]
    r = client.post("/documents", files=files)
    assert r.status_code == 200, r.json()
    added = set(r.json()["documents"])
    assert "uploads/guide.md" in added and "fact-1" in added
    assert any(i.startswith("uploads/facts.jsonl#") for i in added)
    titles = {d["id"]: d["title"] for d in client.get("/documents").json()["documents"]}
    assert titles["uploads/guide.md"] == "Sourdough"
    hits = client.post("/search", json={"question": "starter flour wild yeast", "where": ["section=Sourdough"]}).json()
    assert [h["passage"]["doc_id"] for h in hits["results"]] == ["uploads/guide.md"]
    assert hits["results"][0]["passage"]["metadata"]["section"] == "Sourdough"
    for doc_id in added:
        assert client.delete("/documents/" + doc_id.replace("#", "%23")).status_code == 200
    assert not added & ids(client)


# --- bad input: 400 ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "body, message",
    [
        ({"question": ""}, "question"),
        ({"question": "   "}, "empty"),
        ({"question": "x", "k": 0}, "k"),
        ({"question": "x", "k": 51}, "k must be at most 50"),
        ({"question": "x", "top_answers": 0}, "top_answers"),
        ({"question": "x", "mode": "magic"}, "mode"),
        ({"question": "x", "min_confidence": 2}, "min_confidence"),
        ({"question": "x", "colour": "red"}, "colour"),
        ({"k": 3}, "question"),
        ({"question": "y" * 2001}, "longer than 2000"),
    ],
)
def test_bad_asks_are_400(client, body, message):
    r = client.post("/ask", json=body)
    assert r.status_code == 400 and message in r.json()["error"]
    assert list(r.json()) == ["error"]


def test_malformed_json_is_400(client):
    r = client.post("/ask", content=b'{"question": ', headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("../../x.txt", b"escape attempt", "without folders"),
        ("..\\..\\x.txt", b"escape attempt", "without folders"),
        ("/etc/x.txt", b"escape attempt", "without folders"),
        (".hidden.txt", b"hidden", "not allowed"),
        ("notes.exe", b"MZ", "unsupported file type .exe"),
        ("picture.txt", b"\x89PNG\r\n\x1a\n\x00\x00", "binary file"),
        ("empty.md", b"  \n", "empty document"),
    ],
)
def test_bad_uploads_are_400_and_write_nothing(client, served, tmp_path, name, data, message):
    path = served[1]
    before = sorted(p.name for p in path.rglob("*"))
    r = client.post("/documents", files=[("files", (name, data, "text/plain"))])
    assert r.status_code == 400 and message in r.json()["error"], r.json()
    assert str(path) not in r.json()["error"], "the server's paths leak into the message"
    assert sorted(p.name for p in path.rglob("*")) == before
    for folder in (path.parent, path.parent.parent, Path.cwd()):
        assert not (folder / "x.txt").exists()


def test_other_bad_document_requests_are_400(client):
    assert client.post("/documents", content=b"text", headers={"content-type": "text/plain"}).status_code == 400
    assert client.post("/documents", json={"documents": []}).status_code == 400
    assert client.post("/documents", json={"documents": [{"id": "a"}]}).status_code == 400
    dup = {"id": "same", "text": "twice"}
    r = client.post("/documents", json={"documents": [dup, dup]})
    assert r.status_code == 400 and "duplicate" in r.json()["error"]
    r = client.post("/documents", data={"note": "no file"}, files=[])
    assert r.status_code == 400


# --- 404, 405, 409, 413 -----------------------------------------------------------------------------------------------
def test_not_found(client):
    assert client.get("/no-such-endpoint").json() == {"error": "not found"}
    assert client.get("/no-such-endpoint").status_code == 404
    assert client.delete("/documents/never-indexed").status_code == 404
    assert client.put("/ask").status_code == 405


def test_write_while_another_process_writes_is_409(client, served):
    with open(served[1] / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            r = client.post("/documents", json={"documents": [{"id": "late", "text": "Too late."}]})
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    assert r.status_code == 409 and "being written" in r.json()["error"]
    assert "late" not in ids(client)


def test_write_while_a_write_runs_is_409(client):
    """A second write during a long upload is refused at once; reads keep being answered meanwhile."""
    big = " ".join(f"Sentence {i} about the quiet harbour of Veltmoor and its lighthouse keeper." for i in range(3000))
    done = threading.Event()
    result = {}

    def slow_upload():  # retried while one of the deletes below holds the writer, as a client would
        while True:
            r = client.post("/documents", files=[("files", ("harbour.txt", big.encode(), "text/plain"))])
            if r.status_code != 409:
                break
        result["r"] = r
        done.set()

    threading.Thread(target=slow_upload).start()
    statuses = []
    while not done.is_set():
        statuses.append(client.delete("/documents/no-such-document").status_code)
        assert client.get("/health").status_code == 200
    assert result["r"].status_code == 200, result["r"].json()
    assert 409 in statuses, statuses
    assert set(statuses) <= {404, 409}
    assert client.delete("/documents/uploads/harbour.txt").status_code == 200


def test_too_large_is_413(client):
    r = client.post("/ask", json={"question": "x" * (LIMIT_REQUEST + 10)})
    assert r.status_code == 413 and "limit" in r.json()["error"]
    r = client.post("/documents", files=[("files", ("big.txt", b"word " * (LIMIT_UPLOAD // 4), "text/plain"))])
    assert r.status_code == 413


def test_too_large_without_content_length_is_413(client):
    def chunks():
        yield b'{"question": "'
        for _ in range(LIMIT_REQUEST // 1000 + 2):
            yield b"x" * 1000
        yield b'"}'

    r = client.post("/ask", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


# --- 500 and 503 ------------------------------------------------------------------------------------------------------
def test_internal_error_is_500_without_a_trace(client, served, monkeypatch):
    reader = served[2].state.reader

    def broken(*args):
        raise RuntimeError("secret detail at /srv/x.py line 3")

    monkeypatch.setattr(reader, "info", broken)
    r = client.get("/info")
    assert r.status_code == 500
    assert r.json() == {"error": "internal error (details are in the server log)"}


def test_not_ready_is_503_until_the_models_load(corpus_index, tmp_path):
    app = create_app(ServerSettings(index=corpus_index))
    gate = threading.Event()
    app.state.reader.executor.submit(gate.wait)  # the model thread is busy: loading waits behind this
    with TestClient(app) as client:
        for path, method in (("/ready", "get"), ("/ask", "post"), ("/documents", "get"), ("/info", "get")):
            r = getattr(client, method)(path, **({"json": {"question": VOLCANO}} if method == "post" else {}))
            assert r.status_code == 503 and "loading" in r.json()["error"], (path, r.json())
        assert client.get("/health").status_code == 200
        gate.set()
        wait_ready(client)
        assert client.post("/ask", json={"question": VOLCANO}).json()["answers"][0]["answer"] == "Olympus Mons"


def test_models_that_fail_to_load_give_503_with_the_reason(corpus_index, tmp_path):
    app = create_app(ServerSettings(index=corpus_index, reader=str(tmp_path / "no-such-reader")))
    with TestClient(app) as client:
        for _ in range(200):
            r = client.get("/ready")
            if "loading" not in r.json()["error"]:
                break
            threading.Event().wait(0.05)
        assert r.status_code == 503 and "no-such-reader" in r.json()["error"]
        assert client.post("/ask", json={"question": "x"}).status_code == 503


def test_a_retriever_model_that_fails_to_load_is_one_log_line_per_side(corpus_index, tmp_path, caplog):
    app = create_app(ServerSettings(index=corpus_index, retriever=str(tmp_path / "no-such-model")))
    with caplog.at_level("ERROR", logger="openbook"), TestClient(app) as client:
        for _ in range(200):
            writer_said = [r for r in caplog.records if "writer" in r.getMessage()]
            if writer_said and "loading" not in client.get("/ready").json()["error"]:
                break
            threading.Event().wait(0.05)
        assert client.get("/ready").status_code == 503
    assert len(writer_said) == 1 and "no-such-model" in writer_said[0].getMessage()
    assert writer_said[0].exc_info is None  # a one-line reason, no traceback


def test_openapi_and_docs_work_offline(client):
    spec = client.get("/openapi.json").json()
    assert {"/ask", "/search", "/documents", "/documents/{doc_id}", "/info", "/health", "/ready"} <= set(spec["paths"])
    page = client.get("/docs").text
    assert "/docs/assets/swagger-ui-bundle.js" in page and "cdn" not in page.lower()
    assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 200


def test_page_and_its_files_are_served_with_no_outside_links(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    for asset in ("/static/app.js", "/static/style.css"):
        assert client.get(asset).status_code == 200
    for text in (page.text, client.get("/static/app.js").text, client.get("/static/style.css").text):
        assert "http://" not in text and "https://" not in text


def test_no_cors_unless_asked(client):
    r = client.options("/ask", headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in r.headers
    r = client.get("/health", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in r.headers


def test_cors_for_the_named_origin_only(corpus_index, tmp_path):
    no_models = str(tmp_path / "none")  # CORS needs no models: this app never loads any
    app = create_app(ServerSettings(index=corpus_index, reader=no_models, cors=("http://app.example",)))
    with TestClient(app) as client:
        ok = client.options("/ask", headers={"Origin": "http://app.example", "Access-Control-Request-Method": "POST"})
        assert ok.headers["access-control-allow-origin"] == "http://app.example"
        other = client.get("/health", headers={"Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_empty_index_is_served_and_the_first_upload_creates_it(tmp_path):
    app = create_app(ServerSettings(index=tmp_path / "fresh"))
    with TestClient(app) as client:
        wait_ready(client)
        assert client.get("/documents").json() == {"count": 0, "documents": []}
        assert client.get("/info").json()["documents"] == 0
        r = client.post("/ask", json={"question": "anything?"})
        assert r.status_code == 400 and "no index" in r.json()["error"]
        doc = {"id": "d1", "text": "Quokkas live on Rottnest Island near Perth."}
        assert client.post("/documents", json={"documents": [doc]}).status_code == 200
        best = client.post("/ask", json={"question": "Where do quokkas live?"}).json()["answers"][0]
        assert "Rottnest" in best["answer"]
        assert json.loads((tmp_path / "fresh" / "index.json").read_text())["model"]["name"] == info_model(client)
        assert client.delete("/documents/d1").json() == {"removed": "d1", "passages_removed": 1}
        assert client.get("/documents").json() == {"count": 0, "documents": []}


def info_model(client) -> str:
    return client.get("/info").json()["model"]


@pytest.fixture
def kettles(client):
    """Three documents with year and lang metadata, removed afterwards."""
    docs = [
        {"id": "f/2021", "text": "The Brimble kettle whistles at 97 degrees.",
         "metadata": {"year": 2021, "lang": "en"}},
        {"id": "f/2019", "text": "The Brimble kettle whistled at 95 degrees.",
         "metadata": {"year": 2019, "lang": "en"}},
        {"id": "f/fr", "text": "La bouilloire Brimble siffle a 96 degres.", "metadata": {"year": 2022, "lang": "fr"}},
    ]
    assert client.post("/documents", json={"documents": docs}).status_code == 200
    yield docs
    for doc in docs:
        assert client.delete("/documents/" + doc["id"].replace("/", "%2F")).status_code == 200


def doc_ids(body: dict, key: str) -> set[str]:
    return {hit["passage"]["doc_id"] for hit in body[key]}


@pytest.mark.parametrize(
    "where, expected",
    [
        ({"where": ["year=2021"]}, {"f/2021"}),
        ({"filters": "year>=2020; lang=en"}, {"f/2021"}),
        ({"where": "lang in en,fr; year<2022"}, {"f/2021", "f/2019"}),
        ({"where": {"field": "meta.lang", "operator": "==", "value": "fr"}}, {"f/fr"}),
        (
            {"filters": {"operator": "OR", "conditions": [
                {"field": "meta.year", "operator": "<", "value": 2020},
                {"field": "meta.lang", "operator": "=", "value": "fr"},
            ]}},
            {"f/2019", "f/fr"},
        ),
    ],
)
@pytest.mark.parametrize("mode", ["hybrid", "lexical"])
def test_search_filters_before_ranking(client, kettles, where, expected, mode):
    """Only passages passing the filter come back, even where better unfiltered hits exist; k=10 shows all of them."""
    r = client.post("/search", json={"question": "Brimble kettle degrees", "k": 10, "mode": mode, **where})
    assert r.status_code == 200, r.json()
    assert doc_ids(r.json(), "results") == expected
    assert r.json()["where"]["operator"] in ("==", "=", "in", "<", "AND", "OR")


def test_ask_with_a_filter_answers_from_the_documents_that_pass(client, kettles):
    question = "At how many degrees does the Brimble kettle whistle?"
    for year, answer in ((2021, "97"), (2019, "95")):
        r = client.post("/ask", json={"question": question, "where": [f"year={year}"]})
        assert r.status_code == 200, r.json()
        answers = r.json()["answers"]
        assert answers and {a["passage"]["doc_id"] for a in answers} == {f"f/{year}"}
        assert answer in answers[0]["answer"]
    r = client.post("/ask", json={"question": VOLCANO, "where": ["year=1850"]})  # no passage passes: no answers
    assert r.status_code == 200 and r.json()["answers"] == [], r.json()
    r = client.post("/search", json={"question": VOLCANO, "where": ["year=1850"]})
    assert r.status_code == 200 and r.json()["results"] == [], r.json()


def test_documents_listed_by_metadata_and_by_name(client, kettles):
    listed = client.get("/documents", params={"where": "lang=en"}).json()
    assert {d["id"] for d in listed["documents"]} == {"f/2021", "f/2019"} and listed["count"] == 2
    both = client.get("/documents", params=[("where", "lang=en"), ("where", "year>2020")]).json()
    assert [d["id"] for d in both["documents"]] == ["f/2021"]
    assert client.get("/documents", params={"where": "year>=2019", "limit": 1}).json()["count"] == 1
    assert [d["id"] for d in client.get("/documents", params={"contains": "f/fr"}).json()["documents"]] == ["f/fr"]


@pytest.mark.parametrize(
    "where, message",
    [
        (["year>>2020"], "bad filter"),
        ("year", "bad filter"),
        ({"field": "meta.year", "operator": "~", "value": 1}, "operator"),
        ({"operator": "XOR", "conditions": []}, "XOR"),
    ],
)
@pytest.mark.parametrize("path", ["/ask", "/search"])
def test_bad_filters_are_400_with_one_line(client, path, where, message):
    r = client.post(path, json={"question": VOLCANO, "where": where})
    assert r.status_code == 400, r.json()
    assert list(r.json()) == ["error"] and "\n" not in r.json()["error"]
    assert message.lower() in r.json()["error"].lower(), r.json()


def test_bad_document_filter_is_400(client):
    r = client.get("/documents", params={"where": "year>>2020"})
    assert r.status_code == 400 and "\n" not in r.json()["error"]


def test_min_confidence_sets_abstain(client):
    """The threshold in force decides ``abstain``; the answers and their confidences stay the same."""
    chess = {"question": "Which piece in chess can jump?", "top_answers": 5}
    default = client.post("/ask", json=chess).json()
    assert "min_confidence" not in default and default["answers"][0]["answer"] == "knight"
    confidences = [a["confidence"] for a in default["answers"]]
    assert all(0 <= c <= 1 for c in confidences) and min(confidences) < 0.8 < max(confidences), confidences
    for threshold in (0, 0.8, 0.99):
        body = client.post("/ask", json={**chess, "min_confidence": threshold}).json()
        assert body["min_confidence"] == threshold
        assert [a["answer"] for a in body["answers"]] == [a["answer"] for a in default["answers"]]
        assert [a["confidence"] for a in body["answers"]] == confidences
        assert [a["abstain"] for a in body["answers"]] == [c < threshold for c in confidences]


def test_read_all_is_taken_and_keeps_a_settled_answer(client):
    """The default reads with the cascade; ``read_all`` reads all k passages, and a settled answer stays the same."""
    chess = {"question": "Which piece in chess can jump over other pieces?", "k": 5}
    default = client.post("/ask", json=chess).json()
    everything = client.post("/ask", json={**chess, "read_all": True}).json()
    assert everything["read_all"] is True and "read_all" not in default
    top = everything["answers"][0]["answer"]
    assert top == default["answers"][0]["answer"] and "knight" in top
    assert client.post("/ask", json={**chess, "read_all": "maybe"}).status_code == 400


def test_nonsense_question_is_not_in_your_documents(client):
    """A question the corpus cannot answer: the top answer abstains at the reader's own threshold."""
    body = client.post("/ask", json={"question": "What is the airspeed of an unladen swallow in Tasmania?"}).json()
    assert body["answers"] and body["answers"][0]["abstain"] is True
