"""Syndicated copies at search time: one passage per story, and every outlet that carried it cited.

Articles are grouped into stories by their MinHash signatures (`qa.index.signatures`, computed at
index time); this module reads the groups of the snapshot in hand.
"""

from __future__ import annotations

import numpy as np

from qa.index.base import Snapshot
from qa.index.signatures import NUM_PERM, groups


def stories(snapshot: Snapshot) -> dict[str, tuple[str, ...]]:
    """The snapshot's syndication groups (articles without copies are absent), computed once."""
    found = snapshot.memo.get("stories")
    if found is None:
        doc_ids, rows = [], []
        for part in snapshot.segments:
            doc_ids += [part.segment.docs[i].id for i in part.live_positions]
            rows.append(part.segment.signatures[part.live_positions])
        matrix = np.concatenate(rows) if rows else np.zeros((0, NUM_PERM), np.uint32)
        found = snapshot.memo["stories"] = groups(doc_ids, matrix)
    return found


def copies(snapshot: Snapshot, doc_id: str, allowed: set[str] | None = None) -> tuple[str, ...]:
    """The other articles carrying `doc_id`'s story (restricted to `allowed` ids when given)."""
    return tuple(d for d in stories(snapshot).get(doc_id, ()) if d != doc_id and (allowed is None or d in allowed))


def with_copies(snapshot: Snapshot, doc_ids: tuple[str, ...], filters=None) -> tuple[str, ...]:
    """`doc_ids` followed by the other copies of their stories that `filters` allows (articles the
    filter excludes are not cited: the reader asked for those outlets or dates only)."""
    found = dict.fromkeys(doc_ids)
    for doc_id in doc_ids:
        for other in copies(snapshot, doc_id):
            if filters is None or filters.allows(snapshot.articles[other]):
                found.setdefault(other)
    return tuple(found)


def one_per_story(snapshot: Snapshot, ranked: list) -> list:
    """`ranked` (best first, items with a `chunk_id`) without passages of a story's other copies: the
    best-ranked copy speaks for the story, its other passages stay."""
    groups_of = stories(snapshot)
    if not groups_of:
        return list(ranked)
    speaker: dict[tuple[str, ...], str] = {}
    kept = []
    for item in ranked:
        doc_id = snapshot.chunks[item.chunk_id].doc_id
        story = groups_of.get(doc_id)
        if story is not None and speaker.setdefault(story, doc_id) != doc_id:
            continue
        kept.append(item)
    return kept
