"""Retrieval on the seeds with the real model: Arabic, lexical-only names, and English questions."""

from __future__ import annotations

import pytest

from qa.errors import InputError
from qa.retrieve import Ranked, Retriever, reciprocal_rank_fusion

FIRST, SECOND = "000_9744522dcfbc0ba7.txt", "002_4c5868944a25ee9c.txt"


def test_initiatives_question_finds_the_first_article_chunk_within_top_3(seeds_index) -> None:
    hits = Retriever(seeds_index).search("ما هي المبادرات التي يشرف عليها المغرب؟", k=3)
    assert any(h.doc_id == FIRST and "ثلاث مبادرات" in h.text for h in hits)
    for hit in hits:
        assert seeds_index.article(hit.doc_id).text[hit.start : hit.end] == hit.text
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_each_mode_finds_the_hammouchi_meeting(seeds_index, mode: str) -> None:
    hits = Retriever(seeds_index).search("من استقبل عبد اللطيف حموشي؟", k=2, mode=mode)
    assert hits[0].doc_id == SECOND


def test_english_question_reaches_arabic_passages_through_the_dense_side(seeds_index) -> None:
    retriever = Retriever(seeds_index)
    assert retriever.search("Which Security Council resolution does the new initiative help implement?", k=5, mode="lexical") == []
    hits = retriever.search("Which Security Council resolution does the new initiative help implement?", k=3)
    assert any("2396" in h.text for h in hits)


def test_rrf_keeps_the_dense_ranking_when_lexical_finds_nothing() -> None:
    dense = [(7, 0.9), (3, 0.8), (5, 0.7)]
    assert [r.chunk_id for r in reciprocal_rank_fusion(dense, [])] == [7, 3, 5]
    fused = reciprocal_rank_fusion(dense, [(3, 12.0), (5, 4.0)])
    assert [r.chunk_id for r in fused] == [3, 5, 7]
    assert fused[0] == Ranked(3, pytest.approx(1 / 62 + 1 / 61), 0.8, 12.0)
    assert fused[2] == Ranked(7, pytest.approx(1 / 61), 0.9, None)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"query": " \n"}, "the question is empty"), ({"query": "سؤال", "k": 0}, "k must be a positive integer"),
     ({"query": "سؤال", "mode": "magic"}, "mode must be one of")],
)
def test_bad_queries_are_refused(seeds_index, kwargs, message) -> None:
    with pytest.raises(InputError, match=message):
        Retriever(seeds_index).search(**kwargs)
