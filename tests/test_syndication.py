"""Syndicated copies on real text: Jawhara FM articles, a real re-post from the collection, and a real
article republished with small edits under another outlet and date; real model."""

from __future__ import annotations

from dataclasses import replace

import pytest

from qa.answer.assistant import Assistant
from qa.filters import Filters
from qa.index import Index
from qa.index.signatures import SIGNATURES
from qa.retrieve import Retriever
from qa.search.syndication import copies, stories
from tests.news_corpus import jawhara_articles

STRIKE, STRIKE_REPOST = "JA-localNews-4533-20160427", "JA-localNews-4534-20160428"
"""The health-sector strike postponed, posted on 27 April 2016 and re-posted the next day ("غدا" ->
"اليوم", "مساء اليوم" -> "مساء أمس"): shingle Jaccard 0.85."""
LINEUP_EXPECTED, LINEUP_ACTUAL = "JA-sport-903-20170318", "JA-sport-900-20170318"
"""The expected and the actual line-up of one match: one subject, two articles (Jaccard 0.61)."""
WEATHER = ("JA-localNews-3569-20170408", "JA-localNews-3870-20170430", "JA-localNews-4281-20170604")
"""Three days' forecasts, written from one template."""
OTHERS = ("JA-culture-1-20170120", "JA-sport-106-20170129", "JA-localNews-1836-20150707")
COPY = "wire-copy-of-4533"


def _edited_copy(original):
    """The strike article as another outlet ran it a day later: a dateline added, two words changed,
    the last sentence dropped."""
    text = original.text.replace("لمدة خمسة عشر يوما", "لمدة 15 يوما").replace("مساء اليوم", "مساء الأربعاء")
    text = "تونس (وات) - " + text[: text.rindex("وأضاف أن قضية")].rstrip()
    return replace(original, id=COPY, text=text, source="Mosaique FM", date="2016-04-28", url=None, title="تأجيل الإضراب العام في قطاع الصحة")


@pytest.fixture(scope="module")
def articles():
    wanted = {STRIKE, STRIKE_REPOST, LINEUP_EXPECTED, LINEUP_ACTUAL, *WEATHER, *OTHERS}
    found = {a.id: a for a in jawhara_articles() if a.id in wanted}
    assert set(found) == wanted
    return [*found.values(), _edited_copy(found[STRIKE])]


@pytest.fixture(scope="module")
def index(articles, tmp_path_factory: pytest.TempPathFactory, real_embedder) -> Index:
    return Index.build(articles, tmp_path_factory.mktemp("syndication") / "index", embedder=real_embedder, progress=False)


def test_copies_and_reposts_are_one_story_and_same_topic_articles_are_not(index: Index) -> None:
    groups = stories(index.snapshot())
    assert set(groups[STRIKE]) == {STRIKE, STRIKE_REPOST, COPY}
    assert set(groups) == {STRIKE, STRIKE_REPOST, COPY}, "the line-ups and the forecasts stay apart"


def test_search_returns_one_passage_per_story_and_still_fills_k(index: Index) -> None:
    hits = Retriever(index).search("لماذا تأجل الإضراب العام في قطاع الصحة؟", k=6)
    strike = [h for h in hits if h.doc_id in {STRIKE, STRIKE_REPOST, COPY}]
    assert strike and len({h.doc_id for h in strike}) == 1
    assert len(hits) == 6


def test_the_answer_cites_every_outlet_that_carried_the_story(index: Index) -> None:
    answer = Assistant(Retriever(index)).ask("إلى متى تأجل الإضراب العام في قطاع الصحة؟")
    assert not answer.abstained
    quote = answer.quotes[0]
    cited = {c.number: c for c in answer.citations}
    story = {cited[n].doc_id for n in (quote.citation, *quote.also_cited)}
    assert story == {STRIKE, STRIKE_REPOST, COPY}
    assert {cited[n].source for n in (quote.citation, *quote.also_cited)} == {"Jawhara FM", "Mosaique FM"}
    assert "Mosaique FM · 2016-04-28" in answer.text and quote.markers.count("[") == 3


def test_a_filter_on_one_outlet_finds_its_copy_and_cites_only_that_outlet(index: Index) -> None:
    mosaique = Filters(sources=["Mosaique FM"])
    hits = Retriever(index).search("تأجيل الإضراب في قطاع الصحة", k=3, filters=mosaique)
    assert [h.doc_id for h in hits] == [COPY]
    answer = Assistant(Retriever(index)).ask("إلى متى تأجل الإضراب العام في قطاع الصحة؟", filters=mosaique)
    assert [c.doc_id for c in answer.citations] == [COPY]


def test_groups_follow_deletes_adds_and_reloads(index: Index, articles, tmp_path) -> None:
    import shutil

    target = tmp_path / "index"
    shutil.copytree(index.index_dir, target)
    copy = Index.load(target, embedder=index.embedder)
    assert set(copies(copy.snapshot(), STRIKE)) == {STRIKE_REPOST, COPY}
    copy.delete([STRIKE_REPOST])
    assert set(copies(copy.snapshot(), STRIKE)) == {COPY}
    copy.delete([COPY])
    assert copies(copy.snapshot(), STRIKE) == ()
    copy.add([a for a in articles if a.id == COPY], progress=False)
    assert copies(copy.snapshot(), STRIKE) == (COPY,)
    reloaded = Index.load(target, embedder=index.embedder)
    assert copies(reloaded.snapshot(), COPY) == (STRIKE,)
    segment = sorted(p for p in target.iterdir() if p.name.startswith("seg-"))[-1]
    assert (segment / SIGNATURES).is_file()
