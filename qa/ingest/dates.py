"""Publication dates in any form a news source writes them -> ISO 8601, so they sort and filter.

`normalize_date` returns `YYYY-MM-DD` when only the day is known, `YYYY-MM-DDTHH:MM:SS±HH:MM` when a
time and its zone are known, and `YYYY-MM-DDTHH:MM:SS` for a time without a zone (local to the
outlet; turning it into another zone would invent one). The first ten characters are always the
publication day, which is all `qa.filters` compares.

Why not `dateparser`: it guesses. Given a year alone it fills in today's month and day, and it
reads `02/03/2018` as the 3rd of February without saying it chose. A wrong date is worse than none
here (it moves an article in or out of a date filter silently), so this module accepts a date only
when every part of the day is written down, and returns None otherwise so the caller keeps the raw
string and reports it. `python-dateutil` parses the Latin-script forms (RFC 2822 of feeds, ISO 8601
of web pages, `January 16, 2020`, `16.01.2020`); the Arabic forms are read with tables of the month
names of the three traditions (Levantine Syriac-derived, Egyptian/Gulf from the Latin names,
Maghrebi from the French and, in Morocco, the Spanish ones), since no kept library knows all three.
"""

from __future__ import annotations

import datetime as dt
import re
from email.utils import parsedate_to_datetime

__all__ = ["dates_in", "normalize_date"]

_YEARS = range(1800, 2201)

_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_DIACRITICS = re.compile("[\u064b-\u0652\u0640]")  # harakat and tatweel

_ARABIC_MONTHS: dict[int, tuple[str, ...]] = {
    # Levantine / Iraqi (Syriac names), Egyptian and Gulf (from Latin), Tunisian/Algerian (from French),
    # Moroccan (from Spanish/French). Spelling variants seen in real papers are listed as well.
    1: ("كانون الثاني", "كانون ثاني", "يناير", "جانفي", "جانفييه"),
    2: ("شباط", "فبراير", "فيفري", "فبرير"),
    3: ("آذار", "اذار", "مارس"),
    4: ("نيسان", "أبريل", "إبريل", "ابريل", "أفريل", "افريل"),
    5: ("أيار", "ايار", "مايو", "ماي"),
    6: ("حزيران", "يونيو", "يونيه", "جوان"),
    7: ("تموز", "يوليو", "يوليه", "جويلية", "جويليه", "يوليوز"),
    8: ("آب", "اب", "أغسطس", "اغسطس", "أوت", "اوت", "غشت"),
    9: ("أيلول", "ايلول", "سبتمبر", "شتنبر"),
    10: ("تشرين الأول", "تشرين الاول", "تشرين أول", "أكتوبر", "اكتوبر", "أكتوبر"),
    11: ("تشرين الثاني", "تشرين ثاني", "نوفمبر", "نونبر"),
    12: ("كانون الأول", "كانون الاول", "كانون أول", "ديسمبر", "دجنبر"),
}


def _fold(text: str) -> str:
    """Spelling-insensitive form for matching month names: no diacritics, one alef, one yaa."""
    text = _DIACRITICS.sub("", text)
    return text.translate(str.maketrans("أإآٱىة", "اااايه"))


_MONTH_BY_NAME = {_fold(name): month for month, names in _ARABIC_MONTHS.items() for name in names}
# Longest first, so "كانون الثاني" wins over a shorter name inside it.
_MONTH_NAME = "|".join(sorted((re.escape(n) for n in _MONTH_BY_NAME), key=len, reverse=True))
_MONTH = rf"(?:{_MONTH_NAME})(?:\s*[/\\(-]\s*(?:{_MONTH_NAME})\)?)?"  # "أغسطس/آب", "آب (أغسطس)"
_ARABIC_DATE = re.compile(
    rf"(?<!\d)(?P<day>\d{{1,2}})\s*(?P<month>{_MONTH})\s*,?\s*(?P<year>\d{{4}})(?!\d)"
    rf"(?:\D{{0,12}}?(?P<hour>\d{{1,2}}):(?P<minute>\d{{2}})(?::(?P<second>\d{{2}}))?)?"
)
_ARABIC_LETTER = re.compile("[\u0621-\u064a]")

_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_NUMERIC_DMY = re.compile(r"^(\d{1,2})[./-](\d{1,2})[./-](\d{4})$")
_NUMERIC_YMD = re.compile(r"^(\d{4})[./](\d{1,2})[./](\d{1,2})$")
_RFC2822 = re.compile(r"^(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{2,4}\s+\d{1,2}:\d{2}")
_HAS_LETTER_MONTH = re.compile(r"[A-Za-z]{3,}")


def normalize_date(raw: str | None) -> str | None:
    """The ISO 8601 form of a publication date, or None when the day cannot be read for sure.

    Args:
        raw: a date as a source wrote it, e.g. `Sun, 18 Feb 2018 21:35:43 +0400`,
            `2017-01-20T21:43:00+01:00`, `20180218`, `١٨ فبراير ٢٠١٨`, `26 أغسطس/آب 2018`,
            `الخميس 18 جانفي 2017`.

    Returns:
        `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM:SS` or `YYYY-MM-DDTHH:MM:SS±HH:MM`; None for an empty,
        partial (no day), ambiguous (`02/03/2018`) or unknown string. Never a guessed date.

    Example:
        >>> normalize_date("Sun, 18 Feb 2018 21:35:43 +0400")
        '2018-02-18T21:35:43+04:00'
        >>> normalize_date("الجمعة ٨ فيفري ٢٠١٩")
        '2019-02-08'
    """
    if not raw or not raw.strip():
        return None
    text = " ".join(raw.translate(_DIGITS).replace("،", ",").split())
    if _ARABIC_LETTER.search(text):
        return _arabic(text)
    for reader in (_compact, _numeric, _iso, _rfc2822, _latin):
        try:
            found = reader(text)
        except (ValueError, OverflowError, TypeError):
            found = None
        if found is not None:
            return found if _plausible(found) else None
    return None


def _plausible(iso: str) -> bool:
    return int(iso[:4]) in _YEARS


def _format(value: dt.datetime | dt.date, *, has_time: bool) -> str:
    if not has_time or not isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d") if isinstance(value, dt.date) else value.date().isoformat()
    return value.replace(microsecond=0).isoformat(timespec="seconds")


def _compact(text: str) -> str | None:
    match = _COMPACT.match(text)
    return dt.date(*map(int, match.groups())).isoformat() if match else None


def _numeric(text: str) -> str | None:
    """`16.01.2020`, `16/01/2020`, `2019/02/09`; a day-month order that could be either is refused."""
    match = _NUMERIC_YMD.match(text)
    if match:
        year, month, day = map(int, match.groups())
        return dt.date(year, month, day).isoformat()
    match = _NUMERIC_DMY.match(text)
    if not match:
        return None
    first, second, year = map(int, match.groups())
    if first <= 12 and second <= 12 and first != second:
        return None  # 02/03/2018: the 2nd of March in Tunis, the 3rd of February in New York
    day, month = (first, second) if first > 12 or first == second else (second, first)
    return dt.date(year, month, day).isoformat()


def _iso(text: str) -> str | None:
    """ISO 8601 as web pages and Atom write it: `2018-02-18`, `2017-01-20T21:43:00+01:00`, `...Z`."""
    if not re.match(r"^\d{4}-\d{2}-\d{2}", text):
        return None
    value = dt.datetime.fromisoformat(text.replace(" ", "T", 1) if len(text) > 10 else text)
    if len(text) == 10:
        return value.date().isoformat()
    return _format(value, has_time=True)


def _rfc2822(text: str) -> str | None:
    """RSS `pubDate`: `Sun, 18 Feb 2018 21:35:43 +0400` (also `GMT`, `-0000` and the old zone names)."""
    if not _RFC2822.match(text):
        return None
    value = parsedate_to_datetime(text)
    return _format(value, has_time=True)


def _latin(text: str) -> str | None:
    """Written-out Latin-script dates (`January 16, 2020`, `16 Jan 2020 10:00 CET`) via dateutil.

    Parsed twice against two different defaults: a part that changes with the default was not in
    the text, so a date without its day, month or year is refused instead of completed.
    """
    if not _HAS_LETTER_MONTH.search(text):
        return None
    from dateutil import parser

    one = parser.parse(text, default=dt.datetime(2000, 1, 1, 0, 0, 0), fuzzy=False)
    two = parser.parse(text, default=dt.datetime(2004, 2, 2, 1, 1, 1), fuzzy=False)
    if one.date() != two.date():
        return None
    has_time = (one.hour, one.minute) == (two.hour, two.minute)
    if has_time and one.second != two.second:
        one = one.replace(second=0)  # "10:00" without seconds
    return _format(one, has_time=has_time)


def _arabic(text: str) -> str | None:
    folded = _fold(text)
    match = _ARABIC_DATE.search(folded)
    if not match:
        return _iso_inside(folded)
    month_text = match.group("month")
    months = {_MONTH_BY_NAME[name] for name in re.findall(_MONTH_NAME, month_text)}
    if len(months) != 1:
        return None  # "يناير/شباط": two different months named; refuse rather than choose
    day, year = int(match.group("day")), int(match.group("year"))
    if year not in _YEARS:
        return None
    try:
        day_value = dt.date(year, months.pop(), day)
    except ValueError:
        return None
    if match.group("hour") is None:
        return day_value.isoformat()
    hour, minute, second = int(match.group("hour")), int(match.group("minute")), int(match.group("second") or 0)
    if hour > 23 or minute > 59 or second > 59:
        return day_value.isoformat()
    return dt.datetime.combine(day_value, dt.time(hour, minute, second)).isoformat(timespec="seconds")


def _iso_inside(text: str) -> str | None:
    """An Arabic label around a numeric date: `نشر في 2018-02-18` or `بتاريخ 2019/02/09`."""
    match = re.search(r"(?<!\d)(\d{4})([-/.])(\d{1,2})\2(\d{1,2})(?!\d)", text)
    if not match:
        return None
    try:
        value = dt.date(int(match.group(1)), int(match.group(3)), int(match.group(4)))
    except ValueError:
        return None
    return value.isoformat() if value.year in _YEARS else None


# Dates named inside an article's text ("الخميس"، "15 مارس"، "أمس"), resolved against its own date.

_WEEKDAYS = {
    "الاثنين": 0, "الإثنين": 0, "الثلاثاء": 1, "الأربعاء": 2, "الاربعاء": 2, "الخميس": 3, "الجمعة": 4,
    "السبت": 5, "الأحد": 6, "الاحد": 6, "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3,
    "friday": 4, "saturday": 5, "sunday": 6,
}  # fmt: skip
_WEEKDAY_BY_NAME = {_fold(k): v for k, v in _WEEKDAYS.items()}
_NEXT = ("المقبل", "القادم", "next")
_RELATIVE = {
    _fold(k): v
    for k, v in {"أمس": -1, "البارحة": -1, "yesterday": -1, "اليوم": 0, "today": 0, "غدا": 1, "tomorrow": 1}.items()
}
_LATIN_MONTHS = {m: i for i, m in enumerate(
    "january february march april may june july august september october november december".split(), 1)}  # fmt: skip
_LATIN_MONTH = "|".join(_LATIN_MONTHS)
_MENTION = re.compile(
    rf"(?<![\w])(?:(?P<day>\d{{1,2}})\s*(?P<month>{_MONTH})(?:\s*,?\s*(?P<year>\d{{4}}))?"
    rf"|(?P<lmonth>{_LATIN_MONTH})\s+(?P<lday>\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s*(?P<lyear>\d{{4}}))?"
    rf"|(?P<dday>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<dmonth>{_LATIN_MONTH})(?:,?\s*(?P<dyear>\d{{4}}))?"
    rf"|(?:يوم\s+|ليلة\s+|on\s+)?(?P<weekday>{'|'.join(sorted(map(re.escape, _WEEKDAY_BY_NAME), key=len, reverse=True))})"
    rf"(?:\s+(?P<next>{'|'.join(_NEXT)}))?"
    rf"|(?P<relative>{'|'.join(map(re.escape, _RELATIVE))}))(?![\w])",
    re.IGNORECASE,
)
FUTURE_DAYS = 31
"""A day and month without a year is this year's unless that falls more than a month after the
article (then it is last year's): news recalls the past far more often than it announces the far future."""
_LENGTH_KEEPING_FOLD = str.maketrans("أإآٱىة٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "اااايه01234567890123456789")


def dates_in(text: str, published: str | None) -> list[tuple[int, int, str]]:
    """The days `text` names, as `(start, end, ISO day)`, in order; offsets point into `text`.

    A weekday ("الخميس", "يوم الجمعة") is the last such day on or before the article's date
    `published` ("الخميس المقبل": the next one after it); "أمس"/"اليوم" count from it; a day and
    month without a year ("15 مارس") take its year. Without a readable `published`, only dates
    written in full are returned: a weekday alone cannot be placed.

    Example:
        >>> dates_in("قتل 13 شخصا في هجوم يوم الخميس", "2018-03-10")
        [(21, 30, '2018-03-08')]
    """
    base = _as_date(published)
    folded = text.translate(_LENGTH_KEEPING_FOLD)
    found = []
    for m in _MENTION.finditer(folded):
        day_value = None
        try:
            if m.group("day") or m.group("lday") or m.group("dday"):
                if m.group("day"):
                    months = {_MONTH_BY_NAME[n] for n in re.findall(_MONTH_NAME, m.group("month"))}
                    if len(months) != 1:
                        continue
                    day, month, year = int(m.group("day")), months.pop(), m.group("year")
                else:
                    latin = m.group("lmonth") or m.group("dmonth")
                    month = _LATIN_MONTHS[latin.lower()]
                    day, year = int(m.group("lday") or m.group("dday")), m.group("lyear") or m.group("dyear")
                if year is None and base is None:
                    continue
                day_value = dt.date(int(year) if year else base.year, month, day)
                if year is None and day_value > base + dt.timedelta(days=FUTURE_DAYS):
                    day_value = dt.date(base.year - 1, month, day)  # "25 ديسمبر" in a February article: last year's
            elif m.group("weekday") and base is not None:
                weekday = _WEEKDAY_BY_NAME[m.group("weekday").lower()]
                if m.group("next"):
                    day_value = base + dt.timedelta(days=(weekday - base.weekday() - 1) % 7 + 1)
                else:
                    day_value = base - dt.timedelta(days=(base.weekday() - weekday) % 7)
            elif m.group("relative") and base is not None:
                day_value = base + dt.timedelta(days=_RELATIVE[m.group("relative").lower()])
        except ValueError:
            continue
        if day_value is None or day_value.year not in _YEARS:
            continue
        previous = folded[found[-1][0] : found[-1][1]].strip() if found else ""
        both_weekdays = m.group("weekday") and previous.startswith(tuple(_WEEKDAY_BY_NAME))
        if found and not folded[found[-1][1] : m.start()].strip(" ,،") and not both_weekdays:
            found[-1] = (found[-1][0], m.end(), day_value.isoformat())  # "الخميس 8 مارس": one day, as written
        else:
            found.append((m.start(), m.end(), day_value.isoformat()))
    return found


def _as_date(published: str | None) -> dt.date | None:
    if not published or len(published) < 10:
        return None
    try:
        return dt.date.fromisoformat(published[:10])
    except ValueError:
        return None
