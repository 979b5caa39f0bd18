"""`Retriever.search`: question -> best chunks, by meaning (dense), by words (BM25), or both fused.

Fusion is a convex combination of min-max normalized scores (Bruch et al., "An Analysis of Fusion
Functions for Hybrid Retrieval", 2023): each side's scores over its own candidates are scaled to
[0, 1], and a chunk scores `DENSE_WEIGHT * dense + (1 - DENSE_WEIGHT) * trust * lexical`, 0 on a
side that missed it. Unlike reciprocal-rank fusion it keeps how far ahead a side's best chunk is,
which is what decides close calls: on XQuAD-ar it gave hit@1 0.920 where RRF gave 0.898, with the
same result for every weight from 0.4 to 0.6, so the untuned equal weight is kept.

`trust` is the share of the question's idf mass in words the collection uses at all
(`LexicalIndex.known_share`). Min-max scaling alone would give the best BM25 match full weight even
when it matched only a year in an English question about Arabic articles, overriding the dense side
that understood the question; with trust the lexical side speaks in proportion to what it can
match. It has no constant to tune, and it raised both figures (XQuAD-ar hit@1 0.920 -> 0.926,
English questions 0.707 -> 0.756, above dense alone at 0.751).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

import numpy as np

from qa.errors import InputError
from qa.filters import Filters
from qa.index import Index, Snapshot
from qa.index.selection import allowed_chunks
from qa.question import Question
from qa.records import Hit
from qa.search.recency import newest_first
from qa.search.syndication import one_per_story

Mode = Literal["dense", "lexical", "hybrid"]
MODES: tuple[str, ...] = ("dense", "lexical", "hybrid")
DENSE_WEIGHT = 0.5
"""Equal say for meaning and words; XQuAD-ar hit@1 is flat from 0.4 to 0.6 (not tuned to it)."""
CANDIDATES = 50
"""How deep each side is read before fusing; a hit ranked below this on both sides cannot win."""
_LEXICAL_WORKERS = ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="qa-bm25")
"""Hybrid search runs BM25 here while the calling thread searches the vectors (after embedding the
question, which takes both cores): numpy and faiss release the GIL, so the two searches cost the
slower one, not the sum (bench/README.md)."""


@dataclass(frozen=True)
class Ranked:
    """A chunk id with the fused score and each side's own score (None where that side missed it)."""

    chunk_id: int
    score: float
    dense: float | None = None
    lexical: float | None = None


def convex_fusion(
    dense: list[tuple[int, float]],
    lexical: list[tuple[int, float]],
    dense_weight: float = DENSE_WEIGHT,
    lexical_trust: float = 1.0,
) -> list[Ranked]:
    """Fuse two best-first rankings by their min-max normalized scores; ties keep the dense order."""
    table: dict[int, dict[str, float]] = {}
    sides = (("dense", dense, dense_weight), ("lexical", lexical, (1.0 - dense_weight) * lexical_trust))
    for side, ranking, weight in sides:
        for (chunk_id, raw), normalized in zip(ranking, _min_max([s for _, s in ranking])):
            entry = table.setdefault(chunk_id, {"fused": 0.0})
            entry["fused"] += weight * normalized
            entry[side] = raw
    fused = [Ranked(cid, e["fused"], e.get("dense"), e.get("lexical")) for cid, e in table.items()]
    return sorted(fused, key=lambda r: -r.score)


def _min_max(scores: list[float]) -> list[float]:
    """Scores scaled to [0, 1] (best 1, worst 0); a side whose candidates all score the same gives 1."""
    if not scores:
        return []
    low, high = min(scores), max(scores)
    return [(s - low) / (high - low) if high > low else 1.0 for s in scores]


class Retriever:
    """Finds the chunks that best answer a question.

    Example:
        >>> retriever = Retriever(Index.load("index"))
        >>> for hit in retriever.search("من هو وزير الخارجية المغربي؟", k=3):
        ...     print(hit.score, hit.title, hit.text[:60])
    """

    def __init__(self, index: Index, *, mode: Mode = "hybrid", candidates: int = CANDIDATES) -> None:
        if mode not in MODES:
            raise InputError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        if candidates < 1:
            raise InputError(f"candidates must be positive, got {candidates}")
        self.index = index
        self.mode = mode
        self.candidates = candidates

    def search(
        self, query: str | Question, k: int = 10, *, mode: Mode | None = None, filters: Filters | None = None
    ) -> list[Hit]:
        """The `k` best chunks, best first, among the articles `filters` allows (all when None).

        Filtering happens inside both searches, so k hits come back whenever k chunks pass. A story
        carried by several outlets yields passages of its best-ranked copy only (`qa.search.syndication`);
        a question about the latest news orders its most relevant stories newest first
        (`qa.search.recency`).

        Raises:
            InputError: the question is empty, `k` is not positive, or `mode` is unknown.
        """
        snapshot, ranked = self.rank(query, k, mode=mode, filters=filters)
        return [hit_for(snapshot, r) for r in ranked]

    def rank(
        self, query: str | Question, k: int = 10, *, mode: Mode | None = None, filters: Filters | None = None
    ) -> tuple[Snapshot, list[Ranked]]:
        """Like `search`, but returns chunk ids with per-side scores, and the snapshot they belong to
        (what quoting and evaluation use). A string is parsed into a `Question` first."""
        mode = mode or self.mode
        if mode not in MODES:
            raise InputError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        question = Question.of(query)
        if not isinstance(k, int) or k < 1:
            raise InputError(f"k must be a positive integer, got {k!r}")
        if filters is not None and not isinstance(filters, Filters):
            raise InputError(f"filters must be a qa.Filters record, got {type(filters).__name__}")
        self.index.refresh()
        snapshot = self.index.snapshot()
        allowed = allowed_chunks(snapshot, filters)
        if allowed is not None and not len(allowed):
            return snapshot, []
        depth = max(k, self.candidates)
        while True:
            ranked, exhausted = self._fused(snapshot, question.search_text, depth, mode, allowed)
            ranked = one_per_story(snapshot, ranked)
            if len(ranked) >= k or exhausted:
                break
            depth *= 4  # copies folded away more than the margin: read deeper
        if question.recent:
            ranked = newest_first(snapshot, ranked, k)
        return snapshot, ranked[:k]

    def _fused(
        self, snapshot: Snapshot, query: str, depth: int, mode: str, allowed: np.ndarray | None
    ) -> tuple[list[Ranked], bool]:
        """The ranking of the `depth` best candidates of each side, and whether the sides ran out."""
        vector = self.index.embed_query(query) if mode != "lexical" else None
        spelled = snapshot.lexical.name_spellings(query) if mode != "dense" else {}
        extra = [term for terms in spelled.values() for term in terms]
        pending = _LEXICAL_WORKERS.submit(snapshot.lexical.search, query, depth, allowed, extra) if mode == "hybrid" else None
        dense = _pairs(*snapshot.vectors.search(vector, depth, allowed)) if vector is not None else []
        lexical = _pairs(*snapshot.lexical.search(query, depth, allowed, extra)) if mode == "lexical" else []
        if pending is not None:
            lexical = _pairs(*pending.result())
        exhausted = len(dense) < depth and len(lexical) < depth
        if mode == "dense":
            return [Ranked(cid, s, dense=s) for cid, s in dense], exhausted
        if mode == "lexical":
            return [Ranked(cid, s, lexical=s) for cid, s in lexical], exhausted
        trust = snapshot.lexical.known_share(query, also_known=spelled) if lexical else 0.0
        return convex_fusion(dense, lexical, lexical_trust=trust), exhausted


def _pairs(scores, ids) -> list[tuple[int, float]]:
    return list(zip(ids.tolist(), scores.tolist()))


def hit_for(snapshot: Snapshot, ranked: Ranked) -> Hit:
    """The `Hit` record of a ranked chunk, read from the snapshot it was ranked in."""
    chunk = snapshot.chunks[ranked.chunk_id]
    return Hit(
        chunk_id=chunk.id,
        doc_id=chunk.doc_id,
        title=snapshot.articles[chunk.doc_id].title,
        text=chunk.text,
        start=chunk.start,
        end=chunk.end,
        score=ranked.score,
    )
