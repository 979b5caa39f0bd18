"""Filters, recency and the collection overview on real news: 333 Jawhara FM articles (every 30th of
the file, 2014-2017, nine categories) plus the two seed articles (no outlet, no date), real model."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from qa.answer.assistant import Assistant
from qa.faces.cli import main
from qa.filters import Filters
from qa.index import Index, faiss_backend
from qa.index.selection import allowed_chunks
from qa.ingest.files import read_path
from qa.retrieve import Retriever
from qa.search.syndication import stories
from tests.conftest import SEEDS
from tests.news_corpus import jawhara_articles

FOOTBALL = "نتائج مباريات الرابطة الأولى لكرة القدم"
FILTERS = [
    Filters(since="2017-06-01"),
    Filters(until="2016-06-30"),
    Filters(since="2017-03-01", until="2017-03-31"),
    Filters(since="2017-02-05", until="2017-02-05"),
    Filters(sources=["Jawhara FM"]),
    Filters(sources=["jawhara fm"], categories=["economy"]),
    Filters(categories=["technology", "culture"]),
    Filters(since="2016-01-01", until="2016-12-31", categories=["sport"]),
    Filters(until="2015-06-30", categories=["localNews"]),
]


@pytest.fixture(scope="module")
def news_index(tmp_path_factory: pytest.TempPathFactory, real_embedder) -> Index:
    articles = jawhara_articles(every=30) + read_path(SEEDS).articles
    return Index.build(articles, tmp_path_factory.mktemp("news") / "index", embedder=real_embedder, progress=False)


def _matching(index: Index, filters: Filters) -> set[int]:
    """The chunks whose articles pass, by `Filters.allows` itself (the reference semantics)."""
    snapshot = index.snapshot()
    return {cid for cid, c in snapshot.chunks.items() if filters.allows(snapshot.articles[c.doc_id])}


def test_the_sample_has_no_syndicated_copies_so_every_chunk_can_be_a_hit(news_index: Index) -> None:
    assert stories(news_index.snapshot()) == {}


@pytest.mark.parametrize("filters", FILTERS + [Filters(sources=["France 24"]), Filters(until="2013-12-31")])
def test_selection_agrees_with_filters_allows(news_index: Index, filters: Filters) -> None:
    assert set(allowed_chunks(news_index.snapshot(), filters).tolist()) == _matching(news_index, filters)


@pytest.mark.parametrize("mode", ["hybrid", "dense"])
@pytest.mark.parametrize("filters", FILTERS)
def test_filtered_search_returns_k_hits_that_all_pass(news_index: Index, filters: Filters, mode: str) -> None:
    matching = _matching(news_index, filters)
    assert matching, "each filter of the list selects something in the sample"
    retriever = Retriever(news_index, mode=mode)
    for k in (5, 25):
        hits = retriever.search(FOOTBALL, k=k, filters=filters)
        assert len(hits) == min(k, len(matching))
        assert {h.chunk_id for h in hits} <= matching
        assert len({h.chunk_id for h in hits}) == len(hits)


@pytest.mark.parametrize("filters", FILTERS[:4])
def test_lexical_side_ranks_only_the_allowed_rows(news_index: Index, filters: Filters) -> None:
    """BM25 returns chunks with a positive score: as many as the unfiltered ranking holds allowed ones."""
    everything = Retriever(news_index, mode="lexical").search(FOOTBALL, k=1000)
    allowed = [h.chunk_id for h in everything if h.chunk_id in _matching(news_index, filters)]
    hits = Retriever(news_index, mode="lexical").search(FOOTBALL, k=5, filters=filters)
    assert [h.chunk_id for h in hits] == allowed[:5]


def test_a_filter_the_unfiltered_top_50_misses_entirely_still_fills_k(news_index: Index) -> None:
    """Economy and society articles from before July 2016 are nowhere near a football question's best
    50: dropping hits after the top k would return nothing; filtering inside the searches fills k."""
    narrow = Filters(until="2016-06-30", categories=["economy", "society"])
    matching = _matching(news_index, narrow)
    top50 = {h.chunk_id for h in Retriever(news_index).search(FOOTBALL, k=50)}
    assert len(matching) >= 5 and not matching & top50
    hits = Retriever(news_index).search(FOOTBALL, k=5, filters=narrow)
    assert len(hits) == 5 and {h.chunk_id for h in hits} <= matching


def test_a_filter_nothing_passes_returns_no_hit_and_ask_abstains(news_index: Index) -> None:
    nothing = Filters(sources=["France 24"])
    assert Retriever(news_index).search(FOOTBALL, k=5, filters=nothing) == []
    answer = Assistant(Retriever(news_index)).ask("ما هي حالة الطقس؟", filters=nothing)
    assert answer.abstained and not answer.related


def test_ask_quotes_and_cites_only_articles_the_filter_allows(news_index: Index) -> None:
    march = Filters(since="2017-04-01", until="2017-04-30")
    answer = Assistant(Retriever(news_index)).ask("ما هي حالة الطقس؟", filters=march)
    assert not answer.abstained and answer.citations
    assert all(c.date.startswith("2017-04") and c.source == "Jawhara FM" for c in answer.citations)
    assert "الطقس" in answer.citations[0].title


def test_approximate_store_with_a_narrow_selection_returns_the_exact_top_k(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mechanics of the graph path: a selection of 7 ids among 3,000 vectors, most of them far from
    the query's walk, still yields all of them, in exact order."""
    monkeypatch.setenv("QA_EXACT_LIMIT", "100")
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(3000, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    store = faiss_backend.FaissStore(32)
    store.add(np.arange(3000), vectors)
    assert store.kind == "approximate" and store.ef_search is not None
    allowed = np.sort(rng.choice(3000, size=7, replace=False))
    scores, ids = store.search(vectors[0], 5, allowed)
    truth = allowed[np.argsort(-(vectors[allowed] @ vectors[0]))][:5]
    assert ids.tolist() == truth.tolist()
    assert len(store.search(vectors[0], 10, allowed)[1]) == 7


def test_a_question_about_the_latest_puts_the_newest_relevant_report_first(news_index: Index) -> None:
    """The sample holds four weather forecasts (2017-01-16, 2017-04-08, 2017-04-30, 2017-06-03). Asked
    plainly, the best-worded one leads; asked for today's weather, the newest leads, the other
    forecasts follow newest first, and the answer quotes it with its date."""
    retriever = Retriever(news_index)
    plain = retriever.search("ما هي حالة الطقس؟", k=4)
    recent = retriever.search("ما هي حالة الطقس اليوم؟", k=4)
    dates = [news_index.article(h.doc_id).date for h in recent]
    assert "طقس" in recent[0].text and dates[0] == "2017-06-03"
    assert news_index.article(plain[0].doc_id).date < dates[0]
    assert dates[:3] == sorted(dates[:3], reverse=True)
    answer = Assistant(retriever).ask("ما هي حالة الطقس اليوم؟")
    assert not answer.abstained and answer.citations[0].date == "2017-06-03"
    assert "3 جوان 2017" in answer.quotes[0].text
    assert "[1] Jawhara FM · 2017-06-03 · " in answer.text


def test_recency_is_also_asked_in_english_and_with_this_week(news_index: Index) -> None:
    retriever = Retriever(news_index)
    for question in ("What is the latest weather forecast?", "ما هي توقعات الطقس هذا الأسبوع؟"):
        first = retriever.search(question, k=3)[0]
        assert news_index.article(first.doc_id).date == "2017-06-03", question


def test_stats_give_the_collection_at_a_glance(news_index: Index) -> None:
    stats = news_index.stats()
    assert stats["sources"] == {"Jawhara FM": 333, "": 2}
    assert stats["categories"]["localNews"] == 158 and stats["categories"][""] == 2
    assert stats["dates"] == {"first": "2014-01-14", "last": "2017-06-20", "undated": 2}
    months = stats["per_month"]
    assert list(months) == sorted(months) and sum(months.values()) == 333 and months["2017-02"] == 49


def _run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_cli_search_and_ask_take_filters_and_show_outlet_and_date(news_index: Index) -> None:
    where = ["--index-dir", str(news_index.index_dir)]
    found = _run("search", FOOTBALL, *where, "-k", "6", "--since", "2017-03-01", "--until", "2017-03-31", "--category", "sport", "--json")
    hits = [json.loads(line) for line in found.stdout.splitlines()]
    assert found.exit_code == 0 and len(hits) == 6
    assert all(h["date"].startswith("2017-03") and h["source"] == "Jawhara FM" for h in hits)
    text = _run("search", FOOTBALL, *where, "-k", "1", "--source", "Jawhara FM", "--since", "2017-03-01")
    assert text.exit_code == 0 and text.output.startswith("1. [") and "Jawhara FM · 2017-" in text.output
    asked = _run("ask", "ما هي حالة الطقس؟", *where, "--since", "2017-04-01", "--until", "2017-04-30", "--json")
    record = json.loads(asked.stdout)
    assert record["citations"] and all(c["date"].startswith("2017-04") and c["source"] == "Jawhara FM" for c in record["citations"])
    stats = _run("stats", *where)
    assert "outlets:" in stats.output and "  Jawhara FM: 333" in stats.output
    assert "dates: 2014-01-14 .. 2017-06-20 (2 undated)" in stats.output and "  2017-02     49 " in stats.output
