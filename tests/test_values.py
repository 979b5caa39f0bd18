"""Counts and days read out of real news sentences (`qa.text.values`, `qa.ingest.dates.dates_in`).

Every sentence here is from the multi-outlet development set (../shared/data/news, ANT Corpus v2.1;
the article id is given beside it), quoted as published; where a form the set never uses had to be
tested (Arabic-Indic or Persian digits in a toll), a real sentence has only its digits rewritten, and
the comment says so.
"""

from __future__ import annotations

import pytest

from qa.ingest.dates import dates_in
from qa.text.values import counts_in, update_cue


def read(text: str) -> list[tuple[str, str, str]]:
    """(figure as written, normalized interval, what it counts) for each count of `text`."""
    return [(text[c.start : c.end], c.normalized, c.noun) for c in counts_in(text)]


# ---------------------------------------------------------------------------- digits


def test_digits_with_the_noun_beside_them() -> None:
    # SK-middleEast-548-20180325's rival outlet, AL-internationalNews-613-20180325
    text = "ما أدى إلى سقوط 4 قتلى بينهم قيادات وجرح آخرين، بحسب إحصاءات أولية."
    assert read(text) == [("4", "4", "killed")]


def test_arabic_indic_and_persian_digits_read_as_the_same_number() -> None:
    # FR-internationalNews-534-20180320, its "16" rewritten in Arabic-Indic, then in Persian digits
    for sixteen in ("16", "١٦", "۱۶"):
        text = f"قتل {sixteen} طفلا وأربع نساء ليل الاثنين الثلاثاء في غارة جوية يرجح أنها روسية"
        assert read(text)[0] == (sixteen, "16", "killed")


def test_arabic_thousands_and_decimal_separators() -> None:
    # BB-middleEast-178-20180312 has "نحو 511 ألف"; the separators are the Arabic ones (٬ ٫)
    assert read("قتل ١٬٢٠٠ شخص")[0][1] == "1200"
    assert read("قال المرصد إن نحو 511 ألف شخص قتلوا منذ اندلاع الحرب")[0] == ("نحو 511 ألف", "459900-562100", "killed")


def test_years_ages_days_of_the_month_and_times_are_not_counts() -> None:
    assert read("عمره الآن: ٣٤ سنة") == []  # AL-internationalNews-161-20180222
    # FR-middleEast-114-20180306
    text = 'وقالت وزارة الدفاع الروسية في بيان "في 6 آذار/مارس عند الساعة 15,00 (12,00 ت غ) تحطمت طائرة'
    assert all(value not in ("6", "15", "12") for _, value, _ in read(text))


# ---------------------------------------------------------------------------- number words and duals


def test_number_words() -> None:
    # SK-middleEast-548-20180325
    assert read("أفادت مصادر، الأحد، بمقتل ثلاثة من مليشيات الحوثي الإيرانية وإصابة آخرين") == [("ثلاثة", "3", "killed")]
    # FR-internationalNews-227-20180303
    assert read("وقتل ثمانية من عناصر الأمن كما أصيب 80 آخرون")[:2] == [("ثمانية", "8", "killed"), ("80", "80", "injured")]


def test_thousands_in_words() -> None:
    # BB-middleEast-237-20180322
    text = "وسيُنقل نحو 1500 مقاتل من فصيل أحرار الشام وستة آلاف مدني من حرستا إلى محافظة إدلب"
    assert ("وستة آلاف", "6000") in [(w, v) for w, v, _ in read(text)]


def test_duals_count_two_of_their_noun() -> None:
    # AL-internationalNews-498-20180316
    assert read("وتحدثت وسائل الإعلام من جهتها عن سقوط قتيلين وثلاثة جرحى.") == [
        ("قتيلين", "2", "killed"),
        ("وثلاثة", "3", "injured"),
    ]
    # AL-internationalNews-12-20180218
    assert read("وأفادت مصادر طبية فلسطينية عن إصابة شخصين.") == [("شخصين", "2", "injured")]


def test_monday_is_not_the_number_two() -> None:
    # FR-internationalNews-534-20180320: "الاثنين" is a weekday here
    assert [v for _, v, _ in read("قتل 16 طفلا وأربع نساء ليل الاثنين الثلاثاء")] == ["16", "4"]


# ---------------------------------------------------------------------------- hedges


def test_about_widens_by_ten_percent() -> None:
    # BB-middleEast-981-20180909
    assert read("وأسفر القصف الإيراني عن مقتل 9 وإصابة نحو 50 آخرين") == [("9", "9", "killed"), ("نحو 50", "45-55", "injured")]


@pytest.mark.parametrize(
    ("text", "figure", "normalized"),
    [
        # FR-internationalNews-2660-20180810
        ("قتل فلسطينيان اثنان، بينهم مسعف، وأصيب أكثر من 300 آخرين", "أكثر من 300", "300+"),
        # CN-middleEast-1332-20180909
        ("الأمر الذي أدى إلى مقتل 12 شخصا على الأقل", "12 شخصا على الأقل", "12+"),
        # CN-internationalNews-183-20180326
        ("قتل ما لا يقل عن 64 شخصاً، الإثنين، في حريق في مركز تسوق", "ما لا يقل عن 64", "64+"),
    ],
)
def test_lower_bounds(text: str, figure: str, normalized: str) -> None:
    assert (figure, normalized) in [(w, v) for w, v, _ in read(text)]


def test_tens_and_hundreds_as_ranges() -> None:
    # SK-internationalNews-3000-20180814
    assert read('قولها إن الحادث خلف "عشرات القتلى"، دون أن تحدد عددهم.') == [("عشرات", "20-99", "killed")]
    # SK-middleEast-3332-20180811
    text = 'خلف مقتل 3 أشخاص، وإصابة المئات، شرقي قطاع غزة.'
    assert read(text) == [("3", "3", "killed"), ("المئات", "200-999", "injured")]


def test_a_figure_and_a_lower_bound_that_can_be_equal_overlap() -> None:
    # AL-internationalNews-556-20180321 against CN-internationalNews-162-20180321
    a = counts_in("إن الهجوم أدى لمقتل 26 شخصاً على الأقل، وإصابة 18 آخرين.")[0]
    b = counts_in("قتل مشتبه به انتحاري 26 شخصاً وأصاب 18 آخرين في كابول")[0]
    assert a.overlaps(b) and (a.noun, b.noun) == ("killed", "killed")


# ---------------------------------------------------------------------------- like with like


def test_killed_and_injured_in_one_sentence_stay_apart() -> None:
    # AL-internationalNews-715-20180331
    text = "وأعلنت وزارة الصحة الفلسطينية وفاة 15 فلسطينياً وإصابة نحو 1500 آخرين في قطاع غزة"
    assert read(text) == [("15", "15", "killed"), ("نحو 1500", "1350-1650", "injured")]


def test_a_breakdown_is_a_part_not_a_toll() -> None:
    # BB-middleEast-880-20180812
    found = counts_in("قتل 39 شخصاً على الأقل، بينهم 12 طفلاً، في انفجار مستودع أسلحة وذخيرة في بلدة سرمدا")
    assert [(c.normalized, c.part) for c in found] == [("39+", False), ("12", True)]


def test_passengers_and_crew_read_as_the_total_too() -> None:
    # SK-internationalNews-10-20180218 (60 passengers and 6 crew; other outlets say 66 aboard)
    found = counts_in("مشيراً أنها كانت تحمل 60 راكبا و6 أفراد للطاقم.")
    assert found[0].normalized == "60-66" and found[0].noun == "aboard"
    # BB-internationalNews-105-20180306 (other outlets say 32 killed)
    found = counts_in("وقتل في الحادث 26 من الركاب، وأفراد طاقمها المكون من ستة أشخاص")
    assert found[0].normalized == "26-32" and found[0].noun == "killed"


def test_who_was_counted() -> None:
    # CN-middleEast-61-20180222: seven soldiers and 71 militants, both killed
    found = counts_in("مقتل 7 أفراد من قوات الجيش 71 إرهابيا، وذلك في حصيلة")
    assert [(c.normalized, c.noun, c.group) for c in found] == [("7", "killed", "forces"), ("71", "killed", "militants")]


def test_update_cues() -> None:
    # FR-internationalNews-2671-20180811, BB-internationalNews-923-20180807, CN-internationalNews-162-20180321
    assert update_cue("ارتفع عدد ضحايا الزلزال الذي ضرب جزيرة لومبوك الإندونيسية إلى 387 قتيلا") == "rise"
    assert update_cue("وقال مسؤول إن حصيلة القتلى حتى الآن وصلت إلى 98 شخصا وهي قابلة للزيادة") == "open"
    assert update_cue("قتل مشتبه به انتحاري 26 شخصاً وأصاب 18 آخرين في كابول") == ""


# ---------------------------------------------------------------------------- days


def test_a_weekday_resolves_against_the_article_date() -> None:
    # SK-internationalNews-583-20180325 (a Sunday) says "الأحد": that same day
    text = "لقي 37 شخصا مصرعهم في حريق اندلع الأحد بمركز تجاري في مدينة كيميروفو"
    assert [iso for *_, iso in dates_in(text, "2018-03-25")] == ["2018-03-25"]
    # AL-internationalNews-625-20180326 (a Monday) says "الأحد": the day before
    text = "عُثر على جثث 53 شخصاً على الأقل، عقب #حريق مدمر اندلع، الأحد، في مركز تسوق"
    start, end, iso = dates_in(text, "2018-03-26")[0]
    assert (text[start:end], iso) == ("الأحد", "2018-03-25")


def test_a_night_across_two_weekdays_names_both_days() -> None:
    # FR-internationalNews-534-20180320 (a Tuesday)
    days = [iso for *_, iso in dates_in("قتل 16 طفلا وأربع نساء ليل الاثنين الثلاثاء في غارة", "2018-03-20")]
    assert days == ["2018-03-19", "2018-03-20"]


def test_day_and_month_take_the_article_year_and_a_weekday_before_them_is_one_day() -> None:
    # SK-internationalNews-415-20180317
    text = "وفي السادس من مارس، قتل 39 شخصا جراء تحطم طائرة نقل روسية"
    assert dates_in(text, "2018-03-17") == []  # "السادس" is an ordinal word: not read as a day
    found = dates_in("الجمعة ٩ مارس ٢٠١٨", None)  # Arabic-Indic digits, a full date with its weekday
    assert [iso for *_, iso in found] == ["2018-03-09"]


def test_a_weekday_without_an_article_date_is_not_placed() -> None:
    assert dates_in("قتل 13 شخصا في هجوم يوم الخميس", None) == []


def test_a_day_and_month_far_after_the_article_is_last_years() -> None:
    # BB-middleEast-4-20180218 lists earlier crashes: "25 ديسمبر" in a February 2018 article is 2017's
    assert [iso for *_, iso in dates_in("25 ديسمبر/كانون أول: تحطم طائرة", "2018-02-18")] == ["2017-12-25"]
    assert [iso for *_, iso in dates_in("تعقد القمة في 15 مارس", "2018-03-10")] == ["2018-03-15"]


def test_the_day_something_was_said_is_not_when_it_happened() -> None:
    from qa.answer.disagreement import _reporting_day

    # SK-internationalNews-591-20180326 (a Monday): the fire broke out "أمس", it was said "الاثنين"
    text = "قالت وزارة الطوارئ الروسية، الاثنين، إن ما لا يقل عن 53 شخصا لاقوا حتفهم، عندما اندلع حريق أمس في مركز تجاري"
    found = dates_in(text, "2018-03-26")
    assert [(text[s:e], _reporting_day(text, s, e)) for s, e, _ in found] == [("الاثنين", True), ("أمس", False)]
    # SK-internationalNews-34-20180219: the speaker's title pushes "قال" far before the day; "إن" after it
    # still opens what was said, and the crash's own day is "صباح الأحد"
    text = 'قال متحدث باسم شركة "آسمان" الإيرانية للطيران، الاثنين، إن البحث لا يزال مستمرا عن طائرة تحطمت، صباح الأحد'
    found = dates_in(text, "2018-02-19")
    assert [(text[s:e], _reporting_day(text, s, e)) for s, e, _ in found] == [("الاثنين", True), ("الأحد", False)]
