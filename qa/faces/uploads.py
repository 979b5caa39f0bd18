"""Uploaded files into the index: checked, staged, read, indexed in one commit, then kept.

The chat's upload button calls `add_uploads` (through `qa.faces.handlers`). What it guards against is
its own job, apart from the layout and the chat: a name that would leave its folder, a type the
readers cannot read, an oversized file, a file with nothing usable in it; each refused file gets one
reason, and a refused file never touches the index. It needs no Gradio, so its tests need none either.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from qa.errors import InputError
from qa.faces.render_html import safe_text
from qa.index import Index, UpdateReport
from qa.ingest.files import FEED_SUFFIXES, SUPPORTED_SUFFIXES, read_path
from qa.records import Article

__all__ = ["MAX_UPLOAD_BYTES", "MAX_UPLOAD_FILES", "UPLOADS_DIR", "UploadResult", "add_uploads", "safe_filename"]

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
"""Per file: a news article is a few kilobytes; a JSONL of a few thousand articles still fits."""
MAX_UPLOAD_FILES = 20
UPLOADS_DIR = "uploads"
"""Uploaded files are kept in this folder inside the index folder (and nowhere else)."""


@dataclass
class UploadResult:
    """What an upload did: files kept (their safe names), files refused (one reason each), and the
    index's report (None when nothing was indexed)."""

    accepted: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    report: UpdateReport | None = None

    def message(self) -> str:
        """Markdown for the app; every file name and reason escaped."""
        lines = []
        if self.report is not None:
            r = self.report
            lines.append(
                f"✅ {len(r.added)} added · {len(r.updated)} updated · {len(r.unchanged)} unchanged "
                f"({r.chunks_embedded} chunks in {r.seconds:.1f}s): "
                + ", ".join(safe_text(name) for name in self.accepted)
            )
            lines += [f"⚠️ {safe_text(w)}" for w in r.warnings]
        lines += [f"❌ {safe_text(reason)}" for reason in self.rejected]
        return "<br>".join(lines) or "No file received."


def safe_filename(name: str) -> str:
    """A file name that cannot leave its folder: the last path component only (either slash),
    letters (Arabic included), digits, `-`, `_` and `.` kept, other runs turned into `_`, no leading
    dot, at most 100 characters before the suffix; "upload" when nothing is left.

    Example:
        >>> safe_filename("../../etc/passwd.txt"), safe_filename("..\\\\x\\\\خبر عاجل!.md")
        ('passwd.txt', 'خبر_عاجل.md')
    """
    name = unicodedata.normalize("NFC", str(name)).replace("\x00", "")
    name = re.split(r"[\\/]", name)[-1]
    stem, dot, suffix = name.rpartition(".")
    if not dot or not re.fullmatch(r"[A-Za-z0-9]{1,10}", suffix):
        stem, suffix = name, ""
    stem = re.sub(r"[^\w.-]+", "_", stem).strip("._-")[:100].strip("._-") or "upload"
    return f"{stem}.{suffix.lower()}" if suffix else stem


def _size_text(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB" if size >= 1024 * 1024 else f"{size / 1024:.1f} KB"


_WARNING = re.compile(r"^.*?(?::(\d+))?: skipped: (.*)$", re.DOTALL)


def _reason(warning: str) -> str:
    """An ingest warning ("f.jsonl:3: skipped: not valid JSON") without the staging file's name."""
    match = _WARNING.match(warning)
    if not match:
        return warning
    line, reason = match.groups()
    return f"line {line}: {reason}" if line else reason


def add_uploads(
    index: Index,
    files: Sequence[str | os.PathLike],
    *,
    max_files: int = MAX_UPLOAD_FILES,
    max_bytes: int = MAX_UPLOAD_BYTES,
    progress: bool = False,
) -> UploadResult:
    """Check, read and index uploaded files; keep them in `<index_dir>/uploads/`.

    Each file must have a supported suffix, be at most `max_bytes` and hold at least one usable
    article; others are refused with a reason and never touch the index. Files are read from a
    private staging folder inside the index folder, the readable ones are indexed in one
    `Index.add` (an atomic commit), and only then moved into `uploads/` under their safe names.
    Article ids are `uploads/<name>` (JSONL records keep their own ids), so re-uploading a file
    replaces its earlier version and never a seed article.

    Args:
        index: The open index (its folder receives the files).
        files: Paths of the uploaded files; their names are what the user chose.
        max_files: Files accepted per upload; the rest are refused.
        max_bytes: Size limit per file.
        progress: Show the embedding progress bar (the app tracks it).

    Returns:
        The `UploadResult`.

    Raises:
        IndexLockedError: another process is writing to the index.
    """
    result = UploadResult()
    files = list(files or [])
    if len(files) > max_files:
        extra = files[max_files:]
        files = files[:max_files]
        result.rejected += [f"{Path(f).name}: too many files (at most {max_files} per upload)" for f in extra]
    uploads = index.index_dir / UPLOADS_DIR
    # Staged beside uploads/ (one filesystem, so the final move is atomic); uploads/ itself is made only
    # once something is indexed, so a refused upload leaves the index folder exactly as it was.
    staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=index.index_dir))
    allowed = ", ".join(SUPPORTED_SUFFIXES)
    try:
        articles: list[Article] = []
        staged: list[str] = []
        for file in files:
            source = Path(file)
            shown = source.name
            name = safe_filename(shown)
            suffix = Path(name).suffix.lower()
            if suffix not in SUPPORTED_SUFFIXES:
                result.rejected.append(f"{shown}: unsupported file type; use {allowed}")
                continue
            try:
                size = source.stat().st_size
            except OSError:
                result.rejected.append(f"{shown}: the upload could not be read; try again")
                continue
            if size > max_bytes:
                result.rejected.append(f"{shown}: {_size_text(size)} is over the limit of {_size_text(max_bytes)} per file")
                continue
            if name in staged:
                result.rejected.append(f"{shown}: another file in this upload has the same name")
                continue
            target = staging / name
            if target.resolve().parent != staging.resolve():  # cannot happen after safe_filename; belt and braces
                result.rejected.append(f"{shown}: invalid file name")
                continue
            shutil.copyfile(source, target)
            try:
                read = read_path(target)
            except InputError as exc:
                result.rejected.append(f"{shown}: {exc}")
                continue
            if not read.articles:
                reason = _reason(read.warnings[0]) if read.warnings else "no usable article"
                result.rejected.append(f"{shown}: {reason}")
                continue
            if suffix != ".jsonl" and suffix not in FEED_SUFFIXES:  # a JSONL line or feed entry keeps its own id
                read.articles = [replace(a, id=f"{UPLOADS_DIR}/{name}") for a in read.articles]
            result.rejected += [f"{shown}: {_reason(w)}" for w in read.warnings]
            articles += read.articles
            staged.append(name)
        if not articles:
            return result
        result.report = index.add(articles, progress=progress)
        uploads.mkdir(parents=True, exist_ok=True)
        for name in staged:
            os.replace(staging / name, uploads / name)
        result.accepted = staged
        return result
    finally:
        shutil.rmtree(staging, ignore_errors=True)
