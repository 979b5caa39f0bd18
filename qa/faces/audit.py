"""The audit log: who added, updated or deleted which articles, when, with their content hashes.

One JSON line per kind of change per write, appended to `audit.jsonl` in the index folder (the
index's own files never reference it, so it survives merges and is never checksummed):

    {"time": "2026-12-06T10:02:03Z", "user": "amina", "via": "api", "client": "10.0.0.7",
     "action": "add", "documents": [{"id": "uploads/note.md", "hash": "<sha256 of the content>"}]}

`via` says which door the change came through: "api" (REST, with the editor's key), "chat" (the
editors' chat, after a login) or "cli" (`qa index`, `qa delete`, as the local account). The hash is
`Article.content_hash`, so a later reader can tell which version of an article was indexed. Writes
are appended under a lock and flushed to disk before the request is answered; a refused or failed
write appends nothing. `qa log` prints the file.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qa.index import Index, UpdateReport

__all__ = ["AUDIT_FILE", "ACTIONS", "entry_text", "read_log", "record_changes", "record_report"]

AUDIT_FILE = "audit.jsonl"
ACTIONS = ("add", "update", "delete")
_lock = threading.Lock()


def record_changes(
    index_dir: str | os.PathLike,
    *,
    user: str,
    via: str,
    changes: dict[str, list[tuple[str, str | None]]],
    client: str | None = None,
) -> list[dict[str, Any]]:
    """Append one line per action in `changes` ({"add": [(id, hash), ...], ...}; empty ones skipped).

    Returns:
        The entries written.
    """
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    entries = []
    for action in ACTIONS:
        documents = changes.get(action) or []
        if documents:
            entry = {"time": stamp, "user": user, "via": via, "client": client, "action": action}
            entry["documents"] = [{"id": doc_id, "hash": content_hash} for doc_id, content_hash in documents]
            entries.append(entry)
    if not entries:
        return []
    path = Path(index_dir) / AUDIT_FILE
    text = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries)
    with _lock, path.open("a", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    return entries


def record_report(
    index: Index,
    report: UpdateReport,
    *,
    user: str,
    via: str,
    client: str | None = None,
    deleted_hashes: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Append what `report` (of a write to `index`, just committed) changed: added and updated ids
    with the hashes of the versions now indexed, deleted ids with those of `deleted_hashes` (read
    before the deletion; None when unknown)."""
    known = deleted_hashes or {}

    def hashed(ids: list[str]) -> list[tuple[str, str | None]]:
        return [(doc_id, index.article(doc_id).content_hash) for doc_id in ids]

    changes = {"add": hashed(report.added), "update": hashed(report.updated), "delete": [(d, known.get(d)) for d in report.deleted]}
    return record_changes(index.index_dir, user=user, via=via, client=client, changes=changes)


def read_log(index_dir: str | os.PathLike) -> Iterator[dict[str, Any]]:
    """The entries of the index folder's audit log, oldest first (none when there is no log); a
    line that is not JSON (a write cut short by a crash) is passed over."""
    path = Path(index_dir) / AUDIT_FILE
    if not path.exists():
        return
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(entry, dict):
                yield entry


def entry_text(entry: dict[str, Any]) -> str:
    """One line for people: time, user (door, client), action, how many, and each id with the first
    12 hex digits of its hash."""
    documents: Iterable[dict[str, Any]] = entry.get("documents") or []
    docs = ", ".join(f"{d.get('id')} ({(d.get('hash') or '-')[:12]})" for d in documents)
    where = entry.get("via", "?") + (f" {entry['client']}" if entry.get("client") else "")
    count = len(entry.get("documents") or [])
    return f"{entry.get('time', '?')}  {entry.get('user', '?')} ({where})  {entry.get('action', '?')} {count}: {docs}"
