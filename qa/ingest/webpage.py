"""A saved or downloaded news page -> `Article`: the main text without menus, cookie notes, related
links and footers, with its title, publication date, author, outlet (site name) and canonical URL.

Extraction is `trafilatura`'s, the field's standard (best F1 of the open extractors in its own and
in independent benchmarks). `Article.text` is exactly the text trafilatura returns, so chunk
offsets and quotes point into what is stored, never into the HTML.

The date is read from the page's own markup first (`article:published_time`, JSON-LD
`datePublished`, `itemprop`/`dc:date` attributes, `<time datetime>`), and only then from
trafilatura's heuristic search restricted to markup: on the Assabah page in tests/data/pages its
default search returns the day the page was saved (2020-02-19) instead of the day printed on it
(2019-02-08), and a wrong date silently moves an article in or out of a date filter.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from qa.records import Article

MIN_MAIN_TEXT_WORDS = 10
"""Below this, trafilatura found no article: what it returns is a menu or a footer line
("Home", "© 2020 Site. Cookies help us."), which is not worth indexing or quoting."""

_DATE_META = (
    "article:published_time",
    "og:article:published_time",
    "datepublished",
    "publishdate",
    "pubdate",
    "publish-date",
    "dc.date.issued",
    "dcterms.created",
    "dc.date",
    "sailthru.date",
    "parsely-pub-date",
)
_DATE_ATTRIBUTES = (
    '//*[@itemprop="datePublished"]',
    '//*[@property="dc:date" or @property="dcterms:created" or @property="article:published_time"]',
    "//time[@pubdate]",
    "//article//time[@datetime]",
)


@dataclass(frozen=True)
class Page:
    """What a page yields before dates are normalized: the article, or why there is none."""

    article: Article | None
    problem: str | None = None


def parse_page(raw: str | bytes, doc_id: str, *, url: str | None = None) -> Page:
    """Extract the article of one HTML page.

    Args:
        raw: the page, as text or as the bytes saved or downloaded (trafilatura detects the encoding).
        doc_id: the article id to use (a file's relative path, or the URL it was fetched from).
        url: where the page was fetched from, used when the page names no canonical URL.

    Returns:
        A `Page` whose `article` has `date` as the page wrote it (normalized later by ingest), or
        `article=None` and a one-line `problem` when the page holds no main text.
    """
    import trafilatura

    tree = trafilatura.load_html(raw)  # decodes bytes by the page's declared or detected charset
    if tree is None:
        return Page(None, "not a readable HTML page")
    marked_date = _marked_date(tree)
    document = trafilatura.bare_extraction(
        tree,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        date_extraction_params={"extensive_search": False, "original_date": True},
    )
    text = (document.text or "").strip() if document is not None else ""
    if len(text.split()) < MIN_MAIN_TEXT_WORDS:
        return Page(None, "no main text found (menus, links or footers only)")
    categories = [c.strip() for c in (document.categories or []) if c and c.strip()]
    article = Article(
        id=doc_id,
        text=text,
        title=(document.title or "").strip() or text.splitlines()[0].strip(),
        url=document.url or url,
        date=marked_date or document.date,
        source=(document.sitename or "").strip() or None,
        author=(document.author or "").strip() or None,
        category=categories[0] if categories else None,
    )
    return Page(article)


def _marked_date(tree) -> str | None:
    """The publication date the page states in its markup, as written (None when it states none)."""
    for meta in tree.iter("meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").strip().lower()
        if key in _DATE_META and (meta.get("content") or "").strip():
            return meta.get("content").strip()
    for script in tree.xpath('//script[@type="application/ld+json"]'):
        found = _json_ld_date(script.text_content())
        if found:
            return found
    for xpath in _DATE_ATTRIBUTES:
        for element in tree.xpath(xpath):
            value = element.get("content") or element.get("datetime") or element.text_content()
            if value and value.strip():
                return value.strip()
    return None


def _json_ld_date(text: str) -> str | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        elif isinstance(item, dict):
            value = item.get("datePublished")
            if isinstance(value, str) and value.strip():
                return value.strip()
            stack.extend(v for v in item.values() if isinstance(v, (dict, list)))
    return None
