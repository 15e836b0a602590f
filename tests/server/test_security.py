"""Safe by default: the bind policy, the bearer token on a real server, upload names that cannot escape."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from openbook.errors import OpenbookError
from openbook.ingest.loaders import READERS
from openbook.server.security import check_bind, is_loopback, token_matches, upload_name
from tests.server.conftest import VOLCANO, copy_index


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.53", "::1", "[::1]", "localhost", "LOCALHOST"])
def test_loopback_hosts(host):
    assert is_loopback(host)
    check_bind(host, None, False)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "10.0.0.1", "example.org", "my-laptop"])
def test_other_hosts_need_a_token_or_insecure(host):
    assert not is_loopback(host)
    with pytest.raises(OpenbookError, match="--token"):
        check_bind(host, None, False)
    check_bind(host, "s3cret", False)
    check_bind(host, None, True)


def test_an_empty_token_is_refused():
    with pytest.raises(OpenbookError, match="must not be empty"):
        check_bind("127.0.0.1", "  ", False)


def test_token_matches():
    assert token_matches("Bearer s3cret", "s3cret")
    assert token_matches("bearer s3cret", "s3cret")
    for header in (None, "", "s3cret", "Bearer", "Bearer s3cre", "Bearer s3cretX", "Basic s3cret", "Bearer S3CRET"):
        assert not token_matches(header, "s3cret"), header


@pytest.mark.parametrize("name", ["notes.txt", "Report 2024 (final).md", "data_v2.jsonl", "Über.html", "a.b.txt"])
def test_plain_upload_names_are_kept(name):
    assert upload_name(name, tuple(READERS)) == name


@pytest.mark.parametrize(
    "name",
    ["../../x.txt", "..\\x.txt", "/etc/passwd.txt", "a/b.txt", "..", ".", ".bashrc.txt", "x..txt", "", None,
     "nul\x00.txt", "tab\t.txt", "x.sh", "noext", "~root.txt", "-rf.txt", "a" * 300 + ".txt"],
)
def test_unsafe_upload_names_are_refused(name):
    with pytest.raises(OpenbookError):
        upload_name(name, tuple(READERS))


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "openbook.cli", "serve", *args],
        check=False, capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})},
    )


def test_cli_refuses_a_public_bind_without_a_token():
    done = run_cli("--host", "0.0.0.0", "--port", "1")
    assert done.returncode == 1
    assert "refusing to listen on 0.0.0.0 without a token" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_real_server_checks_the_token_on_every_api_request(corpus_index, tmp_path):
    path = copy_index(corpus_index, tmp_path)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "openbook.cli", "serve", "--index", path.name, "--port", str(port)],
        env={**os.environ, "OPENBOOK_TOKEN": "correct horse", "OPENBOOK_INDEXES": str(path.parent)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    good = {"Authorization": "Bearer correct horse"}
    try:
        with httpx.Client(base_url=url, timeout=60) as client:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if client.get("/ready", headers=good).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline and server.poll() is None, "server did not start"
                time.sleep(0.1)
            for method, route in [("GET", "/health"), ("GET", "/info"), ("GET", "/documents"), ("POST", "/ask"),
                                  ("POST", "/search"), ("POST", "/documents"), ("DELETE", "/documents/x")]:
                for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "correct horse"}):
                    r = client.request(method, route, headers=headers, json={"question": VOLCANO})
                    assert r.status_code == 401, (method, route, headers)
                    assert r.json() == {"error": "missing or wrong bearer token"}
                    assert r.headers["www-authenticate"] == "Bearer"
            r = client.post("/ask", headers=good, json={"question": VOLCANO})
            assert r.json()["answers"][0]["answer"] == "Olympus Mons"
            assert client.get("/", headers={}).status_code == 200  # the page shell holds no data; it asks for the token
            assert client.get("/static/app.js").status_code == 200
    finally:
        server.terminate()
        server.wait(30)


def test_cli_says_so_in_one_line_when_the_port_is_taken():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        done = run_cli("--port", str(taken.getsockname()[1]))
    assert done.returncode == 1
    assert "cannot listen on 127.0.0.1" in done.stderr and "in use" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
