"""Index records -> plain text for the terminal: search results and `qa stats`.

An answer's own text is `Answer.text` (`qa.answer.text`); the chat's HTML is `render_html`.
"""

from __future__ import annotations

from typing import Any

from qa.answer.text import day, snippet
from qa.records import Article, Hit

BAR_WIDTH = 40


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

