"""Sentence spans with exact offsets, so a quote can cite the article's own characters.

`split_sentences` never copies or rewrites text: it returns `(start, end)` pairs into the string it
was given, and `text[start:end]` is what gets quoted. It runs on every indexed chunk, so the rules
are a handful of compiled regular expressions plus cheap checks on the few candidate punctuation
marks, not a trained model.

Rules, in the order they are applied (written for Modern Standard Arabic news, with Latin text
inside it handled sensibly):

* A line break (``\\n``, ``\\r\\n``, a lone ``\\r``, U+2028, U+2029, and the other characters
  `str.splitlines` breaks on) always ends a sentence, even inside quotation marks.
* ``؟ ? ! ؛`` (alone or in runs such as ``?!``) end a sentence when followed by whitespace, the end
  of the text, an Arabic letter (a missing space is a common typo) or an opening quote or bracket.
  Followed by anything else (``?q=`` in a URL) they do not.
* An ellipsis (``…``, or two or more dots) never ends a sentence by itself; a line break or the end
  of the text after it does.
* A single ``.`` ends a sentence when followed by whitespace, the end of the text, an Arabic letter
  or an opening quote or bracket; never between digits (``3.5``, ``2.396``, ``1.000.000``,
  ``12.30``) nor before a Latin letter (``U.S``, ``aljazeera.net``). It does not end a sentence
  after an abbreviation: a single Arabic letter (``د.`` doctor, ``أ.`` professor, ``ص.`` page,
  ``ج.`` part, ``ق.م.``), except ``م.``/``هـ.`` right after a number (``عام 2019 م.``), which are era
  marks that close a date and so usually the sentence; a single Latin letter (``U.S.``, ``e.g.``,
  ``J. Smith``) unless an Arabic sentence follows it; a Latin title from `LATIN_ABBREVIATIONS`
  (``Mr.``, ``Dr.``, ``No.``); or a list number of at most three digits at the start of a line
  (``1. ...``).
* Quotation marks protect what they enclose: a terminator inside « », or inside a pair of double
  quotes (" “ ” „, paired by context rather than by glyph because Arabic text often uses ” to
  open), does not end the sentence, provided the quote closes on the same line within
  `MAX_QUOTE_CHARS` characters. A longer or unclosed quote protects nothing, so one stray mark
  cannot swallow a paragraph. A terminator that is the last thing inside the quote (``"... انتهى."
  ثم``) does end the sentence.
* The terminator, and any closing quotes or brackets right after it that are followed by
  whitespace, belong to the sentence they end. Arabic news usually closes the quote before the
  period (``قال إن "... متينة".``); that period ends the sentence as any other would.

Every span is stripped of surrounding whitespace (as `str.isspace` defines it) and non-empty;
together the spans cover every non-whitespace character of the range. Invisible format characters
(RLM, ZWJ, BOM) are not whitespace, so they stay inside the sentence they touch.
"""

from __future__ import annotations

import re
from bisect import bisect_right

__all__ = ["LATIN_ABBREVIATIONS", "MAX_QUOTE_CHARS", "split_sentences"]

MAX_QUOTE_CHARS = 300
"""A quote protects its terminators only if it closes within this many characters (same line)."""

LATIN_ABBREVIATIONS: frozenset[str] = frozenset(
    {
        "Mr", "Mrs", "Ms", "Dr", "Prof", "Sr", "Jr", "St", "No", "Nos", "Vol", "vs", "cf", "approx",
        "Gen", "Col", "Lt", "Sgt", "Capt", "Gov", "Sen", "Rep", "Rev", "Fig", "Mt", "Ft",
    }
)
"""Multi-letter Latin words that a period does not end (case-sensitive: "no." ends a sentence)."""

_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_STRONG = "?!\u061f\u061b"  # ? ! ؟ ؛
_OPENERS = "\"\u00ab\u201c\u201d\u201e("  # what may start the next sentence right after a terminator
_LEFT_OF_OPENER = "([{\u00ab:\u060c,;\u061b-\u2013\u2014/"  # a quote after one of these can open
_RIGHT_OF_CLOSER = ".\u060c,;\u061b:?\u061f!\u2026)]}\u00bb-\u2013\u2014"  # a quote before these can close

# A line break, or a run of terminators plus the closing quotes/brackets that follow it (kept only
# when whitespace or the end comes next, so an opening quote of the next sentence is not taken).
# It starts with a plain character class so the regex engine can skip ahead quickly.
_CLOSERS = "\"'\u00bb\u201d\u201c\u2019\u203a)]}"  # the class in _CANDIDATE; “ too, as Arabic text uses it to close
_CANDIDATE = re.compile(
    r"[.?!\u061f\u061b\u2026\u06d4\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]"
    r"(?:(?<=[.?!\u061f\u061b\u2026\u06d4])[.?!\u061f\u061b\u2026\u06d4]*"
    r"(?:[\"'\u00bb\u201d\u201c\u2019\u203a)\]}]+(?=\s|\Z))?"
    r"|(?<=\r)\n)?"
)
_QUOTE_OR_BREAK = re.compile(r"[\u00ab\u00bb\"\u201c\u201d\u201e\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_ARABIC_LETTER = re.compile(r"[\u0621-\u063a\u0641-\u064a\u0671-\u06d3\u06fa-\u06fc\ufb50-\ufdfb\ufe70-\ufefc]")
# The word right before a period: letters, each optionally followed by Arabic marks or tatweel.
_WORD_BEFORE = re.compile(r"(?:[^\W\d_][\u0610-\u061a\u064b-\u065f\u0670\u0640]*)+\Z")
_MARKS_AND_TATWEEL = re.compile(r"[\u0610-\u061a\u064b-\u065f\u0670\u0640]")
_NUMBER_BEFORE_ERA = re.compile(r"\d\s*(?:\u0642\.\s*)?\Z")  # "2019 " or "300 ق." before م/هـ
_ERA_LETTERS = "\u0645\u0647"  # م (ميلادي) and ه (هجري, usually written هـ)


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Split `text[start:end]` into sentences and return their spans as absolute offsets.

    The range is treated as a text of its own (nothing outside it is looked at), so splitting a
    chunk gives the same sentences whether the chunk or the whole article is passed.

    Args:
        text: The raw text, never modified.
        start: First offset of the range to split.
        end: Offset just past the range; `None` means `len(text)`. Both follow slice rules.

    Returns:
        `(s, e)` pairs in order, non-overlapping, each inside the range, with `text[s:e]` non-empty
        and neither starting nor ending with whitespace; every non-whitespace character of the
        range lies in exactly one span.

    Example:
        >>> text = 'قال د. أحمد إن النمو بلغ 3.5 في المئة. وأضاف: "الوضع مستقر".'
        >>> [text[s:e] for s, e in split_sentences(text)]
        ['قال د. أحمد إن النمو بلغ 3.5 في المئة.', 'وأضاف: "الوضع مستقر".']
    """
    begin, stop, _ = slice(start, end).indices(len(text))
    if stop <= begin:
        return []
    s = text[begin:stop] if (begin, stop) != (0, len(text)) else text
    cuts = _cut_points(s)
    spans: list[tuple[int, int]] = []
    prev = 0
    for cut in (*cuts, len(s)):
        if cut > prev:
            piece = s[prev:cut]
            left = prev + len(piece) - len(piece.lstrip())
            if left < cut:
                spans.append((begin + left, begin + prev + len(piece.rstrip())))
        prev = cut
    return spans


def _cut_points(s: str) -> list[int]:
    """Offsets in `s` where one sentence ends and the next may begin, ascending."""
    cuts: list[int] = []
    protected: tuple[list[int], list[int]] | None = None
    n = len(s)
    for m in _CANDIDATE.finditer(s):
        a, b = m.span()
        if s[a] in _BREAKS:
            cuts.append(a)
            continue
        run = m.group().rstrip(_CLOSERS)
        nxt = s[b] if b < n else ""
        strong = run in _STRONG if len(run) == 1 else any(ch in _STRONG for ch in run)
        if not strong and (len(run) > 1 or run == "\u2026"):
            continue  # an ellipsis ("...", "…") continues the sentence unless a line break follows
        if nxt and not (nxt.isspace() or nxt in _OPENERS or _ARABIC_LETTER.match(nxt)):
            continue  # "3.5", "U.S", "?q=": not the end of anything
        if not strong and _period_continues(s, a, b):
            continue
        if protected is None:
            protected = _quoted_regions(s)
        if protected[0] and _inside_quote(protected, a, b):
            continue
        cuts.append(b)
    return cuts


def _period_continues(s: str, a: int, b: int) -> bool:
    """Whether the period at `s[a]` belongs to an abbreviation or a list number, not a sentence end."""
    if a == 0:
        return False
    prev = s[a - 1]
    if prev.isdigit():
        return _is_list_number(s, a)
    if a > 1 and _ARABIC_LETTER.match(prev) and _ARABIC_LETTER.match(s[a - 2]):
        return False  # the common case: a plain Arabic word of two or more letters
    m = _WORD_BEFORE.search(s, max(0, a - 8), a)
    if m is None:
        return False
    word = _MARKS_AND_TATWEEL.sub("", m.group())
    if len(word) == 1:
        if _ARABIC_LETTER.match(word):
            # "م." / "هـ." after a number close a date ("عام 2019 م."), so they end sentences too.
            return not (word in _ERA_LETTERS and _NUMBER_BEFORE_ERA.search(s, max(0, m.start() - 12), m.start()))
        if m.start() > 0 and s[m.start() - 1] == ".":
            return True  # dotted initials: U.S., e.g.
        following = s[b : b + 8].lstrip()
        return not (following and _ARABIC_LETTER.match(following))  # "فيتامين C. وقال" ends
    return word in LATIN_ABBREVIATIONS


def _is_list_number(s: str, a: int) -> bool:
    """Whether `s[:a]` ends with a number of at most three digits that opens its line ("1. ...")."""
    j = a
    while j > 0 and s[j - 1].isdigit():
        j -= 1
    if a - j > 3:
        return False
    while j > 0 and s[j - 1] in " \t":
        j -= 1
    return j == 0 or s[j - 1] in _BREAKS


def _quoted_regions(s: str) -> tuple[list[int], list[int]]:
    """Merged `(open, close)` offsets of the quotations that protect their terminators.

    « » nest and pair by glyph. Double quotes pair by context, because Arabic text uses “ and ” in
    either role: a mark after whitespace or an opening punctuation opens, one before whitespace or
    punctuation closes, one between two letters (``و"تحالفهما"``) opens or closes whichever is
    pending, and one with space on both sides is ignored. An opening mark while one is open
    replaces it (the earlier one was unbalanced). Pairing restarts on each line.
    """
    regions: list[tuple[int, int]] = []
    guillemets: list[int] = []
    open_double = -1
    n = len(s)
    for m in _QUOTE_OR_BREAK.finditer(s):
        p = m.start()
        ch = s[p]
        if ch in _BREAKS:
            guillemets.clear()
            open_double = -1
        elif ch == "\u00ab":
            guillemets.append(p)
        elif ch == "\u00bb":
            if guillemets:
                o = guillemets.pop()
                if p - o <= MAX_QUOTE_CHARS:
                    regions.append((o, p))
        else:
            before = s[p - 1] if p > 0 else " "
            after = s[p + 1] if p + 1 < n else " "
            can_open = before.isspace() or before in _LEFT_OF_OPENER
            can_close = after.isspace() or after in _RIGHT_OF_CLOSER
            if can_open and can_close:
                continue
            if can_close or (not can_open and open_double >= 0):
                if open_double >= 0:
                    if p - open_double <= MAX_QUOTE_CHARS:
                        regions.append((open_double, p))
                    open_double = -1
            else:
                open_double = p
    if not regions:
        return [], []
    regions.sort()
    starts, ends = [regions[0][0]], [regions[0][1]]
    for o, c in regions[1:]:
        if o <= ends[-1]:
            ends[-1] = max(ends[-1], c)
        else:
            starts.append(o)
            ends.append(c)
    return starts, ends


def _inside_quote(protected: tuple[list[int], list[int]], a: int, b: int) -> bool:
    """Whether the terminator `s[a:b]` sits inside a quotation whose closing mark it does not take."""
    starts, ends = protected
    i = bisect_right(starts, a) - 1
    return i >= 0 and a < ends[i] and b <= ends[i]
