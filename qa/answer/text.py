"""An `Answer`'s plain-text form (`Answer.text`), in the question's language.

Part of answering, not of the faces, because `Answer.text` is part of the library's record: an app
that embeds `qa` reads it without any face module. Formatting only; every quote, span and citation
number comes from the records. Citation markers in right-to-left text are wrapped in Unicode
isolates (LRI ... PDI), otherwise the bidi algorithm shows "[1][3]" after Arabic text as "[3][1]".
"""

from __future__ import annotations

from qa.records import Citation, Disagreement, Hit, Quote

LRI, PDI = "\u2066", "\u2069"
ELLIPSIS = "…"
LABELS = {
    "ar": {
        "sources": "المصادر:",
        "related": "أقرب المقاطع في المقالات (ليست إجابة):",
        "abstain": "لم أجد في المقالات ما يجيب عن هذا السؤال.",
        "clarify": "لا يذكر سؤالك عمّن أو عمّا تسأل. اذكر الاسم في السؤال، مثلًا: «أين وُلد نجيب محفوظ؟»",
        "confidence": "الثقة:",
        "high": "عالية",
        "medium": "متوسطة",
        "low": "منخفضة",
        "tentative": "قد لا تجيب المقالات عن هذا مباشرة؛ أقرب ما وجدته:",
        "differ": "تختلف المصادر:",
        "rose": "ارتفعت الحصيلة من",
        "to": "إلى",
        "comma": "، ",
    },
    "en": {
        "sources": "Sources:",
        "related": "Closest passages in the articles (not an answer):",
        "abstain": "I could not find this in the articles.",
        "clarify": "Your question does not say who or what it is about. Name them, for example: “Where was Naguib Mahfouz born?”",
        "confidence": "Confidence:",
        "high": "high",
        "medium": "medium",
        "low": "low",
        "tentative": "The articles may not answer this directly; the closest:",
        "differ": "Sources differ:",
        "rose": "The figure rose from",
        "to": "to",
        "comma": ", ",
    },
}
SNIPPET_CHARS = 160


def labels(language: str) -> dict[str, str]:
    return LABELS.get(language, LABELS["en"])


def confidence_line(confidence: str, language: str) -> str:
    """"الثقة: عالية" / "Confidence: high"."""
    words = labels(language)
    return f"{words['confidence']} {words.get(confidence, confidence)}"


def tentative_line(confidence: str, language: str) -> str:
    """The preface of a "medium" answer, shown before its quotes wherever an answer appears: on held-out
    articles a medium answer holds the answer about one time in three, so it reads as the closest
    text found rather than as an answer. "" for any other word."""
    return labels(language)["tentative"] if confidence == "medium" else ""


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


def when(date: str | None) -> str | None:
    """A citation's day, with its time when the article has one ("2018-03-20 14:05")."""
    if date and len(date) >= 16 and date[10] == "T":
        return f"{date[:10]} {date[11:16]}"
    return day(date)


def disagreement_line(note: Disagreement, citations: tuple[Citation, ...], language: str) -> str:
    """One line in the question's language: "تختلف المصادر: 13 [1] (BBC، 2018-03-20)، 11 [2] (...)",
    or for an update "ارتفعت الحصيلة من 37 [1] (...) إلى 64 [2] (...)"."""
    words = labels(language)
    numbers = {c.doc_id: c.number for c in citations}
    parts = []
    for r in note.reports:
        marker = f"[{numbers.get(r.doc_id, '?')}]"
        marker = f"{LRI}{marker}{PDI}" if language == "ar" else marker
        value = r.value if r.value == r.normalized else f"{r.value} ({r.normalized})"
        where = words["comma"].join(x for x in (r.source, when(r.date)) if x)
        parts.append(f"{value} {marker}" + (f" ({where})" if where else ""))
    if note.kind == "update":
        return f"{words['rose']} " + f" {words['to']} ".join(parts)
    return f"{words['differ']} " + words["comma"].join(parts)


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
    confidence: str = "",
    clarify: bool = False,
    disagreement: Disagreement | None = None,
) -> str:
    """The plain-text answer stored in `Answer.text`: a medium answer's tentative preface, quotes in « »,
    markers, the confidence word, then the sources; or the abstention (or the request to name the
    subject) and related passages."""
    words = labels(language)
    if abstained:
        lines = [words["clarify" if clarify else "abstain"]]
        if related:
            lines += ["", words["related"]]
            lines += [f"- «{snippet(hit.text)}» ({hit.title or hit.doc_id})" for hit in related]
        return "\n".join(lines)
    lines = [line] if (line := tentative_line(confidence, language)) else []
    lines += [f"«{quote_text(q)}» {marker_text(q, language)}" for q in quotes]
    if disagreement is not None:
        lines += ["", disagreement_line(disagreement, citations, language)]
        lines += _report_quotes(disagreement, quotes, citations, language)
    if confidence:
        lines += ["", confidence_line(confidence, language)]
    lines += ["", words["sources"]]
    lines += [citation_line(c) for c in citations]
    return "\n".join(lines)


def _report_quotes(
    note: Disagreement, quotes: tuple[Quote, ...], citations: tuple[Citation, ...], language: str
) -> list[str]:
    """The reports' verbatim sentences that the answer's quotes do not already show."""
    numbers = {c.doc_id: c.number for c in citations}
    shown = [(q.doc_id, q.start, q.end) for q in quotes]
    lines = []
    for r in note.reports:
        if any(d == r.doc_id and s <= r.start and r.end <= e for d, s, e in shown):
            continue
        marker = f"[{numbers.get(r.doc_id, '?')}]"
        lines.append(f"«{r.text}» " + (f"{LRI}{marker}{PDI}" if language == "ar" else marker))
    return lines
