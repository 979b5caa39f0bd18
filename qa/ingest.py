"""Files in, `Article`s out: .txt, .md, .html and .jsonl, with the raw text kept verbatim.

A bad file or line never stops the batch: it is skipped with a warning that names it, so the
rest is indexed and nothing already indexed is lost.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from qa.errors import InputError
from qa.records import Article

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".jsonl")
MAX_DOCUMENT_CHARS = 2_000_000
"""About a long book; a larger 'article' is almost surely a mistake and would take minutes to embed."""

_OPTIONAL_FIELDS = ("title", "url", "date", "source")
_INVISIBLE_HTML = ("script", "style", "noscript", "template", "head", "svg", "iframe", "object")
_BLOCK_BREAKS = re.compile(r"\n\s*\n\s*(?:\n\s*)+")


@dataclass
class IngestResult:
    """Articles read, in a stable order, plus one warning line per skipped file, line or article."""

    articles: list[Article] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def read_path(path: str | Path) -> IngestResult:
    """Read every supported file under `path` (a file, or a folder searched recursively).

    Ids are the JSONL `id` field, else the file's path relative to the folder given (its name when
    a single file is given), so re-ingesting the same folder yields the same ids.

    Raises:
        InputError: the path does not exist, is an unsupported file, or holds no supported file.
    """
    root = Path(path)
    if not root.exists():
        raise InputError(f"{path}: no such file or folder")
    if root.is_file():
        if root.suffix.lower() not in SUPPORTED_SUFFIXES:
            raise InputError(f"{path}: unsupported file type; use one of {', '.join(SUPPORTED_SUFFIXES)}")
        files, base = [root], root.parent
    else:
        files = sorted(
            p
            for p in root.rglob("*")
            if p.is_file()
            and p.suffix.lower() in SUPPORTED_SUFFIXES
            and not any(part.startswith(".") for part in p.relative_to(root).parts)
        )
        base = root
        if not files:
            raise InputError(f"{path}: no {', '.join(SUPPORTED_SUFFIXES)} files in this folder")
    result = IngestResult()
    seen: dict[str, str] = {}
    for file in files:
        for article, where in _read_file(file, file.relative_to(base).as_posix(), result.warnings):
            problem = _check_article(article)
            if problem:
                result.warnings.append(f"{where}: skipped: {problem}")
            elif article.id in seen:
                result.warnings.append(f"{where}: skipped: duplicate id {article.id!r} (first in {seen[article.id]})")
            else:
                seen[article.id] = where
                result.articles.append(article)
    return result


def _check_article(article: Article) -> str | None:
    if not article.id.strip():
        return "empty id"
    if not article.text.strip():
        return "empty document"
    if len(article.text) > MAX_DOCUMENT_CHARS:
        return f"document has {len(article.text):,} characters, over the limit of {MAX_DOCUMENT_CHARS:,}; split it"
    return None


def _read_file(file: Path, rel: str, warnings: list[str]) -> list[tuple[Article, str]]:
    try:
        raw = decode_text(file.read_bytes())
    except (InputError, OSError) as exc:
        warnings.append(f"{rel}: skipped: {exc}")
        return []
    suffix = file.suffix.lower()
    if suffix == ".jsonl":
        return parse_jsonl(raw, rel, warnings)
    if suffix in (".html", ".htm"):
        return [(parse_html(raw, rel), rel)]
    return [(Article(id=rel, text=raw, title=_first_line_title(raw, markdown=suffix != ".txt")), rel)]


def decode_text(data: bytes) -> str:
    """Decode UTF-8 (with or without BOM) or BOM-marked UTF-16; refuse binary and other encodings."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise InputError("invalid UTF-16 text") from exc
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputError(f"not UTF-8 text (bad byte at position {exc.start}); save it as UTF-8") from exc
    if "\x00" in text:
        raise InputError("binary file (contains NUL bytes)")
    return text


def _first_line_title(text: str, *, markdown: bool) -> str:
    for line in text.splitlines():
        line = line.strip()
        if line:
            return line.lstrip("#").strip() if markdown else line
    return ""


def parse_html(raw: str, doc_id: str) -> Article:
    """Visible text only (scripts, styles and the head dropped), title from <title>, else <h1>."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(raw, "html.parser")
    title_tag = soup.find("title") or soup.find("h1")
    title = title_tag.get_text(" ", strip=True) if title_tag else ""
    for tag in soup(list(_INVISIBLE_HTML)):
        tag.decompose()
    lines = [line.strip() for line in soup.get_text("\n").splitlines()]
    text = _BLOCK_BREAKS.sub("\n\n", "\n".join(lines)).strip()
    return Article(id=doc_id, text=text, title=title or _first_line_title(text, markdown=False))


def parse_jsonl(raw: str, rel: str, warnings: list[str]) -> list[tuple[Article, str]]:
    """One article per line: `id` and `text` required strings; title, url, date, source optional."""
    found = []
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{rel}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            warnings.append(f"{where}: skipped: not valid JSON ({exc.msg})")
            continue
        problem = _jsonl_problem(record)
        if problem:
            warnings.append(f"{where}: skipped: {problem}")
            continue
        optional = {k: record.get(k) for k in _OPTIONAL_FIELDS}
        article = Article(
            id=str(record["id"]),
            text=record["text"],
            title=optional["title"] or _first_line_title(record["text"], markdown=False),
            url=optional["url"],
            date=optional["date"],
            source=optional["source"],
        )
        found.append((article, where))
    return found


def _jsonl_problem(record: object) -> str | None:
    if not isinstance(record, dict):
        return "each line must be a JSON object"
    for key in ("id", "text"):
        if key not in record:
            return f"missing required field {key!r}"
    if not isinstance(record["id"], (str, int)) or isinstance(record["id"], bool):
        return "field 'id' must be a string or an integer"
    if not isinstance(record["text"], str):
        return "field 'text' must be a string"
    for key in _OPTIONAL_FIELDS:
        if record.get(key) is not None and not isinstance(record[key], str):
            return f"field {key!r} must be a string"
    return None
