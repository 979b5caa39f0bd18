"""Retrieval on the seeds with the real model: Arabic, lexical-only names, and English questions."""

from __future__ import annotations

import pytest

from qa.errors import InputError
from qa.retrieve import Ranked, Retriever, convex_fusion

pytestmark = pytest.mark.quality

FIRST, SECOND = "000_9744522dcfbc0ba7.txt", "002_4c5868944a25ee9c.txt"


def test_initiatives_question_finds_the_first_article_chunk_within_top_3(seeds_index) -> None:
    hits = Retriever(seeds_index).search("ما هي المبادرات التي يشرف عليها المغرب؟", k=3)
    assert any(h.doc_id == FIRST and "ثلاث مبادرات" in h.text for h in hits)
    for hit in hits:
        assert seeds_index.article(hit.doc_id).text[hit.start : hit.end] == hit.text
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_fusion_scales_the_lexical_side_by_its_trust() -> None:
    dense, lexical = [(7, 0.90), (3, 0.85), (5, 0.80)], [(3, 12.0)]
    assert [r.chunk_id for r in convex_fusion(dense, lexical, lexical_trust=1.0)] == [3, 7, 5]
    assert [r.chunk_id for r in convex_fusion(dense, lexical, lexical_trust=0.1)] == [7, 3, 5]


def test_lexical_trust_is_high_for_arabic_questions_and_low_for_english_ones(seeds_index) -> None:
    lexical = seeds_index.snapshot().lexical
    assert lexical.known_share("ما هي المبادرات التي يشرف عليها المغرب في المنتدى العالمي لمكافحة الإرهاب؟") > 0.9
    assert lexical.known_share("Which initiatives does Morocco lead in the Global Counterterrorism Forum?") < 0.2
    assert lexical.known_share("Which resolution, 2396?") < lexical.known_share("القرار 2396")


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_each_mode_finds_the_hammouchi_meeting(seeds_index, mode: str) -> None:
    hits = Retriever(seeds_index).search("من استقبل عبد اللطيف حموشي؟", k=2, mode=mode)
    assert hits[0].doc_id == SECOND


def test_english_question_reaches_arabic_passages_through_the_dense_side(seeds_index) -> None:
    retriever = Retriever(seeds_index)
    assert retriever.search("Which Security Council resolution does the new initiative help implement?", k=5, mode="lexical") == []
    hits = retriever.search("Which Security Council resolution does the new initiative help implement?", k=3)
    assert any("2396" in h.text for h in hits)


def test_fusion_keeps_the_dense_ranking_when_lexical_finds_nothing() -> None:
    dense = [(7, 0.9), (3, 0.8), (5, 0.7)]
    assert [r.chunk_id for r in convex_fusion(dense, [])] == [7, 3, 5]


def test_fusion_weighs_normalized_scores_so_a_clear_lexical_winner_beats_a_close_dense_one() -> None:
    fused = convex_fusion([(7, 0.90), (3, 0.89), (5, 0.70)], [(3, 12.0), (5, 4.0)])
    assert [r.chunk_id for r in fused] == [3, 7, 5]
    assert fused[0] == Ranked(3, pytest.approx(0.5 * 0.95 + 0.5), 0.89, 12.0)
    assert fused[1] == Ranked(7, pytest.approx(0.5), 0.90, None)
    assert fused[2] == Ranked(5, pytest.approx(0.0), 0.70, 4.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"query": " \n"}, "the question is empty"), ({"query": "سؤال", "k": 0}, "k must be a positive integer"),
     ({"query": "سؤال", "mode": "magic"}, "mode must be one of")],
)
def test_bad_queries_are_refused(seeds_index, kwargs, message) -> None:
    with pytest.raises(InputError, match=message):
        Retriever(seeds_index).search(**kwargs)
