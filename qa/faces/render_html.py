"""Answer records -> safe HTML for the chat: quotes with markers, sources, related passages.

Every piece of article text (quotes, titles, passages, dates, source names) and every piece of
user text goes through `safe_text`, which escapes HTML and neutralises Markdown in one pass (a
character-by-character replacement would re-escape the `#` of entities it has just written), so a
document holding `<script>`, `<img onerror=...>`, `[x](javascript:...)` or `![](...)` shows as text.
The chat's own sanitizer runs only in the browser; an API caller receives this string as is, so
the escaping here is the guarantee. Links are built only from `http(s)` URLs.

The output is one line of HTML with no blank line, so the chat's Markdown renderer takes it as a
single HTML block and never reinterprets the (already escaped) text inside it. Each block carries
`dir="auto"` (or an explicit direction for quotes), so an English question and an Arabic answer
both read correctly in a right-to-left chat.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from qa.answer.text import ELLIPSIS, LRI, PDI, confidence_line, labels, quote_text, snippet, tentative_line, when
from qa.filters import Filters
from qa.records import Answer, Article, Citation, Disagreement, Hit, Quote
from qa.text.normalize import is_arabic

__all__ = [
    "CONTEXT_CHARS",
    "UI_LABELS",
    "answer_html",
    "citation_meta",
    "collection_html",
    "disagreement_html",
    "error_html",
    "filters_html",
    "escape",
    "passage_html",
    "question_html",
    "safe_text",
    "safe_url",
    "status_markdown",
    "ui_labels",
]

CONTEXT_CHARS = 300
"""Characters of the article shown on each side of a quote in its source panel."""
RELATED_CHARS = 280

UI_LABELS = {
    "ar": {
        "context": "السياق المستخدم للمتابعة:",
        "same_article": "قُرئ السؤال متابعةً لـ «{previous}»، ووُجد جوابه في المقال نفسه دون إضافة سياق.",
        "related": "ذو صلة",
        "source": "المصدر",
        "passage": "المقطع في المقال (الاقتباس مظلّل):",
        "error": "تعذّرت الإجابة:",
        "filtered": "التصفية:",
        "since": "من",
        "until": "إلى",
        "outlets": "المصادر",
        "categories": "الأقسام",
        "collection": "المجموعة:",
        "articles": "مقالة",
        "dates": "التواريخ:",
        "undated": "دون تاريخ",
    },
    "en": {
        "context": "Context used (follow-up):",
        "same_article": "Read as a follow-up of “{previous}”; the question alone found the same article, so no context was added.",
        "related": "related",
        "source": "Source",
        "passage": "Passage in the article (quote highlighted):",
        "error": "Could not answer:",
        "filtered": "Filtered:",
        "since": "since",
        "until": "until",
        "outlets": "outlets",
        "categories": "categories",
        "collection": "Collection:",
        "articles": "articles",
        "dates": "Dates:",
        "undated": "undated",
    },
}

_MARKDOWN_CHARS = "\\`*_{}[]()#+-!|~>$"
_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"}
    | {c: f"&#{ord(c)};" for c in _MARKDOWN_CHARS if c != ">"}
)
_SAFE_URL = re.compile(r"^https?://[^\s\"'<>\\`\x00-\x1f\x7f]+$", re.IGNORECASE)
_NEWLINES = re.compile(r"\r\n|\r|\n")
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}(?:$|[T ])")


def ui_labels(language: str) -> dict[str, str]:
    """The app's own wording in `language` ("ar" or "en"; anything else gets English)."""
    return UI_LABELS.get(language, UI_LABELS["en"])


def escape(text: str) -> str:
    """HTML-escape `text` and turn every Markdown-active character (and `$`, which math renderers
    read) into a numeric entity, in a single pass so no entity is escaped twice."""
    return text.translate(_ESCAPES)


def safe_text(text: str | None) -> str:
    """Untrusted text -> inert HTML: `escape`, then newlines as `<br>` (a raw newline could end
    the HTML block and hand the rest to the Markdown renderer)."""
    return _NEWLINES.sub("<br>", escape(text or ""))


def safe_url(url: str | None) -> str | None:
    """`url` escaped for an `href` if it is a plain http(s) URL, else None (javascript:, data:,
    relative paths and anything with quotes or spaces are never linked)."""
    if not url:
        return None
    url = url.strip()
    if not _SAFE_URL.match(url):
        return None
    return escape(url)


def _dir(text: str) -> str:
    return "rtl" if is_arabic(text) else "ltr"


def question_html(question: str) -> str:
    """The user's message as it appears in the chat (escaped; its own direction)."""
    return f'<div class="qa-question" dir="auto">{safe_text(question)}</div>'


def _markers(quote: Quote) -> str:
    # Isolated left-to-right, so "[1][3]" is not reordered next to Arabic text.
    return f'<sup class="qa-cite" dir="ltr">{LRI}{escape(quote.markers)}{PDI}</sup>'


def _day(date: str | None) -> str:
    """The day of an ISO date ("2018-06-30T10:00:00+02:00" -> "2018-06-30"); any other date as given
    (ingest keeps an unparseable date verbatim rather than invent one)."""
    if not date:
        return ""
    date = date.strip()
    return date[:10] if _ISO_DAY.match(date) else date


def citation_meta(citation: Citation) -> str:
    """Outlet and day of a citation as plain text, "France 24 · 2018-06-30"; either may be missing
    ("" when both are). Escape it before it reaches HTML."""
    return " · ".join(x for x in ((citation.source or "").strip(), _day(citation.date)) if x)


def _meta_span(citation: Citation | None) -> str:
    meta = citation_meta(citation) if citation is not None else ""
    # dir="auto" isolates the outlet and date, so "France 24 · 2018-06-30" keeps its order in RTL text.
    return f'<span class="qa-cite-meta" dir="auto">{safe_text(meta)}</span>' if meta else ""


def _quote_html(quote: Quote, citation: Citation | None = None) -> str:
    text = quote_text(quote)
    meta = _meta_span(citation)
    return (
        f'<blockquote class="qa-quote" dir="{_dir(text)}" data-doc="{escape(quote.doc_id)}">'
        f'<span class="qa-quote-text">«{safe_text(text)}»</span> {_markers(quote)}'
        + (f" {meta}" if meta else "")
        + "</blockquote>"
    )


def _windows(text: str, spans: list[tuple[int, int]], context: int) -> list[tuple[int, int]]:
    """Merged `[start, end)` windows of `text` around each span, edges moved to whitespace."""
    windows: list[list[int]] = []
    for start, end in sorted(spans):
        lo, hi = max(0, start - context), min(len(text), end + context)
        if lo > 0:
            cut = text.find(" ", lo, start)
            lo = cut + 1 if cut != -1 else lo
        if hi < len(text):
            cut = text.rfind(" ", end, hi)
            hi = cut if cut != -1 else hi
        if windows and lo <= windows[-1][1]:
            windows[-1][1] = max(windows[-1][1], hi)
        else:
            windows.append([lo, hi])
    return [(lo, hi) for lo, hi in windows]


def passage_html(article: Article, spans: Iterable[tuple[int, int]], *, context: int = CONTEXT_CHARS) -> str:
    """The article text around `spans` (character offsets), each span inside `<mark>`.

    Every fragment is escaped on its own; escaping works character by character, so the result
    equals escaping the whole passage and then inserting the marks.
    """
    text = article.text
    spans = sorted({(max(0, s), min(len(text), e)) for s, e in spans if 0 <= s < e <= len(text)})
    parts: list[str] = []
    for lo, hi in _windows(text, spans, context):
        piece = [ELLIPSIS] if lo > 0 else []
        cursor = lo
        for start, end in spans:
            if end <= lo or start >= hi or start < cursor:
                continue
            piece.append(safe_text(text[cursor:start]))
            piece.append(f'<mark class="qa-mark">{safe_text(text[start:end])}</mark>')
            cursor = end
        piece.append(safe_text(text[cursor:hi]))
        if hi < len(text):
            piece.append(ELLIPSIS)
        parts.append("".join(piece))
    return f'<div class="qa-passage" dir="{_dir(text)}">' + "<br>".join(parts) + "</div>"


def _meta_html(citation: Citation, language: str) -> str:
    bits = [safe_text(x) for x in (citation.date, citation.source) if x]
    href = safe_url(citation.url)
    if href:
        bits.append(f'<a href="{href}" target="_blank" rel="noopener noreferrer nofollow">{safe_text(citation.url)}</a>')
    elif citation.url:
        bits.append(safe_text(citation.url))
    if not bits:
        return ""
    return f'<div class="qa-meta" dir="auto">{" · ".join(bits)}</div>'


def _source_html(
    citation: Citation, quotes: list[Quote], article: Article | None, language: str, extra: list[tuple[int, int]] | None = None
) -> str:
    title = citation.title or citation.doc_id
    meta = _meta_span(citation)
    summary = (
        f'<summary dir="auto"><span class="qa-cite" dir="ltr">{LRI}[{citation.number}]{PDI}</span> '
        + (f"{meta} " if meta else "")
        + f'<span class="qa-source-title">{safe_text(title)}</span></summary>'
    )
    words = ui_labels(language)
    spans = [(q.start, q.end) for q in quotes] + list(extra or ())
    if article is not None and all(article.text[q.start : q.end] == q.text for q in quotes):
        body = f'<div class="qa-label">{words["passage"]}</div>' + passage_html(article, spans)
    else:  # the article changed since the answer: show the quotes alone
        body = "".join(f'<div class="qa-passage"><mark class="qa-mark">{safe_text(q.text)}</mark></div>' for q in quotes)
    return (
        f'<details class="qa-source" data-citation="{citation.number}" data-doc="{escape(citation.doc_id)}">'
        f"{summary}{_meta_html(citation, language)}{body}</details>"
    )


def _related_html(hit: Hit, language: str) -> str:
    words = ui_labels(language)
    title = hit.title or hit.doc_id
    return (
        f'<div class="qa-related" data-doc="{escape(hit.doc_id)}">'
        f'<span class="qa-badge">{words["related"]}</span> '
        f'<span class="qa-source-title" dir="auto">{safe_text(title)}</span>'
        f'<div class="qa-passage" dir="{_dir(hit.text)}">{safe_text(snippet(hit.text, RELATED_CHARS))}</div></div>'
    )


def answer_html(
    answer: Answer,
    article: Callable[[str], Article | None] | Mapping[str, Article],
    *,
    context: str = "",
    follow_up_of: str | None = None,
    filters: Filters | None = None,
) -> str:
    """The chat message for `answer`.

    Args:
        answer: What `Assistant.ask` returned.
        article: How to get the full article of a citation (`Index.article`, or a mapping); it may
            return None or raise `QAError` when the article is gone.
        context: The follow-up context the answer was retrieved with ("" for none); shown first.
        follow_up_of: The previous question, when the question was read as a follow-up but
            answered without added context.
        filters: The filters the answer was searched with; stated first when they restrict anything.

    Returns:
        One line of HTML: quotes with their citation markers, outlet and date, and a collapsible
        source per citation ("[1] outlet · date" and the title; then date/outlet/url and the
        passage with the quote marked); for an
        abstention, the message and the related passages, marked "related".
    """
    language = answer.language
    words, extra = labels(language), ui_labels(language)
    lang = "ar" if language == "ar" else "en"
    parts = [f'<div class="qa-answer{" qa-abstained" if answer.abstained else ""}" dir="auto" lang="{lang}">']
    if filters is not None and not filters.empty:
        parts.append(filters_html(filters, language))
    if context:
        parts.append(f'<div class="qa-context" dir="auto">{extra["context"]} «{safe_text(context)}»</div>')
    elif follow_up_of:
        note = extra["same_article"].replace("{previous}", safe_text(follow_up_of))
        parts.append(f'<div class="qa-context" dir="auto">{note}</div>')
    if answer.abstained:
        message = words["clarify" if answer.clarify else "abstain"]
        parts.append(f'<p class="qa-abstain{" qa-clarify" if answer.clarify else ""}" dir="auto">{safe_text(message)}</p>')
        if answer.related:
            parts.append(f'<div class="qa-related-block"><div class="qa-label" dir="auto">{words["related"]}</div>')
            parts.extend(_related_html(hit, language) for hit in answer.related)
            parts.append("</div>")
    else:
        by_number = {c.number: c for c in answer.citations}
        if tentative := tentative_line(answer.confidence, language):
            parts.append(f'<p class="qa-tentative" dir="auto">{safe_text(tentative)}</p>')
        parts.extend(_quote_html(q, by_number.get(q.citation)) for q in answer.quotes)
        if answer.disagreement is not None:
            parts.append(disagreement_html(answer.disagreement, answer.citations, answer.quotes, article, language))
        if answer.confidence:
            line = safe_text(confidence_line(answer.confidence, language))
            parts.append(f'<div class="qa-confidence qa-confidence-{answer.confidence}" dir="auto">{line}</div>')
        parts.append(f'<div class="qa-sources"><div class="qa-label" dir="auto">{words["sources"]}</div>')
        for citation in answer.citations:
            quotes = [q for q in answer.quotes if q.doc_id == citation.doc_id]
            reports = answer.disagreement.reports if answer.disagreement else ()
            reported = [(r.start, r.end) for r in reports if r.doc_id == citation.doc_id]
            parts.append(_source_html(citation, quotes, _lookup(article, citation.doc_id), language, reported))
        parts.append("</div>")
    parts.append("</div>")
    return "".join(parts)


def disagreement_html(
    note: Disagreement,
    citations: tuple[Citation, ...],
    quotes: tuple[Quote, ...],
    article: Callable[[str], Article | None] | Mapping[str, Article],
    language: str,
) -> str:
    """The note beside the quotes: "تختلف المصادر:" (or "ارتفعت الحصيلة من … إلى …") and each
    outlet's value with its marker, outlet and date; each value opens, in place, its verbatim sentence
    highlighted in its article (a `<details>`, so it works where the chat's sanitizer drops links and
    ids). The same sentences are also marked in the sources below."""
    words = labels(language)
    numbers = {c.doc_id: c.number for c in citations}
    head = words["rose" if note.kind == "update" else "differ"]
    joiner = safe_text(words["comma"])
    if note.kind == "update":
        joiner = f' <span class="qa-report-sep">{safe_text(words["to"])}</span> '
    items = []
    for r in note.reports:
        number = numbers.get(r.doc_id)
        marker = f'<span class="qa-cite" dir="ltr">{LRI}[{number if number is not None else "?"}]{PDI}</span>'
        meta = " · ".join(x for x in ((r.source or "").strip(), when(r.date) or "") if x)
        value = r.value if r.value == r.normalized else f"{r.value} ({r.normalized})"
        found = _lookup(article, r.doc_id)
        if found is not None and found.text[r.start : r.end] == r.text:
            body = passage_html(found, [(r.start, r.end)], context=CONTEXT_CHARS // 3)
        else:
            body = f'<div class="qa-passage"><mark class="qa-mark">{safe_text(r.text)}</mark></div>'
        items.append(
            f'<details class="qa-report" data-kind="{escape(note.kind)}">'
            f'<summary dir="auto"><span class="qa-report-value" dir="auto">{safe_text(value)}</span> {marker}'
            + (f' <span class="qa-cite-meta" dir="auto">({safe_text(meta)})</span>' if meta else "")
            + f"</summary>{body}</details>"
        )
    return (
        f'<div class="qa-disagreement qa-disagreement-{escape(note.kind)}" dir="auto">'
        f'<span class="qa-disagreement-label">{safe_text(head)}</span> ' + joiner.join(items) + "</div>"
    )


def _lookup(article: Callable[[str], Article | None] | Mapping[str, Article], doc_id: str) -> Article | None:
    from qa.errors import QAError

    if isinstance(article, Mapping):
        return article.get(doc_id)
    try:
        return article(doc_id)
    except QAError:
        return None


def error_html(message: str, language: str = "ar") -> str:
    """A polite chat reply for a library error (its message escaped like any other text)."""
    return f'<div class="qa-answer qa-error" dir="auto"><p>{ui_labels(language)["error"]} {safe_text(message)}</p></div>'


def status_markdown(stats: Mapping[str, Any]) -> str:
    """The status line: articles, chunks and model, from `Index.stats()` (Arabic, then English)."""
    documents, chunks = int(stats.get("documents", 0)), int(stats.get("chunks", 0))
    model = safe_text(str(stats.get("model", "")))
    return (
        f'<div class="qa-status" dir="rtl"><span dir="rtl">المقالات: {documents} · المقاطع: {chunks}</span> · '
        f'<span dir="ltr">{documents} articles · {chunks} chunks · model <code>{model}</code></span></div>'
    )


def filters_html(filters: Filters, language: str = "ar") -> str:
    """One line saying which filters an answer was searched with (every value escaped)."""
    words = ui_labels(language)
    bits = []
    if filters.since:
        bits.append(f'{words["since"]} <span dir="ltr">{safe_text(filters.since)}</span>')
    if filters.until:
        bits.append(f'{words["until"]} <span dir="ltr">{safe_text(filters.until)}</span>')
    if filters.sources:
        bits.append(f'{words["outlets"]}: ' + ", ".join(f'<span dir="auto">{safe_text(s)}</span>' for s in filters.sources))
    if filters.categories:
        bits.append(f'{words["categories"]}: ' + ", ".join(f'<span dir="auto">{safe_text(c)}</span>' for c in filters.categories))
    return f'<div class="qa-filters" dir="auto">{words["filtered"]} {" · ".join(bits)}</div>'


def collection_html(stats: Mapping[str, Any]) -> str:
    """The collection at a glance, from `Index.stats()`: articles per outlet (most first) and the
    date range, in Arabic and English. Outlet names come from the articles and are escaped."""
    documents = int(stats.get("documents", 0))
    sources = sorted((stats.get("sources") or {}).items(), key=lambda kv: (-int(kv[1]), str(kv[0])))
    dates = stats.get("dates") or {}
    first, last, undated = dates.get("first"), dates.get("last"), int(dates.get("undated") or 0)
    outlets = " · ".join(
        f'<span class="qa-outlet" dir="auto" data-count="{int(n)}">{safe_text(str(name)) or "بلا مصدر · no outlet"}: {int(n)}</span>'
        for name, n in sources
    )
    if first and last:
        span = f'<span dir="ltr" class="qa-date-range">{safe_text(str(first))} → {safe_text(str(last))}</span>'
    else:
        span = '<span dir="ltr" class="qa-date-range">—</span>'
    rows = [
        f'<div dir="rtl">{UI_LABELS["ar"]["collection"]} {documents} {UI_LABELS["ar"]["articles"]} · '
        f'<span dir="ltr">{documents} {UI_LABELS["en"]["articles"]}</span></div>',
        f'<div class="qa-outlets" dir="auto">{outlets}</div>' if outlets else "",
        f'<div dir="rtl">{UI_LABELS["ar"]["dates"]} {span}'
        + (f' · {UI_LABELS["ar"]["undated"]}: {undated}' if undated else "")
        + "</div>",
    ]
    return '<div class="qa-collection">' + "".join(rows) + "</div>"
