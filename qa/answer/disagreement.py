"""Outlets that disagree: the figure or date that answers a question, as each outlet reported it.

Newsrooms cross-check tolls by hand because outlets publishing within hours of each other give
different figures. After the answer model has chosen its quotes (`Assistant.ask`), this module reads
the value that fills the question's slot (a count for "كم"/"how many", a day for "متى"/"when", a person
for "من"/"who", a place for "أين"/"where", read by `qa.text.names` only where sure) in the
sentences the assistant already weighed, one report per outlet, and says when the reports differ or
when a later one updates an earlier toll. It never picks a winner and never changes the quotes: the
note sits beside the answer.

The rules, each for a look-alike that must not read as a disagreement:

- Like with like: a count is compared only with counts of the same noun (`qa.text.values`: killed
  with killed, injured with injured); the noun comes from the question ("كم عدد القتلى") or, when the
  question names none, from the first report.
- One event: two articles tell the same event when published within `EVENT_DAYS` of each other and
  their headlines and leads share at least `SHARED_LEAD` of the rarer one's idf mass (place and main
  actors are the rare words there). A sentence that names a different day for what it counts
  (`qa.ingest.dates.dates_in`) or that speaks of an earlier event ("بعد ثلاثة أيام من مقتل 14")
  is left out.
- One report per story: syndicated copies (`qa.search.syndication`) speak once.
- Values differ only when their intervals do not overlap ("نحو 100" is 90-110; "13 على الأقل" is 13+).
- Names (`qa.text.names`): a place only after a marker ("في مدينة X"), compared with places of the
  same level; a person only beside the question's role word or after its verb; two names differ only
  when they share no word, no spelling and no alias, and neither outlet's article names the other's.
- An update is not a disagreement: when the reports, ordered by date, rise and one of them says so
  ("ارتفعت الحصيلة", "حصيلة جديدة", "حتى الآن", "rose to"), the note says "rose from X to Y".

Cheap: pure text over at most a few dozen sentences already in hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from qa.filters import Filters
from qa.index.lexical import lexical_tokens
from qa.index.selection import allowed_chunks
from qa.ingest.dates import dates_in
from qa.question import Question
from qa.records import Disagreement, Quote, Report
from qa.search.syndication import stories
from qa.text.names import mentioned, names_agree, persons_in, place_level, places_in
from qa.text.normalize import STOPWORDS, tokenize
from qa.text.sentences import split_sentences
from qa.text.values import Count, category_of, counts_in, group_of, update_cue

EVENT_DAYS = 2
"""Articles published more than this many days apart tell different events (a toll is updated within
a day or two; a week later it is another story)."""
SHARED_LEAD = 0.25
"""Share of the rarer lead's idf mass (headline and first sentence) that two articles must share to
tell the same event."""
NEWS_DAYS = 7
"""A day named in a report that lies further than this from the article's own date is about another
event (the BBC's list of earlier crashes under its report of the Aseman crash)."""
QUESTION_SHARE = 0.8
"""Share of the question's words (idf mass), among those the first report's article holds, that
another article must hold to report the same event."""
MAX_SENTENCES = 20
"""The weighed sentences read, strongest first: past 20 they add time, not reports."""
MORE_CHUNKS = 12
"""Chunks of a BM25 search (no embedding, a few milliseconds) whose articles' leads are read too: the
answer model reads 5 passages, one per story, and other outlets' reports of the event are often just
below them."""
PASSES = 3
LEAD_SENTENCES = 3
LEAD_CHARS = 700
MIN_SHARE = 0.05
"""A sentence answers the question, for this note, when the answer model gives it at least this share
of the best sentence's probability: the reports must answer what was asked."""
_EARLIER = [tuple(tokenize(p)) for p in (
    "بعد يومين من", "بعد ثلاثة أيام من", "بعد أيام من", "بعد أسبوع من", "في وقت سابق", "الأسبوع الماضي",
    "الشهر الماضي", "العام الماضي", "last week", "last month", "last year", "earlier this", "since",
)]  # fmt: skip
"""A sentence with these recalls another event or sums up many: its figure is not this event's."""
_EARLIER_TEXT = [" " + " ".join(p) + " " for p in _EARLIER]
_SINCE = tokenize("منذ")[0]
_STARTS = frozenset(tokenize("بدء بداية انطلاق اندلاع ذلك مطلع بدايه"))
_SUPERLATIVES = frozenset(tokenize("الأسوأ الأعنف الأكبر الأكثر الأول الأولى أسوأ أعنف أكبر"))
_YEAR = re.compile(r"^(19[5-9]\d|20\d\d)$")


class _Articles:
    """The snapshot as this module reads it, each article built once per question (the snapshot
    builds a new `Article` record on every lookup)."""

    def __init__(self, snapshot) -> None:
        self.snapshot = snapshot
        self._articles: dict[str, object] = {}
        self.articles = self
        self.lexical = snapshot.lexical
        self.chunks = snapshot.chunks

    @classmethod
    def over(cls, snapshot) -> _Articles:
        return snapshot if isinstance(snapshot, cls) else cls(snapshot)

    def __getitem__(self, doc_id: str):
        found = self._articles.get(doc_id)
        if found is None:
            found = self._articles[doc_id] = self.snapshot.articles[doc_id]
        return found


@dataclass(frozen=True)
class _Reading:
    """A sentence's value for the slot, with where it stands in its article."""

    doc_id: str
    start: int
    end: int
    value_start: int
    value_end: int
    low: float
    high: float
    normalized: str
    noun: str
    cue: str
    """"rise" or "open" (`qa.text.values.update_cue`), or ""."""
    group: str = ""
    days: frozenset[str] = frozenset()
    """The days the sentence (else its article's lead) names, resolved against the article's date."""
    name: tuple[str, ...] = ()
    """A person's or place's words, normalized (`qa.text.names`); empty for counts and days."""
    article_text: str = ""
    """For a name: the whole article, which agrees with another report's name when it names it too."""


def disagreement(
    weighed, order: list[int], quotes: tuple[Quote, ...], filters: Filters | None = None
) -> Disagreement | None:
    """The outlets' differing values for what `weighed.question` asks, or None.

    Reports are read first from the sentences the answer model weighed (best first, the first quote's
    article first), then from the leads of other articles on the question: those already retrieved
    and the best `MORE_CHUNKS` chunks of a BM25 search (no embedding; news leads state the toll).

    Args:
        weighed: The `Deliberation` the answer came from (its snapshot, candidates and probabilities).
        order: The candidates' indices best first, as the answer model ordered them.
        quotes: The answer's quotes; the first one's article speaks first when it holds a value.
        filters: The filters the answer was searched with; no other article is read.

    Returns:
        None when the question asks for no comparable slot, when only one outlet answers, or when all
        independent reports agree; else the `Disagreement` ("differ" or "update") with one report per
        outlet, oldest first.
    """
    question: Question = weighed.question
    kind = "where" if question.kind == "other" and _wanted_level(question) else question.kind  # "في أي بلدة"
    slot = {"how_many": "count", "when": "date", "who": "person", "where": "place"}.get(kind)
    if slot is None or not quotes or weighed.probabilities is None or not len(order):
        return None
    if slot == "person" and not _anchors(question):
        return None  # no role word or verb to read a name beside: nothing is read with confidence
    snapshot, p = _Articles.over(weighed.snapshot), weighed.probabilities
    best = max(float(p[order[0]]), 1e-300)
    wanted = _wanted_noun(question) if slot == "count" else _wanted_level(question) if slot == "place" else ""
    group = _wanted_group(question) if slot == "count" else ""
    named = _named_groups(question) if slot == "count" else frozenset()
    people = slot == "count" and not group and _counts_people(question)  # "كم شخصا": everyone, no group's part
    group_of = stories(snapshot.snapshot)
    readings: list[_Reading] = []
    said: dict[str, list[_Reading]] = {}  # outlet -> what its articles said so far
    seen_docs: set[str] = set()

    def take(doc_id: str, start: int, end: int) -> str:
        """"taken", or why not: "seen", "none" (no value of the slot), "apart" (another event, so far)."""
        if doc_id in seen_docs:
            return "seen"
        article = snapshot.articles[doc_id]
        reading = _read(article, start, end, slot, wanted or (readings[0].noun if readings else ""),
                        group or (readings[0].group if readings and not people else ""),
                        strict=people or (bool(readings) and not group), named=named, question=question)  # fmt: skip
        if reading is None or not _on_asked_day(question, article, reading):
            return "none"
        if any(_overlap(reading, earlier) for earlier in said.get(article.source or doc_id, ())):
            return "seen"  # the outlet already said this
        if readings and not (
            any(_same_event(snapshot, r, reading) for r in readings)
            and (
                _on_named_day(question, article, reading)
                or _tells_what_was_asked(snapshot, question, readings[0], reading)
            )
        ):
            return "apart"
        readings.append(reading)
        copies = group_of.get(doc_id, (doc_id,))
        seen_docs.update(copies)
        for d in copies:
            said.setdefault(snapshot.articles[d].source or d, []).append(reading)
        return "taken"

    first_doc = quotes[0].doc_id
    ranked = sorted(order, key=lambda i: weighed.candidates[i].doc_id != first_doc)  # stable: the quote's article first
    strongest = sorted((i for i in order if float(p[i]) / best >= MIN_SHARE), key=lambda i: -float(p[i]))[:MAX_SENTENCES]
    keep = set(strongest)
    sentences = [
        (weighed.candidates[i].doc_id, weighed.candidates[i].start, weighed.candidates[i].end) for i in ranked if i in keep
    ]
    sentences += [
        (doc_id, start, end)
        for doc_id in _more_articles(snapshot, question, weighed, ranked, filters)
        for start, end in _lead_sentences(snapshot.articles[doc_id].text)
    ]
    for _ in range(PASSES):  # a report may tell the same event as one found after it: read those again
        outcomes = [take(*sentence) for sentence in sentences]
        if "taken" not in outcomes:
            break
        sentences = [sentence for sentence, outcome in zip(sentences, outcomes) if outcome == "apart"]
    if len(said) < 2:
        return None  # one outlet alone (its copies included) is not a disagreement between outlets
    if all(_overlap(a, b) for k, a in enumerate(readings) for b in readings[k + 1 :]):
        return None
    dated = sorted(readings, key=lambda r: (snapshot.articles[r.doc_id].date or "", _CUE_ORDER[r.cue]))
    kind = "update" if slot == "count" and _is_update(dated) else "differ"
    return Disagreement(kind, tuple(_report(snapshot, r) for r in dated))


def _more_articles(snapshot, question: Question, weighed, ranked: list[int], filters: Filters | None) -> list[str]:
    """Articles whose leads are read after the weighed sentences: the weighed articles themselves (their
    lead may hold the toll while the retrieved chunk does not), then those of a BM25 search."""
    found = dict.fromkeys(weighed.candidates[i].doc_id for i in ranked)
    allowed = allowed_chunks(snapshot.snapshot, filters) if filters is not None else None
    _, ids = snapshot.lexical.search(question.search_text, MORE_CHUNKS, allowed)
    found.update(dict.fromkeys(snapshot.chunks[int(c)].doc_id for c in ids.tolist()))
    return list(found)


_PEOPLE = frozenset(tokenize("شخص شخصا أشخاص people persons"))


def _counts_people(question: Question) -> bool:
    """"كم شخصا قتلوا", "how many people": the question counts everyone, so a figure of one group
    ("أربعة مسلحين قتلوا", the attackers) is a part of the answer, not an outlet's answer."""
    words = tokenize(question.text)
    return any(w in ("كم", "many") and words[k + 1] in _PEOPLE for k, w in enumerate(words[:-1]))


@lru_cache(maxsize=256)
def _asked_days(question: str, published: str | None) -> frozenset[str]:
    """The days the question names by day and month ("يوم الجمعة 30 مارس"), resolved in the article's
    year; empty when it names none, or only days that depend on when it is asked (a weekday, "أمس")."""
    if not published or not any(ch.isdigit() for ch in question):
        return frozenset()
    found = dates_in(question, published)
    if [iso[5:] for _, _, iso in found] != [iso[5:] for _, _, iso in dates_in(question, "2001-12-31")]:
        return frozenset()  # resolved differently from another day: relative, not named
    return frozenset(iso for _, _, iso in found)


def _on_asked_day(question: Question, article, reading: _Reading) -> bool:
    """A report of another day than the one the question names tells another event (asked about the
    protest "يوم الجمعة 30 مارس", the August protest's toll is not an answer): judged on the days the
    report names, else on its article's date (published that day or within `EVENT_DAYS` after)."""
    asked = _asked_days(question.text, article.date)
    if not asked:
        return True
    if reading.days:
        return any((_days_apart(a, d) or 0) <= 1 for a in asked for d in reading.days)
    return any(
        (gap := _days_apart(a, article.date)) is not None and gap <= EVENT_DAYS and a <= article.date[:10]
        for a in asked
    )


def _on_named_day(question: Question, article, reading: _Reading) -> bool:
    """The question names a day ("30 مارس") and the report names that very day for what it counts:
    the day tells the asked event, as the question's words otherwise must (an outlet may call the
    protest "مظاهرات" where the question says "مسيرة العودة الكبرى")."""
    asked = _asked_days(question.text, article.date)
    return bool(asked and reading.days and asked & reading.days)


def _lead_sentences(text: str) -> list[tuple[int, int]]:
    """The first `LEAD_SENTENCES` sentences of an article (where news states what happened and its toll)."""
    return split_sentences(text, 0, min(len(text), LEAD_CHARS))[:LEAD_SENTENCES]


def _overlap(a: _Reading, b: _Reading) -> bool:
    if a.name or b.name:
        return names_agree(a.name, b.name) or mentioned(a.name, b.article_text) or mentioned(b.name, a.article_text)
    return a.low <= b.high and b.low <= a.high


def _wanted_level(question: Question) -> str:
    """"city" or "region" when the question names the level ("في أي مدينة", "في أي محافظة"), else "" (the
    first report's level then decides: a town is never compared with a province)."""
    words = tokenize(question.text)
    for k, w in enumerate(words[:-1]):
        if w in ("اي", "which", "what") and (level := place_level(words[k + 1])):
            return level
    return ""


_WHO_SKIP = frozenset(tokenize("هو هي هم الذي التي الذين is was were the"))


def _anchors(question: Question) -> frozenset[str]:
    """What a person is read beside: the word after "من"/"who" ("من تبنى" -> تبني, "من هو المتحدث" ->
    المتحدث). An English question over Arabic reports has none: its verb is not theirs."""
    words = tokenize(question.text)
    for k, w in enumerate(words[:3]):
        if w in ("من", "ومن", "فمن"):
            rest = [x for x in words[k + 1 : k + 3] if x not in _WHO_SKIP]
            return frozenset(rest[:1])
    return frozenset()


def _qualifier(question: Question) -> str:
    """The word after the question's role ("من هو المتحدث باسم الجيش" -> "الجيش"), or ""."""
    words = [w for w in tokenize(question.text) if w not in _WHO_SKIP and w != "باسم"]
    for k, w in enumerate(words[:-1]):
        if w in ("من", "ومن", "فمن"):
            return words[k + 2] if k + 2 < len(words) and words[k + 1] in _ROLE_WORDS else ""
    return ""


_ROLE_WORDS = frozenset(tokenize("المتحدث الناطق قائد رئيس زعيم وزير محافظ مدير أمير حاكم"))


def _asked(question: Question) -> frozenset[str]:
    words = tokenize(question.text)
    return frozenset(words) | frozenset(w[1:] for w in words if len(w) > 3 and w[0] in "وبلف")


def _read_name(article, start: int, end: int, slot: str, level: str, question: Question, days) -> _Reading | None:
    """The person or place (`qa.text.names`) that fills the slot in `article.text[start:end]`."""
    sentence = article.text[start:end]
    if slot == "place":
        found = places_in(sentence, level, _asked(question))
    else:
        anchors = _anchors(question)
        found = persons_in(sentence, frozenset(level and {level} or anchors), _asked(question), _qualifier(question))
    if not found:
        return None
    n = found[0]
    return _Reading(article.id, start, end, start + n.start, start + n.end, 0.0, 0.0, n.normalized,
                    n.level, "", "", days, n.words, f"{article.title}\n{article.text}")  # fmt: skip


def _wanted_noun(question: Question) -> str:
    """The toll category the question names ("كم عدد القتلى" -> "killed"), else the noun after "كم"
    ("كم صاروخا" -> "صاروخا"), else "" (the first report's noun then decides)."""
    words = tokenize(question.text)
    found = category_of(words)
    if found:
        return found
    for k, w in enumerate(words[:-1]):
        if w in ("كم", "many") and words[k + 1] not in ("عدد", "من") and words[k + 1] not in STOPWORDS:
            return words[k + 1]
    return ""


def _wanted_group(question: Question) -> str:
    """Who the question counts, when the words after "كم" say it ("كم مسلحا" -> "militants")."""
    words = tokenize(question.text)
    for k, w in enumerate(words):
        if w in ("كم", "many"):
            return group_of(words[k + 1 : k + 4])
    return ""


def _named_groups(question: Question) -> frozenset[str]:
    """The groups the question names anywhere ("كم قتيلا سقطوا في اشتباكات الحوثيين" -> militants)."""
    return frozenset(g for w in tokenize(question.text) if (g := group_of([w])))


def _read(
    article, start: int, end: int, slot: str, noun: str, group: str = "", *, strict: bool = False,
    named: frozenset[str] = frozenset(), question: Question | None = None,
) -> _Reading | None:
    """The slot's value in `article.text[start:end]`, or None when it holds none (of `noun`, of
    `group`). A figure of no named group fits any `group` the question asked for, unless `strict`
    (the group was set by the first report, not by the question: "4 مسلحين" is not "28 شخصا"); a
    figure of a group the question `named` anywhere ("اشتباكات الحوثيين") always fits."""
    sentence = article.text[start:end]
    if slot == "count" and not counts_in(sentence):
        return None
    if _about_earlier(sentence, (article.date or "")[:4]):
        return None
    own = _days(sentence, article.date)
    if slot == "count" and own and all((_days_apart(d, article.date) or 0) > NEWS_DAYS for d in own):
        return None  # "مقتل جنديين فرنسيين ... في 21 شباط/فبراير" in a March article: an earlier event's toll
    days = own or _days(f"{article.title}\n{_lead(article)}", article.date)
    if slot in ("person", "place"):
        return _read_name(article, start, end, slot, noun, question, days) if question is not None else None
    if slot == "date":
        days = [
            d for d in dates_in(sentence, article.date)
            if not _reporting_day(sentence, d[0], d[1]) and not _timeline_entry(sentence, d[0], d[1])
            and (_days_apart(d[2], article.date) or 0) <= NEWS_DAYS
        ]  # fmt: skip
        if not days:
            return None
        a, b, iso = days[0]
        ordinal = float(np.datetime64(iso, "D").astype(np.int64))
        return _Reading(article.id, start, end, start + a, start + b, ordinal, ordinal, iso, "", "", "", days)
    counts = [
        c for c in counts_in(sentence)
        if not c.part and c.noun and (not noun or c.counts(noun))
        and (c.group == group or c.group in named or (not strict and (not group or not c.group)))
    ]  # fmt: skip
    if not counts:
        return None
    c = _chosen(counts, sentence)
    cue = update_cue(sentence) or update_cue(f"{article.title}\n{_lead(article)}")
    return _Reading(
        article.id, start, end, start + c.start, start + c.end, c.low, c.high, c.normalized, noun or c.noun, cue, c.group, days
    )


@lru_cache(maxsize=8192)
def _days(text: str, published: str | None) -> frozenset[str]:
    return frozenset(iso for _, _, iso in dates_in(text, published))


_SAID = frozenset(
    tokenize("قال قالت أعلن أعلنت أفاد أفادت ذكر ذكرت أكد أكدت صرح صرحت أضاف أضافت نقلت said announced told reported")
)


def _timeline_entry(sentence: str, start: int, end: int) -> bool:
    """"11 فبراير/ شباط: تحطمت طائرة روسية ...": a dated line of a list of earlier events."""
    return not sentence[:start].strip() and sentence[end : end + 3].lstrip()[:1] in (":", "-", "–")


def _reporting_day(sentence: str, start: int, end: int) -> bool:
    """The day right after "قالت الوزارة، الاثنين، إن ..." is when it was said, not when it happened."""
    before = tokenize(sentence[max(0, start - 60) : start])[-4:]
    if any(w in _SAID or w[1:] in _SAID for w in before):
        return True
    # "قال متحدث باسم شركة آسمان، الاثنين، إن ...": the day before "إن"/"أن" that opens what was said
    after = tokenize(sentence[end : end + 12])[:1]
    return after in (["ان"], ["انه"]) and any(w in _SAID or w[1:] in _SAID for w in tokenize(sentence[:start]))


def _lead(article) -> str:
    return article.text.split("\n", 1)[0][:400]


def _chosen(counts: list[Count], sentence: str) -> Count:
    """The figure a sentence gives for its toll: where it says the toll rose ("ارتفعت الحصيلة من 10 إلى
    14", "أعداد القتلى بـ381، في زيادة ... إجمالي 131"), the highest; else the first."""
    if len(counts) > 1 and update_cue(sentence) == "rise":
        return max(counts, key=lambda c: (c.low, c.high))
    return counts[0]


@lru_cache(maxsize=8192)
def _about_earlier(sentence: str, year: str = "") -> bool:
    """The sentence recalls an earlier event ("جاء الانفجار بعد ثلاثة أيام من مقتل 14 شخصا")."""
    words = tokenize(sentence)
    if not _SUPERLATIVES.intersection(words) and any(
        w == _SINCE and k + 1 < len(words) and words[k + 1] in _STARTS for k, w in enumerate(words)
    ):
        return True  # "منذ انطلاق المسيرات": a running total ("الأسوأ منذ بدء التدخل" is not)
    if year and any(_YEAR.match(w) and w != year for w in words):
        return True  # "ففي كانون الأول/ديسمبر 2016 تحطمت طائرة ... 92 قتيلا": another year, another event
    joined = " " + " ".join(words) + " "
    return any(phrase in joined for phrase in _EARLIER_TEXT)


@lru_cache(maxsize=4096)
def _content_tokens(text: str) -> frozenset[str]:
    return frozenset(t for t in lexical_tokens(text) if t not in STOPWORDS and not t[:1].isdigit())


def _lead_terms(article) -> frozenset[str]:
    return _content_tokens(f"{article.title} {_lead(article)}")


def _same_event(snapshot, a: _Reading, b: _Reading) -> bool:
    """Whether the two readings' articles tell one event: close in date, sharing their lead's rare
    words, and not naming two different days for what they count."""
    first, second = snapshot.articles[a.doc_id], snapshot.articles[b.doc_id]
    days = _days_apart(first.date, second.date)
    if days is not None and days > EVENT_DAYS:
        return False
    terms_a, terms_b = _lead_terms(first), _lead_terms(second)
    if not terms_a or not terms_b:
        return False
    idf = snapshot.lexical.idf(terms_a | terms_b)
    mass_a, mass_b = sum(idf[t] for t in terms_a), sum(idf[t] for t in terms_b)
    shared = sum(idf[t] for t in terms_a & terms_b)
    if shared / max(min(mass_a, mass_b), 1e-9) < SHARED_LEAD:
        return False
    if a.days and b.days and min(_days_apart(x, y) or 0 for x in a.days for y in b.days) > 1:
        return False  # two days apart: two strikes, not one (a day apart may be the day it was reported)
    return True


def _tells_what_was_asked(snapshot, question: Question, first: _Reading, other: _Reading) -> bool:
    """The other article holds at least `QUESTION_SHARE` of the idf mass of the question's words that
    the first report's article holds: asked about a strike "في قرية بمحافظة إدلب", a report on a
    strike in Arbin the day before, which never names Idlib, tells another event."""
    terms = _content_tokens(question.text)
    held = terms & _article_terms(snapshot, first.doc_id)
    if not held:
        return True
    idf = snapshot.lexical.idf(held)
    theirs = _article_terms(snapshot, other.doc_id)
    shared = sum(idf[t] for t in held if _holds(t, theirs))
    return shared / max(sum(idf.values()), 1e-9) >= QUESTION_SHARE


def _holds(term: str, terms: set[str]) -> bool:
    """`term` is among `terms`, or one holds the other ("ويسنجق" and "كوي سنجق", "مسيره" and
    "مسيرات"): outlets spell places and plurals differently."""
    if term in terms:
        return True
    stem = term[:-1] if len(term) > 4 and term[-1] == "ه" else term
    return len(stem) >= 4 and any(len(u) >= 4 and (stem in u or u in stem) for u in terms)


def _article_terms(snapshot, doc_id: str) -> frozenset[str]:
    article = snapshot.articles[doc_id]
    return _all_tokens(f"{article.title}\n{article.text}")


@lru_cache(maxsize=1024)
def _all_tokens(text: str) -> frozenset[str]:
    return frozenset(lexical_tokens(text))


def _days_apart(x: str | None, y: str | None) -> int | None:
    if not x or not y or len(x) < 10 or len(y) < 10:
        return None
    try:
        return abs(int((np.datetime64(x[:10], "D") - np.datetime64(y[:10], "D")).astype(int)))
    except ValueError:
        return None


_CUE_ORDER = {"open": 0, "": 1, "rise": 2}
"""On one day, a report that calls its toll preliminary came first and one that says it rose came last."""


def _is_update(dated: list[_Reading]) -> bool:
    """The reports, oldest first, never fall, the last one is above the first, and each rise is
    announced: the higher report says the toll rose, or an earlier one said its toll was not final."""
    announced = dated[0].cue == "open"
    for a, b in zip(dated, dated[1:]):
        if b.high < a.low:
            return False
        if b.low > a.high and not (b.cue == "rise" or announced):
            return False
        announced = announced or b.cue == "open"
    return dated[-1].low > dated[0].high


def _report(snapshot, r: _Reading) -> Report:
    article = snapshot.articles[r.doc_id]
    return Report(
        value=article.text[r.value_start : r.value_end],
        normalized=r.normalized,
        doc_id=r.doc_id,
        source=article.source,
        date=article.date,
        text=article.text[r.start : r.end],
        start=r.start,
        end=r.end,
    )

