"""Who and where, read from real news sentences (`qa.text.names`), and when two names agree.

The sentences are from the articles of tests/data/disagreement_articles.jsonl (real outlets, 2018);
each test says which look-alike it stands for. No model: pure text rules.
"""

from __future__ import annotations

import pytest

from qa.text.names import mentioned, names_agree, persons_in, places_in
from qa.text.normalize import tokenize
from tests.disagreement_corpus import case_articles


def _article(doc_id: str):
    return next(a for a in case_articles("salisbury-where", "genoa-where", "trebes-where", "ashmawi-where",
                                        "fredericton-where", "aseman-aboard", distractors=False) if a.id == doc_id)  # fmt: skip


def _sentence(doc_id: str, phrase: str) -> str:
    text = _article(doc_id).text
    start = text.index(phrase)
    return text[text.rfind("\n", 0, start) + 1 : text.find("\n", start) if "\n" in text[start:] else len(text)]


def _places(doc_id: str, phrase: str, level: str = "") -> list[str]:
    return [p.normalized for p in places_in(_sentence(doc_id, phrase), level)]


@pytest.mark.parametrize(
    ("doc_id", "phrase", "expected"),
    [
        ("SK-internationalNews-540-20180323", "احتجز رهائن في متجر ببلدة تريب", "تريب"),  # "ببلدة X"
        ("BB-middleEast-1072-20181008", "في عملية أمنية في مدينة درنة", "درنه"),  # a comma ends the name
        ("CN-internationalNews-494-20180814", "في مدينة جنوة الإيطالية", "جنوه الايطاليه"),  # two words at most
        ("BB-internationalNews-125-20180310", "في مدينة سالزبيري", "سالزبيري"),
    ],
)
def test_a_place_is_read_after_its_marker(doc_id: str, phrase: str, expected: str) -> None:
    assert expected in _places(doc_id, phrase)


def test_offsets_point_into_the_raw_sentence() -> None:
    sentence = _sentence("SK-internationalNews-540-20180323", "ببلدة تريب")
    town = next(p for p in places_in(sentence, "city") if p.normalized == "تريب")
    assert sentence[town.start : town.end] == "تريب"


def test_a_quarter_is_not_a_city_and_a_definite_marker_names_no_place() -> None:
    sentence = _sentence("BB-middleEast-1072-20181008", "حي المغار بمدينة درنة")
    assert [p.normalized for p in places_in(sentence, "city")] == ["درنه"]
    assert [p.normalized for p in places_in(sentence, "quarter")] == ["المغار"]
    assert places_in("وزارت وزيرة الداخلية البريطانية المدينة، الجمعة") == ()  # "المدينة": already named
    assert places_in("وتأتي العملية ضمن ولاية ثالثة للرئيس") == ()  # "ولاية": a term of office here


def test_a_place_the_question_names_is_not_its_answer() -> None:
    sentence = _sentence("SK-internationalNews-540-20180323", "ببلدة تريب")
    asked = frozenset(tokenize("ماذا حدث في بلدة تريب؟"))
    assert "تريب" not in [p.normalized for p in places_in(sentence, "city", asked)]


def test_a_spokesman_is_read_beside_his_role_with_either_role_word() -> None:
    asked = frozenset(tokenize("من هو المتحدث باسم الجيش الليبي الذي أعلن القبض على عشماوي؟"))
    bbc = _sentence("BB-middleEast-1072-20181008", "المتحدث باسم الجيش الليبي الموالي")
    sky = _sentence("SK-middleEast-3775-20181008", "الناطق باسم الجيش الوطني الليبي")
    read = [[p.words for p in persons_in(s, frozenset({"المتحدث"}), asked, "الجيش")] for s in (bbc, sky)]
    assert read[0] and read[1] and names_agree(read[0][0], read[1][0])
    assert persons_in(bbc, frozenset({"المتحدث"}), asked, "الخارجيه") == ()  # another body's spokesman


def test_the_agent_of_the_asked_verb_stops_at_the_questions_words() -> None:
    # BBC Arabic, BB-middleEast-90-20180225 (the Aden double suicide attack), as published
    sentence = 'وتبنى تنظيم "الدولة الإسلامية" الهجوم. وفي بيان نشره عبر وكالته الدعائية أعماق'
    asked = frozenset(tokenize("من تبنى الهجوم على مقر قوات مكافحة الإرهاب في عدن؟"))
    (group,) = persons_in(sentence, frozenset({"تبني"}), asked)
    assert group.normalized == "تنظيم الدوله الاسلاميه" and names_agree(group.words, ("داعش",))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("كابول", "kabul"),  # transliteration
        ("ادرعي", "افيخاي ادرعي"),  # a surname against a full name
        ("سالزبري", "سالزبيري"),  # one city, two spellings (Al Arabiya, BBC)
        ("جنوه الايطاليه", "جنوي"),  # CNN against France 24
        ("فردريكتون", "فردركشن"),  # France 24 against BBC: one consonant apart
        ("الرقه", "مدينه الرقه المحتله"),
        ("تنظيم داعش", "تنظيم الدوله الاسلاميه"),  # one group's two names
    ],
)
def test_names_that_agree(a: str, b: str) -> None:
    assert names_agree(tuple(a.split()), tuple(b.split())) and names_agree(tuple(b.split()), tuple(a.split()))


@pytest.mark.parametrize(
    ("a", "b"), [("حلب", "ادلب"), ("تريب", "كاركاسون"), ("حضرموت", "شبوه"), ("ابو محمد", "ابو بكر"), ("london", "paris")]
)
def test_names_that_differ(a: str, b: str) -> None:
    assert not names_agree(tuple(a.split()), tuple(b.split()))


def test_an_outlet_that_names_the_other_place_elsewhere_does_not_contradict_it() -> None:
    sky = _article("SK-internationalNews-540-20180323")  # the shooting in Carcassonne, the hostages in Trèbes
    assert mentioned(("كاركاسون",), sky.text) and mentioned(("تريب",), sky.text)
    assert not mentioned(("حضرموت",), sky.text)
