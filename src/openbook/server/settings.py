"""Every setting of the HTTP server, with its default, in one place."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from openbook.retrieval.fusion import DEFAULT_MODE

MIB = 1024 * 1024


@dataclass
class ServerSettings:
    """How ``openbook serve`` runs: which index and models, where it listens, who may call it, and its limits."""

    index: str | Path | None = None  # index name (checked; None: the default index), or a Path: the index folder
    index_dir: Path | None = None  # the folder holding the indexes (None: indexes/, or $OPENBOOK_INDEXES)
    retriever: str | None = None  # retriever model (None: the index's own)
    reader: str | None = None  # reader model (None: the default reader)
    host: str = "127.0.0.1"
    port: int = 8000
    token: str | None = None  # bearer token every API request must carry (None: no check)
    insecure: bool = False  # allow a non-loopback bind without a token
    cors: tuple[str, ...] = ()  # origins allowed to call the API from a browser (empty: CORS off)
    mode: str = DEFAULT_MODE  # retrieval mode when a request names none
    k: int = 5  # passages read per question when a request names none
    top_answers: int = 3  # answers returned per question when a request names none
    read_all: bool = False  # read all k passages when a request does not say (False: the reading cascade)
    max_k: int = 50
    max_top_answers: int = 20
    max_question_chars: int = 2000
    max_batch: int = 16  # most questions in one batched model call
    batch_wait_ms: float = 5.0  # how long a batch waits for more questions after its first
    max_request_bytes: int = 1 * MIB  # JSON bodies (asks, searches, documents as JSON)
    max_upload_bytes: int = 32 * MIB  # a multipart upload, all its files together
