"""Real news articles for tests: a deterministic sample of the Jawhara FM collection (../shared/data/news).

Half of that file's dates are written DD/MM/YYYY; ingest normalizes them to ISO days, and this loader
does the same for these two known forms so that the tests here do not depend on the ingest's parser.
"""

from __future__ import annotations

import gzip
import json
import re

from qa.records import Article
from tests.conftest import REPO

JAWHARA = REPO.parent / "shared" / "data" / "news" / "jawharafm.jsonl.gz"
_DMY = re.compile(r"^(\d{2})/(\d{2})/(\d{4})$")


def iso_day(date: str) -> str:
    """"17/05/2015" -> "2015-05-17"; ISO days pass through."""
    match = _DMY.match(date or "")
    return f"{match[3]}-{match[2]}-{match[1]}" if match else date


def jawhara_articles(every: int = 1, limit: int | None = None) -> list[Article]:
    """Every `every`-th article of the file (in file order), at most `limit`, with ISO dates."""
    articles = []
    with gzip.open(JAWHARA, "rt", encoding="utf-8") as handle:
        for number, line in enumerate(handle):
            if number % every:
                continue
            r = json.loads(line)
            articles.append(
                Article(
                    id=r["id"],
                    text=r["text"],
                    title=r.get("title") or "",
                    url=r.get("url") or None,
                    date=iso_day(r.get("date") or "") or None,
                    source=r.get("source") or None,
                    category=r.get("category") or None,
                )
            )
            if limit and len(articles) == limit:
                break
    return articles
