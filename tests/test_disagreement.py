"""Outlets that disagree, end to end with the real model: `Answer.disagreement`, `qa ask --json`, the
text line and the chat's HTML.

The index holds the articles of eight cases of `tests/data/disagreement_cases.json` (real outlets,
2018; how each was chosen is in docs/disagreement.md) and the 48 real Jawhara FM articles of
`tests/data/news_distractors.jsonl`. The full set of cases, with a few hundred other articles beside
them, is measured by `bench/disagreement.py`.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tests.disagreement_corpus import CASES, case_articles

USED = ("arbin-school", "idlib-not-arbin", "lombok-earthquake", "aseman-aboard", "kabul-nowruz", "salisbury-where",
        "trebes-where", "ashmawi-where")
REPORT_KEYS = {"value", "normalized", "doc_id", "source", "date", "text", "start", "end"}


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory, real_embedder):
    from qa.index import Index

    return Index.build(case_articles(*USED), tmp_path_factory.mktemp("disagree") / "index", embedder=real_embedder, progress=False)


@pytest.fixture(scope="module")
def assistant(index):
    from qa.answer.assistant import Assistant
    from qa.retrieve import Retriever

    return Assistant(Retriever(index))


@pytest.fixture(scope="module")
def arbin(assistant):
    return assistant.ask(CASES["arbin-school"]["question"])


def test_outlets_that_differ_are_each_named_with_their_value(arbin) -> None:
    note = arbin.disagreement
    assert note is not None and note.kind == "differ"
    values = {(r.source, r.normalized) for r in note.reports}
    assert ("skynews", "15") in values and ("france24", "16") in values
    for r in note.reports:
        assert r.value in r.text  # each value is shown inside its verbatim sentence


def test_reports_are_verbatim_spans_of_their_articles(arbin, index) -> None:
    for r in arbin.disagreement.reports:
        article = index.article(r.doc_id)
        assert article.text[r.start : r.end] == r.text and article.source == r.source and article.date == r.date


def test_the_main_answer_is_the_answer_models_and_every_value_is_cited(arbin, assistant) -> None:
    weighed = assistant.deliberate(CASES["arbin-school"]["question"])
    best = max(range(len(weighed.candidates)), key=lambda i: weighed.probabilities[i])
    assert arbin.quotes[0].doc_id == weighed.candidates[best].doc_id
    cited = {c.doc_id: c.number for c in arbin.citations}
    line = next(line for line in arbin.text.splitlines() if line.startswith("تختلف المصادر:"))
    for r in arbin.disagreement.reports:
        assert f"[{cited[r.doc_id]}]" in line and r.value in line


def test_json_always_has_the_key_with_the_issue_schema(arbin, assistant) -> None:
    data = arbin.to_dict()
    assert set(data["disagreement"]) == {"kind", "reports"}
    assert all(set(r) == REPORT_KEYS for r in data["disagreement"]["reports"])
    unrelated = assistant.ask("ما هي أسعار النفط؟").to_dict()
    assert "disagreement" in unrelated and unrelated["disagreement"] is None


def test_a_toll_that_rose_is_an_update_not_a_disagreement(assistant) -> None:
    answer = assistant.ask(CASES["lombok-earthquake"]["question"])
    assert answer.disagreement is not None and answer.disagreement.kind == "update"
    assert any(line.startswith("ارتفعت الحصيلة من") and " إلى " in line for line in answer.text.splitlines())


@pytest.mark.parametrize(
    "case",
    ["aseman-aboard", "kabul-nowruz", "idlib-not-arbin", "salisbury-where", "trebes-where", "ashmawi-where",
     "ashmawi-who", "aseman-where", "arbin-where"],
)  # fmt: skip
def test_look_alikes_are_not_flagged(assistant, case: str) -> None:
    note = assistant.ask(CASES[case]["question"]).disagreement
    assert note is None or note.kind != "differ", note


def test_qa_ask_json_carries_the_note(index) -> None:
    from qa.faces.cli import main

    result = CliRunner().invoke(
        main, ["ask", CASES["arbin-school"]["question"], "--index-dir", str(index.index_dir), "--json"], catch_exceptions=False
    )
    record = json.loads(result.stdout)
    assert result.exit_code == 0 and record["disagreement"]["kind"] == "differ"
    text = CliRunner().invoke(main, ["ask", CASES["arbin-school"]["question"], "--index-dir", str(index.index_dir)])
    assert "تختلف المصادر:" in text.output


def test_chat_html_links_each_value_to_its_highlighted_sentence(arbin, index) -> None:
    from qa.faces.render_html import answer_html

    html = answer_html(arbin, index.article)
    assert html.count('class="qa-report"') == len(arbin.disagreement.reports)
    for r in arbin.disagreement.reports:
        assert f'<span class="qa-report-value" dir="auto">{r.value}' in html
    assert html.count('<mark class="qa-mark">') >= 2 * len(arbin.disagreement.reports) - 1  # note and sources


def test_english_wording() -> None:
    from qa.answer.text import disagreement_line
    from qa.records import Citation, Disagreement, Report

    reports = (
        Report("37", "37", "a", "BBC", "2018-03-25", "…37…", 0, 5),
        Report("53 شخصاً على الأقل", "53+", "b", "alarabia", "2018-03-26T09:10:00", "…53…", 0, 5),
    )
    citations = (Citation(1, "a", "t"), Citation(2, "b", "t"))
    line = disagreement_line(Disagreement("update", reports), citations, "en")
    assert line == "The figure rose from 37 [1] (BBC, 2018-03-25) to 53 شخصاً على الأقل (53+) [2] (alarabia, 2018-03-26 09:10)"
    assert disagreement_line(Disagreement("differ", reports), citations, "en").startswith("Sources differ: 37 [1] (BBC, 2018-03-25), ")


def test_a_day_the_question_names_pins_the_event() -> None:
    from qa.answer.disagreement import _asked_days

    # asked about the protest of 30 March, the August protest's toll (the top answer there) is another event
    asked = CASES["gaza-march-30"]["question"]
    assert _asked_days(asked, "2018-08-11") == {"2018-03-30"} and _asked_days(asked, "2018-03-31") == {"2018-03-30"}
    # a weekday alone depends on when it is read: it pins nothing
    assert _asked_days(CASES["mogadishu-two-blasts"]["question"], "2018-03-25") == frozenset()


def test_how_many_people_asks_for_everyone_not_one_groups_part() -> None:
    from qa.answer.disagreement import _counts_people
    from qa.question import Question

    assert _counts_people(Question.of(CASES["ouagadougou-attack"]["question"]))  # not the attackers' "أربعة مسلحين"
    assert not _counts_people(Question.of(CASES["arbin-school"]["question"]))  # "كم طفلا"


def test_a_toll_dated_weeks_before_the_article_is_an_earlier_events() -> None:
    from qa.answer.disagreement import _read
    from qa.records import Article

    # AL-internationalNews-338-20180303 (the Ouagadougou attack) recalls the group's attack of 21 February
    text = "وكانت هذه المجموعة تبنت هجوما أسفر عن مقتل جنديين فرنسيين وإصابة ثالث في {} في شمال شرق مالي."
    for day, read in (("21 شباط/فبراير", False), ("2 آذار/مارس", True)):
        article = Article(id="a", text=text.format(day), title="", url=None, date="2018-03-03", source="alarabia", category=None)
        assert (_read(article, 0, len(article.text), "count", "killed") is not None) is read, day
