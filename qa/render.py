"""Answer records -> plain text for the terminal and `Answer.text` (the chat's HTML is `render_html`).

Formatting only; every quote, span and citation number comes from the records. Citation markers
in right-to-left text are wrapped in Unicode isolates (LRI ... PDI), otherwise the bidi algorithm
shows "[1][3]" after Arabic text as "[3][1]".
"""

from __future__ import annotations

from qa.records import Citation, Hit, Quote

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


def labels(language: str) -> dict[str, str]:
    return LABELS.get(language, LABELS["en"])


def marker_text(quote: Quote, language: str) -> str:
    return f"{LRI}{quote.markers}{PDI}" if language == "ar" else quote.markers


def quote_text(quote: Quote) -> str:
    """The verbatim quote, with an ellipsis where it was cut to a clause."""
    return f"{quote.text}{ELLIPSIS}" if quote.truncated else quote.text


def citation_line(citation: Citation) -> str:
    details = " · ".join(x for x in (citation.source, citation.date, citation.url) if x)
    return f"[{citation.number}] {citation.title or citation.doc_id}" + (f" — {details}" if details else "")


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


def hit_to_text(rank: int, hit: Hit) -> str:
    """One search result for the terminal."""
    return f"{rank}. [{hit.score:.3f}] {hit.title or hit.doc_id} ({hit.doc_id}:{hit.start}-{hit.end})\n   {snippet(hit.text, 300)}"

