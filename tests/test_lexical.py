"""BM25 (`qa.index.lexical`) against a reference computed the plain way, on real XQuAD-ar paragraphs and
questions: reading function words only where they can change the top k gives exactly the plain
top k, whichever way a segment is scored."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from qa.index.lexical import K1, B, LexicalIndex, lexical_tokens
from qa.text.normalize import STOPWORDS
from qa.train.datasets import load_squad
from tests.conftest import XQUAD

ARTICLES, QUESTIONS = load_squad(XQUAD / "xquad.ar.json", limit=60)
TEXTS = [a.text for a in ARTICLES]
IDS = np.arange(100, 100 + len(TEXTS))  # chunk ids, not row numbers


def _reference(query: str, k: int) -> list[tuple[int, float]]:
    """Full BM25 over every query word of every row, best k (ties: lower id first)."""
    docs = [Counter(lexical_tokens(t)) for t in TEXTS]
    lengths = [sum(d.values()) for d in docs]
    avgdl = sum(lengths) / len(docs)
    scored = []
    for chunk_id, doc, length in zip(IDS.tolist(), docs, lengths):
        score = 0.0
        for term, count in Counter(lexical_tokens(query)).items():
            df = sum(term in d for d in docs)
            if not df or term not in doc:
                continue
            idf = math.log(1 + (len(docs) - df + 0.5) / (df + 0.5))
            score += count * idf * doc[term] / (doc[term] + K1 * (1 - B + B * length / avgdl))
        if score > 0:
            scored.append((chunk_id, score))
    return sorted(scored, key=lambda pair: (-pair[1], pair[0]))[:k]


@pytest.mark.parametrize("question", [q.text for q in QUESTIONS[:40:4]])
def test_the_top_k_is_the_plain_bm25_top_k(question: str) -> None:
    lexical = LexicalIndex.build(IDS, TEXTS)
    assert any(t in STOPWORDS for t in lexical_tokens(question)), "the question should have function words"
    for k in (1, 3, 20, 60):  # small k: function words read sparingly; large k: everywhere
        scores, ids = lexical.search(question, k)
        expected = _reference(question, k)
        assert ids.tolist() == [chunk_id for chunk_id, _ in expected]
        assert np.allclose(scores, [score for _, score in expected], rtol=1e-5)


def test_a_row_with_function_words_alone_ranks_only_when_the_top_k_has_room() -> None:
    lexical = LexicalIndex.build([0, 1, 2], ["في المدينة قال الوزير", "كان هو في البيت", "مباراة الكرة"])
    assert lexical.search("من هو الوزير في المدينة؟", 1)[1].tolist() == [0]
    assert lexical.search("من هو الوزير في المدينة؟", 5)[1].tolist() == [0, 1]  # row 1 shares "هو", "في"
    assert sorted(lexical.search("من هو في؟", 5)[1].tolist()) == [0, 1]  # nothing else to go on


SEED_LINES = [
    "بحث وزير الخارجية المغربي ناصر بوريطة والمنسق الأميركي لمكافحة الإرهاب نايثن سايلس سبل التعاون.",
    "استقبل المدير العام للأمن الوطني عبد اللطيف حموشي سفير الولايات المتحدة.",
    "ارتفعت أسعار النفط في الأسواق العالمية خلال القرن الماضي.",
]


def test_an_english_question_matches_the_arabic_spelling_of_its_names() -> None:
    lexical = LexicalIndex.build([0, 1, 2], SEED_LINES)
    question = "Who is Nathan Sales?"
    spelled = lexical.name_spellings(question)
    assert spelled == {"nathan": ["نايثن"], "sales": ["سايلس"]}
    assert lexical.known_share(question) == 0.0 and lexical.known_share(question, also_known=spelled) == 1.0
    _, ids = lexical.search(question, k=3, extra_terms=[t for terms in spelled.values() for t in terms])
    assert ids.tolist() == [0]
    # "Greenway" has the consonants of "القرن" (century) but a name writes its vowels: no match.
    assert lexical.name_spellings("Who is Robert Greenway?") == {}
    # A name the collection uses as written is BM25's business already.
    assert LexicalIndex.build([0], ["Nathan Sales نايثن سايلس"]).name_spellings(question) == {}
