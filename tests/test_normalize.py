"""Arabic normalisation for matching: letter folds, digits, punctuation, tokens, stopwords, script."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.text.normalize import STOPWORDS, detect_language, is_arabic, normalize, tokenize


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("مُحَمَّدٌ رَسُولُ", "محمد رسول"),  # harakat, shadda, tanween
        ("هٰذا", "هذا"),  # superscript alef
        ("ذٰلِكَ لَا رَيْبَ ۛ فِيهِ ۛ", "ذلك لا ريب فيه"),  # Quranic marks
        ("الـــرباط بـ أربعة", "الرباط ب اربعه"),  # tatweel
        ("أحمد إبراهيم آمال ٱلله", "احمد ابراهيم امال الله"),  # alef forms
        ("على مستشفى", "علي مستشفي"),  # alef maqsura
        ("المملكة المغربيةُ مكتبةً", "المملكه المغربيه مكتبه"),  # teh marbuta at word end
        ("المدينةالمنورة", "المدينةالمنوره"),  # ... only at word end
        ("٢٣٩٦ و۲۰۱۹ و٣٫٥٪", "2396 و2019 و3.5%"),  # Arabic-Indic and Eastern digits
        ("«الالتزام المشترك»، أليس كذلك؟", '"الالتزام المشترك", اليس كذلك?'),  # punctuation
        ("\u200fالرباط\u200d\u200c\ufeff\u202bواشنطن\u202c", "الرباطواشنطن"),  # invisible marks
        ("Panthers NFL ΣΊΣΥΦΟΣ", "panthers nfl σίσυφοσ"),  # casefold
        ("ﻣﺒﺎدرات ﻣﺸﺘﺮﻛﺔ اﻹﻗﻠﻴﻤﻲ ﻻ", "مبادرات مشتركه الاقليمي لا"),  # presentation forms (a seed)
        ("  انتشار\u00a0 المقاتلين\r\n\tالأجانب  ", "انتشار المقاتلين الاجانب"),  # whitespace
        ("١٠ – ٢٠", "10 - 20"),
    ],
)
def test_normalize_folds(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_quote_styles_compare_equal() -> None:
    forms = ["«الالتزام المشترك»", '"الالتزام المشترك"', "“الالتزام المشترك”", "”الالتزام المشترك”"]
    assert len({normalize(f) for f in forms}) == 1


def test_hamza_seats_meet_and_do_not_merge_real_words() -> None:
    assert normalize("مسؤول") == normalize("مسئول")
    assert normalize("شؤون") == normalize("شئون")
    assert normalize("بناؤه") == normalize("بنائه") == normalize("بناءه")
    assert normalize("فئة") != normalize("فيه")


def test_presentation_forms_match_the_plain_letters() -> None:
    assert normalize("الاﺳﺘﺮاﺗﻴﺠﻴﺔ اﻹﻗﻠﻴﻤﻲ") == normalize("الاستراتيجية الإقليمي")


def test_tokenize_numbers_and_words() -> None:
    text = "قرار مجلس الأمن رقم 2396 بشأن عودة المقاتلين، بنسبة 3.5% و١٫٥ مليون (1,000,000) عام 2019م."
    assert tokenize(text) == [
        "قرار", "مجلس", "الامن", "رقم", "2396", "بشان", "عوده", "المقاتلين", "بنسبه", "3.5", "و",
        "1.5", "مليون", "1,000,000", "عام", "2019", "م",
    ]


def test_tokenize_mixed_latin_and_arabic() -> None:
    assert tokenize("وقد ضم خط Panthers أيضاً COVID-19 و\u200fNFL والـNFL") == [
        "وقد", "ضم", "خط", "panthers", "ايضا", "covid", "19", "و", "nfl", "وال", "nfl",
    ]


def test_tokenize_empty_and_punctuation_only() -> None:
    assert tokenize("") == []
    assert tokenize(" ،؟!«»… \u200f ") == []


@pytest.mark.parametrize(
    ("word", "stem"),
    [
        ("والمغرب", "مغرب"),
        ("بالرباط", "رباط"),
        ("كالبحر", "بحر"),
        ("فالأمر", "امر"),
        ("للأمن", "امن"),
        ("الإرهاب", "ارهاب"),
        ("وتهدف", "تهدف"),
        ("بكتاب", "كتاب"),
        ("لمكافحة", "مكافحه"),
        ("الله", "الله"),  # "له" would keep only two letters
        ("وفي", "وفي"),  # a stopword, left whole
        ("التي", "التي"),
        ("بين", "بين"),
        ("Panthers", "panthers"),
        ("2396", "2396"),
    ],
)
def test_light_prefix_stemming(word: str, stem: str) -> None:
    assert tokenize(word, stem=True) == [stem]


def test_stemming_strips_only_one_prefix() -> None:
    assert tokenize("وبالتالي", stem=True) == ["بالتالي"]


def test_stopwords_are_normalised_single_tokens() -> None:
    for word in ["من", "ما", "ماذا", "متى", "أين", "كيف", "كم", "لماذا", "هل", "في", "على", "إلى", "عن", "مع", "أن", "إن", "هو", "هي", "التي", "الذي"]:
        assert normalize(word) in STOPWORDS, word
    for word in ["the", "of", "what", "who", "when", "where", "which", "how"]:
        assert word in STOPWORDS
    assert all(tokenize(word) == [word] for word in STOPWORDS)
    assert not {"الرباط", "الإرهاب", "مجلس", "ولي"} & STOPWORDS


@pytest.mark.parametrize(
    ("text", "arabic", "language"),
    [
        ("ما هو رقم قرار مجلس الأمن؟", True, "ar"),
        ("What is the number of the Security Council resolution?", False, "en"),
        ("ما هو دوري NFL؟", True, "ar"),
        ("Who met Bourita in الرباط?", False, "en"),
        ("\u200fكيف؟\u200f", True, "ar"),
        ("ﻣﺸﺘﺮﻛﺔ", True, "ar"),
        ("", False, "ar"),
        ("2396؟", False, "ar"),
    ],
)
def test_script_detection(text: str, arabic: bool, language: str) -> None:
    assert is_arabic(text) is arabic
    assert detect_language(text) == language


# --- properties ---------------------------------------------------------------------------------

ALPHABET = st.sampled_from(
    list("ابتثجحخدذرسشصضطظعغفقكلمنهويءآأإؤئىةٱ")
    + list("\u064b\u064c\u064d\u064e\u064f\u0650\u0651\u0652\u0640\u0670\u06d6\u0654")
    + list("0123456789٠١٢٣٤٥۶۷۸۹")
    + list('.,؟!?؛،«»"“”…%٫٪-')
    + [" ", "\n", "\r\n", "\t", "\u00a0", "\u200f", "\u200d", "\ufeff"]
    + list("aBcİß")
    + list("ﻣﺸﺘﺮﻛﺔﻻ")
)
ARABICISH = st.lists(ALPHABET, max_size=80).map("".join)


@settings(max_examples=200, deadline=None)
@given(st.one_of(ARABICISH, st.text(max_size=40)))
def test_normalize_is_idempotent_and_tokens_are_never_empty(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once
    tokens = tokenize(text)
    assert all(tokens)
    assert tokenize(once) == tokens
    assert all(tokenize(text, stem=True))
