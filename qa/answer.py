"""`Assistant.ask`: retrieve -> quote -> cite -> `Answer`; the one call the app and the CLI share.

No generative model: every answer is one to three sentences quoted verbatim from the articles,
each tied to its source. When the evidence is weak the assistant says so in the question's
language and offers the closest passages as related reading, not as an answer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from qa.errors import InputError
from qa.filters import Filters
from qa.normalize import detect_language
from qa.quote import MAX_QUOTE_WORDS, Candidate, candidate_sentences, content_terms, coverage, trim_to_clause
from qa.records import Answer, Citation, Quote
from qa.render import answer_text
from qa.retrieve import Retriever, hit_for
from qa.syndication import with_copies

PASSAGES = 5
"""Chunks read per question: hybrid hit@5 is near its ceiling there, and more only adds noise."""
MAX_QUOTES = 3
COVERAGE_WEIGHT = 0.1
"""How much the lexical coverage adds to the cosine in `evidence`; the trade-off is flat from 0.05 to 0.2."""
MIN_EVIDENCE = 0.865
"""Abstain below this evidence when question and passages share a language (see `evidence`)."""
MIN_CROSS_LINGUAL_EVIDENCE = 0.76
"""Across languages words cannot match and e5 cosines run about 0.08 lower, so the bar is the cosine
alone, set lower; abstention is weaker there (see the README's evaluation section)."""
DUPLICATE_JACCARD = 0.6
"""Two sentences sharing this share of their words state the same fact (agencies copy each other)."""


@dataclass(frozen=True)
class _Pick:
    candidate: Candidate
    start: int
    end: int
    truncated: bool
    doc_ids: tuple[str, ...]


class Assistant:
    """Answers questions with cited verbatim quotes.

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
        min_evidence: float = MIN_EVIDENCE,
        min_cross_lingual_evidence: float = MIN_CROSS_LINGUAL_EVIDENCE,
    ) -> None:
        if passages < 1 or max_quotes < 1:
            raise InputError(f"passages and max_quotes must be positive, got {passages} and {max_quotes}")
        self.retriever = retriever
        self.passages = passages
        self.max_quotes = max_quotes
        self.min_evidence = min_evidence
        self.min_cross_lingual_evidence = min_cross_lingual_evidence

    def ask(self, question: str, k: int | None = None, *, context: str = "", filters: Filters | None = None) -> Answer:
        """Answer `question` from the `k` best passages (default `passages`) of the articles that
        `filters` allows (all when None).

        `context` (for follow-ups: the previous question and its quoted names) is added to the
        retrieval query only; quotes are still scored against the question itself plus context.

        Raises:
            InputError: the question is empty or `k` is not positive.
        """
        if not isinstance(question, str) or not question.strip():
            raise InputError("the question is empty; type a question")
        question = question.strip()
        language = detect_language(question)
        query = f"{context.strip()} {question}".strip()
        snapshot, ranked = self.retriever.rank(query, k or self.passages, filters=filters)
        query_vector = self.retriever.index.embed_query(query)
        candidates = candidate_sentences(snapshot, ranked, query, query_vector)
        related = tuple(hit_for(snapshot, r) for r in ranked[:3])
        if not candidates:
            return self._answer(question, language, query, (), (), True, related, 0.0)
        passages = [snapshot.chunks[r.chunk_id].text for r in ranked]
        cross_lingual = detect_language(passages[0]) != language
        strength = evidence(candidates, 0.0 if cross_lingual else coverage(snapshot, query, passages))
        if strength < (self.min_cross_lingual_evidence if cross_lingual else self.min_evidence):
            return self._answer(question, language, query, (), (), True, related, strength)
        picks = self._pick(snapshot, candidates, set(content_terms(query)))
        quotes, citations = _cite(snapshot, picks, filters)
        return self._answer(question, language, query, quotes, citations, False, (), strength)

    def _answer(self, question, language, query, quotes, citations, abstained, related, strength: float) -> Answer:
        text = answer_text(quotes, citations, abstained=abstained, related=related, language=language)
        extra = {"evidence": round(strength, 4)}
        return Answer(
            question=question,
            text=text,
            quotes=quotes,
            citations=citations,
            abstained=abstained,
            related=related,
            language=language,
            context=query if query != question else "",
            extra=extra,
        )

    def _pick(self, snapshot, candidates: list[Candidate], focus: set[str]) -> list[_Pick]:
        """The best sentences, one quote per fact: overlapping spans skipped, near-duplicates from other
        articles folded into the first one's citations, adjacent sentences of one article merged."""
        picks: list[_Pick] = []
        for cand in candidates:
            if len(picks) == self.max_quotes:
                break
            text = snapshot.articles[cand.doc_id].text
            if any(p.candidate.doc_id == cand.doc_id and cand.start < p.end and p.start < cand.end for p in picks):
                continue
            duplicate = _duplicate_of(snapshot, picks, cand)
            if duplicate is not None:
                old = picks[duplicate]
                if cand.doc_id not in old.doc_ids:
                    picks[duplicate] = _Pick(old.candidate, old.start, old.end, old.truncated, (*old.doc_ids, cand.doc_id))
                continue
            start, end, cut = trim_to_clause(text, cand.start, cand.end, focus)
            picks.append(_Pick(cand, start, end, cut, (cand.doc_id,)))
        return _merge_neighbours(snapshot, picks)


def evidence(candidates: list[Candidate], lexical_coverage: float) -> float:
    """How strongly the passages answer the question: the best sentence cosine plus a little of the
    question's idf-weighted word coverage by the best passage.

    On XQuAD-ar, with the question's article removed, the cosine alone separates present from
    absent answers weakly (0.79 of absent questions abstain when 0.06 of present ones do); the names
    and rare words a question mentions are usually missing when its article is, and adding the
    coverage raises that to about 0.92.
    """
    return max(c.dense for c in candidates) + COVERAGE_WEIGHT * lexical_coverage


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


def _merge_neighbours(snapshot, picks: list[_Pick]) -> list[_Pick]:
    """Join two picked sentences of one article that follow each other (the answer spans both), as
    long as the joined quote stays within the length cap."""
    merged: list[_Pick] = []
    for pick in picks:
        text = snapshot.articles[pick.candidate.doc_id].text
        for i, prev in enumerate(merged):
            if prev.candidate.doc_id != pick.candidate.doc_id or prev.truncated or pick.truncated:
                continue
            lo, hi = sorted([(prev.start, prev.end), (pick.start, pick.end)])
            between = text[lo[1] : hi[0]]
            if between.strip() == "" and "\n\n" not in between.replace("\r", ""):
                if len(text[lo[0] : hi[1]].split()) <= MAX_QUOTE_WORDS:
                    doc_ids = tuple(dict.fromkeys(prev.doc_ids + pick.doc_ids))
                    merged[i] = _Pick(prev.candidate, lo[0], hi[1], False, doc_ids)
                    break
        else:
            merged.append(pick)
    return merged


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
