"""A small real news collection for the chat's filter, citation and plot tests.

The two seed articles plus 31 real Jawhara FM articles (from ../shared/data/news/jawharafm.jsonl.gz),
chosen by id: one or two weather bulletins a month from January to June 2017 (the same kind of
story in every month, so a date or outlet filter visibly changes which article answers) and four
articles of other sections a month. All are short (one chunk each), so the index builds in seconds (37 chunks, about 10 s here).

The data set has one outlet only. To have two, the articles in `RELABELLED` keep their real text,
title, url and date, but their `source` is changed from "Jawhara FM" to `OTHER_OUTLET`, a name made
up for these tests.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from qa.ingest.files import read_path
from qa.records import Article

REPO = Path(__file__).resolve().parent.parent
NEWS = REPO.parent / "shared" / "data" / "news" / "jawharafm.jsonl.gz"
SEEDS = REPO / "seeds"

OUTLET = "Jawhara FM"
OTHER_OUTLET = "Test Wire"
"""A made-up outlet: real Jawhara FM articles relabelled, so the collection has two outlets."""

WEATHER = {
    "JA-localNews-67-20170123": "2017-01-23",
    "JA-localNews-988-20170209": "2017-02-09",
    "JA-localNews-2470-20170310": "2017-03-10",
    "JA-localNews-3566-20170423": "2017-04-23",
    "JA-localNews-3785-20170505": "2017-05-05",
    "JA-localNews-3848-20170506": "2017-05-06",
    "JA-localNews-4281-20170604": "2017-06-04",
}
OTHERS = [
    "JA-culture-5-20170109", "JA-economy-14-20170110", "JA-internationalNews-100-20170129", "JA-politic-1-20170121",
    "JA-culture-35-20170201", "JA-economy-109-20170222", "JA-internationalNews-133-20170201", "JA-politic-110-20170204",
    "JA-culture-69-20170318", "JA-economy-131-20170305", "JA-internationalNews-404-20170302", "JA-politic-184-20170302",
    "JA-culture-90-20170415", "JA-economy-175-20170401", "JA-internationalNews-582-20170401", "JA-politic-311-20170404",
    "JA-culture-107-20170521", "JA-economy-254-20170515", "JA-internationalNews-1044-20170531", "JA-politic-376-20170503",
    "JA-culture-116-20170609", "JA-economy-291-20170601", "JA-internationalNews-1008-20170603", "JA-politic-484-20170605",
]  # fmt: skip
RELABELLED = {
    "JA-localNews-3785-20170505",  # so May has a weather bulletin from each outlet
    "JA-localNews-2470-20170310",
    *(doc_id for doc_id in OTHERS if doc_id.startswith(("JA-culture", "JA-economy"))),
}
UPLOADED = "JA-culture-12-20161205"
"""A December 2016 article, uploaded in the browser test (a month and, relabelled, an outlet the
collection does not have yet)."""
UPLOADED_OUTLET = "Upload Wire"
"""Made up as well: the uploaded real article's `source` is changed to it."""
UPLOADED_QUESTION = "من هي مديرة مهرجان قرطاج الدولي؟"
WEATHER_QUESTION = "كيف ستكون حالة الطقس ودرجات الحرارة؟"
"""Answered by a weather bulletin in every month of the collection."""
MONTHS = ["2017-01", "2017-02", "2017-03", "2017-04", "2017-05", "2017-06"]


def _read(wanted: set[str]) -> list[dict]:
    with gzip.open(NEWS, "rt", encoding="utf-8") as lines:
        records = [record for record in map(json.loads, lines) if record["id"] in wanted]
    assert {r["id"] for r in records} == wanted, "the news data set changed"
    return records


def news_records() -> list[dict]:
    """The 31 Jawhara FM records, in the data set's order, with `RELABELLED` ones given `OTHER_OUTLET`."""
    records = _read(set(WEATHER) | set(OTHERS))
    for record in records:
        if record["id"] in RELABELLED:
            record["source"] = OTHER_OUTLET
    return records


def uploaded_record() -> dict:
    """The real article `UPLOADED`, its outlet changed to `UPLOADED_OUTLET`."""
    (record,) = _read({UPLOADED})
    return {**record, "source": UPLOADED_OUTLET}


def collection_articles() -> list[Article]:
    """The seeds and the 31 news records as `Article`s, ready for `Index.build(articles, ...)`.

    Built here rather than read from a JSONL file, so the tests of the chat do not depend on which
    optional fields the JSONL reader keeps (`category` is one)."""
    seeds = read_path(SEEDS).articles
    news = [
        Article(
            id=r["id"],
            text=r["text"],
            title=r["title"],
            url=r["url"],
            date=r["date"],
            source=r["source"],
            category=r["category"],
        )
        for r in news_records()
    ]
    return [*seeds, *news]
