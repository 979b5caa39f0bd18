"""BM25 over the same chunks as the vectors, on Arabic-normalized tokens (bm25s does the scoring).

bm25s cannot delete rows, so the BM25 matrix is rebuilt from the chunk store whenever the chunk set
changes; that keeps it in step with FAISS by construction and costs seconds per 100k chunks.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from qa.normalize import STOPWORDS, tokenize

IDS_FILE = "ids.npy"
STEM = True
"""Light proclitic stripping (و، ال، بال ...): measured on XQuAD-ar, it raises lexical hit@1."""


def lexical_tokens(text: str) -> list[str]:
    """The tokens BM25 sees, for chunks and questions alike."""
    return tokenize(text, stem=STEM)


class LexicalIndex:
    """BM25 scores for chunk ids; rows follow `ids`."""

    def __init__(self, ids: np.ndarray, bm25) -> None:
        self.ids = np.asarray(ids, dtype=np.int64)
        self._bm25 = bm25
        self._df: dict[str, int] | None = None

    @classmethod
    def build(cls, ids: Sequence[int], texts: Sequence[str]) -> LexicalIndex:
        """BM25 over `texts` (rows in `ids` order). Each text becomes vocabulary ids as it is tokenized,
        so its token strings die at once: handing bm25s lists of strings held every token of the
        collection as a string object (a million chunks peaked at 15 GB)."""
        import bm25s

        bm25 = bm25s.BM25()
        if len(ids):
            vocab: dict[str, int] = {}
            token_ids = [[vocab.setdefault(t, len(vocab)) for t in lexical_tokens(text) or [""]] for text in texts]
            bm25.index((token_ids, vocab), show_progress=False)
        return cls(np.asarray(ids, dtype=np.int64), bm25)

    @property
    def count(self) -> int:
        return len(self.ids)

    def idf(self, tokens: Iterable[str]) -> dict[str, float]:
        """BM25 idf of each distinct token; a token the collection never uses gets the highest idf,
        because a question word found nowhere is the strongest sign the answer is not there."""
        if self._df is None:
            vocab = getattr(self._bm25, "vocab_dict", None) or {}
            indptr = np.asarray(self._bm25.scores["indptr"]) if vocab else np.zeros(1, np.int64)
            counts = np.diff(indptr)
            self._df = {t: int(counts[i]) for t, i in vocab.items() if i < len(counts)}
        n = self.count
        return {t: math.log(1 + (n - self._df.get(t, 0) + 0.5) / (self._df.get(t, 0) + 0.5)) for t in set(tokens)}

    def known_share(self, query: str) -> float:
        """Share of the question's idf mass in words the collection uses at all (function words aside:
        a small collection may lack "ما" without being off topic). An English question about Arabic
        articles scores near 0 (only its numbers and Latin names can match), an Arabic one near 1;
        fusion trusts BM25's ranking in that proportion."""
        idf = self.idf(t for t in lexical_tokens(query) if t not in STOPWORDS)
        total = sum(idf.values())
        return sum(v for t, v in idf.items() if self._df.get(t, 0)) / total if total else 0.0

    def search(self, query: str, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Scores and chunk ids of the best `k` chunks with a positive score, best first.

        `allowed` (sorted chunk ids) restricts the ranking to those rows: bm25s multiplies every
        other row's score by 0 (its `weight_mask`) before the top k are taken.
        """
        tokens = lexical_tokens(query)
        if not tokens or not self.count or (allowed is not None and not len(allowed)):
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        mask = None if allowed is None else np.isin(self.ids, allowed, assume_unique=True).astype(np.float32)
        scores = self._bm25.get_scores(tokens, weight_mask=mask)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        top = top[scores[top] > 0]
        return scores[top].astype(np.float32), self.ids[top]

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / IDS_FILE, self.ids)
        if self.count:
            self._bm25.save(str(folder), show_progress=False)
        else:
            (folder / "empty.json").write_text(json.dumps({"empty": True}))

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        import bm25s

        ids = np.load(folder / IDS_FILE, allow_pickle=False)
        bm25 = bm25s.BM25.load(str(folder), show_progress=False, verbosity=0) if len(ids) else bm25s.BM25()
        return cls(ids, bm25)
