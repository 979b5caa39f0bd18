"""What kind of answer a question expects, and whether a sentence can hold that kind.

A "when" question is answered by a sentence with a date in it, a "how many" question by one with a
number. A bi-encoder cosine cannot see this: "ومتى سيتم إطلاقها؟" after a question about three
initiatives scores the sentence listing the initiatives above the one with "27 شتنبر". The answer
model (`qa.answer.model`) takes the match between the two as one of its features, so the weight of
the rule is learned, not set by hand.

Pure text rules over normalized tokens; cheap enough to run on every candidate sentence.
"""

from __future__ import annotations

import re
from typing import Literal

from qa.text.normalize import normalize, tokenize

Kind = Literal["when", "how_many", "who", "where", "other"]
KINDS: tuple[Kind, ...] = ("when", "how_many", "who", "where", "other")


def _norm_set(words: str) -> frozenset[str]:
    return frozenset(normalize(w) for w in words.split())


# Months as written in the three Arabic traditions (Levantine, Egyptian/Gulf, Maghrebi) and in English.
_MONTHS = _norm_set(
    "كانون شباط آذار نيسان أيار حزيران تموز آب أيلول تشرين "
    "يناير فبراير مارس أبريل إبريل مايو يونيو يونيه يوليو يوليه أغسطس سبتمبر أكتوبر نوفمبر ديسمبر "
    "جانفي فيفري أفريل ماي جوان جويلية أوت يوليوز غشت شتنبر نونبر دجنبر"
) | frozenset(
    "january february march april june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec".split()
)
_TIME_WORDS = _norm_set("عام سنة العام السنة قرن القرن الميلادي هجري ميلادي صباح مساء") | frozenset(
    "year century morning evening bc ad".split()
)
_NUMBER_WORDS = _norm_set(
    "واحد واحدة اثنان اثنين اثنتان اثنتين ثلاث ثلاثة أربع أربعة خمس خمسة ست ستة سبع سبعة ثمان ثمانية "
    "تسع تسعة عشر عشرة عشرون عشرين ثلاثون ثلاثين أربعون أربعين خمسون خمسين مئة مائة مئات ألف آلاف "
    "مليون ملايين مليار مليارات نصف ربع ثلث ضعف"
) | frozenset(
    "one two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty "
    "hundred hundreds thousand thousands million millions billion half quarter dozen".split()
)
_YEAR = re.compile(r"^(1[0-9]{3}|20[0-9]{2})$")
_DIGITS = re.compile(r"^\d")

# Question openers, normalized; "و"/"ف" glued in front ("ومتى") is stripped before the lookup.
_WHEN = _norm_set("متى") | {"when"}
_HOW_MANY = _norm_set("كم") 
_WHO = _norm_set("من")
_WHERE = _norm_set("أين") | {"where"}
# "في أي عام" / "ما عدد" / "what year": a generic opener followed by a word that names the kind.
_WHEN_NOUNS = _norm_set("عام سنة تاريخ يوم شهر وقت قرن العام السنة") | frozenset("year date day month time century".split())
_COUNT_NOUNS = _norm_set("عدد نسبة كمية مساحة طول عمر مدى") | frozenset("percentage percent".split())
_WHERE_NOUNS = _norm_set("مدينة بلد دولة مكان منطقة قارة المدينة البلد الدولة المكان") | frozenset(
    "city country place region continent town".split()
)
_GENERIC_OPENERS = _norm_set("ما ماذا أي اي في الى إلى ب") | frozenset("what which in at".split())


def _bare(token: str) -> str:
    """A question word without the conjunction glued to it: "ومتى" -> "متى", "فأين" -> "أين"."""
    if len(token) > 2 and token[0] in "وف":
        return token[1:]
    return token


def question_kind(question: str) -> Kind:
    """The kind of answer `question` asks for, from its first words.

    Example:
        >>> question_kind("ومتى سيتم إطلاقها؟"), question_kind("How many initiatives?")
        ('when', 'how_many')
    """
    tokens = [_bare(t) for t in tokenize(question)][:6]
    lowered = question.casefold()
    if "how many" in lowered or "how much" in lowered:
        return "how_many"
    for i, token in enumerate(tokens[:3]):
        if token in _WHEN:
            return "when"
        if token in _HOW_MANY:
            return "how_many"
        if token in _WHERE:
            return "where"
        if token in _WHO or token in {"who", "whom", "whose"}:
            return "who"
        if token in _GENERIC_OPENERS:
            following = tokens[i + 1 : i + 3]
            if any(t in _WHEN_NOUNS for t in following):
                return "when"
            if any(t in _COUNT_NOUNS for t in following):
                return "how_many"
            if any(t in _WHERE_NOUNS for t in following):
                return "where"
    return "other"


def has_date(tokens: list[str]) -> bool:
    """A year, a month name, or a time word next to a number."""
    for i, token in enumerate(tokens):
        if _YEAR.match(token) or token in _MONTHS or _bare(token) in _MONTHS:
            return True
        if token in _TIME_WORDS and any(_DIGITS.match(t) for t in tokens[max(0, i - 1) : i + 2]):
            return True
    return False


def has_number(tokens: list[str]) -> bool:
    """Digits or a number word ("ثلاث", "million")."""
    return any(_DIGITS.match(t) or t in _NUMBER_WORDS or _bare(t) in _NUMBER_WORDS for t in tokens)


def kind_match(kind: Kind, sentence_tokens: list[str]) -> float:
    """1.0 when the sentence can hold the kind of answer asked for (a date for "when", a number for
    "how many"), else 0.0; "who", "where" and "other" have no cheap test and always score 0."""
    if kind == "when":
        return float(has_date(sentence_tokens))
    if kind == "how_many":
        return float(has_number(sentence_tokens))
    return 0.0


def sentence_tokens(text: str) -> list[str]:
    """The normalized tokens the kind tests read (no stemming: "2018" and "شتنبر" stay whole)."""
    return tokenize(text)
