"""A question's distinctive constraints, and whether a passage meets them.

Why: a large collection always holds a sentence on the question's subject, and the sentence that
fooled the answer model was on topic but lacked the very thing asked about: the year of "who won the
tournament in 2018", the name of the earthquake, the event of "the team's coach at the World Cup".
Each of those is a constraint an answer must meet somewhere near the quote. This module lists them
and checks them; the answer model (`qa.answer.model`) turns unmet ones into features of its
presence decision, and the assistant keeps an answer that misses one from "high". Paraphrases exist
(a year may be implied, a name spelled differently), so nothing here refuses by itself.

The constraints of a question:
- **years** (1000-2099) and **other numbers** among its words;
- **names**: Latin names (`qa.text.transliterate.latin_names`), met in either script;
- **rare words**: its `RARE_WORDS` content words of highest collection IDF (in Arabic text this is
  where names of people, places and events land: "الحوز", "زلزال"); years, numbers and names aside.

A constraint is met in a *window*: the quoted sentence, the sentences before and after it, and the
article's headline; a year is also met by the article's date.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from qa.text.transliterate import spelled_in

ConstraintKind = Literal["year", "number", "name", "rare"]
KINDS: tuple[ConstraintKind, ...] = ("year", "number", "name", "rare")
YEAR = re.compile(r"^(1[0-9]{3}|20[0-9]{2})$")
MIN_NAME_LETTERS = 3
"""A shorter capitalized word ("Al" of "Al Haouz") is a particle, not a name to look for."""
DISTINCTIVE_IDF_SHARE = 0.6
"""A rare word is distinctive when its idf is at least this share of the highest idf (a word no
passage uses): among 8,000 passages, one that at most about 25 of them use; among a handful, one
that a single passage uses. Set by reading, not fitted: a name-like word ("الحوز") is distinctive,
"سنة" and "قدم" are not."""
RARE_WORDS = 2
"""How many of the question's rarest content words are constraints: the one or two words that name
what is asked about. More would make every paraphrase an unmet constraint."""


@dataclass(frozen=True)
class Constraint:
    """One thing an answer must name: `term` as the question's terms hold it (digits for a number,
    a casefolded Latin name, a normalized and lightly stemmed content word), and its `kind`.
    `weight` is its collection IDF (1 where unknown), so a rarer word counts more."""

    kind: ConstraintKind
    term: str
    weight: float = 1.0
    distinctive: bool = True
    """Whether missing it keeps an answer from "high": always for a year, number or name; for a rare
    word only when few passages use it (`DISTINCTIVE_IDF_SHARE`), as a name of a place or an event
    is, while a common word is as often paraphrased."""


@dataclass(frozen=True)
class Window:
    """Where an answer's constraints may be met: the content terms and unstemmed tokens of the quoted
    sentence, its neighbours and its article's headline, and the year of the article's date."""

    terms: frozenset[str]
    tokens: frozenset[str]
    year: str = ""


def _digits(number: str) -> str:
    """A number as compared: "1,000" and "1000" are one; a decimal keeps its point."""
    return number.replace(",", "")


def constraints_of(
    terms: Iterable[str], numbers: Iterable[str], names: Iterable[str], idf: Mapping[str, float], unknown: float = math.inf
) -> tuple[Constraint, ...]:
    """The distinctive constraints of a question, from what `qa.question.Question` read of it (its
    content `terms`, the `numbers` and Latin `names` among them) and the collection's `idf`.

    Rare words are chosen among the words the collection uses (idf below `unknown`, the idf of a word
    no passage has): a word found nowhere is unmet by every sentence alike, so it says nothing about
    which one answers (the answer model reads it apart, `missing_idf_share`), and such words are as
    often a paraphrase ("surrender", "التقى") as a name.

    Example:
        >>> [(c.kind, c.term) for c in constraints_of({"فاز", "كاس", "2018"}, {"2018"}, set(), {"فاز": 2.0, "كاس": 5.0})]
        [('year', '2018'), ('rare', 'كاس'), ('rare', 'فاز')]
    """
    numbers, names = set(numbers), set(names)
    found = [Constraint("year" if YEAR.match(n) else "number", n, idf.get(n, 1.0)) for n in sorted(numbers)]
    found.sort(key=lambda c: KINDS.index(c.kind))
    found += [Constraint("name", n, idf.get(n, 1.0)) for n in sorted(names) if len(n) >= MIN_NAME_LETTERS]
    known = (t for t in set(terms) - numbers - names if idf.get(t, 0.0) < unknown)
    words = sorted(known, key=lambda t: (-idf.get(t, 0.0), t))
    bar = DISTINCTIVE_IDF_SHARE * unknown if math.isfinite(unknown) else math.inf
    found += [Constraint("rare", t, idf.get(t, 1.0), idf.get(t, 0.0) >= bar) for t in words[:RARE_WORDS]]
    return tuple(found)


def is_met(constraint: Constraint, window: Window) -> bool:
    """Whether `window` names the constraint: a year or number among its tokens (or, for a year, the
    article's date), a name written as is or spelled in Arabic letters, a rare word among its terms."""
    if constraint.kind in ("year", "number"):
        wanted = _digits(constraint.term)
        if constraint.kind == "year" and window.year == wanted:
            return True
        return any(_digits(t) == wanted for t in window.tokens if t[:1].isdigit())
    if constraint.term in window.terms:
        return True
    return constraint.kind in ("name", "rare") and bool(spelled_in({constraint.term}, window.tokens))


def unmet(constraints: Iterable[Constraint], window: Window) -> tuple[Constraint, ...]:
    """The constraints `window` does not meet, in order."""
    return tuple(c for c in constraints if not is_met(c, window))


def unmet_shares(constraints: tuple[Constraint, ...], missing: tuple[Constraint, ...]) -> dict[str, float]:
    """Per kind, the weighted share of the question's constraints of that kind left unmet (0 where
    the question has none of that kind), and `any`: 1 when a distinctive one (a year, number or name,
    or a distinctive rare word) is unmet. What the answer model reads."""
    shares: dict[str, float] = {}
    for kind in KINDS:
        total = sum(c.weight for c in constraints if c.kind == kind)
        lost = sum(c.weight for c in missing if c.kind == kind)
        shares[kind] = lost / total if total else 0.0
    shares["any"] = float(any(c.distinctive for c in missing))
    return shares
