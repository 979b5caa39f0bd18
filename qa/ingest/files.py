"""Files and URLs in, `Article`s out: .txt, .md, .jsonl, news pages (.html) and RSS/Atom feeds.

Text files keep their raw text verbatim; a page keeps the main text trafilatura extracts
(`qa.ingest.webpage`), a feed one article per entry (`qa.ingest.feeds`). Every date is normalized to ISO 8601
here (`qa.ingest.dates`); one that cannot be read is kept exactly as given and reported.

A bad file, line, entry or date never stops the batch: it is skipped (or kept) with a warning that
names it, so the rest is indexed and nothing already indexed is lost.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from qa.errors import InputError
from qa.ingest.dates import normalize_date
from qa.ingest.feeds import looks_like_feed, parse_feed
from qa.ingest.fetch import fetch, is_url
from qa.ingest.webpage import parse_page
from qa.records import Article

FEED_SUFFIXES = (".xml", ".rss", ".atom")
SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".jsonl", *FEED_SUFFIXES)
MAX_DOCUMENT_CHARS = 2_000_000
"""About a long book; a larger 'article' is almost surely a mistake and would take minutes to embed."""

_OPTIONAL_FIELDS = ("title", "url", "date", "source", "author", "category")
_HTML_START = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body|meta|title)\b", re.I | re.S)


@dataclass
class IngestResult:
    """Articles read, in a stable order, plus one warning line per skipped file, line or article."""

    articles: list[Article] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def read_path(path: str | Path) -> IngestResult:
    """Read every supported file under `path` (a file, or a folder searched recursively), or the page
    or feed at an http(s) URL (see `read_url`).

    Ids are the JSONL `id` field, a feed entry's link (else its id), else the file's path relative
    to the folder given (its name when a single file is given), so re-ingesting the same folder
    yields the same ids and updates instead of duplicating.

    Raises:
        InputError: the path does not exist, is an unsupported file, or holds no supported file;
            for a URL, see `read_url`.
    """
    result = IngestResult()
    result.articles = list(iter_path(path, result.warnings))
    return result


def iter_path(path: str | Path, warnings: list[str]) -> Iterator[Article]:
    """`read_path`'s articles one file at a time, as a consumer asks for them (`Index.build` embeds
    and commits as it goes, so a large folder is never held in memory whole); warnings are appended
    to `warnings` as files are read. The path is checked at once, before the first article.

    Raises:
        InputError: as `read_path`, when called.
    """
    if is_url(path):
        return iter(read_url(str(path).strip()).articles)
    files, base = source_files(path)
    found = (item for file in files for item in _read_file(file, file.relative_to(base).as_posix(), warnings))
    return checked(found, warnings)


def source_files(path: str | Path) -> tuple[list[Path], Path]:
    """The supported files under `path` in reading order, and the folder their ids are relative to.

    Raises:
        InputError: as `read_path`.
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
    return files, base


def read_file(file: Path, rel: str) -> tuple[list[tuple[Article, str]], list[str]]:
    """One file's articles (each with where it was found) and the warnings reading it gave, before
    `checked`: what `iter_path` does per file, for a caller that reads files elsewhere
    (`qa.index.cluster.reading`)."""
    warnings: list[str] = []
    return _read_file(file, rel, warnings), warnings


def read_url(url: str) -> IngestResult:
    """Download one news page or feed and read it like a file of that kind.

    The kind is chosen by content (a document whose root is `<rss>`, `<feed>` or `<rdf:RDF>` is a
    feed), then by the declared content type. A page's id is its canonical URL (else the URL it was
    fetched from, after redirects); a feed's entries keep their links.

    Raises:
        InputError: the URL cannot be reached, times out, answers an error or too much data, or
            is neither a web page nor a feed.
    """
    fetched = fetch(url)
    result = IngestResult()
    data, kind = fetched.data, fetched.content_type.split(";")[0].strip().lower()
    if looks_like_feed(data):
        found, warnings = parse_feed(data, url)
        result.warnings.extend(warnings)
    elif "html" in kind or _HTML_START.match(data[:4096]):
        page = parse_page(data, fetched.url, url=fetched.url)
        if page.article is None:
            result.warnings.append(f"{url}: skipped: {page.problem}")
            found = []
        else:
            found = [(replace(page.article, id=page.article.url or fetched.url), url)]
    else:
        raise InputError(f"{url}: neither a web page nor an RSS/Atom feed (content type {kind or 'unknown'})")
    result.articles.extend(checked(found, result.warnings))
    return result


def checked(found: Iterable[tuple[Article, str]], warnings: list[str]) -> Iterator[Article]:
    """Check each article, normalize its date, and keep the first of each id."""
    seen: dict[str, str] = {}
    for article, where in found:
        problem = _check_article(article)
        if problem:
            warnings.append(f"{where}: skipped: {problem}")
        elif article.id in seen:
            warnings.append(f"{where}: skipped: duplicate id {article.id!r} (first in {seen[article.id]})")
        else:
            seen[article.id] = where
            yield _with_normalized_date(article, where, warnings)


def _with_normalized_date(article: Article, where: str, warnings: list[str]) -> Article:
    if article.date is None or not article.date.strip():
        return replace(article, date=None) if article.date is not None else article
    iso = normalize_date(article.date)
    if iso is None:
        warnings.append(f"{where}: date {article.date!r} not understood; kept as given (date filters will skip it)")
        return article
    return article if iso == article.date else replace(article, date=iso)


def _check_article(article: Article) -> str | None:
    if not article.id.strip():
        return "empty id"
    if not article.text.strip():
        return "empty document"
    if len(article.text) > MAX_DOCUMENT_CHARS:
        return f"document has {len(article.text):,} characters, over the limit of {MAX_DOCUMENT_CHARS:,}; split it"
    return None


def _read_file(file: Path, rel: str, warnings: list[str]) -> list[tuple[Article, str]]:
    suffix = file.suffix.lower()
    try:
        data = file.read_bytes()
        if suffix in (".html", ".htm", *FEED_SUFFIXES):
            if b"\x00" in data and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
                raise InputError("binary file (contains NUL bytes)")
        else:
            raw = decode_text(data)
    except (InputError, OSError) as exc:
        warnings.append(f"{rel}: skipped: {exc}")
        return []
    if suffix in FEED_SUFFIXES or (suffix in (".html", ".htm") and looks_like_feed(data)):
        if not looks_like_feed(data):
            warnings.append(f"{rel}: skipped: not an RSS or Atom feed")
            return []
        found, problems = parse_feed(data, rel)
        warnings.extend(problems)
        return found
    if suffix in (".html", ".htm"):
        page = parse_page(data, rel)
        if page.article is None:
            warnings.append(f"{rel}: skipped: {page.problem}")
            return []
        return [(page.article, rel)]
    if suffix == ".jsonl":
        return parse_jsonl(raw, rel, warnings)
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


def parse_jsonl(raw: str, rel: str, warnings: list[str]) -> list[tuple[Article, str]]:
    """One article per line: `id` and `text` required; title, url, date, source, author, category
    optional strings (the date is normalized afterwards, like every other input's)."""
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
            author=optional["author"],
            category=optional["category"],
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
