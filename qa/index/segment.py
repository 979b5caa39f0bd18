"""One segment: an immutable folder holding some articles with everything a search needs of them.

```
seg-000007/
  docs.jsonl        one article's metadata and content hash per line (position = line number)
  texts.bin         the articles' texts, UTF-8, one after another (memory-mapped when loaded)
  texts.npy         their byte offsets (articles + 1)
  chunks.npy        per chunk: id, article position, start, end (ids ascending: the row order below)
  vectors.faiss     their vectors (`FaissStore`, keyed by chunk id; memory-mapped, read-only)
  postings/         their BM25 term frequencies (`qa.index.lexical.Postings`)
  sentences/        counts.npy, spans.npy, vectors.npy (float16, memory-mapped)
  signatures.npy    the articles' MinHash rows (`qa.index.signatures`), in docs.jsonl order
```

A commit writes one new segment for what it adds and never rewrites an old one: deletes are
tombstones in the manifest (`qa.index.reader`), and a merge (`qa.index.writer`) writes a new segment
from the live rows of several. A loaded segment keeps in memory only what every query or filter
needs of each article and chunk (metadata and offsets); vectors, texts, postings and sentence vectors
stay on disk, memory-mapped, so a process holding a million chunks pays for the pages its questions
touch. Older folders still load: segments of format 2 (texts inside docs.jsonl, chunks as
JSON lines) and generation folders of format 1 (`gen-NNNNNN`, bm25s files and sometimes
`sentences.npz`), whose postings are rebuilt in memory until a merge or `qa optimize` rewrites them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from qa.index import signatures as minhash
from qa.index.faiss_backend import FaissStore
from qa.index.lexical import Postings
from qa.records import Article, Chunk

DOCS = "docs.jsonl"
TEXTS, TEXT_OFFSETS = "texts.bin", "texts.npy"
CHUNKS = "chunks.npy"
VECTORS = "vectors.faiss"
POSTINGS = "postings"
SENTENCES = "sentences"
"""counts.npy (sentences per chunk, in chunk id order), spans.npy (int64 pairs) and vectors.npy
(float16, memory-mapped when loaded: about 4 KB per chunk, of which a query reads only its candidates')."""
LEGACY_CHUNKS = "chunks.jsonl"  # format 2 and before: {"id", "doc_id", "start", "end"} per line
LEGACY_SENTENCES = "sentences.npz"  # format 1: the same three arrays in one zip, read by np.load whole
TEXT_CACHE = 256
"""Decoded article texts a segment keeps: a question reads a few dozen articles, several times each."""


class Texts:
    """Article texts by position, stored as one UTF-8 buffer and its offsets (a memory map once
    written, so a collection's text costs address space, not memory)."""

    def __init__(self, buffer: np.ndarray, offsets: np.ndarray) -> None:
        self.buffer = buffer
        self.offsets = offsets
        self._decoded: dict[int, str] = {}

    @classmethod
    def of(cls, texts: Sequence[bytes | str]) -> Texts:
        encoded = [t.encode("utf-8") if isinstance(t, str) else t for t in texts]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(t) for t in encoded], out=offsets[1:])
        return cls(np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def raw(self, position: int) -> bytes:
        return self.buffer[self.offsets[position] : self.offsets[position + 1]].tobytes()

    def __getitem__(self, position: int) -> str:
        text = self._decoded.get(position)
        if text is None:
            if len(self._decoded) >= TEXT_CACHE:
                self._decoded.clear()  # atomic under the GIL, unlike an LRU's reordering
            text = self._decoded[position] = self.raw(position).decode("utf-8")
        return text

    def save(self, folder: Path) -> None:
        (folder / TEXTS).write_bytes(self.buffer.tobytes())
        np.save(folder / TEXT_OFFSETS, self.offsets)

    @classmethod
    def load(cls, folder: Path) -> Texts:
        offsets = np.load(folder / TEXT_OFFSETS, allow_pickle=False)
        size = (folder / TEXTS).stat().st_size
        if len(offsets) < 1 or int(offsets[-1]) != size or np.any(np.diff(offsets) < 0):
            raise ValueError(f"{TEXTS}: offsets do not match the file ({size} bytes)")
        buffer = np.memmap(folder / TEXTS, dtype=np.uint8, mode="r") if size else np.zeros(0, np.uint8)
        return cls(buffer, offsets)


class OnDisk:
    """A segment's store (vectors or postings) read from its folder on first use, then used as the
    store itself: attribute access is passed on. Only the driver of a cluster reads segments this
    way, since its shards search them; a merge or a local search there still works, it just reads."""

    def __init__(self, read: Callable[[], Any]) -> None:
        self._read = read
        self._store: Any = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._store is not None

    def __getattr__(self, name: str) -> Any:
        store = self._store
        if store is None:
            with self._lock:
                if self._store is None:
                    self._store = self._read()
                store = self._store
        return getattr(store, name)


@dataclass(eq=False)
class Segment:
    """The contents of one segment folder; never changed once written (identity is its `name`)."""

    name: str
    docs: list[Article]
    """The articles without their text (`text` is ""): what filters, overviews and citations read."""
    hashes: list[str]
    """Each article's `content_hash`, which upserts compare without reading the text."""
    texts: Texts
    ids: np.ndarray
    """Chunk ids, ascending: row r of every store below belongs to chunk `ids[r]`."""
    doc_index: np.ndarray
    """The position (in `docs`) of each row's article."""
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
    def position(self) -> dict[str, int]:
        """Each article id's position in `docs`."""
        if "position" not in self.memo:
            self.memo["position"] = {a.id: i for i, a in enumerate(self.docs)}
        return self.memo["position"]

    def article(self, position: int) -> Article:
        return replace(self.docs[position], text=self.texts[position])

    def rows_of(self, position: int) -> np.ndarray:
        """The rows of the article at `position`, in order."""
        if "by_doc" not in self.memo:
            order = np.argsort(self.doc_index, kind="stable")
            bounds = np.searchsorted(self.doc_index[order], np.arange(len(self.docs) + 1))
            self.memo["by_doc"] = (order, bounds)
        order, bounds = self.memo["by_doc"]
        return order[bounds[position] : bounds[position + 1]]

    @property
    def sentence_bounds(self) -> np.ndarray:
        if "bounds" not in self.memo:
            self.memo["bounds"] = np.concatenate([[0], np.cumsum(self.sentence_counts)]).astype(np.int64)
        return self.memo["bounds"]

    def chunk(self, row: int) -> Chunk:
        start, end, position = int(self.starts[row]), int(self.ends[row]), int(self.doc_index[row])
        return Chunk(int(self.ids[row]), self.docs[position].id, start, end, self.texts[position][start:end])

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
        position = {a.id: i for i, a in enumerate(articles)}
        counts = np.asarray([len(s) for s, _ in sentences], dtype=np.int64)
        spans = np.concatenate([s for s, _ in sentences]).astype(np.int64).reshape(-1, 2) if sentences else np.zeros((0, 2), np.int64)
        sent = np.concatenate([np.asarray(v, dtype=np.float16) for _, v in sentences]).reshape(-1, dim) if sentences else np.zeros((0, dim), np.float16)
        return cls(
            name=name,
            docs=[replace(a, text="") for a in articles],
            hashes=[a.content_hash for a in articles],
            texts=Texts.of([a.text for a in articles]),
            ids=ids,
            doc_index=np.asarray([position[c.doc_id] for c in chunks], dtype=np.int32),
            starts=np.asarray([c.start for c in chunks], dtype=np.int64),
            ends=np.asarray([c.end for c in chunks], dtype=np.int64),
            vectors=store,
            postings=Postings.build(c.text for c in chunks),
            sentence_counts=counts,
            sentence_spans=spans,
            sentence_vectors=sent,
            signatures=np.asarray(signatures, dtype=np.uint32).reshape(len(articles), minhash.NUM_PERM),
        )

    @classmethod
    def merged(cls, name: str, parts: Sequence[tuple[Segment, frozenset[str]]], dim: int) -> Segment:
        """One segment holding the live articles of `parts` (segment, its tombstoned article ids), rows
        in chunk id order, with ids, texts, vectors, sentence vectors and postings carried over
        (nothing is re-embedded, re-tokenized or even decoded).

        Memory: the merged vectors and sentence vectors once each, filled part by part into arrays of
        their final size and order, plus one part's worth at a time (`qa.index.writer` caps the
        size of a merged segment)."""
        if not parts:
            raise ValueError("nothing to merge")
        docs: list[Article] = []
        hashes: list[str] = []
        texts: list[bytes] = []
        signatures, ids, doc_index, starts, ends, counts, keeps = [], [], [], [], [], [], []
        for segment, deleted in parts:
            kept_docs = [i for i, a in enumerate(segment.docs) if a.id not in deleted]
            new_position = np.full(len(segment.docs), -1, dtype=np.int64)
            new_position[kept_docs] = np.arange(len(docs), len(docs) + len(kept_docs))
            docs.extend(segment.docs[i] for i in kept_docs)
            hashes.extend(segment.hashes[i] for i in kept_docs)
            texts.extend(segment.texts.raw(i) for i in kept_docs)
            signatures.append(segment.signatures[kept_docs])
            keep = new_position[segment.doc_index] >= 0
            ids.append(segment.ids[keep])
            doc_index.append(new_position[segment.doc_index[keep]])
            starts.append(segment.starts[keep])
            ends.append(segment.ends[keep])
            counts.append(np.asarray(segment.sentence_counts)[keep])
            keeps.append(keep)
        all_ids = np.concatenate(ids)
        order = np.argsort(all_ids, kind="stable")  # segments need not hold contiguous id ranges
        target = np.empty_like(order)
        target[order] = np.arange(len(order))
        offsets = np.concatenate([[0], np.cumsum([len(i) for i in ids])])
        postings = Postings.merge([(p[0].postings, keep, target[lo:hi]) for p, keep, lo, hi in zip(parts, keeps, offsets[:-1], offsets[1:])])
        merged_counts = np.concatenate(counts)[order]
        bounds = np.concatenate([[0], np.cumsum(merged_counts)]).astype(np.int64)
        vectors = np.empty((len(order), dim), dtype=np.float32)
        spans = np.empty((int(bounds[-1]), 2), dtype=np.int64)
        sentence_vectors = np.empty((int(bounds[-1]), dim), dtype=np.float16)
        for (segment, _), keep, lo, hi in zip(parts, keeps, offsets[:-1], offsets[1:]):
            stored_ids, stored = segment.vectors.contents()
            vectors[target[lo:hi]] = stored[np.argsort(stored_ids)][keep]
            del stored
            source = _gather(segment.sentence_bounds, np.flatnonzero(keep))
            destination = _gather(bounds, target[lo:hi])
            spans[destination] = np.asarray(segment.sentence_spans)[source]
            sentence_vectors[destination] = segment.sentence_vectors[source]
        store = FaissStore(dim)
        store.add(all_ids[order], vectors)
        del vectors
        return cls(
            name=name,
            docs=docs,
            hashes=hashes,
            texts=Texts.of(texts),
            ids=all_ids[order],
            doc_index=np.concatenate(doc_index)[order].astype(np.int32),
            starts=np.concatenate(starts)[order],
            ends=np.concatenate(ends)[order],
            vectors=store,
            postings=postings,
            sentence_counts=merged_counts,
            sentence_spans=spans,
            sentence_vectors=sentence_vectors,
            signatures=np.concatenate(signatures),
        )

    # ------------------------------------------------------------------ files

    def write(self, folder: Path) -> None:
        """Write every file of the segment into the (new, empty) `folder`."""
        folder.mkdir(parents=True)
        with (folder / DOCS).open("w", encoding="utf-8") as handle:
            for article, content_hash in zip(self.docs, self.hashes):
                handle.write(json.dumps({**doc_record(article), "hash": content_hash}, ensure_ascii=False) + "\n")
        self.texts.save(folder)
        table = np.stack([self.ids, self.doc_index.astype(np.int64), self.starts, self.ends], axis=1) if self.count else np.zeros((0, 4), np.int64)
        np.save(folder / CHUNKS, table.astype(np.int64))
        self.vectors.save(folder / VECTORS)
        self.postings.save(folder / POSTINGS)
        where = folder / SENTENCES
        where.mkdir()
        np.save(where / "counts.npy", np.asarray(self.sentence_counts, dtype=np.int64))
        np.save(where / "spans.npy", np.asarray(self.sentence_spans, dtype=np.int64).reshape(-1, 2))
        np.save(where / "vectors.npy", np.asarray(self.sentence_vectors, dtype=np.float16))
        np.save(folder / minhash.SIGNATURES, self.signatures)

    @classmethod
    def read(cls, folder: Path, *, stores: bool = True) -> Segment:
        """The segment in `folder` (checksums are the caller's business: `storage.verify_folder`).

        With `stores=False` the vector store and the postings are read on first use instead
        (`OnDisk`): a process whose searches run elsewhere (`qa.index.cluster`) never reads them.

        Raises:
            OSError, ValueError, KeyError, TypeError, RuntimeError: unreadable or inconsistent files.
        """
        docs, hashes, inline_texts = [], [], []
        for line in (folder / DOCS).read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            content_hash = record.pop("hash", None)
            inline_texts.append(record.pop("text", None))
            article = Article(**record, text=inline_texts[-1] or "")
            hashes.append(content_hash or article.content_hash)
            docs.append(replace(article, text=""))
        if (folder / TEXTS).is_file():
            texts = Texts.load(folder)
        else:  # format 2 and before: texts inside docs.jsonl
            texts = Texts.of([t or "" for t in inline_texts])
        del inline_texts
        if len(texts) != len(docs):
            raise ValueError(f"{folder.name}: {len(texts)} texts for {len(docs)} articles")
        ids, doc_index, starts, ends = _read_chunks(folder, docs)

        def read_postings() -> Postings:
            if (folder / POSTINGS).is_dir():
                return Postings.load(folder / POSTINGS)
            # a generation folder of the format before segments: bm25s files we no longer read
            return Postings.build(texts[int(d)][s:e] for d, s, e in zip(doc_index, starts.tolist(), ends.tolist()))

        if stores:
            vectors, postings = FaissStore.load(folder / VECTORS), read_postings()
        else:
            vectors, postings = OnDisk(lambda: FaissStore.load(folder / VECTORS)), OnDisk(read_postings)
        counts, spans, sentence_vectors = _read_sentences(folder)
        if (folder / minhash.SIGNATURES).is_file():
            matrix = np.load(folder / minhash.SIGNATURES, allow_pickle=False)
            if matrix.shape != (len(docs), minhash.NUM_PERM):
                raise ValueError(f"{minhash.SIGNATURES}: {matrix.shape} signatures for {len(docs)} articles")
        else:  # written before signatures existed
            matrix = minhash.signatures([replace(d, text=texts[i]) for i, d in enumerate(docs)])
        segment = cls(folder.name, docs, hashes, texts, ids, doc_index, starts, ends, vectors, postings, counts, spans, sentence_vectors, matrix)
        segment.check()
        return segment

    def check(self) -> None:
        """Raise ValueError unless the stores agree row for row."""
        if len(self.sentence_counts) != self.count or int(np.sum(self.sentence_counts)) != len(self.sentence_spans) or len(self.sentence_spans) != len(self.sentence_vectors):
            raise ValueError(f"{self.name}: sentence store does not match the chunk store")
        stores_read = not any(isinstance(s, OnDisk) and not s.loaded for s in (self.vectors, self.postings))
        if stores_read and (not np.array_equal(np.sort(self.vectors.ids()), self.ids) or self.postings.count != self.count):
            raise ValueError(f"{self.name}: vector, BM25 and chunk stores disagree on chunk ids")
        if self.count and (self.doc_index.min() < 0 or self.doc_index.max() >= len(self.docs)):
            raise ValueError(f"{self.name}: a chunk names an article the segment does not hold")


def _read_chunks(folder: Path, docs: list[Article]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """ids (ascending), article positions, starts and ends of the segment's chunks."""
    if (folder / CHUNKS).is_file():
        table = np.load(folder / CHUNKS, allow_pickle=False).reshape(-1, 4)
        if np.any(np.diff(table[:, 0]) <= 0):
            raise ValueError(f"{CHUNKS}: chunk ids are not ascending")
        return table[:, 0].copy(), table[:, 1].astype(np.int32), table[:, 2].copy(), table[:, 3].copy()
    position = {a.id: i for i, a in enumerate(docs)}
    records = [json.loads(line) for line in (folder / LEGACY_CHUNKS).read_text(encoding="utf-8").splitlines()]
    records.sort(key=lambda r: r["id"])
    return (
        np.asarray([r["id"] for r in records], dtype=np.int64),
        np.asarray([position[r["doc_id"]] for r in records], dtype=np.int32),
        np.asarray([r["start"] for r in records], dtype=np.int64),
        np.asarray([r["end"] for r in records], dtype=np.int64),
    )


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
    """One docs.jsonl line, without the text (in texts.bin): `author` and `category` only when set, so
    lines of articles without them stay as indexes written before these fields existed have them."""
    record = article.to_dict()
    del record["text"]
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
        np.asarray(np.load(where / "vectors.npy", allow_pickle=False, mmap_mode="r")),  # a view, not numpy's slower memmap
    )
