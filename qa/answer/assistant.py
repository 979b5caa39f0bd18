"""`Assistant.ask`: retrieve -> quote -> cite -> `Answer`; the one call the app and the CLI share.

No generative model: every answer is one to three sentences quoted verbatim from the articles,
each tied to its source. Which sentences, and whether to answer at all, is decided by the answer
model (`qa.answer.model`). When the articles do not answer, the assistant says so in the question's
language and offers the closest passages as related reading, not as an answer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from qa.answer.confidence import confidence_word
from qa.answer.disagreement import disagreement
from qa.answer.followup import lacks_subject
from qa.answer.model import FEATURES, AnswerModel, Salience, default_model, featurize
from qa.answer.quote import Candidate, candidate_sentences, trim_to_clause
from qa.answer.text import answer_text
from qa.errors import InputError
from qa.filters import Filters
from qa.index import Snapshot
from qa.model.verifier import default_combination, logit
from qa.question import Question
from qa.records import Answer, Citation, Disagreement, Quote
from qa.retrieve import Ranked, Retriever, hit_for
from qa.search.recency import RELEVANT_SHARE
from qa.search.syndication import with_copies
from qa.text.normalize import content_terms

PASSAGES = 5
"""Chunks read per question: hybrid hit@5 is near its ceiling there, and more only adds noise."""
MAX_QUOTES = 3
DUPLICATE_JACCARD = 0.6
"""Two sentences sharing this share of their words state the same fact (agencies copy each other)."""
MAX_MERGED_WORDS = 60
"""Two picked sentences that follow each other are joined into one quote up to this length: the
answer often sits in the sentence after the one that names the question's words, and joined they
read as one passage. On the training half of XQuAD-ar (first ranker fit), joining only up to 50
words lost 0.02 of the first quotes that hold the answer against joining up to 60."""
CONTEXT_WEIGHT = 0.35
"""A follow-up's sentence probability is its probability against the follow-up alone times its
in-context probability, relative to the best, to this power (`Assistant.deliberate`). At 0.5 (a
square root, set for the pointwise sentence model) the ranker's wider in-context spread let the
conversation's topic outweigh the follow-up's own words: "ومتى سيتم إطلاقها؟" after the seeds'
question on the three initiatives quoted the coordinator's tour (26 August) before the launch date
(27 September), while at 0.25 "وأين التقيا؟" after a question on Bourita's talks lost Rabat. 0.35
leaves both the most room (their answers lead by 6% and 10% in probability). Set on the seeds'
conversations of `tests/test_followup.py`, for want of a follow-up development set."""
TIE_DECIMALS = 2
"""Sentences whose probabilities, as shares of the best one's, agree to this many decimals are equally
strong; the newer article's sentence then comes first (news is corrected and updated, rarely the
other way round)."""


@dataclass(frozen=True)
class _Pick:
    candidate: Candidate
    start: int
    end: int
    truncated: bool
    doc_ids: tuple[str, ...]


@dataclass(frozen=True)
class Deliberation:
    """Everything `ask` weighed for one question: the retrieved chunks, every candidate sentence with
    its features, and (with a model) the probability that it answers. Training and evaluation read
    the same object that answers, so what is measured is what runs."""

    question: Question
    snapshot: Snapshot
    ranked: list[Ranked]
    candidates: list[Candidate]
    features: np.ndarray
    probabilities: np.ndarray | None
    confidence: float
    """P(the articles answer the question): what the abstention decision reads."""


class Assistant:
    """Answers questions with cited verbatim quotes, or says the articles do not answer.

    Example:
        >>> assistant = Assistant(Retriever(Index.load("index")))
        >>> answer = assistant.ask("ما هي المبادرات التي يشرف عليها المغرب؟")
        >>> answer.quotes[0].text, answer.quotes[0].citation, answer.abstained
    """

    def __init__(
        self,
        retriever: Retriever,
        *,
        passages: int = PASSAGES,
        max_quotes: int = MAX_QUOTES,
        model: AnswerModel | None = None,
        threshold: float | None = None,
        verify: bool = True,
    ) -> None:
        if passages < 1 or max_quotes < 1:
            raise InputError(f"passages and max_quotes must be positive, got {passages} and {max_quotes}")
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise InputError(f"threshold is a probability between 0 and 1, got {threshold}")
        self.retriever = retriever
        self.passages = passages
        self.max_quotes = max_quotes
        self.model = model or default_model()
        self.verifier = getattr(retriever.index.embedder, "verifier", None) if verify else None
        self.combination = default_combination() if self.verifier is not None else None
        self.threshold = self.model.threshold if threshold is None else threshold

    def ask(
        self,
        question: str | Question,
        k: int | None = None,
        *,
        context: str = "",
        filters: Filters | None = None,
    ) -> Answer:
        """Answer `question` from the `k` best passages (default `passages`).

        Args:
            question: The question as the user typed it, or already parsed (`qa.question.Question`).
            k: How many passages to read.
            context: For a follow-up, the previous turn's topic (`qa.answer.followup.expand`). It joins the
                question for retrieval; sentences are scored against both (see `deliberate`).
            filters: Only articles these allow are read.

        A first question that never says whom or what it asks about ("أين ولد؟",
        `qa.answer.followup.lacks_subject`) gets a request to name it, with the closest passages as
        related reading: any quote would answer a guess.

        Raises:
            InputError: the question is empty or `k` is not positive.
        """
        asked = Question.of(question, context)
        if not asked.context and lacks_subject(asked):
            snapshot, ranked = self.retriever.rank(asked, k or self.passages, filters=filters)
            related = tuple(hit_for(snapshot, r) for r in ranked[:3])
            return self._answer(asked, (), (), True, related, 0.0, clarify=True)
        weighed = self.deliberate(asked, k, filters=filters)
        related = tuple(hit_for(weighed.snapshot, r) for r in weighed.ranked[:3])
        strength = weighed.confidence
        if not weighed.candidates or strength < self.threshold:
            return self._answer(asked, (), (), True, related, strength)
        order = self._order(weighed)
        picks = self._pick(weighed, order, set(asked.terms), asked.kind)
        quotes, citations = _cite(weighed.snapshot, picks, filters)
        note = disagreement(weighed, order, quotes, filters)
        citations = _cite_reports(weighed.snapshot, citations, note)
        first = weighed.features[order[0]]
        capped = self.model.cap and bool(first[FEATURES.index("unmet_any")])
        high = self.model.high_band(bool(first[FEATURES.index("cross_lingual")]))
        return self._answer(asked, quotes, citations, False, (), strength, disagreement=note, capped=capped, high=high)

    def deliberate(
        self, question: str | Question, k: int | None = None, *, context: str = "", filters: Filters | None = None
    ) -> Deliberation:
        """Retrieve, list the candidate sentences and score each with the answer model.

        A follow-up (`context` given) that has words of its own is judged on what it asks: a
        sentence's probability is the model's probability against the follow-up alone, times its
        probability against the question in context relative to the best such sentence, to the power
        `CONTEXT_WEIGHT` (so the conversation's topic still counts). In context alone, the previous answer's
        sentence wins, because the context was built from it, while "ومتى سيتم إطلاقها؟" asks for
        the date in the next sentence. A bare follow-up ("وأين؟") has nothing of its own to judge
        with, so its sentences are scored in context. Abstention always reads the question in context.

        Raises:
            InputError: the question is empty or `k` is not positive.
        """
        asked = Question.of(question, context)
        snapshot, ranked = self.retriever.rank(asked, k or self.passages, filters=filters)
        candidates, features = self._weigh(snapshot, ranked, asked)
        probabilities = self.model.probabilities(features)
        if probabilities is None:  # collecting features for training
            return Deliberation(asked, snapshot, ranked, candidates, features, None, 0.0)
        confidence = self.model.confidence(features, probabilities)
        if asked.context and candidates and asked.own_terms:
            _, alone = self._weigh(snapshot, ranked, asked.alone)
            relative = probabilities / max(float(probabilities.max()), 1e-12)
            probabilities = self.model.probabilities(alone) * relative**CONTEXT_WEIGHT
        if self.verifier is not None and candidates and not asked.context and not asked.recent:
            if features[int(np.argmax(probabilities)), FEATURES.index("cross_lingual")]:
                probabilities = self._verify(snapshot, candidates, probabilities, asked)
        return Deliberation(asked, snapshot, ranked, candidates, features, probabilities, confidence)

    def _verify(self, snapshot, candidates: list[Candidate], probabilities: np.ndarray, question: Question) -> np.ndarray:
        """The verifier reads the answer model's best few sentences with the question, and its scores
        move their probabilities. Only where the question's best sentence is in another language: there
        the answer model has few shared words to go on, and on held-out articles the verifier lifted
        English questions' first quote by 0.06-0.08, Arabic ones' by about nothing (docs/answers.md).
        Only for a question asked on its own, as it was trained: read with a follow-up alone it lacks
        the subject ("وأين التقيا؟"), and in context it prefers the previous answer's sentence. Nor for
        a question about the latest (`qa.search.recency`): it reads text, not dates, and would put the
        best-worded older report back ahead of the newest relevant one."""
        read = np.argsort(-probabilities, kind="stable")[: self.combination.top]
        texts = [snapshot.articles[candidates[i].doc_id].text[candidates[i].start : candidates[i].end] for i in read]
        logits = self.combination.combined_logits(logit(probabilities), read, self.verifier.scores(question, texts))
        return 1.0 / (1.0 + np.exp(-logits))

    def _weigh(self, snapshot, ranked: list[Ranked], question: Question) -> tuple[list[Candidate], np.ndarray]:
        """The candidate sentences of `ranked` and their features against `question` (its query)."""
        vector = self.retriever.index.embed_query(question.query)
        candidates = candidate_sentences(snapshot, ranked, question, vector)
        return candidates, featurize(snapshot, ranked, candidates, Salience.of(question, snapshot.lexical))

    def _order(self, weighed: Deliberation) -> list[int]:
        """Candidates best first by the answer model's probability, equally strong ones newest article
        first. For a question about the latest, every sentence at least `RELEVANT_SHARE` of the best
        counts as equally strong: the rule retrieval applies to passages (`qa.search.recency`), so
        the answer quotes the newest relevant report, not the one worded most like the question."""
        p = weighed.probabilities
        share = p / max(float(p.max()), 1e-300)
        articles = weighed.snapshot.articles
        recent = weighed.question.recent

        def key(i: int) -> tuple:
            c = weighed.candidates[i]
            date = articles[c.doc_id].date or ""
            strength = 1.0 if recent and share[i] >= RELEVANT_SHARE else round(float(share[i]), TIE_DECIMALS)
            return (-strength, _descending(date), -float(p[i]), i)

        return sorted(range(len(weighed.candidates)), key=key)

    def _answer(
        self,
        question: Question,
        quotes,
        citations,
        abstained,
        related,
        strength: float,
        *,
        clarify: bool = False,
        disagreement: Disagreement | None = None,
        capped: bool = False,
        high: float | None = None,
    ) -> Answer:
        """`capped`: the first quote misses a distinctive constraint of the question, so it is not "high";
        `high`: the band for this first quote (`AnswerModel.high_band`)."""
        band = self.model.high if high is None else high
        confidence = "" if abstained else confidence_word(strength, self.model.threshold, high=band, capped=capped)
        text = answer_text(
            quotes,
            citations,
            abstained=abstained,
            related=related,
            language=question.language,
            confidence=confidence,
            clarify=clarify,
            disagreement=disagreement,
        )
        extra = {"evidence": round(strength, 4)}
        return Answer(
            question=question.text,
            text=text,
            quotes=quotes,
            citations=citations,
            abstained=abstained,
            related=related,
            language=question.language,
            context=question.query if question.context else "",
            confidence=confidence,
            clarify=clarify,
            extra=extra,
            disagreement=disagreement,
        )

    def _pick(self, weighed: Deliberation, order: list[int], focus: set[str], kind: str) -> list[_Pick]:
        """The best sentence, then up to two more that the model finds nearly as likely to answer
        (`AnswerModel.extra_bar`: close contenders, never padding), or a little less likely when they
        join a picked sentence as its neighbour: overlapping spans skipped, near-duplicates from
        other articles folded into the first one's citations, adjacent sentences of one article
        joined."""
        snapshot, p = weighed.snapshot, weighed.probabilities
        extra_bar = self.model.extra_bar(p) if order else 1.0
        neighbour_bar = min(extra_bar, self.model.extra_bar(p, neighbour=True)) if order else 1.0
        picks: list[_Pick] = []
        for position, i in enumerate(order):
            if len(picks) == self.max_quotes or (position > 0 and p[i] < neighbour_bar):
                break
            cand = replace(weighed.candidates[i], score=float(p[i]))
            text = snapshot.articles[cand.doc_id].text
            if any(q.candidate.doc_id == cand.doc_id and cand.start < q.end and q.start < cand.end for q in picks):
                continue
            start, end, cut = trim_to_clause(text, cand.start, cand.end, focus, kind=kind)
            pick = _Pick(cand, start, end, cut, (cand.doc_id,))
            joined = next(((j, both) for j, q in enumerate(picks) if (both := _joined(text, q, pick))), None)
            if joined is not None:
                picks[joined[0]] = joined[1]
                continue
            if position > 0 and p[i] < extra_bar:
                continue
            duplicate = _duplicate_of(snapshot, picks, cand)
            if duplicate is not None:
                old = picks[duplicate]
                if cand.doc_id not in old.doc_ids:
                    picks[duplicate] = _Pick(old.candidate, old.start, old.end, old.truncated, (*old.doc_ids, cand.doc_id))
                continue
            picks.append(pick)
        return picks


def _descending(date: str) -> tuple[int, ...]:
    """A sort key that puts later ISO dates first and undated articles last."""
    return tuple(-ord(ch) for ch in date) + (0,) if date else (1,)


def _words(text: str) -> set[str]:
    return set(content_terms(text))


def _duplicate_of(snapshot, picks: list[_Pick], cand: Candidate) -> int | None:
    words = _words(snapshot.articles[cand.doc_id].text[cand.start : cand.end])
    if not words:
        return None
    for i, pick in enumerate(picks):
        if pick.candidate.doc_id == cand.doc_id:
            continue
        other = _words(snapshot.articles[pick.candidate.doc_id].text[pick.candidate.start : pick.candidate.end])
        if other and len(words & other) / len(words | other) >= DUPLICATE_JACCARD:
            return i
    return None


def _joined(text: str, a: _Pick, b: _Pick) -> _Pick | None:
    """`a` and `b` as one quote, when they are sentences of one article that follow each other (the
    answer spans both) and the joined quote stays within `MAX_MERGED_WORDS`; else None."""
    if a.candidate.doc_id != b.candidate.doc_id or a.truncated or b.truncated:
        return None
    lo, hi = sorted([(a.start, a.end), (b.start, b.end)])
    between = text[lo[1] : hi[0]]
    if between.strip() or "\n\n" in between.replace("\r", "") or len(text[lo[0] : hi[1]].split()) > MAX_MERGED_WORDS:
        return None
    return _Pick(a.candidate, lo[0], hi[1], False, tuple(dict.fromkeys(a.doc_ids + b.doc_ids)))


def _cite(snapshot, picks: list[_Pick], filters: Filters | None = None) -> tuple[tuple[Quote, ...], tuple[Citation, ...]]:
    """Number sources in order of first appearance and attach the numbers to the quotes; a quote
    from a syndicated story also cites the other outlets that carried it (within `filters`)."""
    picks = [replace(p, doc_ids=with_copies(snapshot, p.doc_ids, filters)) for p in picks]
    numbers: dict[str, int] = {}
    for pick in picks:
        for doc_id in pick.doc_ids:
            numbers.setdefault(doc_id, len(numbers) + 1)
    citations = []
    for doc_id, number in numbers.items():
        a = snapshot.articles[doc_id]
        citations.append(Citation(number, doc_id, a.title, a.url, a.date, a.source))
    quotes = []
    for pick in picks:
        a = snapshot.articles[pick.candidate.doc_id]
        quotes.append(
            Quote(
                text=a.text[pick.start : pick.end],
                doc_id=a.id,
                title=a.title,
                start=pick.start,
                end=pick.end,
                score=round(pick.candidate.score, 6),
                citation=numbers[a.id],
                url=a.url,
                also_cited=tuple(numbers[d] for d in pick.doc_ids[1:]),
                truncated=pick.truncated,
            )
        )
    return tuple(quotes), tuple(citations)


def _cite_reports(snapshot, citations: tuple[Citation, ...], note: Disagreement | None) -> tuple[Citation, ...]:
    """`citations`, then a numbered source for each article of `note` that the quotes do not cite
    already: the note names every outlet's value with its source number."""
    if note is None:
        return citations
    cited = {c.doc_id for c in citations}
    added = list(citations)
    for report in note.reports:
        if report.doc_id not in cited:
            cited.add(report.doc_id)
            a = snapshot.articles[report.doc_id]
            added.append(Citation(len(added) + 1, a.id, a.title, a.url, a.date, a.source))
    return tuple(added)
