"""Safe by default: who may bind where, the bearer-token check, and upload file names that cannot leave their folder."""

from __future__ import annotations

import hmac
import ipaddress
import re
import unicodedata

from openbook.errors import OpenbookError

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}
MAX_NAME_CHARS = 200
_NAME = re.compile(r"[\w][\w .()+,=@~-]*")  # starts with a letter, digit or underscore: no hidden files, no "..".


def is_loopback(host: str) -> bool:
    """Whether ``host`` only listens on this machine (127.0.0.0/8, ::1, localhost)."""
    host = host.strip().strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None, insecure: bool) -> None:
    """Refuse to listen beyond this machine unless a token guards the API or the user said ``--insecure``."""
    if token is not None and not token.strip():
        raise OpenbookError("--token must not be empty")
    if not is_loopback(host) and token is None and not insecure:
        raise OpenbookError(
            f"refusing to listen on {host} without a token: anyone who can reach it could read and change the index "
            "(give --token T, or --insecure if that is really what you want)"
        )


def token_matches(header: str | None, token: str) -> bool:
    """Whether an ``Authorization`` header carries ``Bearer <token>`` (compared in constant time)."""
    if not header:
        return False
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode("utf-8"), token.encode("utf-8"))


def upload_name(raw: str | None, suffixes: tuple[str, ...]) -> str:
    """The uploaded file's name as it will be stored, or :class:`OpenbookError` when it names a folder, a parent, a
    hidden file, a device-like name or an unsupported type. Names are checked, never repaired into something else."""
    name = unicodedata.normalize("NFC", raw or "").strip()
    if not name:
        raise OpenbookError("an uploaded file has no name")
    if "/" in name or "\\" in name or "\x00" in name or name in (".", ".."):
        raise OpenbookError(f"file name {raw!r} must be a plain name, without folders")
    if len(name) > MAX_NAME_CHARS or not _NAME.fullmatch(name) or ".." in name:
        raise OpenbookError(f"file name {raw!r} is not allowed (letters, digits, spaces and . _ - ( ) + , = @ ~ only)")
    suffix = name[name.rfind(".") :].lower() if "." in name else ""
    if suffix not in suffixes:
        raise OpenbookError(f"{name}: unsupported file type {suffix or '(no suffix)'} (expected {', '.join(suffixes)})")
    return name
