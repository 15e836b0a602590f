"""``openbook serve``: the HTTP API and the web page over one index, models loaded once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from openbook.errors import OpenbookError
from openbook.retrieval.fusion import DEFAULT_MODE


def serve(
    index: Annotated[str, typer.Option("--index", "-i", help="Index name: letters, digits, '-', '_', '.'.")] = "default",
    index_dir: Annotated[
        Path | None, typer.Option("--index-dir", help="Folder holding the indexes (default: indexes/ or OPENBOOK_INDEXES).")
    ] = None,
    host: Annotated[
        str, typer.Option(help="Address to listen on (anything but loopback needs --token).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    token: Annotated[
        str | None,
        typer.Option(envvar="OPENBOOK_TOKEN", help="Bearer token every API request must carry (or $OPENBOOK_TOKEN)."),
    ] = None,
    insecure: Annotated[
        bool, typer.Option("--insecure", help="Allow listening beyond this machine without a token.")
    ] = False,
    cors: Annotated[
        list[str] | None, typer.Option("--cors", help="An origin allowed to call the API from a browser (repeat).")
    ] = None,
    retriever: Annotated[
        str | None, typer.Option("--retriever", help="Retriever model (default: the index's own).")
    ] = None,
    reader: Annotated[str | None, typer.Option("--reader", help="Reader model folder or file.")] = None,
    mode: Annotated[str, typer.Option("--mode", help="Default retrieval: dense, lexical or hybrid.")] = DEFAULT_MODE,
    max_upload_mb: Annotated[int, typer.Option(help="Largest upload (all its files), in MiB.")] = 32,
    max_batch: Annotated[int, typer.Option(help="Most questions answered by one batched model call.")] = 16,
    read_all: Annotated[
        bool,
        typer.Option("--read-all", help="Read all k passages whole by default, not only those that could change the answer."),
    ] = False,
) -> None:
    """Answer questions over HTTP: a JSON API (OpenAPI at /docs) and a web page at http://HOST:PORT/."""
    from openbook.retrieval.fusion import check_mode
    from openbook.server.security import check_bind
    from openbook.server.settings import MIB, ServerSettings

    check_bind(host, token, insecure)
    check_mode(mode)
    if not 0 < port < 65536:
        raise OpenbookError(f"--port must be between 1 and 65535, not {port}")
    if max_upload_mb < 1 or max_batch < 1:
        raise OpenbookError("--max-upload-mb and --max-batch must be at least 1")
    try:
        import uvicorn

        from openbook.server.app import create_app
    except ImportError as exc:
        raise OpenbookError(f"openbook serve needs the serve extra (pip install -e '.[serve]'): {exc}") from None
    settings = ServerSettings(
        index=index,
        index_dir=index_dir,
        retriever=retriever,
        reader=reader,
        host=host,
        port=port,
        token=token,
        insecure=insecure,
        cors=tuple(cors or ()),
        mode=mode,
        max_upload_bytes=max_upload_mb * MIB,
        max_batch=max_batch,
        read_all=read_all,
    )
    _check_port(host, port)
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"openbook serve: index {index} at http://{shown}:{port}/ (API description at /docs); Ctrl-C stops")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning", server_header=False)


def _check_port(host: str, port: int) -> None:
    """Fail with one line, before any model loads, when the address cannot be listened on (e.g. the port is taken)."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OpenbookError(f"cannot listen on {host}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise OpenbookError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
