"""The read side: an immutable `Snapshot` of the live segments, and loading one from the manifest.

A snapshot holds the live segments with their tombstones and, for the rest of `qa`, the merged view
the answer code reads (`articles`, `chunks`, `sentences` ...) plus two fan-out facades with the
search methods of a single index: `vectors` (`VectorIndex`) and `lexical`
(`qa.index.lexical.LexicalIndex`). Both search every segment with tombstoned and filtered-out rows
excluded inside that segment's search, then merge by score (equal scores: lower chunk id first), so
the top k never loses a row to a deleted one and never depends on how the collection is segmented.

The next snapshot is assembled from the previous one: only articles of segments that appeared,
disappeared or gained tombstones are touched, so an add costs what it adds, not the collection.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import IndexCorruptError
from qa.index import storage
from qa.index.lexical import LexicalIndex, LexicalPart
from qa.index.segment import Segment
from qa.records import Article, Chunk

LOADING = threading.RLock()
"""One load at a time per process: threads that see a new manifest together would otherwise each
read it, and numpy's .npy header parsing (ast.literal_eval) is not thread-safe on CPython 3.11."""


@dataclass(frozen=True)
class LiveSegment:
    """A segment as one manifest lists it: its contents and the ids of its tombstoned articles."""

    segment: Segment
    deleted: frozenset[str] = frozenset()
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def live(self) -> np.ndarray | None:
        """Boolean mask of live rows (None when nothing is tombstoned)."""
        if not self.deleted:
            return None
        if "live" not in self.memo:
            self.memo["live"] = np.asarray([d not in self.deleted for d in self.segment.doc_of_row], dtype=bool)
        return self.memo["live"]

    @property
    def live_ids(self) -> np.ndarray:
        live = self.live
        return self.segment.ids if live is None else self.segment.ids[live]

    @property
    def live_count(self) -> int:
        return len(self.live_ids)

    def live_articles(self) -> list[Article]:
        return [a for a in self.segment.articles if a.id not in self.deleted]


class VectorIndex:
    """Dense search over the live segments: each segment's `FaissStore` searched with its tombstoned
    rows (and rows a filter excludes) skipped inside the scan, results merged by score."""

    def __init__(self, parts: Sequence[LiveSegment], dim: int) -> None:
        self.parts = tuple(parts)
        self.dim = dim

    @property
    def count(self) -> int:
        return sum(p.live_count for p in self.parts)

    def ids(self) -> np.ndarray:
        arrays = [p.live_ids for p in self.parts]
        return np.concatenate(arrays) if arrays else np.zeros(0, np.int64)

    def _largest(self):
        return max((p.segment.vectors for p in self.parts), key=lambda s: s.count, default=None)

    @property
    def kind(self) -> str:
        """'approximate' when any segment's store is, else 'exact'."""
        kinds = {p.segment.vectors.kind for p in self.parts}
        return "approximate" if "approximate" in kinds else "exact"

    @property
    def nprobe(self) -> int | None:
        largest = self._largest()
        return largest.nprobe if largest is not None else None

    @property
    def nlist(self) -> int | None:
        largest = self._largest()
        return largest.nlist if largest is not None else None

    def contents(self) -> tuple[np.ndarray, np.ndarray]:
        """Live ids and their vectors (for benchmarks comparing with an exact scan)."""
        ids, vectors = [], []
        for part in self.parts:
            stored_ids, stored = part.segment.vectors.contents()
            keep = np.isin(stored_ids, part.live_ids)
            ids.append(stored_ids[keep])
            vectors.append(stored[keep])
        if not ids:
            return np.zeros(0, np.int64), np.zeros((0, self.dim), np.float32)
        return np.concatenate(ids), np.concatenate(vectors)

    def search(self, vector: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Scores and chunk ids of the `k` nearest live chunks (among `allowed`, sorted ids, when
        given), best first."""
        scores, ids = [], []
        for part in self.parts:
            restrict = part.live_ids if part.deleted else None
            if allowed is not None:
                candidates = part.live_ids
                at = np.searchsorted(allowed, candidates).clip(max=max(len(allowed) - 1, 0))
                restrict = candidates[allowed[at] == candidates] if len(allowed) else candidates[:0]
            if restrict is not None and not len(restrict):
                continue
            s, i = part.segment.vectors.search(vector, k, restrict)
            scores.append(s)
            ids.append(i)
        if not scores:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        s, i = np.concatenate(scores), np.concatenate(ids)
        order = np.lexsort((i, -s))[:k]
        return s[order], i[order]


@dataclass(frozen=True)
class Snapshot:
    """One committed state, never mutated once published: a query reads one snapshot throughout, so a
    concurrent write, merge or reload can never hand it a chunk id from another state."""

    generation: int
    articles: dict[str, Article]
    chunks: dict[int, Chunk]
    doc_chunks: dict[str, tuple[int, ...]]
    sentences: dict[int, tuple[np.ndarray, np.ndarray]]
    vectors: VectorIndex
    lexical: LexicalIndex
    next_chunk_id: int
    updated_at: float
    signatures: dict[str, np.ndarray]
    """Each article's MinHash signature, from which `qa.syndication` groups syndicated copies."""
    segments: tuple[LiveSegment, ...] = ()
    doc_segment: dict[str, str] = field(default_factory=dict)
    """Which live segment holds each article (where a delete puts its tombstone)."""
    next_segment: int = 1
    memo: dict[str, Any] = field(default_factory=dict, init=False, compare=False, repr=False)
    """Data derived from this snapshot on first use (filter columns, syndication groups)."""


def empty(dim: int, generation: int = 0, next_segment: int = 1) -> Snapshot:
    return assemble(None, (), dim=dim, generation=generation, next_chunk_id=0, updated_at=0.0, next_segment=next_segment)


def assemble(
    previous: Snapshot | None,
    segments: Iterable[LiveSegment],
    *,
    dim: int,
    generation: int,
    next_chunk_id: int,
    updated_at: float,
    next_segment: int,
) -> Snapshot:
    """The snapshot of `segments`, reusing `previous`'s records for segments both share: articles of
    segments that left (or of new tombstones) are removed first, then those of new segments added."""
    segments = tuple(segments)
    articles = dict(previous.articles) if previous else {}
    chunks = dict(previous.chunks) if previous else {}
    doc_chunks = dict(previous.doc_chunks) if previous else {}
    sentences = dict(previous.sentences) if previous else {}
    signatures = dict(previous.signatures) if previous else {}
    doc_segment = dict(previous.doc_segment) if previous else {}
    before = {s.segment.name: s for s in previous.segments} if previous else {}
    after = {s.segment.name: s for s in segments}

    def remove(doc_ids: Iterable[str]) -> None:
        for doc_id in doc_ids:
            articles.pop(doc_id, None)
            signatures.pop(doc_id, None)
            doc_segment.pop(doc_id, None)
            for chunk_id in doc_chunks.pop(doc_id, ()):
                chunks.pop(chunk_id, None)
                sentences.pop(chunk_id, None)

    for name, old in before.items():
        new = after.get(name)
        if new is None or new.segment is not old.segment:
            remove(a.id for a in old.live_articles())
        else:
            remove(new.deleted - old.deleted)
    for name, new in after.items():
        old = before.get(name)
        if old is not None and old.segment is new.segment:
            continue
        segment = new.segment
        rows_of = segment.doc_rows
        for position, article in enumerate(segment.articles):
            if article.id in new.deleted:
                continue
            articles[article.id] = article
            signatures[article.id] = segment.signatures[position]
            doc_segment[article.id] = name
            ids = []
            for row in rows_of[article.id]:
                chunk = segment.chunk(row, article.text)
                chunks[chunk.id] = chunk
                sentences[chunk.id] = segment.sentences(row)
                ids.append(chunk.id)
            doc_chunks[article.id] = tuple(ids)
    lexical = LexicalIndex(tuple(LexicalPart(s.segment.postings, s.segment.ids, s.live) for s in segments))
    return Snapshot(
        generation=generation,
        articles=articles,
        chunks=chunks,
        doc_chunks=doc_chunks,
        sentences=sentences,
        vectors=VectorIndex(segments, dim),
        lexical=lexical,
        next_chunk_id=next_chunk_id,
        updated_at=updated_at,
        signatures=signatures,
        segments=segments,
        doc_segment=doc_segment,
        next_segment=next_segment,
    )


def counts(state: Snapshot) -> dict[str, int]:
    """What the manifest records, and loading checks, of a state."""
    return {
        "documents": len(state.articles),
        "chunks": len(state.chunks),
        "vectors": state.vectors.count,
        "lexical": state.lexical.count,
        "sentences": sum(len(spans) for spans, _ in state.sentences.values()),
    }


def segment_entries(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The manifest's segments; an index of the format before segments is one segment, its generation."""
    if int(manifest["format_version"]) == storage.LEGACY_FORMAT_VERSION:
        return [{"name": storage.generation_name(int(manifest["generation"])), "files": manifest["files"], "deleted": []}]
    return list(manifest["segments"])


def read_state(index_dir: Path, manifest: dict[str, Any], previous: Snapshot | None = None) -> Snapshot:
    """The committed state the manifest describes, every file verified against its size and SHA-256.

    Segments `previous` already holds (same name: segments are immutable) are reused, not re-read,
    so a reader catching up with an add reads only the new segment.

    Raises:
        IndexCorruptError: a file is missing, truncated, altered or inconsistent with the others.
    """
    hint = storage.REBUILD_HINT
    known = {s.segment.name: s.segment for s in previous.segments} if previous else {}
    live = []
    for entry in segment_entries(manifest):
        folder = index_dir / entry["name"]
        segment = known.get(entry["name"])
        if segment is None:
            storage.verify_folder(folder, entry["files"])
            try:
                segment = Segment.read(folder)
            except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
                raise IndexCorruptError(f"{folder}: unreadable index data ({type(exc).__name__}: {exc}); {hint}".replace("\n", " ")) from exc
            segment.files = entry["files"]
        deleted = frozenset(entry.get("deleted", ()))
        if not deleted <= segment.doc_rows.keys():
            raise IndexCorruptError(f"{folder}: the manifest tombstones articles this segment does not hold; {hint}")
        live.append(LiveSegment(segment, deleted))
    dim = int(manifest["model"]["dim"])
    state = assemble(
        previous,
        live,
        dim=dim,
        generation=int(manifest["generation"]),
        next_chunk_id=int(manifest["next_chunk_id"]),
        updated_at=float(manifest.get("updated_at", 0.0)),
        next_segment=int(manifest.get("next_segment", 1)),
    )
    expected = manifest.get("counts", {})
    if counts(state) != expected:
        raise IndexCorruptError(f"{index_dir}: counts differ from the manifest ({counts(state)} vs {expected}); {hint}")
    return state


def stamp(index_dir: Path) -> tuple[int, int] | None:
    """The manifest's (mtime, inode): changes whenever a commit switches it."""
    try:
        info = (index_dir / storage.MANIFEST).stat()
    except FileNotFoundError:
        return None
    return (info.st_mtime_ns, info.st_ino)


def now() -> float:
    return time.time()
