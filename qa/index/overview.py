"""The collection at a glance: articles per outlet, per category and per month, and the date range.

What `Index.stats()` adds for `qa stats` and the chat's overview: a reader of news wants to know
whose articles and which period an answer can come from before trusting it. Dates are read as the
ISO days ingest normalizes them to; a date that could not be normalized counts as undated.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from qa.index.selection import UNDATED, day_number
from qa.records import Article


def overview(articles: Iterable[Article]) -> dict[str, Any]:
    """`sources` {outlet: articles} (no outlet under ""), `categories` {category: articles},
    `dates` {"first", "last": "YYYY-MM-DD" or None, "undated": n}, `per_month` {"YYYY-MM": articles}
    in month order. Outlets and categories are listed most articles first."""
    sources: Counter[str] = Counter()
    categories: Counter[str] = Counter()
    months: Counter[str] = Counter()
    days: list[str] = []
    undated = 0
    for article in articles:
        sources[article.source or ""] += 1
        categories[getattr(article, "category", None) or ""] += 1
        if day_number(article.date) == UNDATED:
            undated += 1
            continue
        day = article.date[:10]
        days.append(day)
        months[day[:7]] += 1
    return {
        "sources": dict(sources.most_common()),
        "categories": dict(categories.most_common()),
        "dates": {"first": min(days) if days else None, "last": max(days) if days else None, "undated": undated},
        "per_month": dict(sorted(months.items())),
    }
