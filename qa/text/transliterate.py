"""Latin names matched to their Arabic spellings: "Sales" finds "سايلس", "Greenway" finds "غرينواي".

Why: an English question about Arabic articles shares almost no words with them, and its names are
what it shares most. "Who is Nathan Sales?" has "Nathan" and "Sales" as its rarest words; the
answer model's word signals (`qa.answer.model`) found neither in "نايثن سايلس", so the seeds' best
sentence looked no better than any other and the question was refused.

How: both spellings are reduced to a skeleton, the consonants in order folded into classes that
transliteration keeps apart (b/p ب, t/d ت ط د ض ث, s/z/sh س ص ز ش, k/g/q/j ك ق غ ج, f/v ف, l, m,
n, r, h ح ه خ), plus whether a vowel letter is written in each gap between them. Arabic leaves
short vowels unwritten, so a gap with a written Arabic vowel (ا و ي) must have a Latin vowel too,
not the other way round; the Arabic word must write at least one vowel ("قرن", century, has the
consonants of "Greenway" but none), and a final Latin vowel other than a silent e must be written
("حماس" is not "Hammouchi"). It is a heuristic, used for names only (`latin_names`): the answer model
weighs what it finds like any other word match, BM25 searches the spellings beside the question's
own words, and a Latin word the text contains as written is never looked up.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

Skeleton = tuple[str, tuple[bool, ...]]

_LATIN_DIGRAPHS = (
    ("sch", "s"), ("tch", "s"), ("ch", "s"), ("sh", "s"), ("th", "t"), ("dh", "t"), ("ph", "f"),
    ("kh", "h"), ("gh", "k"), ("ck", "k"), ("qu", "k"), ("x", "ks"),
)  # fmt: skip
_LATIN = dict(zip("bptdszckqgjfvlmnrh", "bbttsskkkkkfflmnrh", strict=True))
_LATIN_VOWELS = frozenset("aeiouyw")
_ARABIC = dict(zip("بپتطدضثذظسصزشجكقغگفڤلمنرحهخ", "bbtttttttsssskkkkkfflmnrhhh", strict=True))
_ARABIC_VOWELS = frozenset("اويىءعئؤآأإ")
_VOWEL = "V"
MIN_LATIN_LETTERS = 3


def _shape(units: Iterable[str]) -> Skeleton:
    """Consonant classes (a repeated one written once, as in "Hammouchi"/"حموشي") and, for each gap
    before, between and after them, whether a vowel is written there."""
    consonants: list[str] = []
    gaps: list[bool] = []
    vowel = False
    for unit in units:
        if unit == _VOWEL:
            vowel = True
        elif unit:
            if consonants and consonants[-1] == unit and not vowel:
                continue
            gaps.append(vowel)
            consonants.append(unit)
            vowel = False
    gaps.append(vowel)
    return "".join(consonants), tuple(gaps)


@lru_cache(maxsize=65536)
def latin_skeletons(word: str) -> frozenset[tuple[str, tuple[bool, ...], bool]]:
    """The skeletons a Latin word may have in Arabic ("ng" is written with or without its g:
    "Washington" واشنطن), each with whether its Arabic spelling must end in a vowel letter: a final
    vowel other than a silent e is written ("Hammouchi" حموشي), which keeps "حماس" from passing
    for it."""
    word = word.casefold()
    spellings = {word, word.replace("ng", "n")}
    found = set()
    for spelling in spellings:
        units: list[str] = []
        i = 0
        while i < len(spelling):
            for latin, sound in _LATIN_DIGRAPHS:
                if spelling.startswith(latin, i):
                    units.extend(sound)
                    i += len(latin)
                    break
            else:
                letter = spelling[i]
                units.append(_VOWEL if letter in _LATIN_VOWELS else _LATIN.get(letter, ""))
                i += 1
        if units and units[-1] == "h":  # a final h is a vowel's spelling ("Allah", "Sarah")
            units[-1] = _VOWEL
        consonants, gaps = _shape(units)
        found.add((consonants, gaps, spelling[-1] in "aiouyh"))
    return frozenset(found)


@lru_cache(maxsize=262144)
def arabic_skeleton(word: str) -> Skeleton:
    """The skeleton of a normalized Arabic word; a final ه (normalized ة) is a vowel."""
    units = [_VOWEL if letter in _ARABIC_VOWELS else _ARABIC.get(letter, "") for letter in word]
    if word.endswith("ه"):
        units[-1] = _VOWEL
    return _shape(units)


def _spells(latin: tuple[str, tuple[bool, ...], bool], arabic: Skeleton) -> bool:
    (latin_consonants, latin_gaps, final_vowel), (arabic_consonants, arabic_gaps) = latin, arabic
    return (
        latin_consonants == arabic_consonants
        and len(arabic_consonants) >= 2
        and any(arabic_gaps)
        and all(seen or not written for seen, written in zip(latin_gaps, arabic_gaps, strict=True))
        and (arabic_gaps[-1] or not final_vowel)
    )


class Spellings:
    """The Arabic terms of a BM25 vocabulary, by consonants, to find the Latin names they spell.

    Built once per collection snapshot (`LexicalIndex.name_spellings`): a pass over the vocabulary.

    Example:
        >>> Spellings(["سايلس", "نايثن", "قرن"]).of(["sales", "nathan", "greenway"])
        {'sales': ['سايلس'], 'nathan': ['نايثن']}
    """

    def __init__(self, vocabulary: Iterable[str]) -> None:
        self._by_consonants: dict[str, list[str]] = {}
        for term in vocabulary:
            if _is_arabic(term):
                self._by_consonants.setdefault(arabic_skeleton(term)[0], []).append(term)

    def of(self, names: Iterable[str]) -> dict[str, list[str]]:
        """For each Latin name, the terms (stemmed, as indexed) that spell it; names none spells are
        left out. A name whose Arabic spelling starts with a letter the stemmer takes for a
        proclitic ("بوريطة", indexed as "وريطه") is missed here: looking for it without that letter
        matched common words ("اراضي", "رياضي") for "Bourita" on the seeds among news."""
        found: dict[str, list[str]] = {}
        for name in filter(_is_latin, names):
            terms = {
                term
                for skeleton in latin_skeletons(name)
                for term in self._by_consonants.get(skeleton[0], ())
                if _spells(skeleton, arabic_skeleton(term))
            }
            if terms:
                found[name] = sorted(terms)
        return found


_LATIN_NAME = re.compile(r"(?<=\s)[A-Z][A-Za-z]*[a-z][A-Za-z]*|\b[A-Z]{3,}\b")


def latin_names(text: str) -> list[str]:
    """The Latin names of a question, casefolded: capitalized words that do not open it ("Nathan
    Sales"), and acronyms. Only names are looked for in Arabic letters: a common English word's
    skeleton often matches an Arabic word ("state" شديد)."""
    return [w.casefold() for w in _LATIN_NAME.findall(text)]


def _is_latin(term: str) -> bool:
    return len(term) >= MIN_LATIN_LETTERS and term.isascii() and term.isalpha()


def _is_arabic(term: str) -> bool:
    return "\u0621" <= term[:1] <= "\u064a"


def spelled_in(terms: Iterable[str], words: Iterable[str]) -> set[str]:
    """The Latin words of `terms` (normalized, as `qa.answer.quote.content_terms` gives them) that one of the
    Arabic `words` spells.

    Example:
        >>> sorted(spelled_in({"nathan", "sales", "century"}, {"نايثن", "سايلس", "قرن"}))
        ['nathan', 'sales']
    """
    return set(Spellings(words).of(terms))
