"""The question, read once where it enters: every later step takes this record, none re-reads the text.

`Question.parse` does all the reading that needs only the text: normalized tokens, content words
and numbers, Latin names (whose Arabic spellings BM25 and the answer model look up), the kind of
answer asked, the language, and whether it asks for the latest news. What depends on the collection
(which words are rare there) is weighed later, against the snapshot being searched
(`qa.answer.model.Weights`).

Recency words (`RECENT_WORDS`, `RECENT_PHRASES`) are read here because they change what is searched:
"ما هي آخر أخبار الطقس؟" searches "ما هي أخبار الطقس؟" and then orders the relevant reports newest
first (`qa.search.recency`, whose docstring gives the rule).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from qa.errors import InputError
from qa.text.kinds import Kind, question_kind
from qa.text.normalize import content_terms, detect_language, tokenize
from qa.text.transliterate import latin_names

_WORDS = ("آخر", "أحدث", "الأحدث", "الأخير", "الأخيرة", "اليوم", "latest", "today", "recent", "recently", "newest")
_PHRASES = ("هذا الأسبوع", "هذه الأيام", "this week")
RECENT_WORDS: frozenset[str] = frozenset(w for word in _WORDS for w in tokenize(word))
RECENT_PHRASES: tuple[tuple[str, ...], ...] = tuple(tuple(tokenize(p)) for p in _PHRASES)


def asks_for_recent(text: str) -> bool:
    """Whether `text` asks for the latest news (matched on normalized words, so آخر/اخر are one)."""
    tokens = tokenize(text)
    if RECENT_WORDS.intersection(tokens):
        return True
    return any(tuple(tokens[i : i + len(p)]) == p for p in RECENT_PHRASES for i in range(len(tokens)))


def topic_of(text: str) -> str:
    """`text` without its words about time ("ما هي آخر أخبار الطقس؟" -> "ما هي أخبار الطقس؟"): they
    say nothing about *what*, and kept in they pulled up daily digests ("أبرز أخبار اليوم") over the
    subject asked about. The text itself when nothing else is left."""
    words = text.split()
    keep = [True] * len(words)
    folded = [tokenize(w) for w in words]
    for i, tokens in enumerate(folded):
        if tokens and all(t in RECENT_WORDS for t in tokens):
            keep[i] = False
        for phrase in RECENT_PHRASES:
            if tuple(t for f in folded[i : i + len(phrase)] for t in f) == phrase:
                keep[i : i + len(phrase)] = [False] * len(phrase)
    rest = " ".join(w for w, k in zip(words, keep) if k)
    return rest if tokenize(rest) else text


@dataclass(frozen=True)
class Question:
    """A question as typed (`text`), with a follow-up's `context` (the previous turn's topic, "" for a
    question asked on its own), and what was read of them.

    The question's own words decide the kind of answer and the language; `query` (context and
    question) decides what it is about, so terms, names and recency are read on it.

    Example:
        >>> q = Question.parse("ومتى سيتم إطلاقها؟", context="ما هي المبادرات التي يشرف عليها المغرب")
        >>> q.kind, q.language, q.context != ""
        ('when', 'ar', True)
    """

    text: str
    context: str
    query: str
    language: str
    kind: Kind
    tokens: tuple[str, ...]
    """The question's own normalized tokens (no stemming)."""
    terms: frozenset[str]
    """Content words of `query`, normalized and lightly stemmed: what a sentence must share."""
    own_terms: frozenset[str]
    """Content words of the question alone (a follow-up's own words; `terms` for a standalone one)."""
    numbers: frozenset[str]
    """Terms that are numbers (a year, a count): always among the words an answer must name."""
    names: frozenset[str]
    """Latin names among `terms` ("sales" of "Nathan Sales"), looked up in their Arabic spellings."""
    recent: bool
    """The query asks for the latest news (`RECENT_WORDS`)."""
    search_text: str
    """What retrieval embeds and matches: `query`, less its time words when `recent`."""

    @classmethod
    def parse(cls, text: str, context: str = "") -> Question:
        """Read `text` (and a follow-up's `context`) once.

        Raises:
            InputError: the question is empty.
        """
        if not isinstance(text, str) or not text.strip():
            raise InputError("the question is empty; type a question")
        text, context = text.strip(), (context or "").strip()
        query = f"{context} {text}".strip()
        terms = frozenset(content_terms(query))
        recent = asks_for_recent(query)
        return cls(
            text=text,
            context=context,
            query=query,
            language=detect_language(text),
            kind=question_kind(text),
            tokens=tuple(tokenize(text)),
            terms=terms,
            own_terms=frozenset(content_terms(text)) if context else terms,
            numbers=frozenset(t for t in terms if t[:1].isdigit()),
            names=frozenset(latin_names(query)) & terms,
            recent=recent,
            search_text=topic_of(query) if recent else query,
        )

    @classmethod
    def of(cls, question: str | Question, context: str = "") -> Question:
        """`question` itself when already parsed (with no other context asked for), else parsed."""
        if isinstance(question, Question) and (not context or context.strip() == question.context):
            return question
        if isinstance(question, Question):
            question = question.text
        return cls.parse(question, context)

    @cached_property
    def topic_terms(self) -> frozenset[str]:
        """`terms` less the time words of a question about the latest: what it asks about, which an
        answer must name ("اليوم" of "today's weather" is met by an article's date, not its words)."""
        return frozenset(content_terms(self.search_text)) if self.recent else self.terms

    @cached_property
    def alone(self) -> Question:
        """The question without its context: what a follow-up asks of its own."""
        return self if not self.context else Question.parse(self.text)
