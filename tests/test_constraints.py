"""A question's constraints, the hard-absent and near-miss sets made from development questions, and
how a "medium" answer is framed (issue 32)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from qa.answer.confidence import confidence_word
from qa.answer.text import LABELS, answer_text
from qa.faces.render_html import answer_html
from qa.question import Question
from qa.records import Answer, Article, Citation, Quote
from qa.text.constraints import Window, constraints_of, is_met, unmet, unmet_shares
from qa.text.normalize import content_terms
from qa.text.kinds import sentence_tokens
from qa.train.datasets import contains_answer, load_squad
from qa.train.hard import HARD_PREFIX, Pools, hard_view, near_miss, without_answer

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _window(text: str, title: str = "", date: str = "") -> Window:
    return Window(frozenset(content_terms(text + " " + title)), frozenset(sentence_tokens(text + " " + title)), date[:4])


def _constraints(text: str, idf: dict[str, float] | None = None, unknown: float = 10.0):
    q = Question.parse(text)
    return constraints_of(q.terms, q.numbers, q.names, idf or {t: 5.0 for t in q.terms}, unknown)


# ------------------------------------------------------------------ constraints of real questions


def test_a_year_and_the_rarest_words_are_the_constraints_of_an_arabic_question() -> None:
    idf = {"فاز": 3.0, "كاس": 6.5, "عالم": 4.0, "كره": 5.0, "قدم": 5.2, "سنه": 2.0, "2022": 7.0}
    found = _constraints("من فاز بكأس العالم لكرة القدم سنة 2022؟", idf)
    assert [(c.kind, c.term) for c in found] == [("year", "2022"), ("rare", "كاس"), ("rare", "قدم")]
    assert [c.distinctive for c in found] == [True, True, False]  # 6.5 >= 0.6 x 10; 5.2 is not


def test_an_english_questions_names_are_constraints_and_a_particle_is_not() -> None:
    found = _constraints("What was the death toll of the Al Haouz earthquake in 2023?")
    kinds = {(c.kind, c.term) for c in found}
    assert ("year", "2023") in kinds and ("name", "haouz") in kinds
    assert ("name", "al") not in kinds


def test_a_word_the_collection_never_uses_is_not_a_rare_constraint() -> None:
    """Unmet by every sentence alike, it cannot tell them apart (the model reads it apart)."""
    found = _constraints("كم عدد ضحايا زلزال الحوز؟", {"عدد": 1.0, "ضحايا": 4.0, "زلزال": 6.0, "حوز": 10.0})
    assert [c.term for c in found if c.kind == "rare"] == ["زلزال", "ضحايا"]


def test_numbers_of_real_xquad_questions_are_read_as_years_or_numbers() -> None:
    _, questions = load_squad(DATA / "xquad" / "xquad.en.json", 48)
    kinds = {}
    for q in questions:
        for c in _constraints(q.text):
            kinds.setdefault(c.kind, set()).add(c.term)
    assert {"2015", "2016"} & kinds["year"]
    assert "50" in kinds["number"]  # Super Bowl 50 is a number, not a year
    assert "broncos" in kinds["name"] and "denver" in kinds["name"]


# ------------------------------------------------------------------ meeting them


def test_a_year_is_met_in_the_window_or_by_the_articles_date() -> None:
    (year,) = [c for c in _constraints("من فاز بالبطولة سنة 2018؟") if c.kind == "year"]
    assert not is_met(year, _window("فاز الفريق بالبطولة بعد مباراة صعبة."))
    assert is_met(year, _window("فاز الفريق بالبطولة عام 2018 بعد مباراة صعبة."))
    assert is_met(year, _window("فاز الفريق بالبطولة.", date="2018-07-15T10:00:00+01:00"))


def test_a_latin_name_is_met_when_spelled_in_arabic_letters() -> None:
    (name,) = [c for c in _constraints("Who is Nathan Sales?") if c.term == "sales"]
    assert is_met(name, _window("قال المنسق نايثن سايلس إن المبادرة ستطلق قريبا."))
    assert not is_met(name, _window("قال المنسق إن المبادرة ستطلق قريبا."))


def test_the_news_case_a_sentence_on_the_subject_without_the_event_misses_a_distinctive_constraint() -> None:
    """Road deaths in the same country do not answer a question on a named earthquake's victims."""
    idf = {"عدد": 1.0, "ضحايا": 4.0, "زلزال": 6.2, "حوز": 7.5, "مغرب": 2.0}
    constraints = _constraints("كم عدد ضحايا زلزال الحوز في المغرب؟", idf)
    road = _window("ارتفع عدد ضحايا حوادث السير في المغرب إلى 3500 قتيل خلال السنة الماضية.")
    quake = _window("بلغ عدد ضحايا زلزال الحوز 2946 قتيلا حسب آخر حصيلة.")
    assert unmet_shares(constraints, unmet(constraints, road))["any"] == 1.0
    assert unmet_shares(constraints, unmet(constraints, quake))["any"] == 0.0


def test_an_unmet_constraint_caps_the_word_below_high() -> None:
    assert confidence_word(0.95, 0.24, high=0.8) == "high"
    assert confidence_word(0.95, 0.24, high=0.8, capped=True) == "medium"
    assert confidence_word(0.1, 0.24, high=0.8, capped=True) == "low"


# ------------------------------------------------------------------ hard absence and near misses


def test_the_hard_absent_view_removes_every_answer_sentence_of_a_real_paragraph_and_keeps_the_rest() -> None:
    articles, questions = load_squad(DATA / "xquad" / "xquad.ar.json", 5, prefix="xquad:")
    q = questions[0]
    paragraphs = [a for a in articles if a.id.split("#")[0] == q.article]
    view = hard_view(paragraphs, q.answers)
    assert view is not None and q.doc_id in view.hide
    own = next(a for a in paragraphs if a.id == q.doc_id)
    copy = next(a for a in view.show if all(word in own.text for word in a.text.split()))
    assert copy.id.startswith(HARD_PREFIX) and copy.title == own.title
    assert contains_answer(own.text, q.answers) and not contains_answer(copy.text, q.answers)
    assert 0 < len(copy.text) < len(own.text)
    sentences = [s.strip() for s in own.text.replace("؟", ".").split(".") if s.strip()]
    assert any(s not in copy.text for s in sentences)  # a sentence left out, nothing written
    assert all(not contains_answer(a.text, q.answers) for a in view.show)
    assert all(contains_answer(a.text, q.answers) for a in paragraphs if a.id in view.hide)
    assert all(not contains_answer(a.text, q.answers) for a in paragraphs if a.id not in view.hide)


def test_answers_are_matched_after_normalization_and_a_paragraph_without_one_is_left_alone() -> None:
    text = "تأسست المدينة في القرن الأول. وبلغ عدد سكانها مليونَي نسمة عام 2010. وهي عاصمة الإقليم."
    assert without_answer(text, ("مليوني نسمة",)) == "تأسست المدينة في القرن الأول. وهي عاصمة الإقليم."
    assert without_answer(text, ("برشلونة",)) == text
    article = Article(id="x#0", text=text, title="المدينة")
    assert hard_view([article], ("برشلونة",)) == hard_view([], ("برشلونة",))  # nothing to hide, nothing shown


def test_a_near_miss_swaps_a_year_for_one_its_article_never_uses() -> None:
    article = "Denver won Super Bowl 50 in 2016 against Carolina, their third title after 1998 and 1999."
    pools = Pools.of(["Who won in 1998?", "What happened in 2016?", "When was it, 2007?"])
    changed, kind = near_miss("Who won the Super Bowl in 2016?", article, pools, random.Random(0))
    assert kind == "year" and changed == "Who won the Super Bowl in 2007?"
    assert near_miss("Who won the title?", article, pools, random.Random(0)) is None


# ------------------------------------------------------------------ a medium answer is tentative


def _medium(language: str, question: str) -> Answer:
    text = "قال المتحدث إن الاجتماع سيعقد في مراكش يوم الاثنين."
    article = Article(id="a.txt", text=text, title="اجتماع", date="2018-09-01", source="Hespress")
    quote = Quote(text=text, doc_id=article.id, title=article.title, start=0, end=len(text), score=0.5, citation=1)
    citation = Citation(1, article.id, article.title, None, article.date, article.source)
    body = answer_text((quote,), (citation,), abstained=False, related=(), language=language, confidence="medium")
    return Answer(question=question, text=body, quotes=(quote,), citations=(citation,), language=language, confidence="medium"), article


@pytest.mark.parametrize(
    ("language", "question", "preface"),
    [
        ("ar", "أين سيعقد الاجتماع؟", "قد لا تجيب المقالات عن هذا مباشرة؛ أقرب ما وجدته:"),
        ("en", "Where will the meeting be held?", "The articles may not answer this directly; the closest:"),
    ],
)
def test_a_medium_answer_is_prefaced_as_tentative_in_text_and_html(language: str, question: str, preface: str) -> None:
    answer, article = _medium(language, question)
    assert LABELS[language]["tentative"] == preface
    assert answer.text.splitlines()[0] == preface
    assert answer.text.index(preface) < answer.text.index("«")
    markup = answer_html(answer, {article.id: article})
    assert f'<p class="qa-tentative" dir="auto">{preface}</p>' in markup
    assert markup.index("qa-tentative") < markup.index("qa-quote")


def test_a_high_answer_has_no_preface() -> None:
    answer, article = _medium("ar", "أين سيعقد الاجتماع؟")
    text = answer_text(answer.quotes, answer.citations, abstained=False, related=(), language="ar", confidence="high")
    assert LABELS["ar"]["tentative"] not in text
    high = Answer(question=answer.question, text=text, quotes=answer.quotes, citations=answer.citations, confidence="high")
    assert "qa-tentative" not in answer_html(high, {article.id: article})
    assert json.dumps(high.to_dict(), ensure_ascii=False)
