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

from qa.normalize import is_arabic
from qa.records import Answer, Article, Citation, Hit, Quote
from qa.render import ELLIPSIS, LRI, PDI, labels, quote_text, snippet

__all__ = [
    "CONTEXT_CHARS",
    "UI_LABELS",
    "answer_html",
    "error_html",
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
    },
    "en": {
        "context": "Context used (follow-up):",
        "same_article": "Read as a follow-up of “{previous}”; the question alone found the same article, so no context was added.",
        "related": "related",
        "source": "Source",
        "passage": "Passage in the article (quote highlighted):",
        "error": "Could not answer:",
    },
}

_MARKDOWN_CHARS = "\\`*_{}[]()#+-!|~>$"
_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"}
    | {c: f"&#{ord(c)};" for c in _MARKDOWN_CHARS if c != ">"}
)
_SAFE_URL = re.compile(r"^https?://[^\s\"'<>\\`\x00-\x1f\x7f]+$", re.IGNORECASE)
_NEWLINES = re.compile(r"\r\n|\r|\n")


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


def _quote_html(quote: Quote) -> str:
    text = quote_text(quote)
    return (
        f'<blockquote class="qa-quote" dir="{_dir(text)}" data-doc="{escape(quote.doc_id)}">'
        f'<span class="qa-quote-text">«{safe_text(text)}»</span> {_markers(quote)}</blockquote>'
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
    bits = [safe_text(x) for x in (citation.source, citation.date) if x]
    href = safe_url(citation.url)
    if href:
        bits.append(f'<a href="{href}" target="_blank" rel="noopener noreferrer nofollow">{safe_text(citation.url)}</a>')
    elif citation.url:
        bits.append(safe_text(citation.url))
    if not bits:
        return ""
    return f'<div class="qa-meta" dir="auto">{" · ".join(bits)}</div>'


def _source_html(
    citation: Citation, quotes: list[Quote], article: Article | None, language: str
) -> str:
    title = citation.title or citation.doc_id
    summary = (
        f'<summary dir="auto"><span class="qa-cite" dir="ltr">{LRI}[{citation.number}]{PDI}</span> '
        f'<span class="qa-source-title">{safe_text(title)}</span></summary>'
    )
    words = ui_labels(language)
    spans = [(q.start, q.end) for q in quotes]
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
) -> str:
    """The chat message for `answer`.

    Args:
        answer: What `Assistant.ask` returned.
        article: How to get the full article of a citation (`Index.article`, or a mapping); it may
            return None or raise `QAError` when the article is gone.
        context: The follow-up context the answer was retrieved with ("" for none); shown first.
        follow_up_of: The previous question, when the question was read as a follow-up but
            answered without added context.

    Returns:
        One line of HTML: quotes with their citation markers and a collapsible source per
        citation (title, source/date/url, and the passage with the quote marked); for an
        abstention, the message and the related passages, marked "related".
    """
    language = answer.language
    words, extra = labels(language), ui_labels(language)
    lang = "ar" if language == "ar" else "en"
    parts = [f'<div class="qa-answer{" qa-abstained" if answer.abstained else ""}" dir="auto" lang="{lang}">']
    if context:
        parts.append(f'<div class="qa-context" dir="auto">{extra["context"]} «{safe_text(context)}»</div>')
    elif follow_up_of:
        note = extra["same_article"].replace("{previous}", safe_text(follow_up_of))
        parts.append(f'<div class="qa-context" dir="auto">{note}</div>')
    if answer.abstained:
        parts.append(f'<p class="qa-abstain" dir="auto">{words["abstain"]}</p>')
        if answer.related:
            parts.append(f'<div class="qa-related-block"><div class="qa-label" dir="auto">{words["related"]}</div>')
            parts.extend(_related_html(hit, language) for hit in answer.related)
            parts.append("</div>")
    else:
        parts.extend(_quote_html(q) for q in answer.quotes)
        parts.append(f'<div class="qa-sources"><div class="qa-label" dir="auto">{words["sources"]}</div>')
        for citation in answer.citations:
            quotes = [q for q in answer.quotes if q.doc_id == citation.doc_id]
            parts.append(_source_html(citation, quotes, _lookup(article, citation.doc_id), language))
        parts.append("</div>")
    parts.append("</div>")
    return "".join(parts)


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
