"""Dates: every format news sources write -> ISO 8601, and never a guessed day."""

from __future__ import annotations

import datetime as dt
from email.utils import format_datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.ingest.dates import normalize_date

LEVANTINE = ("كانون الثاني", "شباط", "آذار", "نيسان", "أيار", "حزيران", "تموز", "آب", "أيلول", "تشرين الأول", "تشرين الثاني", "كانون الأول")
EGYPTIAN = ("يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو", "يوليو", "أغسطس", "سبتمبر", "أكتوبر", "نوفمبر", "ديسمبر")
EGYPTIAN_VARIANTS = {4: "إبريل", 6: "يونيه", 7: "يوليه"}
TUNISIAN = ("جانفي", "فيفري", "مارس", "أفريل", "ماي", "جوان", "جويلية", "أوت", "سبتمبر", "أكتوبر", "نوفمبر", "ديسمبر")
MOROCCAN = ("يناير", "فبراير", "مارس", "أبريل", "ماي", "يونيو", "يوليوز", "غشت", "شتنبر", "أكتوبر", "نونبر", "دجنبر")
WEEKDAYS = ("الاثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت", "الأحد")
EASTERN = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("Sun, 18 Feb 2018 21:35:43 +0400", "2018-02-18T21:35:43+04:00"),
        ("2017-01-20T21:43:00+01:00", "2017-01-20T21:43:00+01:00"),
        ("20180218", "2018-02-18"),
        ("2018-02-18", "2018-02-18"),
        ("١٨ فبراير ٢٠١٨", "2018-02-18"),
        ("26 أغسطس/آب 2018", "2018-08-26"),
        ("الخميس 18 جانفي 2017", "2017-01-18"),
        ("الجمعة 8 فيفري 2019", "2019-02-08"),  # as printed on the Assabah page in tests/data/pages
        ("Tue, 17 Oct 2017 22:17:00 +0000", "2017-10-17T22:17:00+00:00"),  # HuffPost Canada feed
        ("Wed, 02 Nov 2011 17:25:27 GMT", "2011-11-02T17:25:27+00:00"),
        ("2020-01-03T09:48:24Z", "2020-01-03T09:48:24+00:00"),  # National Geographic page
        ("2012-11-07T04:09:00.250-05:00", "2012-11-07T04:09:00-05:00"),
        ("2020-01-10 09:00:04", "2020-01-10T09:00:04"),  # Salon page: a time without a zone stays local
        ("January 10, 2020", "2020-01-10"),
        ("16.01.2020", "2020-01-16"),
        ("13/03/2018", "2018-03-13"),
        ("2019/02/09", "2019-02-09"),
        ("جريدة الصباح بتاريخ 2019/02/09", "2019-02-09"),
        ("نشر في 18 شباط 2018 الساعة 10:30", "2018-02-18T10:30:00"),
        ("آب (أغسطس) 2018 26", None),  # day after the year: not a form any outlet uses
    ],
)
def test_formats_seen_in_real_sources(raw: str, iso: str | None) -> None:
    assert normalize_date(raw) == iso


@pytest.mark.parametrize(
    "raw",
    ["", "   ", "2018", "Feb 2018", "شباط 2018", "02/03/2018", "32 يناير 2018", "18 يناير/شباط 2018", "yesterday", "منذ ساعتين", "31 فبراير 2018", "1 Jan 1066"],
)
def test_partial_ambiguous_or_impossible_dates_are_refused_not_guessed(raw: str) -> None:
    assert normalize_date(raw) is None


@pytest.mark.parametrize("tradition", [LEVANTINE, EGYPTIAN, TUNISIAN, MOROCCAN])
def test_every_month_name_of_every_tradition(tradition: tuple[str, ...]) -> None:
    for month, name in enumerate(tradition, start=1):
        assert normalize_date(f"15 {name} 2019") == f"2019-{month:02d}-15", name
    for month, name in EGYPTIAN_VARIANTS.items():
        assert normalize_date(f"15 {name} 2019") == f"2019-{month:02d}-15", name


days = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2199, 12, 31))


@settings(max_examples=300, deadline=None)
@given(day=days, month_table=st.sampled_from([LEVANTINE, EGYPTIAN, TUNISIAN, MOROCCAN]),
       eastern=st.booleans(), weekday=st.booleans(), paired=st.booleans())
def test_any_day_written_in_arabic_round_trips(day: dt.date, month_table, eastern: bool, weekday: bool, paired: bool) -> None:
    month = month_table[day.month - 1]
    if paired:  # the Levantine name beside the other one, as Al Jazeera prints it: "أغسطس/آب"
        month = f"{EGYPTIAN[day.month - 1]}/{LEVANTINE[day.month - 1]}"
    text = f"{day.day} {month} {day.year}"
    if eastern:
        text = text.translate(EASTERN)
    if weekday:
        text = f"{WEEKDAYS[day.weekday()]} {text}"
    assert normalize_date(text) == day.isoformat()


zones = st.integers(min_value=-12 * 60, max_value=14 * 60).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))


@settings(max_examples=300, deadline=None)
@given(moment=st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2199, 12, 31)), zone=zones)
def test_any_moment_in_feed_and_page_formats_round_trips(moment: dt.datetime, zone: dt.timezone) -> None:
    aware = moment.replace(microsecond=0, tzinfo=zone)
    expected = aware.isoformat(timespec="seconds")
    assert normalize_date(format_datetime(aware)) == expected  # RSS pubDate (RFC 2822)
    assert normalize_date(aware.isoformat()) == expected  # Atom / HTML meta (ISO 8601)
    assert normalize_date(aware.strftime("%Y%m%d")) == aware.date().isoformat()
    assert normalize_date(aware.strftime("%B %d, %Y")) == aware.date().isoformat()
    assert normalize_date(expected)[:10] == moment.date().isoformat()  # the first ten characters are the day
