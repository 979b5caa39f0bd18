"""Hard absence and near misses: on-topic collections that do not answer, made from every question.

Why: a news collection always holds a sentence on the question's subject. Asked with its article
present or removed, the answer model never saw the case that fails, on-topic text that does not
answer; yet it can be made from every development question at no labelling cost:

- **hard absence**: the question's article stays indexed, minus every sentence that holds a gold
  answer (compared after normalization, `qa.train.datasets.contains_answer`), in all its paragraphs.
  The collection names the subject and does not answer.
- **near misses**: the question with one constraint (a year, another number, or a Latin name)
  swapped for another of the same kind from the collection that its article never uses, asked
  against its own article. Nothing answers it.

Both are labelled absent. `qa.train.answer_model` trains on them; `python -m qa.eval --hard-absent`
measures them.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace

from qa.records import Article
from qa.text.constraints import YEAR
from qa.text.normalize import normalize, tokenize
from qa.text.sentences import split_sentences
from qa.text.transliterate import latin_names
from qa.train.datasets import article_of, contains_answer

HARD_PREFIX = "hard:"
"""Id prefix of a paragraph with its answers removed; such articles are hidden from every other view."""


@dataclass(frozen=True)
class HardView:
    """How to make one question's hard-absent collection from the whole one: hide its article's
    paragraphs that held an answer (`hide`) and show their answer-free copies (`show`, ids in
    `HARD_PREFIX`; a paragraph whose every sentence held an answer has none)."""

    hide: frozenset[str]
    show: tuple[Article, ...]

    @property
    def key(self) -> tuple[frozenset[str], tuple[str, ...]]:
        return self.hide, tuple(a.id for a in self.show)


def without_answer(text: str, answers: tuple[str, ...]) -> str:
    """`text` without the sentences (`qa.text.sentences.split_sentences`) that hold a gold answer,
    the rest joined by single spaces; `text` itself when none does."""
    spans = split_sentences(text)
    kept = [text[s:e] for s, e in spans if not contains_answer(text[s:e], answers)]
    return text if len(kept) == len(spans) else " ".join(kept)


def hard_view(paragraphs: Iterable[Article], answers: tuple[str, ...]) -> HardView | None:
    """The hard-absent view of a question whose article has these `paragraphs`; None when an answer
    survives sentence removal (it spans two sentences), so the view would still answer."""
    hide, show = set(), []
    for paragraph in paragraphs:
        rest = without_answer(paragraph.text, answers)
        if rest == paragraph.text:
            continue
        if contains_answer(rest, answers):
            return None
        hide.add(paragraph.id)
        if rest.strip():
            digest = hashlib.sha256(f"{paragraph.id}\x1f{rest}".encode()).hexdigest()[:16]
            show.append(replace(paragraph, id=f"{HARD_PREFIX}{digest}", text=rest))
    return HardView(frozenset(hide), tuple(show))


def hard_views(articles: Iterable[Article], sets: dict[str, list]) -> dict[str, HardView]:
    """The hard-absent view of every development question (`qa.train.hard.hard_view`), by id; a
    question whose answer spans two sentences has none."""
    by_article: dict[str, list] = defaultdict(list)
    for a in articles:
        by_article[article_of(a.id)].append(a)
    views = {}
    for pairs in sets.values():
        for q, _ in pairs:
            if q.id not in views and (view := hard_view(by_article[q.article], q.answers)) is not None:
                views[q.id] = view
    return views


_NUMBER = re.compile(r"(?<![\d.,])\d+(?:[.,]\d+)*(?![\d.,])")


@dataclass(frozen=True)
class Pools:
    """What a near miss swaps in, per kind: years, other numbers and Latin names seen in the
    collection's questions."""

    years: tuple[str, ...]
    numbers: tuple[str, ...]
    names: tuple[str, ...]

    @classmethod
    def of(cls, texts: Iterable[str]) -> Pools:
        years, numbers, names = set(), set(), set()
        for text in texts:
            for n in _NUMBER.findall(text):
                (years if YEAR.match(n) else numbers).add(n)
            names.update(n for n in _LATIN_WORD.findall(text) if len(n) >= 4 and n.casefold() in latin_names(text))
        return cls(tuple(sorted(years)), tuple(sorted(numbers)), tuple(sorted(names)))


_LATIN_WORD = re.compile(r"[A-Z][A-Za-z]+")


def near_miss(text: str, article_text: str, pools: Pools, rng: random.Random) -> tuple[str, str] | None:
    """`text` with one constraint swapped, and its kind ("year", "number", "name"); None when it has
    none to swap. The replacement is one its article (`article_text`, all its paragraphs) never uses,
    so nothing there answers the changed question. Years are tried first, then numbers, then names."""
    used = set(tokenize(article_text))
    numbers = _NUMBER.findall(text)
    years = [n for n in numbers if YEAR.match(n)]
    others = [n for n in numbers if not YEAR.match(n)]
    names = [n for n in _LATIN_WORD.findall(text) if len(n) >= 4 and n.casefold() in latin_names(text)]
    for kind, found, pool in (("year", years, pools.years), ("number", others, pools.numbers), ("name", names, pools.names)):
        if not found:
            continue
        old = rng.choice(found)
        choices = [p for p in pool if p != old and not (set(tokenize(p)) & used)]
        if not choices:
            continue
        new = rng.choice(choices)
        pattern = rf"(?<![\d.,]){re.escape(old)}(?![\d.,])" if kind != "name" else rf"\b{re.escape(old)}\b"
        return re.sub(pattern, new, text, count=1), kind
    return None


def normalized_answers(answers: tuple[str, ...]) -> tuple[str, ...]:
    """The answers as compared (`normalize`), for grouping questions that share one hard view."""
    return tuple(sorted({normalize(a).strip() for a in answers if normalize(a).strip()}))
