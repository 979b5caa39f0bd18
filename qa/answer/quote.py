"""Pick the sentences that answer a question inside retrieved chunks; never writes any text.

Each sentence of the retrieved chunks becomes a `Candidate` with what the index already holds: its
vector (pooled from its chunk's token embeddings at index time) against the question vector, and
the share of the question's content words it contains. Which candidate answers is decided by the
answer model (`qa.answer.model`); this module lists the candidates and trims the chosen ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from qa.index import Snapshot
from qa.question import Question
from qa.retrieve import Ranked
from qa.text.kinds import kind_match, sentence_tokens
from qa.text.normalize import content_terms

WHOLE_SENTENCE_WORDS = 55
"""A sentence up to this long is quoted whole; a longer one is cut to a window of whole clauses of at
most `CLAUSE_WINDOW_WORDS`, the one that holds the most of the question's words."""
CLAUSE_WINDOW_WORDS = 40
"""Both chosen on the training half of ARCD and XQuAD-ar (`python -m qa.eval --split train`, first
ranker fit): quotes average 32.6 and 32.8 words there (the bar is 35; the held-out half runs up to
two words longer). Reading sentences of up to 60 words whole gained 0.008 of ARCD first quotes
holding the answer for 0.8 more words; up to 50, lost 0.008 for 1.2 fewer; a 35-word window lost
0.01 more. Native questions (ARCD) are answered by long spans of long sentences, so every cut costs
answers there. The seeds' list of three initiatives is a 43-word sentence."""
CLAUSE_BREAKS = "،,؛;:"
MIN_SENTENCE_WORDS = 2
"""A candidate sentence has at least this many content words of two letters or more. News articles
end in bylines and agency tags that the sentence splitter leaves on their own: in the Jawhara FM
collection 47 articles end in "ع ب م" alone, which once came first for "Who is Abdellatif Hammouchi?"."""


@dataclass(frozen=True)
class Candidate:
    """A sentence of a retrieved chunk, with its evidence for the question."""

    doc_id: str
    start: int
    end: int
    chunk_rank: int
    dense: float
    overlap: float
    score: float = 0.0


def candidate_sentences(
    snapshot: Snapshot, ranked: list[Ranked], question: Question, query_vector: np.ndarray
) -> list[Candidate]:
    """Every sentence of the ranked chunks but their articles' headlines, in retrieval order
    (duplicates from overlapping chunks kept once, at their best chunk rank). A headline restates the
    story in the question's own words, so it would often win while the sentence with the answer
    (the figure, the date, the name) is the one after it."""
    terms = set(question.terms)
    seen: set[tuple[str, int, int]] = set()
    found: list[Candidate] = []
    sentence_terms: list[set[str]] = []
    for rank, item in enumerate(ranked):
        chunk = snapshot.chunks[item.chunk_id]
        spans, vectors = snapshot.sentences[item.chunk_id]
        if not len(spans):
            continue
        dense = vectors.astype(np.float32) @ query_vector
        article = snapshot.articles[chunk.doc_id]
        text, headline = article.text, set(content_terms(article.title))
        for (start, end), score in zip(spans.tolist(), dense.tolist()):
            key = (chunk.doc_id, start, end)
            if key in seen:
                continue
            seen.add(key)
            words = set(content_terms(text[start:end]))
            if headline and words == headline:
                continue  # the headline is shown with every citation; quoting it answers nothing new
            if sum(len(w) > 1 for w in words) < MIN_SENTENCE_WORDS:
                continue  # a byline or credit ("ع ب م", "(أ ف ب)", "-وات-") answers nothing
            found.append(Candidate(chunk.doc_id, start, end, rank, score, 0.0))
            sentence_terms.append(words)
    if not found:
        return []
    overlaps = _weighted_overlap(terms, sentence_terms)
    return [Candidate(c.doc_id, c.start, c.end, c.chunk_rank, c.dense, o) for c, o in zip(found, overlaps)]


def _weighted_overlap(terms: set[str], sentence_terms: list[set[str]]) -> list[float]:
    """Share of the question's content words found in each sentence, each word weighted by how rare
    it is among the candidates (a word in every sentence says nothing about which one answers)."""
    if not terms:
        return [0.0] * len(sentence_terms)
    n = len(sentence_terms)
    weight = {t: math.log(1 + n / (1 + sum(t in s for s in sentence_terms))) for t in terms}
    total = sum(weight.values()) or 1.0
    return [sum(weight[t] for t in terms & s) / total for s in sentence_terms]


def trim_to_clause(
    text: str, start: int, end: int, focus: set[str], max_words: int = CLAUSE_WINDOW_WORDS, *, kind: str = "other"
) -> tuple[int, int, bool]:
    """Shorten a span of over `WHOLE_SENTENCE_WORDS` words to a window of whole clauses, at most
    `max_words` long, holding the most question words, a date or number counting as one when the
    question asks "when" or "how many"; returns the new span and whether it was cut (shown with an
    ellipsis)."""
    words = _word_spans(text, start, end)
    if len(words) <= max(max_words, WHOLE_SENTENCE_WORDS):
        return start, end, False
    clause_starts = [0] + [i + 1 for i, (_, e) in enumerate(words[:-1]) if text[e - 1] in CLAUSE_BREAKS]
    best, best_hits = (0, max_words), -1
    for first in clause_starts:
        last = min(first + max_words, len(words))
        ends = [i + 1 for i in range(first, last) if text[words[i][1] - 1] in CLAUSE_BREAKS] or [last]
        stop = ends[-1] if ends[-1] - first >= max_words // 3 else last
        hits = sum(1 for w in words[first:stop] if _answers(text[w[0] : w[1]], focus, kind))
        if hits > best_hits:
            best, best_hits = (first, stop), hits
    first, stop = best
    new_start, new_end = words[first][0], words[stop - 1][1]
    return new_start, new_end, (new_start, new_end) != (start, end)


def _answers(word: str, focus: set[str], kind: str) -> bool:
    if set(content_terms(word)) & focus:
        return True
    return kind in ("when", "how_many") and bool(kind_match(kind, sentence_tokens(word)))


def _word_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans, i = [], start
    while i < end:
        while i < end and text[i].isspace():
            i += 1
        j = i
        while j < end and not text[j].isspace():
            j += 1
        if j > i:
            spans.append((i, j))
        i = j
    return spans
