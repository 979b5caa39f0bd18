"""The on-disk format: immutable segment folders, and one small manifest that names the live ones.

A commit writes its new segment (if any) beside the others and fsyncs it, then replaces
`manifest.json` atomically (temp file, fsync, rename, fsync the folder). A reader therefore sees
the old state or the new one, never a mix, and a crash at any moment leaves a loadable index.
The manifest lists each live segment with each file's size and SHA-256 (so loading detects
truncation and tampering) and its tombstones (ids of deleted articles).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from qa.errors import (
    IndexCorruptError,
    IndexLockedError,
    IndexMismatchError,
    IndexNotFoundError,
)

FORMAT_VERSION = 3
"""3: segments with memory-mapped texts and a binary chunk table (`qa.index.segment`). 2: segments
with texts and chunks as JSON lines, still read. 1: one complete generation folder per commit, still
read as one segment."""
LEGACY_FORMAT_VERSION = 1
READABLE_VERSIONS = (LEGACY_FORMAT_VERSION, 2, FORMAT_VERSION)
MANIFEST = "manifest.json"
LOCK = ".lock"
GENERATION_PREFIX = "gen-"
SEGMENT_PREFIX = "seg-"
REBUILD_HINT = "run `qa index PATH --rebuild` to rebuild it"


def generation_name(number: int) -> str:
    """The folder of generation `number` in the format before segments."""
    return f"{GENERATION_PREFIX}{number:06d}"


def segment_name(number: int) -> str:
    return f"{SEGMENT_PREFIX}{number:06d}"


def file_digest(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {"size": path.stat().st_size, "sha256": digest.hexdigest()}


def fsync_path(path: Path) -> None:
    """Flush a file's or a folder's entry to disk (a rename is durable only once its folder is synced)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def seal_folder(folder: Path) -> dict[str, dict[str, Any]]:
    """fsync every file of a finished segment and return their digests for the manifest."""
    files = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        fsync_path(path)
        files[path.relative_to(folder).as_posix()] = file_digest(path)
    for sub in sorted({p.parent for p in folder.rglob("*")} | {folder}):
        fsync_path(sub)
    return files


def write_manifest(index_dir: Path, manifest: dict[str, Any]) -> None:
    """Switch the live state: the one step that makes a commit visible."""
    temp = index_dir / f"{MANIFEST}.tmp"
    with temp.open("w", encoding="utf-8") as handle:
        json.dump(manifest, handle, ensure_ascii=False, indent=1)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, index_dir / MANIFEST)
    fsync_path(index_dir)


def read_manifest(index_dir: Path) -> dict[str, Any]:
    """The manifest, checked for a known format version.

    Raises:
        IndexNotFoundError: no folder, or a folder that holds no index.
        IndexCorruptError: the manifest is unreadable.
        IndexMismatchError: another format version wrote it.
    """
    if not index_dir.is_dir():
        raise IndexNotFoundError(f"{index_dir}: no index here; create one with `qa index PATH --index-dir {index_dir}`")
    path = index_dir / MANIFEST
    if not path.is_file():
        raise IndexNotFoundError(
            f"{index_dir}: not an index (no {MANIFEST}); create one with `qa index PATH --index-dir {index_dir}`"
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        version = manifest["format_version"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexCorruptError(f"{path}: unreadable manifest; {REBUILD_HINT}") from exc
    if version not in READABLE_VERSIONS:
        raise IndexMismatchError(
            f"{index_dir}: index format version {version}, this qa reads version {FORMAT_VERSION}; {REBUILD_HINT}"
        )
    return manifest


def verify_folder(folder: Path, files: dict[str, dict[str, Any]]) -> None:
    """Check every file the manifest names: present, same size, same SHA-256."""
    for name, expected in files.items():
        path = folder / name
        try:
            actual = file_digest(path)
        except OSError as exc:
            raise IndexCorruptError(f"{path}: missing index file; {REBUILD_HINT}") from exc
        if actual["size"] != expected["size"]:
            raise IndexCorruptError(
                f"{path}: truncated or altered ({actual['size']} bytes, expected {expected['size']}); {REBUILD_HINT}"
            )
        if actual["sha256"] != expected["sha256"]:
            raise IndexCorruptError(f"{path}: checksum mismatch (file altered); {REBUILD_HINT}")


def remove_unreferenced(index_dir: Path, keep: set[str]) -> None:
    """Delete segment and old-format generation folders (and leftovers of crashed commits) other
    than `keep`."""
    for path in index_dir.iterdir():
        if path.name.startswith((GENERATION_PREFIX, SEGMENT_PREFIX)) and path.name not in keep and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def writer_lock(index_dir: Path) -> Iterator[None]:
    """Hold the folder's writer lock; a second writer fails at once instead of waiting or clobbering.

    The OS releases a `flock` when its process dies, so a killed `qa index` never leaves a stale lock.
    """
    index_dir.mkdir(parents=True, exist_ok=True)
    handle = (index_dir / LOCK).open("a+")
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise IndexLockedError(
                f"{index_dir}: another process is writing to this index; wait for it to finish and retry"
            ) from exc
        yield
    finally:
        handle.close()
