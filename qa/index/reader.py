"""The read side: an immutable `Snapshot` of the live segments, and loading one from the manifest.

A snapshot holds the live segments with their tombstones and, for the rest of `qa`, the merged view
the answer code reads (`articles`, `chunks`, `sentences` ...) plus two fan-out facades with the
search methods of a single index: `vectors` (`VectorIndex`) and `lexical`
(`qa.index.lexical.LexicalIndex`). Both search every segment with tombstoned and filtered-out rows
excluded inside that segment's search, then merge by score (equal scores: lower chunk id first), so
the top k never loses a row to a deleted one and never depends on how the collection is segmented.

Articles, chunks and sentences are looked up in the segments on access (`Articles`, `Chunks` ...), never
copied into per-snapshot dictionaries: a new snapshot costs O(segments), so an add costs what it adds,
and a process's memory is what its segments keep resident, not a Python object per chunk.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
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
            gone = [self.segment.position[d] for d in self.deleted if d in self.segment.position]
            self.memo["live"] = ~np.isin(self.segment.doc_index, gone)
        return self.memo["live"]

    @property
    def live_ids(self) -> np.ndarray:
        live = self.live
        return self.segment.ids if live is None else self.segment.ids[live]

    @property
    def live_count(self) -> int:
        return len(self.live_ids)

    @property
    def live_documents(self) -> int:
        return len(self.segment.docs) - len(self.deleted)

    @property
    def live_positions(self) -> list[int]:
        """Positions (in `segment.docs`) of the articles not tombstoned, in order."""
        if "positions" not in self.memo:
            self.memo["positions"] = [i for i, a in enumerate(self.segment.docs) if a.id not in self.deleted]
        return self.memo["positions"]

    def row_of(self, chunk_id: int) -> int | None:
        """The live row holding `chunk_id`, if this segment has it."""
        ids = self.segment.ids
        if not len(ids) or chunk_id < ids[0] or chunk_id > ids[-1]:
            return None
        row = int(np.searchsorted(ids, chunk_id))
        if ids[row] != chunk_id or (self.live is not None and not self.live[row]):
            return None
        return row

    def position_of(self, doc_id: str) -> int | None:
        """The position of live article `doc_id` in this segment, if it has it."""
        position = self.segment.position.get(doc_id)
        return None if position is None or doc_id in self.deleted else position


class _Located:
    """Lookups by id across a snapshot's live segments (each article and chunk is live in one)."""

    def __init__(self, parts: tuple[LiveSegment, ...]) -> None:
        self.parts = parts

    def _find(self, key: object) -> tuple[LiveSegment, int] | None:  # pragma: no cover - per kind
        raise NotImplementedError

    def _at(self, key: object) -> tuple[LiveSegment, int]:
        found = self._find(key)
        if found is None:
            raise KeyError(key)
        return found

    def __contains__(self, key: object) -> bool:
        return self._find(key) is not None


class _ByArticle(_Located):
    """Keyed by article id: (segment, position in its `docs`)."""

    def _find(self, key: object) -> tuple[LiveSegment, int] | None:
        if isinstance(key, str):
            for part in self.parts:
                position = part.position_of(key)
                if position is not None:
                    return part, position
        return None

    def __iter__(self) -> Iterator[str]:
        for part in self.parts:
            for position in part.live_positions:
                yield part.segment.docs[position].id

    def __len__(self) -> int:
        return sum(p.live_documents for p in self.parts)


class _ByChunk(_Located):
    """Keyed by chunk id: (segment, row); iterated in id order."""

    def _find(self, key: object) -> tuple[LiveSegment, int] | None:
        if isinstance(key, (int, np.integer)):
            for part in self.parts:
                row = part.row_of(int(key))
                if row is not None:
                    return part, row
        return None

    def __iter__(self) -> Iterator[int]:
        arrays = [p.live_ids for p in self.parts]
        return iter(np.sort(np.concatenate(arrays)).tolist() if arrays else [])

    def __len__(self) -> int:
        return sum(p.live_count for p in self.parts)


class Articles(_ByArticle, Mapping[str, Article]):
    """The live articles by id, their texts read from the segments' memory-mapped files on access."""

    def __getitem__(self, doc_id: str) -> Article:
        part, position = self._at(doc_id)
        return part.segment.article(position)

    def metadata(self) -> Iterator[Article]:
        """Every live article without its text (`text` is ""): for filters and overviews, which
        would otherwise decode the whole collection."""
        for part in self.parts:
            for position in part.live_positions:
                yield part.segment.docs[position]

    def content_hash(self, doc_id: str) -> str | None:
        found = self._find(doc_id)
        return None if found is None else found[0].segment.hashes[found[1]]

    def segment_of(self, doc_id: str) -> str | None:
        found = self._find(doc_id)
        return None if found is None else found[0].segment.name


class DocChunks(_ByArticle, Mapping[str, tuple[int, ...]]):
    """Each live article's chunk ids, in order."""

    def __getitem__(self, doc_id: str) -> tuple[int, ...]:
        part, position = self._at(doc_id)
        return tuple(part.segment.ids[part.segment.rows_of(position)].tolist())


class Signatures(_ByArticle, Mapping[str, np.ndarray]):
    """Each live article's MinHash signature (`qa.search.syndication`)."""

    def __getitem__(self, doc_id: str) -> np.ndarray:
        part, position = self._at(doc_id)
        return part.segment.signatures[position]


class Chunks(_ByChunk, Mapping[int, Chunk]):
    """The live chunks by id, built from their segment on access."""

    def __getitem__(self, chunk_id: int) -> Chunk:
        part, row = self._at(chunk_id)
        return part.segment.chunk(row)


class Sentences(_ByChunk, Mapping[int, tuple[np.ndarray, np.ndarray]]):
    """Each live chunk's absolute sentence spans and unit vectors (float16, memory-mapped)."""

    def __getitem__(self, chunk_id: int) -> tuple[np.ndarray, np.ndarray]:
        part, row = self._at(chunk_id)
        return part.segment.sentences(row)


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
    def ef_search(self) -> int | None:
        """The largest segment's graph efSearch (None when it is exact)."""
        largest = self._largest()
        return largest.ef_search if largest is not None else None

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
    concurrent write, merge or reload can never hand it a chunk id from another state.

    `articles`, `chunks`, `doc_chunks`, `sentences` and `signatures` are read-only mappings over the
    live segments, not copies: a snapshot costs what its segments hold, and publishing the next one
    costs nothing per article."""

    generation: int
    segments: tuple[LiveSegment, ...]
    vectors: VectorIndex
    lexical: LexicalIndex
    next_chunk_id: int
    updated_at: float
    next_segment: int = 1
    memo: dict[str, Any] = field(default_factory=dict, init=False, compare=False, repr=False)
    """Data derived from this snapshot on first use (filter columns, syndication groups)."""

    @property
    def articles(self) -> Articles:
        return Articles(self.segments)

    @property
    def chunks(self) -> Chunks:
        return Chunks(self.segments)

    @property
    def doc_chunks(self) -> DocChunks:
        return DocChunks(self.segments)

    @property
    def sentences(self) -> Sentences:
        return Sentences(self.segments)

    @property
    def signatures(self) -> Signatures:
        """Each article's MinHash signature, from which `qa.search.syndication` groups syndicated copies."""
        return Signatures(self.segments)


def empty(dim: int, generation: int = 0, next_segment: int = 1) -> Snapshot:
    return assemble((), dim=dim, generation=generation, next_chunk_id=0, updated_at=0.0, next_segment=next_segment)


def assemble(
    segments: Iterable[LiveSegment],
    *,
    dim: int,
    generation: int,
    next_chunk_id: int,
    updated_at: float,
    next_segment: int,
) -> Snapshot:
    """The snapshot of `segments`: O(segments), whatever the collection's size."""
    segments = tuple(segments)
    lexical = LexicalIndex(tuple(LexicalPart(s.segment.postings, s.segment.ids, s.live) for s in segments))
    return Snapshot(
        generation=generation,
        segments=segments,
        vectors=VectorIndex(segments, dim),
        lexical=lexical,
        next_chunk_id=next_chunk_id,
        updated_at=updated_at,
        next_segment=next_segment,
    )


def counts(state: Snapshot) -> dict[str, int]:
    """What the manifest records, and loading checks, of a state."""
    sentences = 0
    for part in state.segments:
        per_row = np.asarray(part.segment.sentence_counts)
        sentences += int(per_row.sum() if part.live is None else per_row[part.live].sum())
    return {
        "documents": len(state.articles),
        "chunks": len(state.chunks),
        "vectors": state.vectors.count,
        "lexical": state.lexical.count,
        "sentences": sentences,
    }


def segment_entries(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The manifest's segments; an index of the format before segments is one segment, its generation."""
    if int(manifest["format_version"]) == storage.LEGACY_FORMAT_VERSION:
        return [{"name": storage.generation_name(int(manifest["generation"])), "files": manifest["files"], "deleted": []}]
    return list(manifest["segments"])


def read_state(index_dir: Path, manifest: dict[str, Any], previous: Snapshot | None = None, *, stores: bool = True) -> Snapshot:
    """The committed state the manifest describes, every file verified against its size and SHA-256.

    Segments `previous` already holds (same name: segments are immutable) are reused, not re-read,
    so a reader catching up with an add reads only the new segment. `stores=False` leaves each
    segment's vectors and postings on disk until something uses them (`Segment.read`).

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
                segment = Segment.read(folder, stores=stores)
            except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
                raise IndexCorruptError(f"{folder}: unreadable index data ({type(exc).__name__}: {exc}); {hint}".replace("\n", " ")) from exc
            segment.files = entry["files"]
        deleted = frozenset(entry.get("deleted", ()))
        if not deleted <= segment.position.keys():
            raise IndexCorruptError(f"{folder}: the manifest tombstones articles this segment does not hold; {hint}")
        live.append(LiveSegment(segment, deleted))
    dim = int(manifest["model"]["dim"])
    state = assemble(
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
