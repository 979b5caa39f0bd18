"""Follow-up detection and context building (pure text rules), and follow-ups answered by the real model."""

from __future__ import annotations

import pytest

from qa.answer.followup import (
    MAX_CONTEXT_WORDS,
    Turn,
    ask_in_context,
    expand,
    is_follow_up,
    lacks_subject,
    salient_words,
)
from qa.question import Question
from qa.records import Answer, Citation, Quote

INITIATIVES = "ما هي المبادرات الثلاث التي يشرف عليها المغرب في المنتدى العالمي لمكافحة الإرهاب؟"
BOURITA_QUOTE = (
    "الرباط ـ بحث وزير الخارجية المغربي ناصر بوريطة والمنسق الأميركي لمكافحة الإرهاب والتطرف العنيف، "
    "نايثن سايلس، الخميس، تعزيز \"الالتزام المشترك\" بين البلدين لمكافحة الإرهاب."
)


def _answer(question: str, quote: str, doc_id: str = "000.txt", *, abstained: bool = False, context: str = "") -> Answer:
    if abstained:
        return Answer(question=question, text="", abstained=True, context=context)
    q = Quote(text=quote, doc_id=doc_id, title="t", start=0, end=len(quote), score=1.0, citation=1)
    return Answer(question=question, text=quote, quotes=(q,), citations=(Citation(1, doc_id, "t"),), context=context)


@pytest.mark.parametrize(
    "question",
    [
        "ومتى سيتم إطلاقها؟",  # conjunction + question word, clitic pronoun
        "وأين؟",
        "ومع من التقى؟",  # conjunction glued to a preposition
        "ما دوره؟",  # short, leans on an attached pronoun
        "والمغرب؟",  # a bare phrase: no question word
        "متى؟",
        "and who did he meet?",
        "What about Tunisia?",
        "Who is he?",
        "why?",
    ],
)
def test_follow_ups_are_recognised(question: str) -> None:
    assert is_follow_up(question)


@pytest.mark.parametrize(
    "question",
    [
        "ما هي عاصمة اليابان؟",  # short but complete: "هي" is a copula after "ما"
        "ما هو قرار مجلس الأمن رقم 2396؟",
        "مع من التقى بوريطة؟",
        "من هو وزير الخارجية المغربي؟",
        INITIATIVES,
        "What is the capital of Japan?",
        "How do Morocco and the United States cooperate against terrorism?",
        "Who is Bourita?",
    ],
)
def test_standalone_questions_are_left_alone(question: str) -> None:
    assert not is_follow_up(question)
    assert expand(question, INITIATIVES, None) == ""


def test_first_turn_has_no_context() -> None:
    assert expand("ومتى سيتم إطلاقها؟", None, None) == ""
    assert expand("ومتى سيتم إطلاقها؟", "", None) == ""


def test_context_is_the_previous_question_without_its_question_mark() -> None:
    assert expand("ومتى سيتم إطلاقها؟", "ما هي المبادرات التي يشرف عليها المغرب؟", None) == (
        "ما هي المبادرات التي يشرف عليها المغرب"
    )


def test_context_adds_names_from_the_previous_answers_first_quote() -> None:
    previous = _answer("مع من التقى بوريطة؟", BOURITA_QUOTE)
    context = expand("وماذا قال؟", "مع من التقى بوريطة؟", previous)
    assert context.startswith("مع من التقى بوريطة")
    assert "سايلس" in context and "نايثن" in context
    assert context.count("بوريطة") == 1  # already in the question: not repeated
    assert len(context.split()) <= MAX_CONTEXT_WORDS


def test_the_dict_form_of_an_answer_works_too() -> None:
    previous = _answer("مع من التقى بوريطة؟", BOURITA_QUOTE)
    assert expand("وماذا قال؟", "مع من التقى بوريطة؟", previous.to_dict()) == expand(
        "وماذا قال؟", "مع من التقى بوريطة؟", previous
    )


def test_a_long_previous_question_keeps_its_content_words_within_the_limit() -> None:
    previous = _answer(INITIATIVES, BOURITA_QUOTE)
    context = expand("ومتى سيتم إطلاقها؟", INITIATIVES, previous)
    words = context.split()
    assert len(words) <= MAX_CONTEXT_WORDS
    assert "المبادرات" in words and "المنتدى" in words
    assert "التي" not in words and "في" not in words  # function words go first


def test_an_abstained_previous_answer_contributes_only_its_question() -> None:
    previous = _answer("Who met Bourita?", "", abstained=True)
    assert expand("and where?", "Who met Bourita?", previous) == "Who met Bourita"


def test_a_follow_up_of_a_follow_up_uses_the_earlier_context() -> None:
    previous = _answer("ومتى سيتم إطلاقها؟", "في 27 شتنبر بنيويورك", context=f"{INITIATIVES} ومتى سيتم إطلاقها؟")
    context = expand("وأين؟", "ومتى سيتم إطلاقها؟", previous)
    assert "المبادرات" in context


def test_salient_words_prefer_names_and_numbers() -> None:
    names = salient_words(BOURITA_QUOTE, exclude="بوريطة")
    assert len(names) == 4 and {"ناصر", "نايثن", "سايلس"} <= set(names)
    assert not {"بوريطة", "الخميس", "الرباط", "وزير"} & set(names)  # excluded, generic or definite
    assert salient_words("Resolution 2396 was adopted by the Security Council in New York.") == [
        "2396",
        "Security",
        "Council",
        "New",
    ]
    assert salient_words("") == []


class FakeAssistant:
    """Answers from a table keyed by (question, context); records what each call was given. Follow-ups
    hand the assistant the question parsed once, with its context in it."""

    def __init__(self, answers: dict[tuple[str, str], Answer]) -> None:
        self.answers = answers
        self.calls: list[dict] = []

    def ask(self, question: Question, k: int | None = None, *, context: str = "", filters=None) -> Answer:
        assert isinstance(question, Question) and not context
        self.calls.append({"question": question.text, "context": question.context, "filters": filters})
        return self.answers[(question.text, question.context)]


def test_ask_in_context_asks_standalone_questions_once_without_context() -> None:
    answer = _answer(INITIATIVES, "...")
    assistant = FakeAssistant({(INITIATIVES, ""): answer})
    turn = ask_in_context(assistant, INITIATIVES, "مع من التقى بوريطة؟", None)
    assert turn == Turn(answer, "", False, INITIATIVES)
    assert assistant.calls == [{"question": INITIATIVES, "context": "", "filters": None}]


def test_a_follow_up_is_asked_once_with_the_context_and_the_filters() -> None:
    previous = _answer(INITIATIVES, "ثلاث مبادرات", doc_id="000.txt")
    context = expand("ومتى سيتم إطلاقها؟", INITIATIVES, previous)
    with_context = _answer("ومتى سيتم إطلاقها؟", "27 شتنبر", doc_id="000.txt", context=context)
    assistant = FakeAssistant({("ومتى سيتم إطلاقها؟", context): with_context})
    turn = ask_in_context(assistant, "ومتى سيتم إطلاقها؟", INITIATIVES, previous.to_dict(), filters="f")
    assert turn.answer is with_context and turn.context == context and turn.follow_up
    assert "المبادرات" in turn.thread and turn.thread.endswith("ومتى سيتم إطلاقها؟")
    assert assistant.calls == [
        {"question": "ومتى سيتم إطلاقها؟", "context": context, "filters": "f"}
    ]


CONVERSATIONS = [
    # (first question, follow-up, what the follow-up's first quote must say, what it must not be)
    ("ما هي المبادرات التي يشرف عليها المغرب؟", "ومتى سيتم إطلاقها؟", "27 شتنبر", "ثلاث مبادرات"),
    ("ما هي المبادرات التي يشرف عليها المغرب؟", "وأين سيتم إطلاقها؟", "بنيويورك", "ثلاث مبادرات"),
    ("ما دور المغرب في المنتدى العالمي لمكافحة الإرهاب؟", "وكم مبادرة يشرف عليها؟", "ثلاث مبادرات", None),
    ("من استقبل عبد اللطيف حموشي؟", "ومن حضر هذا الاستقبال؟", "دافيد فيشر", None),
    ("ماذا بحث بوريطة مع المنسق الأميركي لمكافحة الإرهاب؟", "وأين التقيا؟", "الرباط", None),
    ("Which UN Security Council resolution does the watchlist initiative support?", "When will it be launched?", "27 شتنبر", None),
    ("Which UN Security Council resolution does the watchlist initiative support?", "And where will it be launched?", "بنيويورك", None),
]


@pytest.mark.quality
@pytest.mark.parametrize(("first", "follow_up", "expected", "not_again"), CONVERSATIONS)
def test_a_follow_up_is_answered_about_its_own_question(seeds_index, first: str, follow_up: str, expected: str, not_again: str | None) -> None:
    """The previous turn resolves "it" and "he" for retrieval; the quote answers what the follow-up asks."""
    from qa.answer.assistant import Assistant
    from qa.retrieve import Retriever

    assistant = Assistant(Retriever(seeds_index))
    previous = ask_in_context(assistant, first)
    assert not previous.answer.abstained
    turn = ask_in_context(assistant, follow_up, first, previous.answer.to_dict())
    assert turn.follow_up and not turn.answer.abstained
    quote = turn.answer.quotes[0].text
    assert expected in quote, f"{follow_up!r} was answered with {quote!r}"
    if not_again:
        assert not_again not in quote, f"{follow_up!r} repeated the previous answer: {quote!r}"


@pytest.mark.parametrize(
    "question",
    ["أين ولد؟", "متى رسمها؟", "ما هي عاصمتها؟", "كم عددهم؟", "من هو؟", "ومتى سيتم إطلاقها؟", "Where was he born?", "What is its population?"],
)
def test_a_question_that_never_names_its_subject_lacks_one(question: str) -> None:
    assert lacks_subject(question) and is_follow_up(question)


@pytest.mark.parametrize(
    "question",
    [
        "أين ولد نجيب محفوظ؟",
        "ما هي عاصمة اليابان؟",
        "أين تونس؟",
        "من هو بوريطة؟",
        "ما هو الإرهاب؟",
        "ما هي المبادرات التي يشرف عليها المغرب؟",
        "Who is Nathan Sales?",
        "What did the minister say about it?",
    ],
)
def test_a_question_that_names_its_subject_stands_alone(question: str) -> None:
    assert not lacks_subject(question)
