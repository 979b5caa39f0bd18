"""Follow-up questions: read a short, dependent question in the light of the previous turn.

"ومتى سيتم إطلاقها؟" or "and who did he meet?" cannot be answered alone: "it" and "he" point
back at the previous question and its answer. `expand` returns the context that the retrieval
query needs (the previous question plus a few names from the previous answer's first quote), or
"" when the question stands on its own. The context only widens retrieval; the answer is still
quoted verbatim from the articles, and the app shows which context was used.

Pure text rules, no model: a question is a follow-up when it is elliptical (no content word left
once function words are removed, or a bare phrase with no question word), opens like a
continuation ("و" + question word, "and", "what about"), or is short and leans on a pronoun
("هو", "ذلك", "إطلاقها", "he", "it").
Shortness alone is not enough: "ما هي عاصمة اليابان؟" is short but complete, and expanding it
with the previous topic would pull an unrelated passage over the abstention threshold.

    >>> expand("ومتى سيتم إطلاقها؟", "ما هي المبادرات التي يشرف عليها المغرب؟", None)
    'ما هي المبادرات التي يشرف عليها المغرب'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from qa.question import Question
from qa.records import Answer
from qa.text.normalize import STOPWORDS, normalize, tokenize

__all__ = [
    "MAX_CONTEXT_WORDS",
    "MAX_NAMES",
    "SHORT_QUESTION",
    "Turn",
    "ask_in_context",
    "content_words",
    "expand",
    "is_follow_up",
    "lacks_subject",
    "salient_words",
]

SHORT_QUESTION = 4
"""A question with at most this many content words may lean on the previous turn."""
ELLIPTICAL = 2
"""A phrase of at most this many content words and no question word is elliptical ("والمغرب؟")."""
MAX_CONTEXT_WORDS = 12
"""The context stays a hint, not a second question: longer ones drown the follow-up itself."""
MAX_NAMES = 4
"""Words taken from the previous answer's first quote."""


def _norm_set(words: str) -> frozenset[str]:
    return frozenset(normalize(w) for w in words.split())


# Question words that, glued to a conjunction, open a continuation: "ومتى", "وأين", "فكيف".
_QUESTION_WORDS = _norm_set("متى أين كيف لماذا ماذا لم من ما هل كم أي")
_INTERROGATIVES = _QUESTION_WORDS | _norm_set("ماذا لماذا أين") | frozenset(
    "what who whom whose when where which why how is are was were do does did can could will would".split()
)
_ARABIC_PRONOUNS = _norm_set("هو هي هم هن هما ذلك تلك هذا هذه هؤلاء أولئك هناك نفسه نفسها")
_ENGLISH_PRONOUNS = frozenset("he she they it him her them his hers its their theirs this that these those there".split())
_ENGLISH_OPENERS = (("and",), ("but",), ("also",), ("then",), ("so",), ("what", "about"), ("how", "about"), ("what", "else"))
_ARABIC_OPENERS = tuple(tuple(normalize(w) for w in opener.split()) for opener in ("ماذا عن", "وماذا عن", "وما عن", "أيضا"))
# "ما هو" / "من هي" ask "what is" / "who is": the pronoun is a copula there, not a reference back.
_COPULA_LEAD = _norm_set("ما من ماذا وما ومن")
# Attached object/possessive pronouns on an Arabic word: إطلاقها، التقاه، دورهم.
_CLITIC = re.compile("(?:ها|هم|هما|هن|ه)$")
# Helper verbs and fillers that carry no topic of their own in a question.
_FILLERS = _norm_set("تم يتم سيتم ستتم كان كانت يكون سيكون حصل يحدث ذلك") | frozenset(
    "did does do done happen happened will would can could should tell me about more else".split()
)
# Words a news sentence is full of that name nothing (reporting verbs, titles, time words).
_GENERIC = _norm_set(
    "قال وقال قالت أكد وأكد أضاف وأضاف أشار وأشار أوضح وأوضح بحث يتعلق تتعلق خلال بحسب حسب "
    "يوم أمس اليوم الخميس الجمعة السبت الأحد الاثنين الثلاثاء الأربعاء بشأن إطار بشكل "
    "وزير رئيس مدير المدير الوزير الرئيس العام عام"
) | frozenset("said says told according also which while during after before the".split())
_DEFINITE = re.compile("^(?:وال|بال|كال|فال|لل|ال)")
# Verbs that questions about a person or a work use with the subject left unsaid: "أين ولد؟", "متى توفي؟".
_SUBJECTLESS_VERBS = _norm_set(
    "ولد ولدت توفي توفيت مات ماتت عاش عاشت نشأ نشأت درس درست تخرج تخرجت تزوج تزوجت عمل عملت "
    "رسم رسمت كتب كتبت ألف ألفت أسس أسست بنى بنت فاز فازت قال قالت صرح صرحت أعلن أعلنت "
    "بدأ بدأت انتهى انتهت وقع وقعت حدث حدثت انتخب انتخبت عين عينت اكتشف اكتشفت اخترع اخترعت "
    "يعيش تعيش يعمل تعمل يقع تقع"
)
_WORD = re.compile(r"[^\W_]+(?:[.,]\d+)*", re.UNICODE)


def _is_function_word(token: str) -> bool:
    """A stopword, or a stopword behind the conjunction و/ف ("ومتي", "فهل")."""
    if token in STOPWORDS or token in _FILLERS:
        return True
    return len(token) > 1 and token[0] in "وف" and (token[1:] in STOPWORDS or token[1:] in _FILLERS)


def content_words(text: str) -> list[str]:
    """The normalised tokens of `text` that carry its topic (no function words, no fillers)."""
    return [t for t in tokenize(text) if not _is_function_word(t)]


def _opens_like_continuation(tokens: list[str]) -> bool:
    """"ومتى ...", "وأين ...", "and ...", "what about ...", "وماذا عن ...": the user continues."""
    if not tokens:
        return False
    first = tokens[0]
    if len(first) > 1 and first[0] in "وف" and first[1:] in _QUESTION_WORDS:
        return True
    return any(tuple(tokens[: len(opener)]) == opener for opener in _ENGLISH_OPENERS + _ARABIC_OPENERS)


def _glued_function_word(tokens: list[str]) -> bool:
    """A question opening with و/ف glued to a function word ("ومع من ...", "وفي أي ...")."""
    first = tokens[0] if tokens else ""
    return len(first) > 1 and first[0] in "وف" and (first[1:] in STOPWORDS or first[1:] in _FILLERS)


def _asks_nothing(tokens: list[str], content: list[str]) -> bool:
    """A bare phrase with no question word ("والمغرب؟", "Tunisia?"): it borrows the last question."""
    asking = any(t in _INTERROGATIVES or (len(t) > 1 and t[0] in "وف" and t[1:] in _INTERROGATIVES) for t in tokens)
    return not asking and len(content) <= ELLIPTICAL


def _leans_on_pronoun(question: str, tokens: list[str]) -> bool:
    for i, token in enumerate(tokens):
        if token in _ENGLISH_PRONOUNS:
            return True
        if token in _ARABIC_PRONOUNS and not (i > 0 and tokens[i - 1] in _COPULA_LEAD):
            return True
    # Clitics are read on the raw words: normalisation folds ة into ه, and "مبادرة" is no pronoun.
    for word in _WORD.findall(question):
        if len(word) >= 4 and word[0] >= "\u0600" and _CLITIC.search(word) and normalize(word) not in STOPWORDS:
            return True
    return False


def is_follow_up(question: str | Question) -> bool:
    """Whether `question` depends on the previous turn to be understood.

    Args:
        question: The new question, as typed or parsed.

    Returns:
        True when it has no content word of its own, is a bare phrase without a question word
        ("والمغرب؟"), opens like a continuation ("ومتى", "and", "what about"), or is short (at most
        `SHORT_QUESTION` content words) and uses a pronoun or opens with "و" + a function word.

    Example:
        >>> is_follow_up("and who did he meet?"), is_follow_up("ما هي عاصمة اليابان؟")
        (True, False)
    """
    if isinstance(question, str):
        if not question.strip():
            return False
        question = Question.parse(question)
    tokens = list(question.tokens)
    content = [t for t in tokens if not _is_function_word(t)]
    if not content:
        return True
    if _opens_like_continuation(tokens):
        return True
    short = len(content) <= SHORT_QUESTION
    return (
        _asks_nothing(tokens, content)
        or (short and (_leans_on_pronoun(question.text, tokens) or _glued_function_word(tokens)))
        or lacks_subject(question)
    )


def lacks_subject(question: str | Question) -> bool:
    """Whether `question` never says whom or what it asks about, so that on its own it cannot be
    answered: every word that could name the subject points back to one instead ("متى رسمها؟",
    "Where was he born?") or is a verb whose subject is left unsaid ("أين ولد؟"), or there is no
    such word at all ("من هو؟"). Asked first, it gets a request to name the subject
    (`qa.answer.assistant`); in a conversation it is a follow-up (`is_follow_up`).

    Example:
        >>> lacks_subject("أين ولد؟"), lacks_subject("أين ولد نجيب محفوظ؟"), lacks_subject("Where was he born?")
        (True, False, True)
    """
    if isinstance(question, str):
        if not question.strip():
            return False
        question = Question.parse(question)
    if question.language == "en":
        content = [t for t in question.tokens if not _is_function_word(t)]
        named = any(w[:1].isupper() or w[:1].isdigit() for w in _WORD.findall(question.text)[1:])
        leans = any(t in _ENGLISH_PRONOUNS - {"there"} for t in question.tokens)
        return not content or (leans and len(content) <= 1 and not named)
    for word in _WORD.findall(question.text):
        norm = normalize(word)
        if not norm or _is_function_word(norm):
            continue
        bare = norm[1:] if len(norm) > 3 and norm[0] in "وف" else norm
        if norm in _SUBJECTLESS_VERBS or bare in _SUBJECTLESS_VERBS:
            continue
        clitic = len(word) >= 4 and word[0] >= "\u0600" and _CLITIC.search(word) and not _DEFINITE.match(norm)
        if not clitic:
            return False  # a word that can name the subject
    return True


def salient_words(text: str, *, exclude: str = "", limit: int = MAX_NAMES) -> list[str]:
    """Words of `text` most likely to name something: numbers, capitalised Latin words, and Arabic
    words without the article (names rarely take ال; common nouns mostly do), in order of
    appearance, skipping function words, generic news words and anything already in `exclude`.

    Args:
        text: A quote from the previous answer.
        exclude: Text whose words are already in the query (the questions).
        limit: How many words at most.

    Returns:
        Up to `limit` words exactly as written in `text`.
    """
    seen = {t for t in tokenize(exclude, stem=True)}
    picked: list[str] = []
    keys: set[str] = set()
    for position, word in enumerate(_WORD.findall(text)):
        norm = normalize(word)
        stem = (tokenize(word, stem=True) or [norm])[0]
        if not norm or _is_function_word(norm) or norm in _GENERIC or stem in seen or stem in keys:
            continue
        if word[0].isdigit():
            good = len(word) >= 2
        elif word[0] < "\u0600":  # Latin and other alphabets: capitalised, and not opening the sentence
            good = word[0].isupper() and position > 0 and len(word) >= 3
        else:
            good = len(norm) >= 3 and not _DEFINITE.match(norm)
        if good:
            picked.append(word)
            keys.add(stem)
        if len(picked) == limit:
            break
    return picked


def _first_quote_text(answer: Answer | Mapping[str, Any] | None) -> str:
    if answer is None:
        return ""
    quotes = answer.get("quotes", ()) if isinstance(answer, Mapping) else answer.quotes
    if not quotes:
        return ""
    first = quotes[0]
    return str(first.get("text", "") if isinstance(first, Mapping) else first.text)


def _answer_context(answer: Answer | Mapping[str, Any] | None) -> str:
    if answer is None:
        return ""
    return str(answer.get("context", "") if isinstance(answer, Mapping) else answer.context)


def expand(
    question: str | Question,
    previous_question: str | None,
    previous_answer: Answer | Mapping[str, Any] | None,
) -> str:
    """The retrieval context for `question`, or "" when it stands alone.

    The context is the previous question (or, when that was itself a follow-up, the context it
    was asked in, so "وأين؟" after "ومتى؟" still knows the topic) followed by up to `MAX_NAMES`
    salient words of the previous answer's first quote; at most `MAX_CONTEXT_WORDS` words.

    Args:
        question: The new question.
        previous_question: The question of the previous turn, if any.
        previous_answer: Its answer, as an `Answer` or its `to_dict()` form (what the app's API
            returns), or None.

    Returns:
        Words to put before the question in the retrieval query; "" for a standalone question or
        a first turn.

    Example:
        >>> expand("and who did he meet?", "What did Bourita discuss in Rabat?", None)
        'What did Bourita discuss in Rabat'
    """
    previous_question = (previous_question or "").strip()
    text = question.text if isinstance(question, Question) else question
    if not previous_question or not text.strip() or not is_follow_up(question):
        return ""
    base = previous_question
    earlier = _answer_context(previous_answer)
    if is_follow_up(previous_question) and earlier:
        base = earlier
    words = [w.strip("?؟!.,،:;") for w in base.split()]
    words = [w for w in words if w]
    names = salient_words(_first_quote_text(previous_answer), exclude=f"{base} {text}")
    if len(words) + len(names) > MAX_CONTEXT_WORDS:
        words = [w for w in words if not _is_function_word(normalize(w))]
    keep = max(MAX_CONTEXT_WORDS - len(names), 0)
    return " ".join(words[-keep:] + names if keep else names[:MAX_CONTEXT_WORDS])


class _Asks(Protocol):
    def ask(self, question: str | Question, k: int | None = None, *, context: str = "", filters=None) -> Answer: ...


@dataclass(frozen=True)
class Turn:
    """One answered chat turn: the answer, the context it was retrieved with ("" for none),
    whether the question was read as a follow-up (it may still be answered without context), and
    `thread`: what to pass as `previous_question` next turn. For a standalone question that is the
    question; for a follow-up, the earlier thread plus the follow-up, so that "وأين؟" after
    "ومتى سيتم إطلاقها؟" still knows which initiative the conversation is about."""

    answer: Answer
    context: str = ""
    follow_up: bool = False
    thread: str = ""


def ask_in_context(
    assistant: _Asks,
    question: str | Question,
    previous_question: str | None = None,
    previous_answer: Answer | Mapping[str, Any] | None = None,
    *,
    k: int | None = None,
    filters=None,
) -> Turn:
    """Answer `question`, as a follow-up of the previous turn when it reads like one.

    The previous turn says what the follow-up is about: its context joins the question for
    retrieval, so "إطلاقها" finds the initiative's passage. What the follow-up asks is its own: each
    sentence is scored against the question in context and against the follow-up alone (the kind of
    answer, "when" wanting a date, and the follow-up's own words), so the quote answers the new
    question rather than repeating the previous answer (`Assistant.deliberate`).

    Args:
        assistant: What answers (`qa.Assistant`).
        question: The new question.
        previous_question: The previous turn's question, if any.
        previous_answer: The previous turn's answer, as an `Answer` or its `to_dict()` form.
        k: Passages to read (the assistant's default when None).
        filters: A `qa.Filters` applied to this turn's search (None: the whole collection).

    Returns:
        The `Turn`: answer, the context used, and whether it was read as a follow-up.

    Raises:
        InputError: the question is empty.
    """
    asked = Question.of(question)
    context = expand(asked, previous_question, previous_answer)
    if not context:
        return Turn(assistant.ask(asked, k, filters=filters), thread=asked.text)
    thread = _thread(previous_question or "", asked.text)
    answer = assistant.ask(Question.parse(asked.text, context), k, filters=filters)
    return Turn(answer, context, True, thread)


def _thread(previous: str, question: str) -> str:
    """The earlier thread's content words and the follow-up, cut to the last `MAX_CONTEXT_WORDS` words."""
    earlier = [w for w in (w.strip("?؟!.,،:;") for w in previous.split()) if w and not _is_function_word(normalize(w))]
    return " ".join((earlier + question.split())[-MAX_CONTEXT_WORDS:])
