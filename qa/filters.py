"""`Filters`: which articles a search may return, by publication date, outlet and category.

A record that search and storage accept (never parsed inside the faces): the CLI's `--since`,
`--until`, `--source`, `--category` and the chat's controls all build one of these. Dates compare
as ISO 8601 days (`YYYY-MM-DD`), the form every article date is normalized to at ingest; an
article whose date could not be normalized never passes a date bound.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from qa.errors import InputError
from qa.records import Article

_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _day(value: str | dt.date | None, name: str) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    try:
        return dt.date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        raise InputError(f"{name} must be a date as YYYY-MM-DD, got {value!r}") from None


@dataclass(frozen=True)
class Filters:
    """Restrict a search to articles published in [since, until] (inclusive days), from one of
    `sources`, in one of `categories`. Empty fields do not restrict.

    Example:
        >>> Filters(since="2017-01-01", sources=("Jawhara FM",)).allows(article)
    """

    since: str | None = None
    until: str | None = None
    sources: tuple[str, ...] = field(default_factory=tuple)
    categories: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        since, until = _day(self.since, "since"), _day(self.until, "until")
        if since and until and since > until:
            raise InputError(f"since ({since}) is after until ({until}); swap them or widen the range")
        object.__setattr__(self, "since", since)
        object.__setattr__(self, "until", until)
        object.__setattr__(self, "sources", _names(self.sources))
        object.__setattr__(self, "categories", _names(self.categories))

    @property
    def empty(self) -> bool:
        """True when nothing is restricted (search then skips the filtering work entirely)."""
        return not (self.since or self.until or self.sources or self.categories)

    def allows(self, article: Article) -> bool:
        """Whether `article` passes every bound; outlet and category compare case-insensitively."""
        if self.since or self.until:
            date = article.date or ""
            if not _ISO_DAY.match(date):
                return False
            day = date[:10]
            if (self.since and day < self.since) or (self.until and day > self.until):
                return False
        if self.sources and (article.source or "").casefold() not in {s.casefold() for s in self.sources}:
            return False
        category = getattr(article, "category", None) or ""
        if self.categories and category.casefold() not in {c.casefold() for c in self.categories}:
            return False
        return True


def _names(values: Iterable[str] | str | None) -> tuple[str, ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        values = [values]
    return tuple(v.strip() for v in values if v and v.strip())
