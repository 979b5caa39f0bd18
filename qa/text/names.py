"""Who and where, read out of news sentences for the outlets-that-disagree note, only where sure.

A "who" or "where" question (`qa.text.kinds`) is answered by a name. To say that outlets disagree on
it (`qa.answer.disagreement`), each report's name must be read from its sentence, and names are
written many ways: "كابول" and "Kabul", "الرقة" and "مدينة الرقة المحتلة", "أدرعي" and "أفيخاي أدرعي",
"داعش" and "تنظيم الدولة الإسلامية". A wrong note costs more than a missing one, so:

- a place is read only right after a place marker: "في مدينة X", "ببلدة X", "محافظة X" (at most two
  words, up to punctuation, a function word, a direction or a glued preposition: "بلدة عربين
  بالغوطة" reads "عربين"). Markers have a level, `city` (مدينة، بلدة، قرية، مخيم) or `region`
  (محافظة، ولاية، إقليم): a town is compared with towns only, so a city against its province is not
  a disagreement;
- a person is read only beside a role word the question names ("من هو المتحدث باسم ...؟": "قال X،
  المتحدث باسم" or "المتحدث باسم ...، X،") or as the agent right after the verb the question asks
  ("من تبنى الهجوم؟": "تبنى تنظيم داعش الهجوم" reads "تنظيم داعش", stopping at the question's own words);
- a value made only of the question's own words is not an answer and is not read;
- two names agree when they share any name word (titles, "ال" and glued و/ب dropped; "أبو", "بن",
  "عبد" do not count), when one word holds the other ("ويسنجق", "كوي سنجق"), when a Latin word is
  spelled by an Arabic one (`qa.text.transliterate`), or when both are names of one group
  (`ALIASES`). They differ only when none of this holds: "أدرعي" and "أفيخاي أدرعي" agree.

No gazetteer, no model: pure text rules over at most a few dozen sentences. Offsets point into the
raw sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from qa.text.normalize import STOPWORDS, normalize
from qa.text.transliterate import arabic_skeleton, spelled_in

__all__ = ["ALIASES", "Name", "mentioned", "names_agree", "persons_in", "place_level", "places_in"]


def _forms(words: str) -> frozenset[str]:
    return frozenset(normalize(w) for w in words.split())


_CITY = _forms("مدينة بلدة قرية مخيم مدينه city town village camp")
_REGION = _forms("محافظة ولاية إقليم اقليم مقاطعة محافظه ولايه province")
_QUARTER = _forms("حي")
"""Marker words, without the article: "المدينة" and "المنطقة" are a city or an area already named, and
"منطقة" (area, zone: "منطقة عازلة") names no place often enough to be left out."""
MAX_WORDS = 2
"""Words of a place name: "جلال آباد", "دير الزور"; a third is usually an adjective or another place."""
MAX_PERSON_WORDS = 4
_STOP = _forms(
    "شمال جنوب شرق غرب شمالي جنوبي شرقي غربي وسط قرب بالقرب جنوبا شمالا شرقا غربا غرب حيث التي الذي "
    "الواقعة الواقع الحدودية المحاذية التابعة عاصمة العاصمة مركز مساء صباح ليل فجر يوم أمس اليوم "
    "الاثنين الثلاثاء الأربعاء الخميس الجمعة السبت الأحد إثر بعد قبل خلال حسب وفق وفقا بحسب قال قالت "
    "أعلن أعلنت أفاد أفادت ذكر ذكرت بينهم إن أن بشكل ثانية ثالثة رابعة خامسة جديدة أخرى أولى واحدة "
    "مسؤولية مسؤوليته المسؤولية north south east west near"
) | STOPWORDS
_TITLES = _forms(
    "الرئيس رئيس السيد الشيخ الدكتور د العميد اللواء العقيد المقدم الرائد النقيب الجنرال الأمير الملك "
    "الوزير وزير المتحدث الناطق زعيم قائد تنظيم جماعة حركة ميليشيا مليشيا مليشيات ميليشيات ما يسمى "
    "mr dr general president minister"
)
_WEAK = _forms("أبو ابو بن ابن بنت عبد آل ال")
"""Name words too common to make two names one ("أبو محمد" is not "أبو بكر")."""
ALIASES: tuple[frozenset[str], ...] = tuple(
    _forms(words)
    for words in (
        "داعش الدولة الإسلامية الاسلامية isis isil",
        "الحوثي الحوثيين الحوثيون أنصار انصار",
        "طالبان taliban",
        "القاعدة qaeda",
    )
)
"""Groups that outlets name differently: "داعش" and "تنظيم الدولة الإسلامية" are one."""
_ROLES = _forms("المتحدث متحدث الناطق ناطق قائد رئيس زعيم وزير محافظ مدير أمير حاكم spokesman leader head")
_QUOTES = frozenset("\"'")
"""Quotes around a name ("تنظيم "الدولة الإسلامية"", "بلدة "تريب"") are read through."""
_WORD = re.compile(r"[^\W\d_]+|\d+|[^\w\s]")


@dataclass(frozen=True)
class Name:
    """A name read in a sentence: `start`/`end` into it, its `words` normalized, and what it fills
    (a place `level`, "city" or "region"; for a person, the role or verb it was read beside)."""

    start: int
    end: int
    words: tuple[str, ...]
    level: str

    @property
    def normalized(self) -> str:
        return " ".join(self.words)


@lru_cache(maxsize=8192)
def _tokens(text: str) -> tuple[tuple[int, int, str], ...]:
    return tuple((m.start(), m.end(), normalize(m.group())) for m in _WORD.finditer(text))


def _bare(word: str) -> str:
    """A word without the article and one glued preposition or conjunction: "بمدينة" -> "مدينه"."""
    for prefix in ("وبال", "وال", "بال", "فال", "لل", "ال", "وب", "وفي", "و", "ب", "ف", "ل"):
        if word.startswith(prefix) and len(word) - len(prefix) >= 3:
            return word[len(prefix) :]
    return word


def _stops(word: str) -> bool:
    if not word[:1].isalpha() or word in _STOP or _bare(word) in _STOP:
        return True
    return word.startswith(("بال", "لل", "وال")) and len(word) > 5  # "عربين بالغوطة": another place


def place_level(word: str) -> str:
    """"city", "region" or "quarter" for a place marker ("بمدينة", "محافظة", "حي"), else ""; never
    for a marker with the article ("المدينة", "بالمدينة")."""
    if "ال" in word[:4]:
        return ""
    for form in (word, word[1:] if word[:1] in "بو" else word, word[2:] if word[:2] in ("وب", "في") else word):
        if form in _CITY:
            return "city"
        if form in _REGION:
            return "region"
        if form in _QUARTER:
            return "quarter"
    return ""


def _adjective(word: str, first: bool) -> bool:
    """"منطقة حدودية", "مدينة عفرين ونامل": an indefinite nisba adjective first, or a word glued to
    "و" second, is not part of a name."""
    if first:
        return not word.startswith("ال") and word.endswith("يه") and len(word) > 4
    return word.startswith("و") and not word.startswith("وا")


def places_in(sentence: str, level: str = "", asked: frozenset[str] = frozenset()) -> tuple[Name, ...]:
    """The places `sentence` names after a marker, of `level` when given, leaving out those made of
    the question's own words (`asked`, normalized).

    Example:
        >>> [p.normalized for p in places_in("قتل 15 طفلا في غارة على مدرسة في بلدة عربين بالغوطة الشرقية")]
        ['عربين']
    """
    tokens = _tokens(sentence)
    found = []
    for k, (_, _, word) in enumerate(tokens):
        marker = place_level(word)
        if not marker or (level and marker != level):
            continue
        words = _words_after(tokens, k, MAX_WORDS, lambda w, first: bool(place_level(w)) or _adjective(w, first))
        name = _name(words, marker, asked)
        if name is not None:
            found.append(name)
    return tuple(found)


def persons_in(
    sentence: str, anchors: frozenset[str], asked: frozenset[str] = frozenset(), qualifier: str = ""
) -> tuple[Name, ...]:
    """The persons (or groups) `sentence` names as filling the question's slot: beside one of the
    question's role words, or right after its verb. `anchors` are the question's role words and verb,
    normalized; `asked` its words, which end a name and are never one; `qualifier`, the word the
    question puts after its role ("المتحدث باسم الجيش" -> "الجيش"), must follow the role within a few
    words, so that another ministry's spokesman is not read.

    Example:
        >>> [p.normalized for p in persons_in("وتبنى تنظيم داعش الهجوم في بيان", frozenset({"تبني"}), frozenset({"تبني", "الهجوم"}))]
        ['تنظيم داعش']
    """
    tokens = _tokens(sentence)
    found = []
    for k, (_, _, word) in enumerate(tokens):
        anchor = next((a for a in anchors if _is(word, a) or (a in _SPOKESMAN and _bare(word) in _SPOKESMAN)), "")
        if not anchor:
            continue
        if anchor in _ROLES:
            near = [_bare(w) for _, _, w in tokens[k + 1 : k + 5]]
            if not qualifier or _bare(qualifier) in near:
                found += _beside_role(tokens, k, anchor, asked)
            continue
        words = _words_after(tokens, k, MAX_PERSON_WORDS, lambda w, first: w in asked or _bare(w) in asked)
        name = _name(words, anchor, asked)
        if name is not None:
            found.append(name)
    return tuple(found)


def _words_after(tokens, k: int, limit: int, ends) -> list[tuple[int, int, str]]:
    """The name's words after token `k` (a place marker or a person's anchor): at most `limit`, quote
    marks skipped, ending at a stop word or where `ends(word, first)` says (`first`: no word taken yet)."""
    words: list[tuple[int, int, str]] = []
    for start, end, w in [t for t in tokens[k + 1 : k + 3 + limit] if t[2] not in _QUOTES][:limit]:
        if _stops(w) or ends(w, not words):
            break
        words.append((start, end, w))
    return words


def _beside_role(tokens, k: int, role: str, asked: frozenset[str]) -> list[Name]:
    """"قال أشرف القدرة، المتحدث باسم الوزارة" (a name between a reporting verb and the role) or
    "المتحدث باسم الوزارة، أشرف القدرة، إن" (a name set off by commas after the role phrase)."""
    found = []
    before = []
    for start, end, w in reversed(tokens[max(0, k - MAX_PERSON_WORDS - 1) : k]):
        if w == "," and not before:
            continue
        if w in _PERSON_TITLES or _stops(w):
            if w in _PERSON_TITLES or w in _SAID or _bare(w) in _SAID:  # "قال X،" or "العميد X،"
                name = _name(list(reversed(before)), role, asked)
                if name is not None:
                    found.append(name)
            break
        before.append((start, end, w))
    for i in range(k + 1, min(len(tokens), k + 9)):  # "الناطق باسم الجيش الوطني الليبي العميد أحمد المسماري"
        if tokens[i][2] in _PERSON_TITLES:
            words = []
            for start, end, w in tokens[i + 1 : i + 4]:
                if _stops(w) or w in _PERSON_TITLES:
                    break
                words.append((start, end, w))
            name = _name(words, role, asked)
            if name is not None:
                found.append(name)
            return found
        if _stops(tokens[i][2]) and tokens[i][2] not in (",", "باسم"):
            break
    commas = [i for i in range(k + 1, min(len(tokens), k + 9)) if tokens[i][2] == ","]
    if len(commas) >= 2 and commas[1] - commas[0] - 1 <= MAX_PERSON_WORDS:
        words = [t for t in tokens[commas[0] + 1 : commas[1]] if t[2] not in _PERSON_TITLES]
        if not any(_stops(w) for _, _, w in words):
            name = _name(list(words), role, asked)
            if name is not None:
                found.append(name)
    return found


def _is(word: str, anchor: str) -> bool:
    return word == anchor or _bare(word) == anchor or (len(word) > 3 and word[1:] == anchor)


_SPOKESMAN = _forms("المتحدث متحدث الناطق ناطق")
_PERSON_TITLES = _forms("العميد اللواء العقيد المقدم الجنرال الدكتور الطبيب السيد الشيخ الوزير")


_SAID = _forms("قال قالت أعلن أعلنت أفاد أفادت ذكر ذكرت أكد أكدت صرح صرحت أوضح أوضحت said told")


def _name(words: list[tuple[int, int, str]], level: str, asked: frozenset[str]) -> Name | None:
    if not words:
        return None
    kept = tuple(w for _, _, w in words)
    if all(w in asked or _bare(w) in asked or w in _TITLES for w in kept):
        return None  # the question's own words, or a title alone: not an answer
    return Name(words[0][0], words[-1][1], kept, level)


def _keys(words: tuple[str, ...]) -> frozenset[str]:
    bare = ((w, _bare(w)) for w in words)
    return frozenset(b for w, b in bare if b not in _WEAK and w not in _TITLES and b not in _TITLES and len(b) >= 3)


def _skeleton(word: str) -> str:
    return arabic_skeleton(word)[0] if not word.isascii() else word


def _near(x: str, y: str) -> bool:
    """Two Arabic spellings of one foreign name: the same consonants ("سالزبري", "سولزبيري"; "جنوة",
    "جنوى"), or, for five or more, all but one ("فردركشن", "فردريكتون")."""
    a, b = _skeleton(x), _skeleton(y)
    if len(a) < 2 or len(b) < 2 or x.isascii() or y.isascii():
        return False
    if a == b:
        return True
    if min(len(a), len(b)) < 5 or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(p != q for p, q in zip(a, b)) <= 1
    short, long = sorted((a, b), key=len)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def mentioned(words: tuple[str, ...], text: str) -> bool:
    """Whether `text` names any word of the name `words` (as `names_agree` would match it): an outlet
    that names the other's place or person elsewhere ("تحطمت ... قرب سميرم" in a report of a flight
    to Yasuj) is not contradicting it."""
    keys = _keys(words)
    if not keys:
        return True
    found = _text_keys(text)
    return bool(keys & found[0] or {_skeleton(k) for k in keys if len(_skeleton(k)) >= 3} & found[1])


@lru_cache(maxsize=256)
def _text_keys(text: str) -> tuple[frozenset[str], frozenset[str]]:
    bare = frozenset(_bare(w) for _, _, w in _tokens(text) if w[:1].isalpha())
    return bare, frozenset(sk for w in bare if len(w) >= 3 and len(sk := _skeleton(w)) >= 3)


def names_agree(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Whether two names (normalized words) may name one person or place; see the module docstring.

    Example:
        >>> names_agree(("كابول",), ("kabul",)), names_agree(("ادرعي",), ("افيخاي", "ادرعي")), names_agree(("حلب",), ("ادلب",))
        (True, True, False)
    """
    ka, kb = _keys(a), _keys(b)
    if not ka or not kb or ka & kb:
        return True
    if any(x in y or y in x or _near(x, y) for x in ka for y in kb if len(x) >= 4 and len(y) >= 4):
        return True
    if any(ka & g and kb & g for g in ALIASES) or any(set(a) & g and set(b) & g for g in ALIASES):
        return True
    latin_a, latin_b = {w for w in ka if w.isascii()}, {w for w in kb if w.isascii()}
    if latin_a and latin_a == ka and latin_b == kb:
        return False  # two Latin names with no word in common
    return bool(spelled_in(latin_a, kb - latin_b) or spelled_in(latin_b, ka - latin_a))
