"""A shard: a Ray actor that holds some of a collection's live segments and searches them.

The driver decides which segments each shard holds (`qa.index.cluster.serving`) and tells it with
`hold(key, entries)`: the segments' names, file digests and tombstones as one snapshot of the
driver lists them. A shard keeps the last few such views (`VIEWS`), so questions still running on
the previous snapshot are answered while a new one is taken up, and it reads a segment once
whatever the number of views that use it. Every search names its view; a shard that does not hold
it (it was restarted after a crash or a node loss, and holds nothing) answers None, and the driver
sends the view again and repeats the call. A shard reads everything from the index folder on
shared storage, so it can restart on any node.

Searches are the local ones, on the shard's segments only: `VectorIndex.search` for dense and
`qa.index.lexical.top_of_parts` for BM25, with tombstones and the allowed ids applied inside each
segment, as they are in one process. BM25 takes the collection-wide statistics from the driver
(each word's weight and the average length): the shard reports its own counts (`df`, `stats`),
the driver sums them, as Elasticsearch's dfs_query_then_fetch does, so a chunk scores exactly as in
a local index.

A shard reads of each segment only what search needs (`SearchSegment`: article ids, the chunk table,
vectors, postings), never article metadata, texts or sentence vectors, which stay with the driver.
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import ray

from qa.errors import IndexCorruptError
from qa.index import storage
from qa.index.faiss_backend import FaissStore
from qa.index.lexical import LexicalIndex, LexicalPart, Postings, top_of_parts
from qa.index.reader import LiveSegment, VectorIndex
from qa.index.segment import CHUNKS, DOCS, POSTINGS, VECTORS, Segment

VIEWS = 4
"""Views a shard keeps: the current snapshot, the one questions in flight may still use, and a margin
for a driver whose threads move to a new snapshot at different moments."""
CONCURRENCY = 4
"""Calls a shard runs at once: a question's dense and BM25 searches arrive together (the retriever runs
them in parallel), and faiss and numpy release the GIL."""


@dataclass(eq=False)
class SearchSegment:
    """What a search needs of one segment folder; quacks like `Segment` for `LiveSegment`,
    `VectorIndex` and `LexicalPart`."""

    name: str
    position: dict[str, int]
    ids: np.ndarray
    doc_index: np.ndarray
    vectors: FaissStore
    postings: Postings
    memo: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def count(self) -> int:
        return len(self.ids)


def read_searchable(folder: Path, files: dict[str, dict[str, Any]]) -> SearchSegment | Segment:
    """The search side of the segment in `folder`, its files verified against `files` (the manifest's).

    Raises:
        IndexCorruptError: a file is missing, altered or inconsistent with the others.
    """
    needed = {name: digest for name, digest in files.items() if name in (DOCS, CHUNKS, VECTORS) or name.startswith(POSTINGS + "/")}
    hint = storage.REBUILD_HINT
    try:
        if CHUNKS not in needed or not any(name.startswith(POSTINGS + "/") for name in needed):
            storage.verify_folder(folder, files)  # an older format: read it whole
            return Segment.read(folder)
        storage.verify_folder(folder, needed)
        ids = [json.loads(line)["id"] for line in (folder / DOCS).read_text(encoding="utf-8").splitlines()]
        table = np.load(folder / CHUNKS, allow_pickle=False).reshape(-1, 4)
        segment = SearchSegment(
            name=folder.name,
            position={doc_id: i for i, doc_id in enumerate(ids)},
            ids=table[:, 0].copy(),
            doc_index=table[:, 1].astype(np.int32),
            vectors=FaissStore.load(folder / VECTORS),
            postings=Postings.load(folder / POSTINGS),
        )
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise IndexCorruptError(f"{folder}: unreadable index data ({type(exc).__name__}: {exc}); {hint}".replace("\n", " ")) from exc
    if not np.array_equal(np.sort(segment.vectors.ids()), segment.ids) or segment.postings.count != segment.count:
        raise IndexCorruptError(f"{folder}: vector, BM25 and chunk stores disagree on chunk ids; {hint}")
    return segment


class _View:
    """One snapshot's segments on this shard, with the searches over them."""

    def __init__(self, parts: Sequence[LiveSegment], dim: int) -> None:
        self.parts = tuple(parts)
        self.vectors = VectorIndex(self.parts, dim)
        self.lexical = LexicalIndex(tuple(LexicalPart(p.segment.postings, p.segment.ids, p.live) for p in self.parts))

    def stats(self) -> tuple[int, int]:
        """Live chunks and their total length in BM25 tokens."""
        total = 0
        for part in self.lexical.parts:
            lengths = part.postings.lengths if part.live is None else part.postings.lengths[part.live]
            total += int(np.asarray(lengths).sum(dtype=np.int64))
        return self.lexical.count, total


@ray.remote(max_restarts=-1, max_task_retries=-1, max_concurrency=CONCURRENCY)
class Shard:
    """Searches the segments the driver assigns it. Every search returns None when this shard does
    not hold the view it names (the driver then sends it with `hold`)."""

    def __init__(self, index_dir: str, number: int) -> None:
        self.index_dir = Path(index_dir)
        self.number = number
        self._segments: dict[str, SearchSegment | Segment] = {}
        self._views: OrderedDict[int, _View] = OrderedDict()
        self._lock = threading.Lock()

    def hold(self, key: int, entries: list[dict[str, Any]], dim: int) -> int:
        """Take up view `key`: the segments `entries` name (name, files, deleted), read from the index
        folder unless already held. Returns the view's live chunk count."""
        with self._lock:
            if key not in self._views:
                parts = []
                for entry in entries:
                    segment = self._segments.get(entry["name"])
                    if segment is None:
                        segment = self._segments[entry["name"]] = read_searchable(self.index_dir / entry["name"], entry["files"])
                    parts.append(LiveSegment(segment, frozenset(entry["deleted"])))
                self._views[key] = _View(parts, dim)
                while len(self._views) > VIEWS:
                    self._views.popitem(last=False)
                used = {p.segment.name for view in self._views.values() for p in view.parts}
                self._segments = {name: s for name, s in self._segments.items() if name in used}
            return self._views[key].vectors.count

    def _view(self, key: int) -> _View | None:
        return self._views.get(key)

    def dense(self, key: int, vector: np.ndarray, k: int, allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray] | None:
        """The shard's `k` nearest live (and allowed) chunks: float32 scores and ids, best first."""
        view = self._view(key)
        return None if view is None else view.vectors.search(vector, k, allowed)

    def bm25(self, key: int, content: list, function: list, avgdl: float, k: int, allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray] | None:
        """The shard's best `k` by BM25 with the collection's weights and average length (float64)."""
        view = self._view(key)
        return None if view is None else top_of_parts(view.lexical.parts, content, function, avgdl, k, allowed)

    def df(self, key: int, terms: list[str]) -> list[int] | None:
        """Live chunks of this shard that use each term."""
        view = self._view(key)
        return None if view is None else [view.lexical._df(t) for t in terms]

    def stats(self, key: int) -> tuple[int, int] | None:
        view = self._view(key)
        return None if view is None else view.stats()

    def spellings(self, key: int, names: list[str]) -> dict[str, list[str]] | None:
        """The terms of this shard's vocabulary that spell each Latin name (`Spellings.of`)."""
        view = self._view(key)
        return None if view is None else view.lexical._spell(names)

    def describe(self) -> dict[str, Any]:
        """Where this shard runs and what it holds: node, process, resident memory, latest view."""
        memory = _memory()
        latest = next(reversed(self._views.values()), None) if self._views else None
        return {
            "shard": self.number,
            "node": ray.get_runtime_context().get_node_id(),
            "pid": os.getpid(),
            "segments": [p.segment.name for p in latest.parts] if latest else [],
            "chunks": latest.vectors.count if latest else 0,
            **memory,
        }


def _memory() -> dict[str, float]:
    """This process's resident memory in MiB: all of it, and the anonymous part (what is not pages of
    memory-mapped index files, which the kernel can drop and re-read)."""
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
            values[name] = round(int(rest.split()[0]) / 1024, 1)
    return {"rss_mb": values.get("VmRSS", 0.0), "anon_mb": values.get("RssAnon", 0.0), "file_mb": values.get("RssFile", 0.0), "peak_mb": values.get("VmHWM", 0.0)}
