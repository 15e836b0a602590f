"""A one-time upgrade of indexes written in format 1 (one copied generation per write) to format 2.

The store of the current generation is copied into ``store.sqlite`` and given the new tables; the exact vectors of a
flat FAISS file become BLOBs. The new ``index.json`` is the commit point; only then are the two generation files the
old manifest names removed. An ivf index of format 1 kept only compressed codes, so it cannot be upgraded without loss:
it is refused with a one-line message.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from openbook.config import lock_timeout
from openbook.errors import OpenbookError


def upgrade(path: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """Upgrade the format-1 index at ``path``; returns its new manifest."""
    from openbook.index import folder
    from openbook.index.names import MANIFEST, STORE
    from openbook.index.settings import IndexSettings
    from openbook.index.store import PassageStore, now
    from openbook.index.vectors import VectorIndex

    name = path.name
    with folder.storage_errors(name), folder._locked(path, lock_timeout()):
        current = folder.read_manifest(path)
        if current["format"] == folder.FORMAT:
            return current
        generation = int(current["generation"])
        old_db, old_vec = path / f"store-{generation}.sqlite", path / f"vectors-{generation}.faiss"
        new = {"format": folder.FORMAT, "model": current["model"], "created": current.get("created") or now()}
        dimension = current["model"].get("dimension")
        settings = IndexSettings.from_dict(  # checked before anything is written
            current.get("settings") or {},
            dimension if isinstance(dimension, int) else None,
            f"index {name}: malformed settings in {MANIFEST}",
        )
        (path / STORE).unlink(missing_ok=True)  # a half-made store of an interrupted upgrade (format 1 has none)
        for suffix in ("-wal", "-shm"):
            (path / (STORE + suffix)).unlink(missing_ok=True)
        store = PassageStore(path / STORE)
        try:
            if generation > 0:
                vectors = VectorIndex.load(old_vec, current["model"].get("metric") or "ip")
                if vectors.kind != "flat":
                    raise OpenbookError(
                        f"index {name} was written by an older openbook as an ivf index, whose exact vectors it did "
                        f"not keep: build it again (openbook drop {name}, then openbook index ...)"
                    )
                _copy_rows(old_db, store, vectors)
            with store.transaction():
                store.set_meta("format", str(folder.FORMAT))
                store.set_meta("manifest", json.dumps(new))
                store.set_meta("settings", settings.to_json())
        except BaseException:
            store.close()
            for suffix in ("", "-wal", "-shm"):
                (path / (STORE + suffix)).unlink(missing_ok=True)
            raise
        store.close()
        folder.write_json_atomic(path / MANIFEST, new)  # the commit point of the upgrade
        for old in (old_db, old_vec):
            old.unlink(missing_ok=True)
        return new


def _copy_rows(old_db: Path, store: Any, vectors: Any) -> None:
    """Documents, passages and vectors of a format-1 store into the new one (one transaction)."""
    from openbook.index import lexical
    from openbook.index.store import ADD, to_blob

    conn = store.conn
    conn.execute("ATTACH DATABASE ? AS old", (str(old_db),))
    try:
        with store.transaction():
            conn.execute(
                "INSERT INTO documents(id, title, source, text, hash, metadata, passages, indexed_at) "
                "SELECT id, title, source, text, hash, metadata, passages, NULL FROM old.documents"
            )
            conn.execute(
                'INSERT INTO passages(id, doc_id, ordinal, start, "end", title, text, metadata) '
                'SELECT id, doc_id, ordinal, start, "end", title, text, \'{}\' FROM old.passages'
            )
            row = conn.execute("SELECT value FROM old.meta WHERE key = 'next_passage_id'").fetchone()
            conn.execute(f"INSERT INTO {lexical.TABLE}({lexical.TABLE}) VALUES ('rebuild')")
            ids, vecs = vectors.vectors()
            conn.executemany("INSERT INTO vectors(id, vector) VALUES (?, ?)", zip(ids.tolist(), map(to_blob, vecs)))
            conn.executemany("INSERT INTO vector_log(op, id) VALUES (?, ?)", ((ADD, int(i)) for i in sorted(ids)))
            store.set_meta("next_passage_id", row[0] if row else str(int(max(ids, default=0)) + 1))
    finally:
        conn.execute("DETACH DATABASE old")
