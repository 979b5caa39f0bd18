"""Latin names found in their Arabic spellings, and common look-alikes not taken for them."""

from __future__ import annotations

import pytest

from qa.text.normalize import tokenize
from qa.text.transliterate import spelled_in

# Names as the seeds and XQuAD-ar write them.
SPELLINGS = [
    ("nathan", "نايثن"),
    ("sales", "سايلس"),
    ("greenway", "غرينواي"),
    ("hammouchi", "حموشي"),
    ("bourita", "بوريطة"),
    ("washington", "واشنطن"),
    ("trump", "ترامب"),
    ("obama", "أوباما"),
    ("augustine", "أوغسطين"),
    ("victoria", "فيكتوريا"),
]


@pytest.mark.parametrize(("latin", "arabic"), SPELLINGS)
def test_a_name_is_found_in_its_arabic_spelling(latin: str, arabic: str) -> None:
    assert spelled_in({latin}, tokenize(f"قال {arabic} اليوم")) == {latin}


@pytest.mark.parametrize(
    ("latin", "arabic"),
    [
        ("greenway", "قرن"),  # same consonants, but no vowel written: a common word, not a name
        ("hammouchi", "حماس"),  # a name ending in a vowel is written with one
        ("sales", "سلس"),  # "smooth": the consonants of "Sales", no vowel written
    ],
)
def test_a_look_alike_is_not_taken_for_the_name(latin: str, arabic: str) -> None:
    assert not spelled_in({latin}, tokenize(arabic))


def test_only_latin_words_are_looked_up() -> None:
    assert spelled_in({"سايلس", "2018", "al"}, tokenize("سايلس 2018 ال")) == set()
