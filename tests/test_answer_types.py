"""Question kinds and the date / number tests the answer model reads as features."""

from __future__ import annotations

import pytest

from qa.text.kinds import (
    has_date,
    has_number,
    kind_match,
    question_kind,
    sentence_tokens,
)


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("ومتى سيتم إطلاقها؟", "when"),
        ("متى تأسست الأمم المتحدة؟", "when"),
        ("في أي عام فاز المنتخب باللقب؟", "when"),
        ("When will it be launched?", "when"),
        ("What year did the war end?", "when"),
        ("كم عدد سكان المغرب؟", "how_many"),
        ("ما عدد المبادرات؟", "how_many"),
        ("How many initiatives does Morocco oversee?", "how_many"),
        ("من فاز بكأس العالم لكرة القدم سنة 2022؟", "who"),
        ("ومن حضر هذا الاستقبال؟", "who"),
        ("Who attended the meeting?", "who"),
        ("أين التقى بوريطة وسايلس؟", "where"),
        ("في أي مدينة ستطلق المبادرة؟", "where"),
        ("Where did they meet?", "where"),
        ("ما هي المبادرات التي يشرف عليها المغرب؟", "other"),
        ("What is the gross domestic product of Morocco?", "other"),
    ],
)
def test_question_kind(question: str, kind: str) -> None:
    assert question_kind(question) == kind


@pytest.mark.parametrize(
    "sentence",
    [
        "التي من المقرر إطلاقها في 27 شتنبر بنيويورك",  # Moroccan month name
        "الأربعاء 18 جانفي 2017",  # Tunisian month name and a year
        "في تشرين الأول الماضي",  # Levantine
        "منذ ٢٦ أغسطس/آب",  # Eastern Arabic digits, Egyptian and Levantine names
        "The summit opened in March.",
        "تأسست عام 1945",
    ],
)
def test_dates_are_seen_in_every_arabic_month_tradition(sentence: str) -> None:
    assert has_date(sentence_tokens(sentence))


def test_a_sentence_without_a_date_or_number_has_neither() -> None:
    tokens = sentence_tokens("وأشاد بعلاقات الصداقة الممتازة القائمة بين المغرب والولايات المتحدة.")
    assert not has_date(tokens) and not has_number(tokens)
    assert kind_match("when", tokens) == 0.0 and kind_match("how_many", tokens) == 0.0


def test_numbers_in_digits_or_words() -> None:
    assert has_number(sentence_tokens("يشرف المغرب فيه على ثلاث مبادرات"))
    assert has_number(sentence_tokens("بلغ عدد سكانها 5,6 ملايين نسمة"))
    assert kind_match("how_many", sentence_tokens("ثلاث مبادرات")) == 1.0
    assert kind_match("who", sentence_tokens("ثلاث مبادرات")) == 0.0
