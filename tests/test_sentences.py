"""Sentence spans: exact offsets, Arabic news punctuation, quotes, numbers and abbreviations."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.text.sentences import MAX_QUOTE_CHARS, split_sentences

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def sents(text: str, start: int = 0, end: int | None = None) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text, start, end)]


def test_plain_arabic_sentences_from_a_seed() -> None:
    text = (
        "جاء ذلك خلال لقائهما بالعاصمة بالمغربية الرباط، بحسب وكالة الأنباء المغربية الرسمية. "
        "وفي تصريح صحفي، عقب اللقاء، قال سايلس، إن المغرب والولايات المتحدة الأميركية يتقاسمان "
        "الالتزام بمكافحة الإرهاب."
    )
    assert sents(text) == [
        "جاء ذلك خلال لقائهما بالعاصمة بالمغربية الرباط، بحسب وكالة الأنباء المغربية الرسمية.",
        "وفي تصريح صحفي، عقب اللقاء، قال سايلس، إن المغرب والولايات المتحدة الأميركية يتقاسمان "
        "الالتزام بمكافحة الإرهاب.",
    ]


def test_period_after_closing_quote_ends_the_sentence() -> None:
    text = (
        'وأضاف أن "الالتزام المشترك بين حكومتي البلدين يوجد في صلب شراكة مغربية أمريكية متينة". '
        'وأشار إلى أن محادثاته مع وزير الخارجية المغربي كانت "بناءة".'
    )
    assert sents(text) == [
        'وأضاف أن "الالتزام المشترك بين حكومتي البلدين يوجد في صلب شراكة مغربية أمريكية متينة".',
        'وأشار إلى أن محادثاته مع وزير الخارجية المغربي كانت "بناءة".',
    ]


def test_quote_attached_to_a_proclitic_pairs_correctly() -> None:
    text = 'وأشاد بعلاقات الصداقة "الممتازة" بين البلدين، و"تحالفهما" لمكافحة الإرهاب. وأعرب سايلس عن رغبته.'
    assert sents(text) == [
        'وأشاد بعلاقات الصداقة "الممتازة" بين البلدين، و"تحالفهما" لمكافحة الإرهاب.',
        "وأعرب سايلس عن رغبته.",
    ]


@pytest.mark.parametrize(
    ("open_", "close"), [("«", "»"), ("“", "”"), ('"', '"'), ("”", "”")], ids=["guillemets", "curly", "straight", "reversed"]
)
def test_terminators_inside_quotes_do_not_split(open_: str, close: str) -> None:
    text = f"قال الوزير: {open_}لن نتراجع. هل سنتوقف؟ كلا! سنواصل{close} وأضاف أن الحكومة ملتزمة. ثم غادر."
    assert sents(text) == [
        f"قال الوزير: {open_}لن نتراجع. هل سنتوقف؟ كلا! سنواصل{close} وأضاف أن الحكومة ملتزمة.",
        "ثم غادر.",
    ]


@pytest.mark.parametrize(("open_", "close"), [("«", "»"), ("“", "”"), ('"', '"')])
def test_terminator_closing_a_quote_ends_the_sentence_with_the_quote(open_: str, close: str) -> None:
    text = f"وقال: {open_}سنواصل العمل. لن نتوقف.{close} وأضاف أن الحكومة ملتزمة."
    assert sents(text) == [f"وقال: {open_}سنواصل العمل. لن نتوقف.{close}", "وأضاف أن الحكومة ملتزمة."]


def test_curly_quotes_used_in_either_direction_from_a_seed() -> None:
    text = (
        "والتي وصفاها بأنها “نموذج يحتذى به على المستويين الإقليمي والدولي” وبأنها” واعدة بمزيد من "
        "التوطيد والتطوير على النحو الذي يضمن تعزيز التعاون الأمني بين البلدين”.\n"
        "المحادثات الثنائية تناولت الوضعية الأمنية الراهنة."
    )
    assert len(sents(text)) == 2
    assert sents(text)[0].endswith("البلدين”.")


def test_unclosed_quote_does_not_swallow_the_paragraph() -> None:
    text = 'قال "لن نتراجع. وأضاف أن الحكومة ملتزمة. ثم غادر القاعة.'
    assert sents(text) == ['قال "لن نتراجع.', "وأضاف أن الحكومة ملتزمة.", "ثم غادر القاعة."]


def test_quote_longer_than_the_limit_protects_nothing() -> None:
    filler = "كلمة " * (MAX_QUOTE_CHARS // 5)
    text = f"قال «{filler}انتهى. {filler}» ثم غادر."
    assert len(sents(text)) == 2
    short = "قال «جملة أولى. جملة ثانية» ثم غادر."
    assert len(sents(short)) == 1


def test_quote_does_not_reach_across_a_line_break() -> None:
    text = "قال «لن نتراجع.\nسنواصل» ثم غادر."
    assert sents(text) == ["قال «لن نتراجع.", "سنواصل» ثم غادر."]


@pytest.mark.parametrize(
    "number", ["3.5", "2.396", "1.000.000", "12.30", "0.62"],
)
def test_numbers_with_dots_do_not_split(number: str) -> None:
    text = f"بلغ المؤشر {number} نقطة في الربع الأول. وقال المحلل إن ذلك متوقع."
    assert sents(text) == [f"بلغ المؤشر {number} نقطة في الربع الأول.", "وقال المحلل إن ذلك متوقع."]


def test_number_at_sentence_end_splits() -> None:
    text = "قرار مجلس الأمن رقم 2396. وتهدف المبادرة إلى المساهمة في تنفيذه."
    assert sents(text) == ["قرار مجلس الأمن رقم 2396.", "وتهدف المبادرة إلى المساهمة في تنفيذه."]


@pytest.mark.parametrize(
    "text",
    [
        "استقبل د. محمد بن سلمان الوفد في الرياض.",
        "استقبل د.محمد الوفد في الرياض.",
        "حاضر أ.د. أحمد زويل في الجامعة.",
        "كما ورد في ج. 2، ص. 15 من الكتاب.",
        "استقبل دُ. محمد الوفد في الرياض.",
        "عاش أفلاطون بين 427 و347 ق.م",
        "The U.S. Department of State said so.",
        "Mr. Smith met Dr. Jones, e.g. at No. 10.",
        "وقال Mr. Smith إن الاتفاق جيد.",
    ],
)
def test_abbreviations_do_not_split(text: str) -> None:
    assert sents(text) == [text]


def test_era_mark_after_a_year_ends_the_sentence() -> None:
    text = "تأسست الشركة عام 2019 م. وقال مديرها إنها تنمو."
    assert sents(text) == ["تأسست الشركة عام 2019 م.", "وقال مديرها إنها تنمو."]
    hijri = "توفي سنة 1440 هـ. ودفن في المدينة."
    assert sents(hijri) == ["توفي سنة 1440 هـ.", "ودفن في المدينة."]
    before_christ = "عاش أفلاطون بين 427 و347 ق.م. ويعد من أبرز الفلاسفة."
    assert sents(before_christ) == ["عاش أفلاطون بين 427 و347 ق.م.", "ويعد من أبرز الفلاسفة."]


def test_latin_single_letter_before_an_arabic_sentence_splits() -> None:
    text = "يحتوي على فيتامين C. وقال الطبيب إنه مفيد."
    assert sents(text) == ["يحتوي على فيتامين C.", "وقال الطبيب إنه مفيد."]


def test_ellipsis_continues_unless_a_line_break_follows() -> None:
    assert sents("كان الوضع صعبا... لكنه تحسن. ثم استقر.") == ["كان الوضع صعبا... لكنه تحسن.", "ثم استقر."]
    assert sents("كان الوضع صعبا… لكنه تحسن.") == ["كان الوضع صعبا… لكنه تحسن."]
    assert sents("كان الوضع صعبا...\nلكنه تحسن.") == ["كان الوضع صعبا...", "لكنه تحسن."]


def test_question_exclamation_and_arabic_semicolon_end_sentences() -> None:
    text = "هل انتهى الاجتماع؟ نعم! انتهى باتفاق؛ ووقع الطرفان عليه. ماذا بعد؟!"
    assert sents(text) == ["هل انتهى الاجتماع؟", "نعم!", "انتهى باتفاق؛", "ووقع الطرفان عليه.", "ماذا بعد؟!"]


def test_missing_space_after_period_still_splits_arabic() -> None:
    assert sents("وهو أسرع بكثير.عملية التحويل معقدة.") == ["وهو أسرع بكثير.", "عملية التحويل معقدة."]


def test_urls_and_query_strings_do_not_split() -> None:
    text = "نشر الموقع www.aljazeera.net الخبر على الرابط example.com/?q=1&x=2 صباحا."
    assert sents(text) == [text]


def test_line_breaks_end_sentences_including_windows_and_paragraph_separator() -> None:
    text = "التزام مغربي أميركي ثابت بمكافحة الإرهاب\r\n\r\nوزير الخارجية المغربي يلتقي المنسق\u2029الرباط ـ بحث الوزير"
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == [
        "التزام مغربي أميركي ثابت بمكافحة الإرهاب",
        "وزير الخارجية المغربي يلتقي المنسق",
        "الرباط ـ بحث الوزير",
    ]
    assert all("\r" not in text[s:e] for s, e in spans)


def test_numbered_list_items_keep_their_number() -> None:
    text = "1. تبادل المعلومات\n2. أمن الحدود\n10. مكافحة التطرف"
    assert sents(text) == ["1. تبادل المعلومات", "2. أمن الحدود", "10. مكافحة التطرف"]


def test_invisible_marks_stay_inside_sentences() -> None:
    text = "\u200fقال الوزير\u200d. \u200fوأضاف أن الاتفاق تم.\ufeff"
    assert sents(text) == ["\u200fقال الوزير\u200d.", "\u200fوأضاف أن الاتفاق تم.\ufeff"]


def test_mixed_arabic_and_latin() -> None:
    text = "وقد ضم خط Panthers أيضاً المدافع جاريد ألان. He was a Pro Bowl pick! وكان متصدر اللاعبين."
    assert sents(text) == [
        "وقد ضم خط Panthers أيضاً المدافع جاريد ألان.",
        "He was a Pro Bowl pick!",
        "وكان متصدر اللاعبين.",
    ]


def test_spans_are_absolute_and_the_range_stands_alone() -> None:
    text = "مقدمة. قال د. أحمد إن النمو بلغ 3.5. ثم غادر. خاتمة."
    start = text.index("قال")
    end = text.index("خاتمة")
    spans = split_sentences(text, start, end)
    assert [text[s:e] for s, e in spans] == ["قال د. أحمد إن النمو بلغ 3.5.", "ثم غادر."]
    assert spans == [(s + start, e + start) for s, e in split_sentences(text[start:end])]


def test_empty_and_blank_ranges() -> None:
    assert split_sentences("") == []
    assert split_sentences(" \n\r\n\t ") == []
    assert split_sentences("جملة.", 3, 3) == []
    assert split_sentences("جملة.", 4, 2) == []
    assert split_sentences("أولى. ثانية.", -7) == [(6, 12)]


def test_seed_article_splits_into_its_sentences() -> None:
    text = (SEEDS / "002_4c5868944a25ee9c.txt").read_text(encoding="utf-8")
    found = sents(text)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    assert found == lines  # every line of this seed is one sentence
    assert found[0] == "خلق جبهة أمنية مشتركة بين المغرب وامريكا لمواجهة الإرهاب"


# --- properties ---------------------------------------------------------------------------------

ALPHABET = st.sampled_from(
    list("ابتثجحخدذرسشصضطظعغفقكلمنهويءآأإؤئىة")
    + list("\u064b\u064e\u064f\u0650\u0651\u0652\u0640\u0670")
    + list("0123456789٠١٢٣٤٥")
    + list('.؟!?؛،«»"“”…()')
    + [" ", " ", "\n", "\r", "\r\n", "\t", "\u00a0", "\u2029", "\u200f", "\u200d"]
    + list("aBcU")
)
TEXTS = st.lists(ALPHABET, max_size=120).map("".join)


def check_spans(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    covered = set()
    previous_end = start
    for s, e in spans:
        assert previous_end <= s < e <= end
        piece = text[s:e]
        assert piece == piece.strip() and piece
        covered.update(range(s, e))
        previous_end = e
    assert all(text[i].isspace() for i in range(start, end) if i not in covered)


@settings(max_examples=300, deadline=None)
@given(TEXTS)
def test_spans_are_ordered_stripped_and_cover_every_visible_char(text: str) -> None:
    check_spans(text, 0, len(text), split_sentences(text))


@settings(max_examples=150, deadline=None)
@given(TEXTS, st.integers(0, 130), st.integers(0, 130))
def test_ranges_behave_like_slices(text: str, a: int, b: int) -> None:
    start, end = min(a, b, len(text)), min(max(a, b), len(text))
    spans = split_sentences(text, start, end)
    check_spans(text, start, end, spans)
    assert spans == [(s + start, e + start) for s, e in split_sentences(text[start:end])]
