"""One segment: an immutable folder holding some articles with everything a search needs of them.

```
seg-000007/
  docs.jsonl        one article per line (text verbatim, content hash)
  chunks.jsonl      chunk id, article id, start, end (ids ascending: the row order of every store)
  vectors.faiss     their vectors (`FaissStore`, keyed by chunk id)
  postings/         their BM25 term frequencies (`qa.index.lexical.Postings`)
  sentences/        counts.npy, spans.npy, vectors.npy (float16, memory-mapped)
  signatures.npy    the articles' MinHash rows (`qa.syndication`), in docs.jsonl order
```

A commit writes one new segment for what it adds and never rewrites an old one: deletes are
tombstones in the manifest (`qa.index.reader`), and a merge (`qa.index.writer`) writes a new segment
from the live rows of several. Folders of the format before segments (`gen-NNNNNN`, with bm25s files
and sometimes `sentences.npz`) load as a segment too: their postings are rebuilt in memory from the
chunk texts until a merge or `qa optimize` rewrites them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from qa import syndication
from qa.index.faiss_backend import FaissStore
from qa.index.lexical import Postings
from qa.records import Article, Chunk

DOCS = "docs.jsonl"
CHUNKS = "chunks.jsonl"
VECTORS = "vectors.faiss"
POSTINGS = "postings"
SENTENCES = "sentences"
"""counts.npy (sentences per chunk, in chunk id order), spans.npy (int64 pairs) and vectors.npy
(float16, memory-mapped when loaded: about 4 KB per chunk, of which a query reads only its candidates')."""
LEGACY_SENTENCES = "sentences.npz"  # the same three arrays in one zip, read by np.load whole


@dataclass(eq=False)
class Segment:
    """The contents of one segment folder; never changed once written (identity is its `name`)."""

    name: str
    articles: list[Article]
    ids: np.ndarray
    """Chunk ids, ascending: row r of every store below belongs to chunk `ids[r]`."""
    doc_of_row: list[str]
    starts: np.ndarray
    ends: np.ndarray
    vectors: FaissStore
    postings: Postings
    sentence_counts: np.ndarray
    sentence_spans: np.ndarray
    sentence_vectors: np.ndarray
    signatures: np.ndarray
    files: dict[str, Any] = field(default_factory=dict)
    """Each file's size and SHA-256, as the manifest lists them (set once written or verified)."""
    memo: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def count(self) -> int:
        return len(self.ids)

    @property
    def doc_rows(self) -> dict[str, list[int]]:
        """Each article's rows, in order."""
        if "doc_rows" not in self.memo:
            rows: dict[str, list[int]] = {a.id: [] for a in self.articles}
            for row, doc_id in enumerate(self.doc_of_row):
                rows[doc_id].append(row)
            self.memo["doc_rows"] = rows
        return self.memo["doc_rows"]

    @property
    def sentence_bounds(self) -> np.ndarray:
        if "bounds" not in self.memo:
            self.memo["bounds"] = np.concatenate([[0], np.cumsum(self.sentence_counts)]).astype(np.int64)
        return self.memo["bounds"]

    def chunk(self, row: int, text: str) -> Chunk:
        start, end = int(self.starts[row]), int(self.ends[row])
        return Chunk(int(self.ids[row]), self.doc_of_row[row], start, end, text[start:end])

    def sentences(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.sentence_bounds[row], self.sentence_bounds[row + 1]
        return self.sentence_spans[lo:hi], self.sentence_vectors[lo:hi]

    # ------------------------------------------------------------------ creating

    @classmethod
    def create(
        cls,
        name: str,
        articles: Sequence[Article],
        chunks: Sequence[Chunk],
        vectors: np.ndarray,
        sentences: Sequence[tuple[np.ndarray, np.ndarray]],
        signatures: np.ndarray,
        dim: int,
    ) -> Segment:
        """A segment of new articles: `chunks` carry their final ids (ascending), row for row with
        `vectors` and `sentences` ((start, end) pairs, unit vectors)."""
        ids = np.asarray([c.id for c in chunks], dtype=np.int64)
        store = FaissStore(dim)
        store.add(ids, vectors)
        counts = np.asarray([len(s) for s, _ in sentences], dtype=np.int64)
        spans = np.concatenate([s for s, _ in sentences]).astype(np.int64).reshape(-1, 2) if sentences else np.zeros((0, 2), np.int64)
        sent = np.concatenate([np.asarray(v, dtype=np.float16) for _, v in sentences]).reshape(-1, dim) if sentences else np.zeros((0, dim), np.float16)
        return cls(
            name=name,
            articles=list(articles),
            ids=ids,
            doc_of_row=[c.doc_id for c in chunks],
            starts=np.asarray([c.start for c in chunks], dtype=np.int64),
            ends=np.asarray([c.end for c in chunks], dtype=np.int64),
            vectors=store,
            postings=Postings.build(c.text for c in chunks),
            sentence_counts=counts,
            sentence_spans=spans,
            sentence_vectors=sent,
            signatures=np.asarray(signatures, dtype=np.uint32).reshape(len(articles), syndication.NUM_PERM),
        )

    @classmethod
    def merged(cls, name: str, parts: Sequence[tuple[Segment, frozenset[str]]], dim: int) -> Segment:
        """One segment holding the live articles of `parts` (segment, its tombstoned article ids), rows
        in chunk id order, with ids, vectors, sentence vectors and postings carried over (nothing is
        re-embedded or re-tokenized). Memory: about the merged segment's vectors, twice."""
        articles: list[Article] = []
        signatures, ids, doc_of_row, starts, ends, vecs, counts, spans, sents, keeps = [], [], [], [], [], [], [], [], [], []
        for segment, deleted in parts:
            keep = np.asarray([d not in deleted for d in segment.doc_of_row], dtype=bool)
            kept_docs = [i for i, a in enumerate(segment.articles) if a.id not in deleted]
            articles.extend(segment.articles[i] for i in kept_docs)
            signatures.append(segment.signatures[kept_docs])
            ids.append(segment.ids[keep])
            doc_of_row.extend(d for d, k in zip(segment.doc_of_row, keep) if k)
            starts.append(segment.starts[keep])
            ends.append(segment.ends[keep])
            stored_ids, stored = segment.vectors.contents()
            vecs.append(stored[np.argsort(stored_ids)][keep])
            rows = np.flatnonzero(keep)
            take = _gather(segment.sentence_bounds, rows)
            counts.append(np.asarray(segment.sentence_counts)[keep])
            spans.append(np.asarray(segment.sentence_spans)[take].reshape(-1, 2))
            sents.append(np.asarray(segment.sentence_vectors[take], dtype=np.float16).reshape(-1, dim))
            keeps.append(keep)
        if not parts:
            raise ValueError("nothing to merge")
        all_ids = np.concatenate(ids)
        order = np.argsort(all_ids, kind="stable")  # segments need not hold contiguous id ranges
        target = np.empty_like(order)
        target[order] = np.arange(len(order))
        offsets = np.concatenate([[0], np.cumsum([len(i) for i in ids])])
        postings = Postings.merge([(p[0].postings, keep, target[lo:hi]) for p, keep, lo, hi in zip(parts, keeps, offsets[:-1], offsets[1:])])
        all_counts = np.concatenate(counts)
        bounds = np.concatenate([[0], np.cumsum(all_counts)]).astype(np.int64)
        take = _gather(bounds, order)
        store = FaissStore(dim)
        store.add(all_ids[order], np.concatenate(vecs)[order])
        return cls(
            name=name,
            articles=articles,
            ids=all_ids[order],
            doc_of_row=[doc_of_row[i] for i in order.tolist()],
            starts=np.concatenate(starts)[order],
            ends=np.concatenate(ends)[order],
            vectors=store,
            postings=postings,
            sentence_counts=all_counts[order],
            sentence_spans=np.concatenate(spans)[take],
            sentence_vectors=np.concatenate(sents)[take],
            signatures=np.concatenate(signatures),
        )

    # ------------------------------------------------------------------ files

    def write(self, folder: Path) -> None:
        """Write every file of the segment into the (new, empty) `folder`."""
        folder.mkdir(parents=True)
        with (folder / DOCS).open("w", encoding="utf-8") as handle:
            for article in self.articles:
                handle.write(json.dumps({**doc_record(article), "hash": article.content_hash}, ensure_ascii=False) + "\n")
        with (folder / CHUNKS).open("w", encoding="utf-8") as handle:
            for chunk_id, doc_id, start, end in zip(self.ids.tolist(), self.doc_of_row, self.starts.tolist(), self.ends.tolist()):
                handle.write(json.dumps({"id": chunk_id, "doc_id": doc_id, "start": start, "end": end}, ensure_ascii=False) + "\n")
        self.vectors.save(folder / VECTORS)
        self.postings.save(folder / POSTINGS)
        where = folder / SENTENCES
        where.mkdir()
        np.save(where / "counts.npy", np.asarray(self.sentence_counts, dtype=np.int64))
        np.save(where / "spans.npy", np.asarray(self.sentence_spans, dtype=np.int64).reshape(-1, 2))
        np.save(where / "vectors.npy", np.asarray(self.sentence_vectors, dtype=np.float16))
        np.save(folder / syndication.SIGNATURES, self.signatures)

    @classmethod
    def read(cls, folder: Path) -> Segment:
        """The segment in `folder` (checksums are the caller's business: `storage.verify_folder`).

        Raises:
            OSError, ValueError, KeyError, TypeError, RuntimeError: unreadable or inconsistent files.
        """
        articles = []
        for line in (folder / DOCS).read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            record.pop("hash", None)
            articles.append(Article(**record))
        texts = {a.id: a.text for a in articles}
        records = [json.loads(line) for line in (folder / CHUNKS).read_text(encoding="utf-8").splitlines()]
        records.sort(key=lambda r: r["id"])
        ids = np.asarray([r["id"] for r in records], dtype=np.int64)
        doc_of_row = [r["doc_id"] for r in records]
        if any(d not in texts for d in doc_of_row):
            raise KeyError("a chunk names an article the segment does not hold")
        starts = np.asarray([r["start"] for r in records], dtype=np.int64)
        ends = np.asarray([r["end"] for r in records], dtype=np.int64)
        vectors = FaissStore.load(folder / VECTORS)
        if (folder / POSTINGS).is_dir():
            postings = Postings.load(folder / POSTINGS)
        else:  # a generation folder of the format before segments: bm25s files we no longer read
            postings = Postings.build(texts[d][s:e] for d, s, e in zip(doc_of_row, starts.tolist(), ends.tolist()))
        counts, spans, sentence_vectors = _read_sentences(folder)
        by_id = {a.id: a for a in articles}
        signatures = syndication.load(folder, by_id)
        matrix = np.stack([signatures[a.id] for a in articles]) if articles else np.zeros((0, syndication.NUM_PERM), np.uint32)
        segment = cls(folder.name, articles, ids, doc_of_row, starts, ends, vectors, postings, counts, spans, sentence_vectors, matrix)
        segment.check()
        return segment

    def check(self) -> None:
        """Raise ValueError unless the stores agree row for row."""
        if len(self.sentence_counts) != self.count or int(np.sum(self.sentence_counts)) != len(self.sentence_spans) or len(self.sentence_spans) != len(self.sentence_vectors):
            raise ValueError(f"{self.name}: sentence store does not match the chunk store")
        if not np.array_equal(np.sort(self.vectors.ids()), self.ids) or self.postings.count != self.count:
            raise ValueError(f"{self.name}: vector, BM25 and chunk stores disagree on chunk ids")


def _gather(bounds: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Positions, in the flat sentence arrays whose row r spans bounds[r]:bounds[r+1], of `rows`' sentences
    in the order of `rows`."""
    rows = np.asarray(rows, dtype=np.int64)
    lengths = bounds[rows + 1] - bounds[rows]
    if not len(rows) or not lengths.sum():
        return np.zeros(0, np.int64)
    out_start = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    return np.arange(int(lengths.sum()), dtype=np.int64) - np.repeat(out_start, lengths) + np.repeat(bounds[rows], lengths)


def doc_record(article: Article) -> dict[str, Any]:
    """One docs.jsonl line: `author` and `category` only when set, so lines of articles without them
    stay as indexes written before these fields existed have them (and both load the same way)."""
    record = article.to_dict()
    for key in ("author", "category"):
        if record[key] is None:
            del record[key]
    return record


def _read_sentences(folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """counts, spans and (memory-mapped) vectors; folders written before the split read their .npz."""
    if (folder / LEGACY_SENTENCES).is_file():
        with np.load(folder / LEGACY_SENTENCES, allow_pickle=False) as data:
            return data["counts"], data["spans"], data["vectors"]
    where = folder / SENTENCES
    return (
        np.load(where / "counts.npy", allow_pickle=False),
        np.load(where / "spans.npy", allow_pickle=False),
        np.load(where / "vectors.npy", allow_pickle=False, mmap_mode="r"),
    )
