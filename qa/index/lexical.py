"""BM25 over segmented postings, scored at query time with collection-wide statistics.

Each segment stores its own postings (`Postings`: per term, the rows that use it and how often, plus
each row's length), written once with the segment and memory-mapped when loaded. `LexicalIndex`
searches the live segments of a snapshot together: document frequencies, the document count and the
average length are summed over live rows of every segment (tombstoned rows left out), so a chunk
scores exactly the same whether the collection sits in one segment or in thirty, and rankings do not
depend on how it happens to be segmented (`tests/test_segments.py`).

The formula is bm25s's "lucene" variant that the index used before segments (k1 1.5, b 0.75,
idf = log(1 + (N - df + 0.5) / (df + 0.5)), a question word counted as often as it occurs), so scores
and answer features kept their scale. bm25s itself precomputes scores from its own statistics when it
indexes, which a segment cannot do without knowing the others; hence our own scoring, a few numpy
operations per query word over that word's postings. Function words (`qa.text.normalize.STOPWORDS`) are
indexed and scored like any word, but where the top k allows it they are read only for the rows a
content word matched (`_score_part`): at a million chunks their posting lists were 85% of what a
question read.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qa.text.normalize import STOPWORDS, tokenize
from qa.text.transliterate import Spellings, latin_names

STEM = True
"""Light proclitic stripping (و، ال، بال ...): measured on XQuAD-ar, it raises lexical hit@1."""
K1, B = 1.5, 0.75
VOCAB, INDPTR, ROWS, TFS, LENGTHS = "vocab.json", "indptr.npy", "rows.npy", "tf.npy", "lengths.npy"


def lexical_tokens(text: str) -> list[str]:
    """The tokens BM25 sees, for chunks and questions alike."""
    return tokenize(text, stem=STEM)


@dataclass
class Postings:
    """One segment's term frequencies, term-major: the rows of term t are `rows[indptr[t]:indptr[t+1]]`
    (ascending) with counts `tf[...]`; `lengths[r]` is row r's token count (an empty text counts 1)."""

    vocab: dict[str, int]
    indptr: np.ndarray
    rows: np.ndarray
    tf: np.ndarray
    lengths: np.ndarray

    @classmethod
    def build(cls, texts: Iterable[str]) -> Postings:
        """Postings of `texts` (row i is the i-th text). Tokens become vocabulary ids at once, so a
        large segment never holds every token of its texts as string objects."""
        vocab: dict[str, int] = {}
        terms: list[np.ndarray] = []
        tfs: list[np.ndarray] = []
        lengths: list[int] = []
        for text in texts:
            tokens = lexical_tokens(text) or [""]
            counts = Counter(vocab.setdefault(t, len(vocab)) for t in tokens)
            terms.append(np.fromiter(counts.keys(), dtype=np.int64, count=len(counts)))
            tfs.append(np.fromiter(counts.values(), dtype=np.float32, count=len(counts)))
            lengths.append(len(tokens))
        rows = np.repeat(np.arange(len(terms), dtype=np.int32), [len(t) for t in terms])
        return cls._from_entries(
            vocab,
            np.concatenate(terms) if terms else np.zeros(0, np.int64),
            rows,
            np.concatenate(tfs) if tfs else np.zeros(0, np.float32),
            np.asarray(lengths, dtype=np.int32),
        )

    @classmethod
    def _from_entries(cls, vocab: dict[str, int], terms: np.ndarray, rows: np.ndarray, tf: np.ndarray, lengths: np.ndarray) -> Postings:
        order = np.lexsort((rows, terms))  # by term, rows ascending within a term
        indptr = np.zeros(len(vocab) + 1, dtype=np.int64)
        np.cumsum(np.bincount(terms, minlength=len(vocab)), out=indptr[1:])
        return cls(vocab, indptr, rows[order].astype(np.int32), tf[order].astype(np.float32), lengths)

    @classmethod
    def merge(cls, parts: Sequence[tuple[Postings, np.ndarray, np.ndarray]]) -> Postings:
        """One segment's postings from several: of each part (postings, boolean mask of rows kept, new
        row number of each kept row), the kept rows. The merge re-reads no text: it renumbers terms
        and rows."""
        vocab: dict[str, int] = {}
        terms, rows, tfs = [], [], []
        total = sum(len(new_rows) for _, _, new_rows in parts)
        lengths = np.zeros(total, dtype=np.int32)
        for postings, keep, new_rows in parts:
            names = sorted(postings.vocab, key=postings.vocab.__getitem__)
            remap = np.fromiter((vocab.setdefault(t, len(vocab)) for t in names), dtype=np.int64, count=len(names))
            row_map = np.full(len(keep), -1, dtype=np.int64)
            row_map[keep] = new_rows
            entry_terms = np.repeat(np.arange(len(names), dtype=np.int64), np.diff(np.asarray(postings.indptr)))
            entry_rows = np.asarray(postings.rows)
            kept = keep[entry_rows]
            terms.append(remap[entry_terms[kept]])
            rows.append(row_map[entry_rows[kept]])
            tfs.append(np.asarray(postings.tf)[kept])
            lengths[new_rows] = np.asarray(postings.lengths)[keep]
        cat = lambda arrays, dtype: np.concatenate(arrays) if arrays else np.zeros(0, dtype)  # noqa: E731
        return cls._from_entries(vocab, cat(terms, np.int64), cat(rows, np.int64), cat(tfs, np.float32), lengths)

    @property
    def count(self) -> int:
        return len(self.lengths)

    def term_rows(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """Rows using `term` and its count in each (empty when the segment never uses it)."""
        t = self.vocab.get(term)
        if t is None:
            return np.zeros(0, np.int32), np.zeros(0, np.float32)
        lo, hi = int(self.indptr[t]), int(self.indptr[t + 1])
        return self.rows[lo:hi], self.tf[lo:hi]

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        names = sorted(self.vocab, key=self.vocab.__getitem__)
        (folder / VOCAB).write_text(json.dumps(names, ensure_ascii=False), encoding="utf-8")
        for name, array in ((INDPTR, self.indptr), (ROWS, self.rows), (TFS, self.tf), (LENGTHS, self.lengths)):
            np.save(folder / name, np.asarray(array))

    @classmethod
    def load(cls, folder: Path) -> Postings:
        """Arrays memory-mapped: a query reads the postings of its own words only. They are plain
        ndarray views of the maps (`np.asarray`): numpy's memmap subclass costs a Python call on every
        slice, 3 ms a question at a million chunks."""
        names = json.loads((folder / VOCAB).read_text(encoding="utf-8"))
        arrays = [np.asarray(np.load(folder / n, allow_pickle=False, mmap_mode="r")) for n in (INDPTR, ROWS, TFS, LENGTHS)]
        if len(arrays[0]) != len(names) + 1 or len(arrays[1]) != len(arrays[2]) or int(arrays[0][-1]) != len(arrays[1]):
            raise ValueError(f"{folder.name}: postings arrays disagree")
        return cls({t: i for i, t in enumerate(names)}, *arrays)


@dataclass(frozen=True)
class LexicalPart:
    """One segment as a search sees it: its postings, its rows' chunk ids (ascending), and which rows
    are live (None: all of them)."""

    postings: Postings
    ids: np.ndarray
    live: np.ndarray | None = None


@dataclass
class LexicalIndex:
    """BM25 over the live rows of several segments, with statistics of all of them together.

    Example:
        >>> lexical = LexicalIndex.build([0, 1], ["الوزير زار المدينة", "مباراة الكرة"])
        >>> scores, ids = lexical.search("الوزير", k=5)          # ids: chunk ids, best first
    """

    parts: tuple[LexicalPart, ...]
    _memo: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def build(cls, ids: Sequence[int], texts: Sequence[str]) -> LexicalIndex:
        """A one-segment index over `texts` (rows in `ids` order, ids ascending)."""
        return cls((LexicalPart(Postings.build(texts), np.asarray(ids, dtype=np.int64)),))

    @property
    def ids(self) -> np.ndarray:
        """The live chunk ids, segment after segment."""
        if "ids" not in self._memo:
            arrays = [p.ids if p.live is None else p.ids[p.live] for p in self.parts]
            self._memo["ids"] = np.concatenate(arrays) if arrays else np.zeros(0, np.int64)
        return self._memo["ids"]

    @property
    def count(self) -> int:
        return len(self.ids)

    def _avgdl(self) -> float:
        if "avgdl" not in self._memo:
            total = sum(int(np.asarray(p.postings.lengths if p.live is None else p.postings.lengths[p.live]).sum(dtype=np.int64)) for p in self.parts)
            self._memo["avgdl"] = total / self.count if self.count else 1.0
        return self._memo["avgdl"]

    def _df(self, term: str) -> int:
        """Live rows of every segment that use `term`."""
        cache = self._memo.setdefault("df", {})
        found = cache.get(term)
        if found is None:
            found = 0
            for part in self.parts:
                rows, _ = part.postings.term_rows(term)
                found += len(rows) if part.live is None else int(part.live[rows].sum())
            if len(cache) > 100_000:
                cache.clear()
            cache[term] = found
        return found

    def _idf(self, df: int) -> float:
        return math.log(1 + (self.count - df + 0.5) / (df + 0.5))

    def prefetch(self, query: str) -> None:
        """Get ready to search `query` while the caller does something else (embeds it): nothing to
        do here; a sharded index starts asking its shards for the words' statistics
        (`qa.index.cluster.serving`)."""

    def _prefetch(self, terms: Iterable[str]) -> None:
        """Make the document frequencies of `terms` ready: nothing to do here, where `_df` reads the
        postings at hand; a sharded index asks all its shards at once (`qa.index.cluster.serving`)."""

    def idf(self, tokens: Iterable[str]) -> dict[str, float]:
        """BM25 idf of each distinct token; a token the collection never uses gets the highest idf,
        because a question word found nowhere is the strongest sign the answer is not there."""
        distinct = set(tokens)
        self._prefetch(distinct)
        return {t: self._idf(self._df(t)) for t in distinct}

    def idf_unknown(self) -> float:
        """The idf of a word no live passage uses (the highest there is): a word whose idf reaches it is
        unknown to the collection."""
        return self._idf(0)

    def known_share(self, query: str, also_known: Iterable[str] = ()) -> float:
        """Share of the question's idf mass in words the collection uses at all (function words aside:
        a small collection may lack "ما" without being off topic), or in `also_known` (Latin names it
        spells in Arabic letters, `name_spellings`). An English question about Arabic articles scores
        near 0 (only its numbers and names can match), an Arabic one near 1; fusion trusts BM25's
        ranking in that proportion."""
        known = set(also_known)
        idf = self.idf(t for t in lexical_tokens(query) if t not in STOPWORDS)
        total = sum(idf.values())
        return sum(v for t, v in idf.items() if t in known or self._df(t)) / total if total else 0.0

    def name_spellings(self, query: str) -> dict[str, list[str]]:
        """The question's Latin names that the collection never uses as written, each with the
        indexed Arabic terms that spell it ("Sales" -> "سايلس", `qa.text.transliterate`): an English
        question's names are what BM25 can still match in Arabic articles. The vocabulary's
        skeletons are listed once per snapshot, on the first question with such a name."""
        candidates = list(dict.fromkeys(latin_names(query)))
        self._prefetch(candidates)
        names = [n for n in candidates if not self._df(n)]
        return self._spell(names) if names else {}

    def _spell(self, names: list[str]) -> dict[str, list[str]]:
        """`Spellings.of(names)` over the vocabulary of every segment."""
        if "spellings" not in self._memo:
            self._memo["spellings"] = Spellings({t for part in self.parts for t in part.postings.vocab})
        return self._memo["spellings"].of(names)

    def search(
        self, query: str, k: int, allowed: np.ndarray | None = None, extra_terms: Sequence[str] = ()
    ) -> tuple[np.ndarray, np.ndarray]:
        """Scores and chunk ids of the best `k` chunks with a positive score, best first (equal scores:
        lower chunk id first, so the order never depends on the segmentation).

        `allowed` (sorted chunk ids) restricts the ranking to those chunks, and tombstoned rows never
        score: both are applied inside each segment before its top k are taken. `extra_terms` are
        indexed terms searched as they are, beside the question's own (`name_spellings`).
        """
        tokens = lexical_tokens(query) + list(extra_terms)
        if not tokens or not self.count or (allowed is not None and not len(allowed)):
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        counted = Counter(tokens)
        self._prefetch(counted)
        weighted = [(t, c * self._idf(self._df(t))) for t, c in counted.items() if self._df(t)]
        if not weighted:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        content = [(t, w) for t, w in weighted if t not in STOPWORDS]
        function = [(t, w) for t, w in weighted if t in STOPWORDS]
        scores, ids = self._top(content, function, self._avgdl(), k, allowed)
        order = np.lexsort((ids, -scores))[:k]
        return scores[order].astype(np.float32), ids[order]

    def _top(
        self, content: list[tuple[str, float]], function: list[tuple[str, float]], avgdl: float, k: int, allowed: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Candidates for the top `k` (float64 scores, chunk ids; at least the best k), given the
        question's weighted words: here each segment's best, scored in this process."""
        return top_of_parts(self.parts, content, function, avgdl, k, allowed)


def top_of_parts(
    parts: Sequence[LexicalPart],
    content: list[tuple[str, float]],
    function: list[tuple[str, float]],
    avgdl: float,
    k: int,
    allowed: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """The best `k` of `parts` together (float64 scores and chunk ids, best first; equal scores: lower
    id first), scored with the collection's statistics as given. Scores stay float64 until the
    final merge, so merging several such results orders them exactly as one pass over all parts."""
    all_scores, all_ids = [np.zeros(0, np.float64)], [np.zeros(0, np.int64)]
    for part in parts:
        scores, ids = _score_part(part, content, function, avgdl, k, allowed)
        all_scores.append(scores)
        all_ids.append(ids)
    scores, ids = np.concatenate(all_scores), np.concatenate(all_ids)
    order = np.lexsort((ids, -scores))[:k]
    return scores[order], ids[order]


def _score_part(
    part: LexicalPart,
    content: list[tuple[str, float]],
    function: list[tuple[str, float]],
    avgdl: float,
    k: int,
    allowed: np.ndarray | None,
):
    """One segment's best `k` by BM25 (float64 scores, chunk ids), live and allowed rows only.

    Exact, but function words are read sparingly. A function word ("في", "the") adds less than its
    weight to a row (BM25's tf factor is below 1), so once the content words have scored:
    - if k rows already score at least the function words' total weight, a row matching function
      words alone cannot reach the top k, and only rows a content word matched are candidates;
    - of those, a row whose content score falls short of the k-th best by more than that total
      cannot get there either, and is dropped.
    The few thousand rows left, where the posting lists of function words hold half a million, are
    found in each list by binary search, or by one pass testing a mask when that reads less.
    Otherwise (a small segment, or no content word) function words score every row they occur in."""
    postings = part.postings
    scores = np.zeros(postings.count, dtype=np.float64)
    for term, weight in content:
        _add_term(scores, postings, term, weight, avgdl)
    candidates, ids = _eligible(part, np.flatnonzero(scores > 0), allowed)
    if function:
        bound = sum(w for _, w in function)
        content_kth = -np.partition(-scores[candidates], k - 1)[k - 1] if len(candidates) >= k else 0.0
        if content_kth < bound:
            for term, weight in function:
                _add_term(scores, postings, term, weight, avgdl)
            candidates, ids = _eligible(part, np.flatnonzero(scores > 0), allowed)
        else:
            keep = scores[candidates] >= content_kth - bound
            candidates, ids = candidates[keep], ids[keep]
            _add_terms_to(scores, postings, function, avgdl, candidates)
    values = scores[candidates]
    if len(values) > k:
        kth = np.partition(-values, k - 1)[k - 1]
        keep = -values <= kth  # every tie at the k-th score, so the merge breaks ties by id
        values, ids = values[keep], ids[keep]
    return values, ids


def _add_term(scores: np.ndarray, postings: Postings, term: str, weight: float, avgdl: float) -> None:
    """Add one query word's BM25 share to the score of every row it occurs in."""
    rows, tf = postings.term_rows(term)
    if len(rows):
        scores[rows] += weight * _saturation(tf, postings.lengths[rows], avgdl)


def _add_terms_to(scores: np.ndarray, postings: Postings, weighted: list[tuple[str, float]], avgdl: float, rows: np.ndarray) -> None:
    """Add each query word's BM25 share to the score of `rows` (ascending) that it occurs in, finding
    them in its posting list by binary search, or by one pass testing a mask when that reads less."""
    wanted = None
    for term, weight in weighted:
        postings_rows, tf = postings.term_rows(term)
        if not len(postings_rows):
            continue
        if len(rows) * math.log2(len(postings_rows)) < len(postings_rows):
            at = np.searchsorted(postings_rows, rows).clip(max=len(postings_rows) - 1)
            found = postings_rows[at] == rows
            hit, tf = rows[found], tf[at[found]]
        else:
            if wanted is None:
                wanted = np.zeros(postings.count, dtype=bool)
                wanted[rows] = True
            found = wanted[postings_rows]
            hit, tf = postings_rows[found], tf[found]
        scores[hit] += weight * _saturation(tf, postings.lengths[hit], avgdl)


def _eligible(part: LexicalPart, rows: np.ndarray, allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Of `rows`, those live and allowed, with their chunk ids."""
    if part.live is not None:
        rows = rows[part.live[rows]]
    ids = part.ids[rows]
    if allowed is not None:
        at = np.searchsorted(allowed, ids).clip(max=len(allowed) - 1)
        keep = allowed[at] == ids
        rows, ids = rows[keep], ids[keep]
    return rows, ids


def _saturation(tf: np.ndarray, lengths: np.ndarray, avgdl: float) -> np.ndarray:
    """BM25's term-frequency factor, tf / (tf + k1 (1 - b + b len / avgdl))."""
    return tf / (K1 * (1 - B + B * lengths / avgdl) + tf)
