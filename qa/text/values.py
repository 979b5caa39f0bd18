"""Counts read out of news sentences, as intervals, with the noun they count.

Outlets that report one event write its figures many ways: "13 قتيلا", "١٣ قتيلاً", "ثلاثة عشر
قتيلا", "نحو 13 قتيلا", "13 شخصا على الأقل", "قتيلين", "عشرات القتلى". To tell whether two reports
disagree (`qa.answer.disagreement`), each figure is read as an interval of what it can mean:

- digits of any script (Arabic-Indic ٠-٩, Persian ۰-۹), with ٫ as the decimal and ٬ as the
  thousands separator, and a scale word after them ("2.5 مليون", "13 ألف");
- number words, compounds joined with و ("ثلاثة وأربعين", "مئة وعشرون"), teens ("ثلاثة عشر"),
  hundreds and thousands ("ستة آلاف"), and duals of a counted noun ("قتيلين", "شخصين": two);
- hedges: نحو، حوالي، قرابة، زهاء، ما يقارب ("about") widen the figure by ±`ABOUT`; أكثر من، على
  الأقل، ما لا يقل عن، ما يزيد عن make it a lower bound, أقل من an upper one; عشرات، مئات، آلاف،
  بضعة are ranges; "بين 10 و15" is the range it says;
- "4 بينهم المهاجم" and "3 إضافة إلى المهاجم" (one counted with the attacker, one beside him) both
  become 3-4, so that they agree.

Each figure carries the noun it counts, read beside it: a category for what tolls count
(`killed`, `injured`, `aboard`, `arrested`, `missing`), or else the noun after the number
("صاروخا" -> "صاروخ"). Killed is only ever compared with killed. A figure inside a breakdown
("قتل 13 بينهم 4 أطفال") is marked `part`, and figures that are dates, years, times or percentages
are not counts at all.

Why not pyarabic's `number` module: it reads compound number words well (`text2number`), but not
duals ("قتيلين" -> 0), hedges or ranges, and it returns word positions, while quotes here need
character offsets into the raw article; what it does well is the 40 lines of tables below.

Pure text rules; no model. Offsets always point into the raw text given.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from qa.text.normalize import normalize

__all__ = ["ABOUT", "CATEGORIES", "GROUPS", "Count", "category_of", "counts_in", "group_of", "update_cue"]

ABOUT = 0.10
""""نحو 100" reads as 90-110: the issue's rule for approximate figures."""
INFINITY = math.inf


def _forms(words: str) -> frozenset[str]:
    return frozenset(normalize(w) for w in words.split())


_UNITS: dict[str, int] = {}
for _value, _words in {
    1: "واحد واحدة أحد إحدى",
    2: "اثنان اثنين اثنتان اثنتين اثنا اثني اثنتا اثنتي",
    3: "ثلاث ثلاثة",
    4: "أربع أربعة",
    5: "خمس خمسة",
    6: "ست ستة",
    7: "سبع سبعة",
    8: "ثمان ثماني ثمانية",
    9: "تسع تسعة",
    10: "عشر عشرة",
}.items():
    for _w in _words.split():
        _UNITS[normalize(_w)] = _value
_TENS = {normalize(w): v for v, ws in {
    20: "عشرون عشرين", 30: "ثلاثون ثلاثين", 40: "أربعون أربعين", 50: "خمسون خمسين", 60: "ستون ستين",
    70: "سبعون سبعين", 80: "ثمانون ثمانين", 90: "تسعون تسعين",
}.items() for w in ws.split()}  # fmt: skip
_HUNDREDS = {normalize(w): v for v, ws in {
    100: "مئة مائة مئه", 200: "مئتان مئتين مائتان مائتين", 300: "ثلاثمئة ثلاثمائة", 400: "أربعمئة أربعمائة",
    500: "خمسمئة خمسمائة", 600: "ستمئة ستمائة", 700: "سبعمئة سبعمائة", 800: "ثمانمئة ثمانمائة ثمانيمئة",
    900: "تسعمئة تسعمائة",
}.items() for w in ws.split()}  # fmt: skip
_SCALES = {normalize(w): v for v, ws in {
    1000: "ألف آلاف ألفا", 2000: "ألفان ألفين", 10**6: "مليون ملايين", 2 * 10**6: "مليونان مليونين",
    10**9: "مليار مليارات", 100: "مئة مائة",
}.items() for w in ws.split()}  # fmt: skip
_PLURAL_SCALES = _forms("آلاف ملايين مليارات")
_ENGLISH = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_ENGLISH_SCALES = {"hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9}
# Vague plurals: how many each can mean.
_RANGES = {normalize(w): r for w, r in {
    "عشرات": (20, 99), "مئات": (200, 999), "آلاف": (2000, 9999), "بضعة": (3, 9), "بضع": (3, 9),
    "dozens": (24, 99), "hundreds": (200, 999), "thousands": (2000, 9999), "several": (3, 9),
}.items()}  # fmt: skip

# Hedges: read on the (at most three) normalized words before or after a figure.
_ABOUT_BEFORE = [tuple(normalize(p).split()) for p in (
    "نحو", "حوالي", "حوالى", "قرابة", "زهاء", "ما يقارب", "ما يناهز", "يقارب", "يناهز", "قرابه", "تقريبا",
    "about", "around", "nearly", "approximately", "roughly", "almost", "some",
)]  # fmt: skip
_LOWER_BEFORE = [tuple(normalize(p).split()) for p in (
    "أكثر من", "ما لا يقل عن", "لا يقل عن", "على الأقل", "ما يزيد عن", "ما يزيد على", "يزيد عن", "يزيد على",
    "ما يربو على", "يربو على", "more than", "at least", "over",
)]  # fmt: skip
_UPPER_BEFORE = [tuple(normalize(p).split()) for p in ("أقل من", "ما يقل عن", "less than", "fewer than", "up to")]
_ABOUT_AFTER = [tuple(normalize(p).split()) for p in ("تقريبا", "أو نحو ذلك")]


def _longest_first(phrases: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    return sorted(phrases, key=len, reverse=True)


_ABOUT_BEFORE, _LOWER_BEFORE, _UPPER_BEFORE = map(_longest_first, (_ABOUT_BEFORE, _LOWER_BEFORE, _UPPER_BEFORE))
_HEDGES_BEFORE = _longest_first(_ABOUT_BEFORE + _LOWER_BEFORE)
_LOWER_AFTER = [tuple(normalize(p).split()) for p in ("على الأقل", "at least", "or more", "أو أكثر")]

# "4 بينهم المهاجم" counts the attacker; "3 إضافة إلى المهاجم" does not.
_PERPETRATORS = _forms("المهاجم المهاجمين الانتحاري منفذ منفذي المسلح المسلحين الجاني المفجر attacker attackers gunman bomber")
_INCLUDING = [tuple(normalize(p).split()) for p in ("بينهم", "من بينهم", "بمن فيهم", "منهم", "including", "among them")]
_PLUS = [tuple(normalize(p).split()) for p in ("إضافة إلى", "بالإضافة إلى", "فضلا عن", "علاوة على", "إلى جانب", "plus", "besides")]

CATEGORIES: dict[str, frozenset[str]] = {
    "killed": _forms(
        "قتل قتلى قتيل قتيلا قتيلين قتيلان القتلى مقتل لقي لقوا حتفه حتفهم مصرع وفاة توفي توفوا وفيات الوفيات موت "
        "ضحايا الضحايا ضحية قضوا يقتل قتلوا قتلت أودى أودت جثث جثة "
        "killed dead died death deaths fatalities killing lives"
    ),
    "injured": _forms(
        "جرح جرحى جريح جريحا جريحين جريحان الجرحى إصابة إصابات الإصابات أصيب أصيبوا إصابة مصاب مصابا مصابين "
        "المصابين يصاب بجروح بجراح اصابة اصابات اصيب injured wounded hurt injuring injuries"
    ),
    "aboard": _forms("راكب ركاب راكبا الركاب متن ركابها passengers aboard board passenger"),
    "arrested": _forms("اعتقال اعتقل معتقل معتقلين توقيف أوقف موقوفين القبض arrested detained arrests"),
    "missing": _forms("مفقود مفقودين المفقودين فقد فقدان missing"),
    "displaced": _forms("تشريد شرد مشرد مشردين المشردين نزوح نازح نازحين النازحين displaced homeless"),
}
"""What a toll counts, read from the words beside its figure. A figure whose neighbours name none of
these counts the noun after it."""
_CATEGORY_OF = {form: name for name, forms in CATEGORIES.items() for form in forms}
GROUPS: dict[str, frozenset[str]] = {
    "forces": _forms(
        "جندي جنديا جنود الجنود جنديين عسكري عسكريا عسكريين العسكريين الجيش قوات القوات شرطي شرطيا الشرطة "
        "رجال_الأمن الأمن الامن ضابط ضباط الدرك حرس soldiers soldier troops police policemen officers"
    ),
    "militants": _forms(
        "مسلح مسلحا مسلحين المسلحين إرهابي إرهابيا إرهابيين الإرهابيين تكفيري تكفيريا التكفيريين متشدد متشددا "
        "متشددين مقاتل مقاتلا مقاتلين المقاتلين داعش ميليشيا ميليشيات مليشيات الميليشيات المليشيات الحوثي "
        "الحوثيين حوثيا مهاجم مهاجمين المهاجمين مهاجمون المهاجمون انتحاري انتحاريين militants militant fighters "
        "insurgents gunmen terrorists attackers"
    ),
    "children": _forms("طفل طفلا أطفال الأطفال أطفالا طفلين طفلان children child kids"),
    "women": _forms("امرأة امرأتان امرأتين نساء النساء سيدة سيدات women"),
}
"""Who a toll counts, read after its figure ("7 من أفراد الجيش", "71 إرهابيا"): soldiers killed are
not compared with militants killed."""
_GROUP_OF = {form: name for name, forms in GROUPS.items() for form in forms}


def group_of(norm_words: list[str]) -> str:
    """The group (`GROUPS`) the first of `norm_words` that names one belongs to, or ""."""
    for w in norm_words:
        for form in (w, _glueless(w), w[1:] if len(w) > 3 and w[0] in "وبل" else w):
            if form in _GROUP_OF:
                return _GROUP_OF[form]
    return ""
# Generic nouns after a figure: "13 شخصا قتلوا" counts people killed, read further on.
_GENERIC = _forms(
    "شخص شخصا أشخاص الأشخاص شخصين شخصان مدني مدنيا مدنيين مدنيون فلسطيني فلسطينيا فلسطينيين "
    "people persons civilians others آخرين آخرون آخر على الأقل"
)
# The singular nouns whose dual (-ين / -ان) is a count of two.
_DUAL_STEMS = _forms("قتيل جريح شخص طفل رجل امرأت جندي راكب")
_BREAKDOWN = _forms("بينهم منهم بينها منها including among")
_NOT_COUNT_AFTER = _forms(
    "عاما عام سنة سنوات ساعة ساعات دقيقة دقائق يوما أيام يوم شهرا أشهر % بالمئة بالمائة في_المئة مرة مرات "
    "years year hours days percent"
)
_RISE_CUES = [tuple(normalize(p).split()) for p in (
    "ارتفعت الحصيلة", "ارتفع عدد", "ارتفعت حصيلة", "ارتفع", "ارتفعت", "ارتفاع", "تضاعفت", "تضاعف", "لتصل إلى",
    "لترتفع", "ليرتفع", "زيادة", "حصيلة جديدة", "آخر حصيلة", "rose to", "risen to", "has risen", "new toll",
)]  # fmt: skip
_OPEN_CUES = [tuple(normalize(p).split()) for p in (
    "حصيلة أولية", "حصيلة اولية", "إحصاءات أولية", "حتى الآن", "حتى الساعة", "حتى اللحظة", "حصيلة غير نهائية",
    "في عداد المفقودين", "لا يزالون مفقودين", "so far", "preliminary toll", "still missing",
)]  # fmt: skip
"""Update cues come in two kinds: a later report says the toll rose (ارتفعت الحصيلة، حصيلة جديدة،
"rose to"), an earlier one says its toll is not final (حصيلة أولية، حتى الآن، people still missing)."""


_TOKEN = re.compile(r"\d(?:[\d٬٫.,]*\d)?|(?:[^\W\d_]|[\u064b-\u065f\u0670\u0640])+|%|٪")
_DIGIT_VALUE = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_YEAR = re.compile(r"^(1[89]\d\d|20\d\d)$")


@dataclass(frozen=True)
class Count:
    """A figure in a sentence: `text[start:end]` as written, the interval it means, and what it counts."""

    start: int
    end: int
    low: float
    high: float
    noun: str
    """A category of `CATEGORIES` ("killed"), else the normalized noun after the figure, else ""."""
    part: bool = False
    """Inside a breakdown ("بينهم 4 أطفال"): a share of another figure, not a toll of its own."""
    group: str = ""
    """Who is counted, when the words after the figure say it (`GROUPS`: "forces", "militants", ...)."""
    named: frozenset[str] = frozenset()
    """Every category named beside the figure (`noun` is the nearest)."""

    def counts(self, noun: str) -> bool:
        """Whether the figure can be read as a count of `noun` (its own noun, or a category beside it)."""
        return self.noun == noun or noun in self.named

    @property
    def normalized(self) -> str:
        """"13", "12-14" for an interval, "13+" for a lower bound, "<13" for an upper one."""
        low = _plain(self.low)
        if self.high == INFINITY:
            return f"{low}+"
        high = _plain(self.high)
        if self.low <= 0 and self.high < INFINITY and low != high:
            return f"<{high}" if self.low == 0 else f"{low}-{high}"
        return low if low == high else f"{low}-{high}"

    def overlaps(self, other: Count) -> bool:
        """Whether the two figures can be the same number (then they do not disagree)."""
        return self.low <= other.high and other.low <= self.high


def _plain(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


class _Word(NamedTuple):
    start: int
    end: int
    norm: str
    bare: str
    """`norm` without a glued "و" (`_glueless`): what hedge and cue phrases are matched on."""


@lru_cache(maxsize=65536)
def _norm(token: str) -> str:
    """`normalize` of one token, remembered: news repeats its words, and this runs on every word of
    every candidate sentence of a counting question."""
    return normalize(token) or token


def _words(text: str) -> list[_Word]:
    out = []
    for m in _TOKEN.finditer(text):
        norm = _norm(m.group())
        out.append(_Word(m.start(), m.end(), norm, _glueless(norm)))
    return out


def _bare(norm: str) -> str:
    """A number word without a glued و / ب / ل ("وعشرين" -> "عشرين")."""
    rest = norm[1:]
    if len(norm) > 2 and norm[0] in "وبل" and (rest in _UNITS or rest in _TENS or rest in _HUNDREDS or rest in _SCALES):
        return norm[1:]
    return norm


def _digits(raw: str) -> float | None:
    s = raw.translate(_DIGIT_VALUE).replace("٬", ",").replace("٫", ".")
    if re.fullmatch(r"\d{1,3}(,\d{3})+", s):
        s = s.replace(",", "")
    elif re.fullmatch(r"\d{1,3}(\.\d{3})+", s) and not re.fullmatch(r"\d\.\d{3}", s):
        s = s.replace(".", "")  # "1.500" in Maghrebi writing
    s = s.replace(",", ".")
    try:
        return float(s)
    except ValueError:
        return None


def _word_value(norm: str) -> int | None:
    w = _bare(norm)
    for table in (_UNITS, _TENS, _HUNDREDS):
        if w in table:
            return table[w]
    return _ENGLISH.get(w)


def _match_before(words: list[_Word], i: int, phrases: list[tuple[str, ...]]) -> int:
    """How many words before position `i` form one of `phrases` (0 when none)."""
    for p in phrases:  # longest first (`_longest_first`)
        n = len(p)
        if i - n >= 0 and tuple(w.bare for w in words[i - n : i]) == p:
            return n
    return 0


def _match_after(words: list[_Word], j: int, phrases: list[tuple[str, ...]], skip: int = 2) -> int:
    """End index of one of `phrases` starting within `skip` words after `j`, else 0."""
    for k in range(j, min(j + skip + 1, len(words))):
        first = words[k].bare
        for p in phrases:
            if p[0] == first and tuple(w.bare for w in words[k : k + len(p)]) == p:
                return k + len(p)
    return 0


@lru_cache(maxsize=65536)
def _glueless(norm: str) -> str:
    return norm[1:] if len(norm) > 3 and norm[0] == "و" and not norm.startswith("وف") else norm


def _number_at(words: list[_Word], i: int) -> tuple[float, int] | None:
    """The value of the number that starts at word `i` and the index after it, or None."""
    w = words[i]
    if w.norm[0].isdigit():
        value = _digits(w.norm)
        if value is None:
            return None
        j = i + 1
        if j < len(words) and _bare(words[j].norm) in _SCALES and _bare(words[j].norm) != normalize("مئة"):
            value *= 1000 if _bare(words[j].norm) in _forms("ألف آلاف ألفا") else _SCALES[_bare(words[j].norm)]
            j += 1
        elif j < len(words) and words[j].norm in _ENGLISH_SCALES:
            value *= _ENGLISH_SCALES[words[j].norm]
            j += 1
        return value, j
    if _word_value(w.norm) is None and _bare(w.norm) not in _SCALES:
        return None
    if w.norm.startswith("ال") and _word_value(w.norm[2:]) is not None:
        return None  # "الاثنين" is Monday, "الثلاث" a definite adjective
    if _bare(w.norm) in _PLURAL_SCALES or (w.norm.startswith("ال") and w.norm not in _SCALES):
        return None  # "آلاف" alone is a range (`_RANGES`), "الألف" an ordinal
    total, j, current = 0, i, 0
    while j < len(words):
        norm = _bare(words[j].norm)
        value = _word_value(words[j].norm)
        if j > i and not (words[j].norm.startswith("و") or norm in _SCALES or norm in (normalize("عشر"), normalize("عشرة"))):
            if not (words[j].norm in _ENGLISH or words[j].norm in _ENGLISH_SCALES or words[j].norm == "and"):
                break
        if words[j].norm == "and":
            j += 1
            continue
        if value is not None:
            if value == 10 and current and current < 10 and j > i:
                current += 10  # "ثلاثة عشر"
            else:
                current += value
        elif norm in _SCALES or words[j].norm in _ENGLISH_SCALES:
            scale = _SCALES.get(norm) or _ENGLISH_SCALES[words[j].norm]
            if norm in _PLURAL_SCALES:
                scale = {normalize("آلاف"): 1000, normalize("ملايين"): 10**6, normalize("مليارات"): 10**9}[norm]
            if scale in (2000, 2 * 10**6):
                current, scale = max(current, 1) * 2, scale // 2
            total += max(current, 1) * scale
            current = 0
        else:
            break
        j += 1
    total += current
    return (float(total), j) if total else None


def category_of(norm_words: list[str]) -> str:
    """The toll category named by any of `norm_words`, or ""."""
    for w in norm_words:
        for form in (w, _glueless(w), w[1:] if len(w) > 3 and w[0] in "وبل" else w, w[2:] if w.startswith("ال") else w):
            if form in _CATEGORY_OF:
                return _CATEGORY_OF[form]
    return ""


def _new_clause(norm: str) -> bool:
    """A word with a glued conjunction ("وأصيب", "وإصابة") starts the next clause of a sentence."""
    return len(norm) > 3 and norm[0] == "و" and not norm.startswith("وف")


def _noun_of(words: list[_Word], i: int, j: int, boundaries: set[int], ends: dict[int, int] | None = None) -> str:
    """What the figure at words[i:j] counts: the word after it when it names a category, else a
    category named before it (up to `BACK_WORDS`, not past the previous figure and its own noun), else
    one named in the few words after it before the next clause, else the noun after it."""
    return _nouns(words, i, j, boundaries, ends)[0]


def _nouns(
    words: list[_Word], i: int, j: int, boundaries: set[int], ends: dict[int, int] | None = None
) -> tuple[str, frozenset[str]]:
    """`_noun_of`, and every category named in the figure's windows: "مصرع جميع ركاب الطائرة البالغ
    عددهم 39" counts the aboard and the killed alike."""
    ends = ends or {}
    ahead = []
    for w in words[j : j + 4]:
        if (ahead and _new_clause(w.norm)) or (not ahead and _new_clause(w.norm) and category_of([w.norm])):
            break
        ahead.append(w.norm)
    previous = max([b for b in boundaries if b < i], default=None)
    stop_back = max(0, i - BACK_WORDS)
    if previous is not None and previous >= stop_back:
        after_previous = ends.get(previous, previous + 1)
        own_noun = after_previous < i and not _new_clause(words[after_previous].norm)
        stop_back = min(i, after_previous + (1 if own_noun else 0))
    before = list(reversed([w.norm for w in words[stop_back:i]]))
    stop_ahead = min([b for b in boundaries if b > j] + [j + len(ahead)])
    following = [w.norm for w in words[j:stop_ahead]]
    named = frozenset(c for c in (category_of([w]) for w in before + following) if c)
    if ahead and category_of(ahead[:1]):
        return category_of(ahead[:1]), _also(category_of(ahead[:1]), named)
    found = category_of(before) or category_of(following)
    if found:
        return found, _also(found, named)
    if ahead and ahead[0] not in _GENERIC and not ahead[0][0].isdigit() and len(ahead[0]) > 2:
        noun = ahead[0]
        return (noun[2:] if noun.startswith("ال") else noun), named
    return "", named


def _also(nearest: str, named: frozenset[str]) -> frozenset[str]:
    """The categories a figure can be read as: only its nearest, except that people on board can also
    be a toll ("مصرع جميع ركاب الطائرة البالغ عددهم 39"); killed and injured never stand for each other
    ("قتل فلسطينيان ... بينما أصيب 170")."""
    return named if nearest == "aboard" else frozenset({nearest})


BACK_WORDS = 8
"""How far back a figure's category is looked for: "ارتفع عدد القتلى الفلسطينيين في أحداث غزة، يوم
الجمعة، إلى 3 أشخاص" names what it counts seven words before the figure."""


def counts_in(text: str) -> list[Count]:
    """Every count in `text`, in order, with its interval, noun and offsets.

    Example:
        >>> [(text[c.start:c.end], c.normalized, c.noun) for text in ["قتل نحو ١٠٠ شخص وأصيب 20 آخرون"]
        ...  for c in counts_in(text)]
        [('نحو ١٠٠', '90-110', 'killed'), ('20', '20', 'injured')]
    """
    return list(_counts(text))


@lru_cache(maxsize=8192)
def _counts(text: str) -> tuple[Count, ...]:
    words = _words(text)
    if not any(_numberish(w.norm) for w in words):
        return ()  # most sentences hold no figure: say so after one cheap look at each word
    found: list[Count] = []
    # A word is a boundary when a number sits there (nouns are read up to the next figure).
    starts: dict[int, tuple[float, int]] = {}
    i = 0
    while i < len(words):
        if not _numberish(words[i].norm):
            i += 1
            continue
        got = _number_at(words, i)
        if got is not None:
            starts[i] = got
            i = got[1]
        else:
            i += 1
    boundaries = set(starts)
    ends = {k: v[1] for k, v in starts.items()}
    consumed: set[int] = set()
    skip: set[int] = set()
    for i, w in enumerate(words):
        if i in starts or not _numberish(w.norm):
            continue
        bare = _glueless(w.norm)
        stem = bare[:-2] if len(bare) > 4 else ""
        if i not in starts and bare.endswith(("ين", "ان")) and stem in _DUAL_STEMS:
            beside, named = _nouns(words, i, i + 1, boundaries, ends)
            noun = category_of([w.norm]) or (beside if beside in CATEGORIES else stem)
            found.append(Count(w.start, w.end, 2, 2, noun, False, group_of([w.norm]), named))
            continue
        vague = _RANGES.get(_bare(w.norm)) or _RANGES.get(_glueless(w.norm).removeprefix("ال"))
        if i in skip:
            continue
        if i not in starts and vague is not None and not (i > 0 and i - 1 in starts):
            first = i - _match_before(words, i, _HEDGES_BEFORE)
            last, low, high, after = w.end, vague[0], vague[1], i + 1
            following = _bare(words[i + 1].norm) if i + 1 < len(words) else ""
            if following in _PLURAL_SCALES or following.removeprefix("ال") in _PLURAL_SCALES:
                scale = 1000 if "لاف" in words[i + 1].norm else 10**6
                last, low, high, after = words[i + 1].end, low * scale, (high + 1) * scale - 1, i + 2  # "عشرات الآلاف"
                skip.add(i + 1)
            noun = _noun_of(words, i, after, boundaries)
            found.append(Count(words[first].start, last, low, high, noun, False, _group_after(words, after)))
    for i, (value, j) in sorted(starts.items()):
        raw = words[i].norm
        clock = ":" in text[max(0, words[i].start - 1) : words[i].end + 1]
        if _YEAR.match(raw) or _is_date_part(words, i, j) or _is_time(words, i, j) or clock:
            continue
        percent = text[words[i].end : words[i].end + 2].strip()[:1] in ("%", "٪")
        if (j < len(words) and words[j].norm in _NOT_COUNT_AFTER) or percent:
            continue
        low, high, first, last = value, value, i, j
        if n := _match_before(words, i, _ABOUT_BEFORE):
            low, high, first = value * (1 - ABOUT), value * (1 + ABOUT), i - n
        elif n := _match_before(words, i, _LOWER_BEFORE):
            low, high, first = value, INFINITY, i - n
        elif n := _match_before(words, i, _UPPER_BEFORE):
            low, high, first = 0.0, value, i - n
        if i in consumed:
            continue
        if _match_before(words, first, [(normalize("بين"),)]) and j < len(words):
            k = j + 1 if words[j].norm == "و" else j
            if k in starts and (k > j or words[j].norm.startswith("و")):
                consumed.add(k)
                high, last = starts[k][0], starts[k][1]
                j = last
        if end := _match_after(words, j, _LOWER_AFTER):
            low, high, last = value, INFINITY, end
        elif end := _match_after(words, j, _ABOUT_AFTER, skip=1):
            low, high, last = value * (1 - ABOUT), value * (1 + ABOUT), end
        if _match_after(words, j, _INCLUDING, skip=3) and _perpetrator_follows(words, j):
            low = min(low, value - 1)
        elif _match_after(words, j, _PLUS, skip=3) and _perpetrator_follows(words, j):
            high = max(high, value + 1)
        noun, named = _nouns(words, first, j, boundaries, ends)
        part = any(words[k].norm in _BREAKDOWN or words[k].bare in _BREAKDOWN for k in range(max(0, first - 2), first))
        end = words[max(last, j) - 1].end
        found.append(Count(words[first].start, end, low, high, noun, part, _group_after(words, j), named))
    return tuple(_inherit(text, _with_crew(text, sorted(found, key=lambda c: c.start))))


@lru_cache(maxsize=65536)
def _numberish(norm: str) -> bool:
    """Whether a word can start or be a figure: digits, a number word, a vague plural, a dual."""
    if norm[:1].isdigit():
        return True
    bare, glueless = _bare(norm), _glueless(norm)
    if bare in _UNITS or bare in _TENS or bare in _HUNDREDS or bare in _SCALES or norm in _ENGLISH or norm in _ENGLISH_SCALES:
        return True
    if bare in _RANGES or glueless.removeprefix("ال") in _RANGES:
        return True
    return len(glueless) > 4 and glueless.endswith(("ين", "ان")) and glueless[:-2] in _DUAL_STEMS


def _inherit_group(text: str, found: list[Count]) -> list[Count]:
    out = list(found)
    for k in range(1, len(found)):
        c, before = found[k], out[k - 1]
        if c.group or not before.group or c.part:
            continue
        after = [_norm(w) for w in _TOKEN.findall(text[c.end : c.end + 20])][:1]
        if (after and after[0] in _OTHERS) or text[c.start : c.start + 1] == "و":
            out[k] = Count(c.start, c.end, c.low, c.high, c.noun, c.part, before.group, c.named)
    return out


_OTHERS = _forms("آخرون آخرين آخران آخرَين others more")


def _inherit(text: str, found: list[Count]) -> list[Count]:
    """A figure that names no category of its own shares its neighbour's when nothing between them
    names another: in "مقتل 7 أفراد من قوات الجيش 71 إرهابيا" both figures count the killed. A figure
    of "others" ("أربعة مسلحين ... وقتل أربعة آخرون") or joined by "و" ("أربعة مسلحين ... واثنين")
    counts the group of the figure before it."""
    found = _inherit_group(text, found)
    out = list(found)
    for k, c in enumerate(found):
        if c.noun in CATEGORIES or c.part:
            continue
        for other in (found[k - 1] if k else None, found[k + 1] if k + 1 < len(found) else None):
            if other is None or other.noun not in CATEGORIES:
                continue
            lo, hi = sorted([(c.start, c.end), (other.start, other.end)])
            between = [normalize(w) for w in _TOKEN.findall(text[lo[1] : hi[0]])]
            if len(between) <= 5 and not category_of(between):
                out[k] = Count(c.start, c.end, c.low, c.high, other.noun, c.part, c.group, c.named | {other.noun})
                break
    return out


_CREW = _forms("طاقم الطاقم طاقمها للطاقم crew")


def _joined_by_and(between: str, second: str) -> bool:
    """"4 من قوات الدرك و2 من قوات الأمن": the second figure follows "و" within a few words."""
    words = between.split()
    return len(words) <= 4 and (second.startswith("و") or (words and words[-1] == "و"))


def _with_crew(text: str, found: list[Count]) -> list[Count]:
    """A figure followed, after "و", by one that counts no noun of its own ("4 من قوات الدرك و2 من
    قوات الأمن") is a breakdown of one toll: it reads as 4-6. Likewise "60 راكبا و6 أفراد للطاقم" and
    "26 من الركاب وأفراد طاقمها المكون من ستة": the first figure counts passengers, the total with the crew is the sum, so the figure reads as 60-66 (it agrees with a
    report of 66 on board, and with one of 60 passengers)."""
    out = list(found)
    for k, (a, b) in enumerate(zip(found, found[1:])):
        if not a.noun or a.part or a.high == INFINITY:
            continue
        between = [normalize(w) for w in _TOKEN.findall(text[a.end : b.end + 40])][:8]
        names_crew = any(w in _CREW or w[1:] in _CREW or w[2:] in _CREW for w in between)
        crew = names_crew and b.noun in ("", a.noun, "aboard", "افراد", "اعضاء")
        joined = a.noun in CATEGORIES and not b.noun and _joined_by_and(text[a.end : b.start], text[b.start : b.end])
        if crew or joined:
            out[k] = Count(a.start, a.end, a.low, a.high + b.high, a.noun, a.part, a.group, a.named)
    return out


def _group_after(words: list[_Word], j: int) -> str:
    """The group named in the few words after a figure, before the next clause."""
    for w in words[j : j + 4]:
        if _new_clause(w.norm) or w.norm in _BREAKDOWN or w.norm[0].isdigit():
            return ""
        if w.norm in _GROUP_LINKS:
            continue  # "7 من عناصر الجيش", "7 أفراد من قوات الجيش"
        return group_of([w.norm])
    return ""


_GROUP_LINKS = _forms("من افراد أفراد عناصر عنصرا فردا أعضاء اعضاء قوات رجال أشخاص اشخاص شخصا")


def _perpetrator_follows(words: list[_Word], j: int) -> bool:
    return any(_glueless(w.norm) in _PERPETRATORS or w.norm in _PERPETRATORS for w in words[j : j + 6])


_MONTH_WORDS = _forms(
    "يناير فبراير مارس أبريل إبريل مايو يونيو يوليو أغسطس سبتمبر أكتوبر نوفمبر ديسمبر كانون شباط آذار نيسان "
    "أيار حزيران تموز آب أيلول تشرين جانفي فيفري أفريل ماي جوان جويلية أوت"
) | frozenset("january february march april may june july august september october november december".split())


_CLOCK = re.compile(r"^\d{1,2}[.,:]\d{2}$")
_TIME_BEFORE = _forms("الساعة ساعة الساعه at")
_TIME_AFTER = _forms("ت غ غرينتش بتوقيت بالتوقيت صباحا مساء ظهرا فجرا gmt am pm")


def _is_time(words: list[_Word], i: int, j: int) -> bool:
    """"الساعة 15,00 (12,00 ت غ)": a clock time, not a count."""
    if not _CLOCK.match(words[i].norm):
        return False
    before = {w.norm for w in words[max(0, i - 3) : i]}
    after = {w.norm for w in words[j : j + 2]}
    return bool(before & _TIME_BEFORE or after & _TIME_AFTER)


def _is_date_part(words: list[_Word], i: int, j: int) -> bool:
    """A day of the month ("15 مارس", "March 15") is part of a date, not a count."""
    after = words[j].norm if j < len(words) else ""
    before = words[i - 1].norm if i else ""
    return after in _MONTH_WORDS or _glueless(after) in _MONTH_WORDS or before in _MONTH_WORDS


@lru_cache(maxsize=8192)
def update_cue(text: str) -> str:
    """"rise" when `text` says its figure rose from an earlier one ("ارتفعت الحصيلة إلى", "rose to"),
    "open" when it says its figure is not final ("حصيلة أولية", "حتى الآن"), else ""."""
    joined = " " + " ".join(w.bare for w in _words(text)) + " "
    for kind, cues in (("rise", _RISE_TEXT), ("open", _OPEN_TEXT)):
        if any(cue in joined for cue in cues):
            return kind
    return ""


_RISE_TEXT = [" " + " ".join(p) + " " for p in _RISE_CUES]
_OPEN_TEXT = [" " + " ".join(p) + " " for p in _OPEN_CUES]
