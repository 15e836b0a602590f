"""Index names and folders: a name is a name, a path only when asked for explicitly, and never a foreign folder.

``resolve_index("notes")`` is ``indexes/notes`` (``OPENBOOK_INDEXES`` moves ``indexes/``); ``index_dir`` names the
folder holding the indexes instead. A ``pathlib.Path`` given from Python is taken as the index folder itself. Whatever
the route, an index is only ever created in a folder that is missing, empty or already an openbook index.
"""

from __future__ import annotations

import re
from pathlib import Path

from openbook.config import DEFAULT_INDEX, indexes_dir
from openbook.errors import OpenbookError

_NAME = re.compile(r"[A-Za-z0-9._-]+")
MANIFEST = "index.json"
STORE = "store.sqlite"


def check_name(name: str) -> str:
    """``name`` when it is a valid index name: letters, digits, ``-``, ``_`` and ``.``, not ``.`` or ``..``."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or name in (".", ".."):
        raise OpenbookError(
            f"invalid index name {name!r}: use letters, digits, '-', '_' and '.' (a folder goes in --index-dir)"
        )
    return name


def resolve_index(name: str | Path | None, index_dir: Path | None = None) -> Path:
    """The folder of the index ``name`` (default ``default``) under ``index_dir`` (default :func:`indexes_dir`).

    A ``Path`` (not a ``str``) is an explicit index folder and is returned as it is."""
    if isinstance(name, Path):
        return name
    folder = Path(index_dir) if index_dir is not None else indexes_dir()
    return folder / check_name(name if name is not None else DEFAULT_INDEX)


def is_index(path: Path) -> bool:
    """Whether ``path`` holds an openbook index (its manifest, or its store when the manifest was lost)."""
    return (path / MANIFEST).is_file() or (path / STORE).is_file()


def check_folder(path: Path) -> None:
    """Refuse to create an index in ``path`` unless it is missing, empty or already an openbook index."""
    if not path.exists() or is_index(path):
        return
    if not path.is_dir():
        raise OpenbookError(f"{path} is a file, not an index folder")
    if any(path.iterdir()):
        raise OpenbookError(f"{path} holds files that are not an openbook index: refusing to write there")
