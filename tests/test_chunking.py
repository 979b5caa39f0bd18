"""Chunk offsets are exact: `text[start:end] == chunk` for every chunk, for any text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from qa.ingest.chunking import Chunker
from qa.ingest.files import read_path
from tests.conftest import SEEDS

ARABIC_ALPHABET = "ابتثجحخدذرزسشصضطظعغفقكلمنهويءآأإةى" + "\u064b\u064e\u064f\u0650\u0651\u0652\u0640" + "٠١٢٣0123456789" + ".؟!؛،,«»\"“” \n\r\t"


def _covered(text: str, spans: list[tuple[int, int]]) -> bool:
    covered = [False] * len(text)
    for s, e in spans:
        for i in range(s, e):
            covered[i] = True
    return all(c or ch.isspace() for c, ch in zip(covered, text))


def test_seed_chunks_are_exact_slices_in_order() -> None:
    chunker = Chunker(400, 80)
    for article in read_path(SEEDS).articles:
        spans = chunker.spans(article.text)
        assert len(spans) > 3
        assert spans == sorted(spans)
        for s, e in spans:
            piece = article.text[s:e]
            assert piece and piece == piece.strip() and len(piece) <= 400
        assert _covered(article.text, spans)


def test_windows_line_ends_and_diacritics_keep_offsets() -> None:
    text = "عَنْوانُ الخَبَرِ\r\n\r\nقالَ الوزيرُ إنَّ القرارَ رقمَ 2396 صدرَ عامَ 2017.\r\nوبلغت النسبة 3.5 في المئة؟ نعم!\r\n" * 20
    spans = Chunker(120, 30).spans(text)
    assert all(text[s:e].strip() == text[s:e] for s, e in spans)
    assert all("3.5" in text[s:e] or "3." not in text[s:e] for s, e in spans)  # never cut inside 3.5
    assert _covered(text, spans)


def test_sentence_end_stays_with_its_sentence() -> None:
    text = "هل وصل الوفد إلى العاصمة المغربية صباح اليوم؟ " + "نعم وصل الوفد إلى الرباط صباح اليوم. " * 6
    pieces = [text[s:e] for s, e in Chunker(60, 0).spans(text)]
    assert pieces[0].endswith("؟")
    assert all(p[0] not in ".؟!؛" and p[-1] in ".؟!؛" for p in pieces)


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=ARABIC_ALPHABET, max_size=600), st.integers(60, 200), st.integers(0, 50))
def test_any_text_is_covered_in_order_by_exact_chunks(text: str, size: int, overlap: int) -> None:
    spans = Chunker(size, overlap).spans(text)
    starts = [s for s, _ in spans]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    for s, e in spans:
        assert 0 <= s < e <= len(text) and text[s:e] == text[s:e].strip()
    assert _covered(text, spans)
