"""RSS and Atom feeds -> one `Article` per entry, through `feedparser` (every RSS version and Atom,
their date formats, encodings and broken-XML recovery, which no hand-written parser matches).

Each entry keeps its link (the article's `url` and, being stable across fetches, its id, so a feed
re-indexed tomorrow updates the same articles), its published date, its title, author and first
category, and the feed's title as the outlet (`source`). The text is the entry's full content
(`content:encoded`, Atom `content`) with the HTML stripped, or its summary when it has none; when
the "content" is shorter than the summary the summary is used, because some feeds put only an image
caption there (HuffPost Canada's, in tests/data/feeds).
"""

from __future__ import annotations

import re

from qa.records import Article

_FEED_START = re.compile(rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*|<\?[^>]*>\s*|<!DOCTYPE[^>]*>\s*)*<(?:[\w-]+:)?(rss|feed|RDF)\b", re.S | re.I)
_BLOCKS = ("p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "tr", "figure", "figcaption", "section", "article", "hr")
_INVISIBLE = ("script", "style", "noscript", "template", "iframe", "object", "svg", "img")
_HTML_SPACE = re.compile(r"[ \t\n\r\f\v\u00a0]+")
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def looks_like_feed(data: bytes | str) -> bool:
    """Whether the document starts like RSS (0.9x, 1.0/RDF, 2.0) or Atom, by its root element."""
    head = data[:4096].encode("utf-8", "replace") if isinstance(data, str) else data[:4096]
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    return bool(_FEED_START.match(head))


def parse_feed(data: bytes | str, where: str) -> tuple[list[tuple[Article, str]], list[str]]:
    """Every entry of one feed as an article (date as the feed wrote it; ingest normalizes it).

    Args:
        data: the feed document (bytes let feedparser honour its declared encoding).
        where: the file or URL, for warnings and for entries with neither link nor id.

    Returns:
        (article, where-label) pairs in feed order, and one warning per skipped entry or unreadable feed.
    """
    import feedparser

    parsed = feedparser.parse(data, sanitize_html=False, resolve_relative_uris=False)
    warnings: list[str] = []
    if not parsed.entries:
        reason = f" ({parsed.bozo_exception})" if parsed.get("bozo") and parsed.get("bozo_exception") else ""
        return [], [f"{where}: skipped: no feed entries found{reason}".replace("\n", " ")]
    outlet = _clean(parsed.feed.get("title")) or None
    found = []
    for number, entry in enumerate(parsed.entries, start=1):
        label = f"{where}#{number}"
        doc_id = (entry.get("link") or entry.get("id") or "").strip()
        if not doc_id:
            warnings.append(f"{label}: skipped: entry has neither a link nor an id")
            continue
        text = entry_text(entry)
        if not text:
            warnings.append(f"{label}: skipped: entry has no content or summary")
            continue
        tags = [_clean(t.get("term")) for t in entry.get("tags", [])]
        tags = [t for t in tags if t]
        found.append(
            (
                Article(
                    id=doc_id,
                    text=text,
                    title=_clean(entry.get("title")) or text.splitlines()[0].strip(),
                    url=(entry.get("link") or "").strip() or None,
                    date=(entry.get("published") or entry.get("updated") or entry.get("created") or "").strip() or None,
                    source=outlet,
                    author=_clean(entry.get("author")) or None,
                    category=tags[0] if tags else None,
                ),
                label,
            )
        )
    return found, warnings


def entry_text(entry) -> str:
    """The entry's longest body, content or summary, as plain text with paragraphs kept apart."""
    bodies = [c.get("value", "") for c in entry.get("content", []) or []]
    bodies.append(entry.get("summary", "") or "")
    texts = [html_to_text(b) for b in bodies if b and b.strip()]
    return max(texts, key=len, default="")


def html_to_text(markup: str) -> str:
    """Visible text of an HTML fragment: paragraphs (block elements) apart by a blank line, `<br>` a
    line break, and any other run of whitespace (source line wraps included) one space, as a browser shows it."""
    if "<" not in markup and "&" not in markup:
        return _tidy(markup)
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup, "html.parser")
    for tag in soup(list(_INVISIBLE)):
        tag.decompose()
    for tag in soup.find_all("br"):
        tag.replace_with("\u2028")
    for tag in soup.find_all(list(_BLOCKS)):
        tag.insert_before("\u2029")
        tag.insert_after("\u2029")
    flat = _HTML_SPACE.sub(" ", soup.get_text()).replace("\u2028", "\n")
    paragraphs = ("\n".join(line.strip() for line in p.split("\n")).strip() for p in flat.split("\u2029"))
    return "\n\n".join(p for p in paragraphs if p)


def _tidy(text: str) -> str:
    lines = [_SPACES.sub(" ", line).strip() for line in text.replace("\r\n", "\n").split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _clean(value: str | None) -> str:
    return " ".join(html_to_text(value).split()) if value else ""
