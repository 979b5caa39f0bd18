"""Answer records -> plain text for the terminal and `Answer.text` (the chat's HTML is `render_html`).

Formatting only; every quote, span and citation number comes from the records. Citation markers
in right-to-left text are wrapped in Unicode isolates (LRI ... PDI), otherwise the bidi algorithm
shows "[1][3]" after Arabic text as "[3][1]".
"""

from __future__ import annotations

from typing import Any

from qa.records import Article, Citation, Hit, Quote

LRI, PDI = "\u2066", "\u2069"
ELLIPSIS = "…"
LABELS = {
    "ar": {
        "sources": "المصادر:",
        "related": "أقرب المقاطع في المقالات (ليست إجابة):",
        "abstain": "لم أجد في المقالات ما يجيب عن هذا السؤال.",
    },
    "en": {
        "sources": "Sources:",
        "related": "Closest passages in the articles (not an answer):",
        "abstain": "I could not find this in the articles.",
    },
}
SNIPPET_CHARS = 160
BAR_WIDTH = 40


def labels(language: str) -> dict[str, str]:
    return LABELS.get(language, LABELS["en"])


def marker_text(quote: Quote, language: str) -> str:
    return f"{LRI}{quote.markers}{PDI}" if language == "ar" else quote.markers


def quote_text(quote: Quote) -> str:
    """The verbatim quote, with an ellipsis where it was cut to a clause."""
    return f"{quote.text}{ELLIPSIS}" if quote.truncated else quote.text


def day(date: str | None) -> str | None:
    """The day of a normalized date ("2018-06-30T09:12:00+02:00" -> "2018-06-30"); other text as is."""
    if date and len(date) >= 10 and date[4] == "-" and date[7] == "-" and date[:4].isdigit():
        return date[:10]
    return date or None


def citation_line(citation: Citation) -> str:
    """`[1] France 24 · 2018-06-30 · headline — url`: who published it and when come first, because a
    reader judges a news quote by its outlet and its date before anything else."""
    parts = [x for x in (citation.source, day(citation.date), citation.title or citation.doc_id) if x]
    return f"[{citation.number}] " + " · ".join(parts) + (f" — {citation.url}" if citation.url else "")


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit].rsplit(" ", 1)[0] + ELLIPSIS


def answer_text(
    quotes: tuple[Quote, ...],
    citations: tuple[Citation, ...],
    *,
    abstained: bool,
    related: tuple[Hit, ...],
    language: str,
) -> str:
    """The plain-text answer stored in `Answer.text`: quotes in « », markers, then the sources."""
    words = labels(language)
    if abstained:
        lines = [words["abstain"]]
        if related:
            lines += ["", words["related"]]
            lines += [f"- «{snippet(hit.text)}» ({hit.title or hit.doc_id})" for hit in related]
        return "\n".join(lines)
    lines = [f"«{quote_text(q)}» {marker_text(q, language)}" for q in quotes]
    lines += ["", words["sources"]]
    lines += [citation_line(c) for c in citations]
    return "\n".join(lines)


def hit_to_text(rank: int, hit: Hit, article: Article | None = None) -> str:
    """One search result for the terminal; with its `article`, the outlet and day lead the line."""
    where = [x for x in (article.source, day(article.date)) if x] if article is not None else []
    head = " · ".join([*where, hit.title or hit.doc_id])
    return f"{rank}. [{hit.score:.3f}] {head} ({hit.doc_id}:{hit.start}-{hit.end})\n   {snippet(hit.text, 300)}"


def stats_text(stats: dict[str, Any]) -> str:
    """`qa stats` for people: the index's figures, then outlets, categories, date range and a
    bar per month (the terminal's version of the chat's plot)."""
    overview = ("sources", "categories", "dates", "per_month")
    lines = [f"{key}: {value}" for key, value in stats.items() if key not in overview]
    for key, label in (("sources", "outlets"), ("categories", "categories")):
        counts = stats.get(key) or {}
        if counts:
            lines.append(f"{label}:")
            lines += [f"  {name or '(none)'}: {count}" for name, count in counts.items()]
    dates = stats.get("dates") or {}
    if dates:
        span = f"{dates.get('first')} .. {dates.get('last')}" if dates.get("first") else "no dated article"
        lines.append(f"dates: {span} ({dates.get('undated', 0)} undated)")
    months = stats.get("per_month") or {}
    if months:
        top = max(months.values())
        lines.append("per month:")
        lines += [f"  {month} {count:>6} {'█' * max(1, round(BAR_WIDTH * count / top))}" for month, count in months.items()]
    return "\n".join(lines)

