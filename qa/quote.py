"""Pick the sentences that answer a question inside retrieved chunks; never writes any text.

Sentences are scored with what the index already holds: each sentence's vector (pooled from its
chunk's token embeddings at index time) against the question vector, and the share of the
question's content words the sentence contains. The two are combined by reciprocal rank fusion,
with the chunk's own rank as a third voice, so no score scale is tuned to one collection.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from qa.index import Snapshot
from qa.normalize import STOPWORDS, tokenize
from qa.retrieve import Ranked

MAX_QUOTE_WORDS = 60
RRF_K = 60
"""Reciprocal-rank fusion constant for the sentence signals (Cormack et al., 2009); not tuned."""
CLAUSE_BREAKS = "،,؛;:"


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


def coverage(snapshot: Snapshot, question: str, texts: list[str]) -> float:
    """The largest share of the question's content words (weighted by collection idf) that one of
    `texts` contains: near 1 when a passage names what the question names, low when the question's
    names and rare words appear nowhere."""
    terms = set(content_terms(question))
    if not terms or not texts:
        return 0.0
    weight = snapshot.lexical.idf(terms)
    total = sum(weight.values()) or 1.0
    return max(sum(weight[t] for t in terms & set(content_terms(text))) for text in texts) / total


def content_terms(text: str) -> list[str]:
    """Normalized, lightly stemmed words without function words: what must match for an answer."""
    return [t for t in tokenize(text, stem=True) if t not in STOPWORDS]


def candidate_sentences(
    snapshot: Snapshot, ranked: list[Ranked], question: str, query_vector: np.ndarray
) -> list[Candidate]:
    """Every sentence of the ranked chunks but their articles' headlines, scored and sorted best first
    (duplicates from overlapping chunks kept once, at their best chunk rank). A headline restates the
    story in the question's own words, so it would often win while the sentence with the answer
    (the figure, the date, the name) is the one after it."""
    terms = set(content_terms(question))
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
            found.append(Candidate(chunk.doc_id, start, end, rank, score, 0.0))
            sentence_terms.append(words)
    if not found:
        return []
    overlaps = _weighted_overlap(terms, sentence_terms)
    found = [
        Candidate(c.doc_id, c.start, c.end, c.chunk_rank, c.dense, o) for c, o in zip(found, overlaps)
    ]
    return _fuse(found, [len(words - terms) for words in sentence_terms])


def _weighted_overlap(terms: set[str], sentence_terms: list[set[str]]) -> list[float]:
    """Share of the question's content words found in each sentence, each word weighted by how rare
    it is among the candidates (a word in every sentence says nothing about which one answers)."""
    if not terms:
        return [0.0] * len(sentence_terms)
    n = len(sentence_terms)
    weight = {t: math.log(1 + n / (1 + sum(t in s for s in sentence_terms))) for t in terms}
    total = sum(weight.values()) or 1.0
    return [sum(weight[t] for t in terms & s) / total for s in sentence_terms]


def _fuse(found: list[Candidate], novel_words: list[int]) -> list[Candidate]:
    """RRF of sentence cosine, question-word overlap and chunk rank. Two sentences that swap places
    on the first two tie exactly (common within one chunk); the tie goes to the one with more words
    the question does not have, since a sentence that only restates the question cannot answer it."""
    by_dense = sorted(range(len(found)), key=lambda i: -found[i].dense)
    by_overlap = sorted(range(len(found)), key=lambda i: -found[i].overlap)
    score = [1.0 / (RRF_K + 1 + found[i].chunk_rank) for i in range(len(found))]
    for order in (by_dense, by_overlap):
        for rank, i in enumerate(order, start=1):
            score[i] += 1.0 / (RRF_K + rank)
    fused = [Candidate(c.doc_id, c.start, c.end, c.chunk_rank, c.dense, c.overlap, s) for c, s in zip(found, score)]
    order = sorted(range(len(fused)), key=lambda i: (-round(fused[i].score, 12), -novel_words[i]))
    return [fused[i] for i in order]


def trim_to_clause(text: str, start: int, end: int, focus: set[str], max_words: int = MAX_QUOTE_WORDS) -> tuple[int, int, bool]:
    """Shorten a span of over `max_words` words to a window of whole clauses holding the most question
    words; returns the new span and whether it was cut (shown with an ellipsis)."""
    words = _word_spans(text, start, end)
    if len(words) <= max_words:
        return start, end, False
    clause_starts = [0] + [i + 1 for i, (_, e) in enumerate(words[:-1]) if text[e - 1] in CLAUSE_BREAKS]
    best, best_hits = (0, max_words), -1
    for first in clause_starts:
        last = min(first + max_words, len(words))
        ends = [i + 1 for i in range(first, last) if text[words[i][1] - 1] in CLAUSE_BREAKS] or [last]
        stop = ends[-1] if ends[-1] - first >= max_words // 3 else last
        hits = sum(1 for w in words[first:stop] if set(content_terms(text[w[0] : w[1]])) & focus)
        if hits > best_hits:
            best, best_hits = (first, stop), hits
    first, stop = best
    new_start, new_end = words[first][0], words[stop - 1][1]
    return new_start, new_end, (new_start, new_end) != (start, end)


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
