"""MinHash signatures of articles, and the story groups they imply: the index-time half of syndication.

The search-time half (one passage per story, every outlet cited) is `qa.search.syndication`.

Wire dispatches are republished with small edits (a dateline, a headline, a sentence trimmed), so
the top passages of a question can be five copies of one text. Each article gets, at index time, a
MinHash signature (`datasketch`, `NUM_PERM` permutations) of its word 3-shingles on the
Arabic-normalized text; two articles are copies when their estimated shingle Jaccard is at least
`COPY_JACCARD`. Search then keeps one passage per story (the best-ranked copy's) and the answer
cites every outlet that carried it.

Signatures are per-article data saved beside the articles (`signatures.npy`, rows in the order of
`docs.jsonl`), so an add or delete only computes the new articles' signatures, and a collection
split into segments keeps them with each segment's articles. The groups are derived from the
signatures of the snapshot in hand, when first needed: LSH banding (`BANDS` x `ROWS`) with numpy
sorts instead of datasketch's dict-based `MinHashLSH`, because that one took 1.7 s to fill and query
for 9,965 articles where the sorts take milliseconds, and every new snapshot needs its groups. Copies are grouped transitively (a
story's versions chain A~B~C); every candidate pair is checked against the threshold first.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from qa.records import Article
from qa.text.normalize import tokenize

NUM_PERM = 128
"""Permutations per signature: the Jaccard estimate's standard error is about 0.04 at 0.7."""
SEED = 1
SHINGLE = 3
"""Words per shingle: one changed word alters at most 3 shingles, so small edits keep a copy's
Jaccard high, while two reports of one event in their own words share few 3-word runs."""
COPY_JACCARD = 0.7
"""Measured on the 9,965 Jawhara FM articles, exact shingle Jaccard of every LSH candidate pair: from
0.8 up, one story re-posted (an update of a strike's postponement, a retitled report of one arrest);
from 0.7 to 0.8, the same fixture list re-posted with its referees or its TV schedule, and one story
re-posted with a new dateline; from 0.55 to 0.65, different articles on one subject (the expected and
the actual line-up of one match, one agreement reported in other words), which must stay apart."""
BANDS, ROWS = 21, 6
"""LSH bands x rows. A pair at Jaccard J becomes a candidate with probability 1 - (1 - J**6)**21:
0.93 at 0.7, 0.98 at 0.75, 0.9996 at 0.8, while a pair at 0.2 does with 0.0013. Recall is favoured
over precision (datasketch's own choice for 0.7, 14 x 9, finds 0.44 of the pairs at 0.7) because
every candidate is checked against the threshold anyway, and unrelated articles (J < 0.1) almost
never collide."""
SIGNATURES = "signatures.npy"
MAX_BUCKET = 64
"""A band bucket larger than this (boilerplate shared by many articles) is checked against its first
member only, so one template cannot make the check quadratic."""


def shingles(text: str) -> set[bytes]:
    """The article's word 3-shingles on normalized text (folded hamza, digits, punctuation)."""
    tokens = tokenize(text)
    if len(tokens) < SHINGLE:
        return {" ".join(tokens).encode("utf-8")}
    return {" ".join(tokens[i : i + SHINGLE]).encode("utf-8") for i in range(len(tokens) - SHINGLE + 1)}


def signatures(articles: Sequence[Article]) -> np.ndarray:
    """One MinHash signature per article (uint32 rows of `NUM_PERM` values), from its text alone."""
    from datasketch import MinHash

    if not articles:
        return np.zeros((0, NUM_PERM), dtype=np.uint32)
    hashed = MinHash.bulk((shingles(a.text) for a in articles), num_perm=NUM_PERM, seed=SEED, scheme="affine32")
    return np.stack([m.hashvalues for m in hashed]).astype(np.uint32)


def estimated_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """The share of equal signature values: MinHash's unbiased estimate of the shingle Jaccard."""
    return float(np.mean(a == b))


def candidate_pairs(matrix: np.ndarray) -> set[tuple[int, int]]:
    """Row pairs that share at least one LSH band (equal values on all `ROWS` rows of it)."""
    n = len(matrix)
    pairs: set[tuple[int, int]] = set()
    if n < 2:
        return pairs
    rng = np.random.default_rng(SEED)
    weights = rng.integers(1, 2**63, size=ROWS, dtype=np.uint64) | np.uint64(1)
    for band in range(BANDS):
        block = matrix[:, band * ROWS : (band + 1) * ROWS].astype(np.uint64)
        keys = (block * weights).sum(axis=1)  # wraps modulo 2**64: a hash of the band
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
        ends = np.r_[starts[1:], n]
        for lo, hi in zip(starts[(ends - starts) > 1].tolist(), ends[(ends - starts) > 1].tolist()):
            members = order[lo:hi].tolist()
            if len(members) > MAX_BUCKET:
                pairs.update((min(members[0], m), max(members[0], m)) for m in members[1:])
            else:
                pairs.update((min(a, b), max(a, b)) for i, a in enumerate(members) for b in members[i + 1 :])
    return pairs


def groups(doc_ids: Sequence[str], matrix: np.ndarray) -> dict[str, tuple[str, ...]]:
    """Each article that has copies -> its whole story (its copies and itself, in `doc_ids` order)."""
    parent = list(range(len(doc_ids)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in candidate_pairs(matrix):
        if estimated_jaccard(matrix[a], matrix[b]) >= COPY_JACCARD:
            parent[root(a)] = root(b)
    stories: dict[int, list[str]] = {}
    for i, doc_id in enumerate(doc_ids):
        stories.setdefault(root(i), []).append(doc_id)
    return {d: tuple(members) for members in stories.values() if len(members) > 1 for d in members}
