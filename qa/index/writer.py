"""The write side: commit a change as (at most) one new segment plus a manifest, and merge segments.

Every write runs behind the folder's writer lock (`storage.writer_lock`) and becomes visible in one
step, the atomic manifest switch. A commit writes only its new segment's files and the manifest;
deletes add tombstones to the manifest. Folders no longer listed by the new manifest nor by the one
it replaced are deleted: the previous state stays on disk for one commit, the grace period the
format before segments gave a reader that was loading it (a reader that has loaded a segment keeps
using it even after its files are gone: memory-mapped files outlive their names on POSIX).

Merging is tiered, like Lucene's merge policies: a segment's tier is the order of magnitude of its
live chunk count over `TIER_FLOOR` chunks, and a tier holding `MERGE_FACTOR` segments is merged into
one segment of the next tier. So a collection of n chunks keeps at most about
`MERGE_FACTOR * log10(n / TIER_FLOOR)` segments, and each chunk is rewritten about once per tier,
O(log n) times in its life, instead of once per commit. No merge writes more than
`MAX_MERGED_CHUNKS` chunks, which bounds the memory a build needs. A segment whose articles are all
deleted leaves the manifest without a merge. `optimize` merges everything into one segment.
"""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.errors import QAError
from qa.index import storage
from qa.index.reader import LiveSegment, Snapshot, assemble, counts
from qa.index.segment import Segment

if TYPE_CHECKING:
    from qa.index.batches import Staged

MERGE_FACTOR = 10
"""Segments per tier before they merge: search cost grows with the segment count (one FAISS and one
BM25 pass each), merge cost with how often rows are rewritten; 10 is Lucene's default too."""
MAX_MERGED_CHUNKS = 250_000
"""No merge writes a larger segment (only `optimize` does, on demand): a merge holds its output's
vectors and sentence vectors in memory (a few KB per chunk), so this bounds a build's peak memory by a
segment rather than by the collection; at a million chunks a search fans out to a few such segments
plus the small tiers."""
TIER_FLOOR = 1_000
"""Segments below this many live chunks share the lowest tier: an hourly commit of a few articles
makes segments of a few dozen chunks, and ten of them merge in milliseconds."""


def tier(live_chunks: int) -> int:
    """0 below `TIER_FLOOR` chunks, then one more per factor of `MERGE_FACTOR`."""
    if live_chunks < TIER_FLOOR:
        return 0
    return 1 + int(math.floor(math.log(live_chunks / TIER_FLOOR, MERGE_FACTOR) + 1e-9))


def plan_merge(sizes: Sequence[int]) -> list[int]:
    """Positions of the segments to merge next (live chunk counts `sizes`): of the lowest tier that
    holds `MERGE_FACTOR` segments, the smallest ones, as many as fit in `MAX_MERGED_CHUNKS` (at least
    two); empty when no tier is full. Segments above half that size are left alone, as Lucene's
    TieredMergePolicy leaves segments near its maximum merged size."""
    by_tier: dict[int, list[int]] = {}
    for position, size in enumerate(sizes):
        if size <= MAX_MERGED_CHUNKS // 2:
            by_tier.setdefault(tier(size), []).append(position)
    for level in sorted(by_tier):
        members = by_tier[level]
        if len(members) < MERGE_FACTOR:
            continue
        chosen, total = [], 0
        for position in sorted(members, key=lambda p: sizes[p])[:MERGE_FACTOR]:
            if total + sizes[position] > MAX_MERGED_CHUNKS:
                break
            chosen.append(position)
            total += sizes[position]
        if len(chosen) >= 2:
            return sorted(chosen)
    return []


def next_segment_number(index_dir: Path, state: Snapshot) -> int:
    try:
        committed = int(storage.read_manifest(index_dir).get("next_segment", 1))
    except QAError:
        committed = 1
    return max(state.next_segment, committed)


def commit(
    index_dir: Path,
    state: Snapshot,
    *,
    settings: dict[str, Any],
    model: dict[str, Any],
    new: Segment | None = None,
    staged: Staged | None = None,
    deleted: Iterable[str] = (),
    replaced: Iterable[str] = (),
    next_chunk_id: int | None = None,
    updated_at: float,
) -> Snapshot:
    """Write `new` (if any) as the next segment folder, or move `staged` (a segment another process
    wrote and sealed, `qa.index.batches.stage`) there, then switch the manifest to `state`'s
    segments minus `replaced` ones, with `deleted` article ids tombstoned in their segments, plus
    the new one.

    A staged folder is checked file by file against the sizes and SHA-256 its writer sealed it with
    before it is moved in, so a folder a killed worker left half-written can never be committed.

    Returns the committed snapshot (assembled from `state`, which is never mutated).

    Raises:
        IndexCorruptError: a staged file is missing or differs from what its writer sealed.
    """
    try:
        previous = storage.read_manifest(index_dir)
    except QAError:
        previous = None
    generation = max(state.generation, int(previous["generation"]) if previous else 0) + 1
    number = next_segment_number(index_dir, state)
    dim = int(model["dim"])
    tombstones: dict[str, set[str]] = {}
    for doc_id in deleted:
        tombstones.setdefault(state.articles.segment_of(doc_id), set()).add(doc_id)
    replaced = set(replaced)
    live = []
    for part in state.segments:
        if part.segment.name in replaced:
            continue
        extra = tombstones.get(part.segment.name)
        if extra:
            part = LiveSegment(part.segment, part.deleted | frozenset(extra))
            if not part.live_documents:
                continue  # every article deleted: the segment leaves the manifest
        live.append(part)
    if new is not None or staged is not None:
        folder = index_dir / storage.segment_name(number)
        if folder.exists():  # left by a commit that crashed before its manifest switch
            shutil.rmtree(folder)
        if staged is not None:
            storage.verify_folder(staged.folder, staged.files)
            os.rename(staged.folder, folder)
            storage.fsync_path(index_dir)
            files = staged.files
        else:
            new.write(folder)
            files = storage.seal_folder(folder)
        written = Segment.read(folder)  # the same contents, memory-mapped from the files just written
        written.files = files
        live.append(LiveSegment(written))
        number += 1
    snapshot = assemble(
        live,
        dim=dim,
        generation=generation,
        next_chunk_id=state.next_chunk_id if next_chunk_id is None else next_chunk_id,
        updated_at=updated_at,
        next_segment=number,
    )
    manifest = {
        "format_version": storage.FORMAT_VERSION,
        "generation": generation,
        "updated_at": updated_at,
        "settings": settings,
        "model": model,
        "counts": counts(snapshot),
        "next_chunk_id": snapshot.next_chunk_id,
        "next_segment": number,
        "segments": [
            {
                "name": part.segment.name,
                "files": part.segment.files,
                "deleted": sorted(part.deleted),
                "chunks": part.segment.count,
                "live_chunks": part.live_count,
            }
            for part in live
        ],
    }
    storage.write_manifest(index_dir, manifest)
    keep = {part.segment.name for part in live}
    if previous is not None:
        from qa.index.reader import segment_entries

        keep |= {entry["name"] for entry in segment_entries(previous)}
    storage.remove_unreferenced(index_dir, keep)
    return snapshot


def merge(index_dir: Path, state: Snapshot, positions: Sequence[int], **meta: Any) -> Snapshot:
    """Merge the segments at `positions` of `state` into one new segment and commit."""
    parts = [state.segments[p] for p in positions]
    number = next_segment_number(index_dir, state)
    merged = Segment.merged(storage.segment_name(number), [(p.segment, p.deleted) for p in parts], int(meta["model"]["dim"]))
    return commit(index_dir, state, new=merged, replaced={p.segment.name for p in parts}, updated_at=state.updated_at, **meta)


def merge_by_policy(index_dir: Path, state: Snapshot, **meta: Any) -> Snapshot:
    """Merge full tiers until none is full (a merge can fill the next tier)."""
    while positions := plan_merge([p.live_count for p in state.segments]):
        state = merge(index_dir, state, positions, **meta)
    return state
