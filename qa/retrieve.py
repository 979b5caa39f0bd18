"""`Retriever.search`: question -> best chunks, by meaning (dense), by words (BM25), or both fused.

Fusion is reciprocal-rank fusion (RRF): each side contributes 1/(RRF_K + rank). It needs no score
calibration between cosine and BM25, so it carries over to collections it was never tuned on, and
a side that finds nothing (BM25 on an English question about Arabic articles) simply adds nothing,
leaving the dense ranking intact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from qa.errors import InputError
from qa.index import Index, Snapshot
from qa.records import Hit

Mode = Literal["dense", "lexical", "hybrid"]
MODES: tuple[str, ...] = ("dense", "lexical", "hybrid")
RRF_K = 60
"""The constant of Cormack et al. (2009); larger flattens the rank curve. Not tuned on XQuAD."""
CANDIDATES = 50
"""How deep each side is read before fusing; a hit ranked below this on both sides cannot win."""


@dataclass(frozen=True)
class Ranked:
    """A chunk id with the fused score and each side's own score (None where that side missed it)."""

    chunk_id: int
    score: float
    dense: float | None = None
    lexical: float | None = None


def reciprocal_rank_fusion(
    dense: list[tuple[int, float]], lexical: list[tuple[int, float]], rrf_k: int = RRF_K
) -> list[Ranked]:
    """Fuse two best-first rankings; ties keep the dense order (the better side alone on XQuAD)."""
    table: dict[int, dict[str, float]] = {}
    for side, ranking in (("dense", dense), ("lexical", lexical)):
        for rank, (chunk_id, score) in enumerate(ranking, start=1):
            entry = table.setdefault(chunk_id, {"fused": 0.0})
            entry["fused"] += 1.0 / (rrf_k + rank)
            entry[side] = score
    fused = [Ranked(cid, e["fused"], e.get("dense"), e.get("lexical")) for cid, e in table.items()]
    return sorted(fused, key=lambda r: -r.score)


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

    def search(self, query: str, k: int = 10, *, mode: Mode | None = None) -> list[Hit]:
        """The `k` best chunks, best first.

        Raises:
            InputError: the question is empty, `k` is not positive, or `mode` is unknown.
        """
        snapshot, ranked = self.rank(query, k, mode=mode)
        return [hit_for(snapshot, r) for r in ranked]

    def rank(self, query: str, k: int = 10, *, mode: Mode | None = None) -> tuple[Snapshot, list[Ranked]]:
        """Like `search`, but returns chunk ids with per-side scores, and the snapshot they belong to
        (what quoting and evaluation use)."""
        mode = mode or self.mode
        if mode not in MODES:
            raise InputError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        if not isinstance(query, str) or not query.strip():
            raise InputError("the question is empty; type a question")
        if not isinstance(k, int) or k < 1:
            raise InputError(f"k must be a positive integer, got {k!r}")
        self.index.refresh()
        snapshot = self.index.snapshot()
        depth = max(k, self.candidates)
        dense = _pairs(*snapshot.vectors.search(self.index.embed_query(query), depth)) if mode != "lexical" else []
        lexical = _pairs(*snapshot.lexical.search(query, depth)) if mode != "dense" else []
        if mode == "dense":
            return snapshot, [Ranked(cid, s, dense=s) for cid, s in dense[:k]]
        if mode == "lexical":
            return snapshot, [Ranked(cid, s, lexical=s) for cid, s in lexical[:k]]
        return snapshot, reciprocal_rank_fusion(dense, lexical)[:k]


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
