"""Sharded serving: the driver's snapshot with its dense and BM25 searches fanned out to shard actors.

`served(shards, state)` returns `state` with two facades in place of its searches, the
rest (articles, chunks, sentence vectors, filters' columns, syndication) read by the driver from
the index folder as a local reader does. `Retriever`, `Assistant`, follow-ups and the chat call the
same methods as on a local snapshot and get the same results:

- `ShardedVectors.search`: every shard returns its k best (float32 score, id), best first; the union
  is sorted by (score desc, id asc), the order a local search sorts its segments' results by, and
  cut to k. Any chunk of the global top k is in its own shard's top k, so nothing is lost.
- `ShardedLexical` is `LexicalIndex` with its statistics and scoring asked of the shards: document
  frequencies (summed over shards, cached per snapshot), the collection's token count (once per
  snapshot), the vocabulary's spellings of Latin names (a union), and each shard's best k scored
  with the weights the driver computes from those sums. Scores come back in float64 and are merged
  before the float32 cast a local search ends with, so even ties order as they do locally.

`ShardSet` places segments on shards by size (a new segment goes to the shard with the fewest live
chunks; a placed one stays where it is, so taking up a new snapshot reads only its new segments) and
places shards on the alive nodes with the fewest shards, each pinned to its node. Ray restarts a
shard whose process died on the same node and retries the calls it had (`max_task_retries=-1`);
when the node itself is lost, the driver starts the shard again on another node. A call to a shard
that was restarted (it holds nothing) answers None; the driver sends the view again and repeats the
call. The driver gives up after `CALL_TIMEOUT` seconds.
"""

from __future__ import annotations

import itertools
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from qa.errors import ClusterError
from qa.index.cluster.shards import Shard
from qa.index.lexical import LexicalIndex, LexicalPart, lexical_tokens
from qa.text.transliterate import latin_names
from qa.index.reader import LiveSegment, Snapshot, VectorIndex

CALL_TIMEOUT = 180.0
"""Seconds a shard may take to answer, restarts included, before a question fails: Ray declares a
node dead after about 30 s without heartbeats, then restarts its actors elsewhere and reloads."""
_BACKGROUND = ThreadPoolExecutor(max_workers=4, thread_name_prefix="qa-shards")
"""Where `ShardedLexical.prefetch` asks the shards while the question is embedded."""
INLINE_ALLOWED = 4096
"""Filter selections up to this many ids travel inside each call; larger ones are put in the object
store once and read there by every shard."""


class ShardView:
    """One snapshot as the shards see it: each shard's segments, under a key no other snapshot has."""

    def __init__(self, shards: ShardSet, key: int, entries: list[list[dict[str, Any]]], dim: int) -> None:
        self.shards = shards
        self.key = key
        self.entries = entries
        self.dim = dim
        self._allowed: dict[int, tuple[np.ndarray, Any]] = {}

    def call(self, method: str, *args: Any) -> list[Any]:
        """`method(key, *args)` on every shard in parallel; each shard's answer, in shard order."""
        return self.shards.fan_out(self, method, *args)

    def allowed(self, allowed: np.ndarray | None) -> Any:
        """`allowed` as the shards should receive it: itself when small, else one object-store copy
        (the selection of a filter is one array per snapshot and filter, `qa.index.selection`)."""
        if allowed is None or len(allowed) <= INLINE_ALLOWED:
            return allowed
        found = self._allowed.get(id(allowed))
        if found is None or found[0] is not allowed:
            if len(self._allowed) >= 8:
                self._allowed.clear()
            found = self._allowed[id(allowed)] = (allowed, ray.put(allowed))
        return found[1]


class ShardSet:
    """The shard actors of one driver and the placement of segments on them.

    Args:
        index_dir: the index folder (on storage every node sees).
        count: how many shards (default: one per alive node).
        env: environment variables for the actors.
    """

    def __init__(self, index_dir: Path, count: int | None, *, env: dict[str, str]) -> None:
        self.index_dir = index_dir
        self.env = env
        count = count or len(_alive_nodes())
        self.nodes: list[str] = []
        self.actors: list[Any] = []
        self._held: list[set[int]] = []
        for number in range(count):
            self.nodes.append(self._least_used_node())
            self.actors.append(self._start(number))
            self._held.append(set())
        self._placement: dict[str, int] = {}
        self._lock = threading.Lock()
        self._keys = itertools.count(1)

    def _start(self, number: int) -> Any:
        """Shard `number`'s actor on its node. Pinned (soft pinning placed shards on whichever node
        Ray liked, here): Ray restarts it there after a crash; when the node is lost, `_replace`
        starts it on another."""
        strategy = NodeAffinitySchedulingStrategy(self.nodes[number], soft=False)
        return Shard.options(num_cpus=0, scheduling_strategy=strategy, runtime_env={"env_vars": self.env}).remote(str(self.index_dir), number)

    def _least_used_node(self) -> str:
        alive = _alive_nodes()
        if not alive:
            raise ClusterError("the Ray cluster has no alive node; check it with `ray status`")
        return min(alive, key=lambda node: (self.nodes.count(node), node))

    def _replace(self, number: int, lost: Any) -> None:
        """Start shard `number` again on an alive node, its own being gone (unless another thread did)."""
        with self._lock:
            if self.actors[number] is lost:
                self.nodes[number] = ""
                self.nodes[number] = self._least_used_node()
                self.actors[number] = self._start(number)
                self._held[number] = set()

    def view(self, segments: Sequence[LiveSegment], dim: int) -> ShardView:
        """The view of a snapshot's live `segments`, placing those no shard holds yet."""
        with self._lock:
            loads = [0] * len(self.actors)
            live = {p.segment.name: p for p in segments}
            self._placement = {name: shard for name, shard in self._placement.items() if name in live}
            for name, shard in self._placement.items():
                loads[shard] += live[name].live_count
            for part in sorted((p for p in segments if p.segment.name not in self._placement), key=lambda p: (-p.live_count, p.segment.name)):
                shard = min(range(len(loads)), key=lambda s: (loads[s], s))
                self._placement[part.segment.name] = shard
                loads[shard] += part.live_count
            entries: list[list[dict[str, Any]]] = [[] for _ in self.actors]
            for part in segments:
                entries[self._placement[part.segment.name]].append(
                    {"name": part.segment.name, "files": part.segment.files, "deleted": sorted(part.deleted)}
                )
            return ShardView(self, next(self._keys), entries, dim)

    def fan_out(self, view: ShardView, method: str, *args: Any) -> list[Any]:
        deadline = time.monotonic() + CALL_TIMEOUT
        missing = [i for i in range(len(self.actors)) if view.key not in self._held[i]]
        holds = {i: self.actors[i].hold.remote(view.key, view.entries[i], view.dim) for i in missing}
        for i, ref in holds.items():
            self._settle(view, i, "hold", (view.entries[i], view.dim), ref, deadline)
        refs = [getattr(actor, method).remote(view.key, *args) for actor in self.actors]
        return [self._settle(view, i, method, args, ref, deadline) for i, ref in enumerate(refs)]

    def _settle(self, view: ShardView, shard: int, method: str, args: tuple, ref: Any, deadline: float) -> Any:
        """The result of a call to `shard`. A call lost with the shard's process is made again (Ray
        retries most of those itself), and one the shard could not answer because it holds no view
        (restarted) is made again after the view is sent; until the deadline."""
        while True:
            actor = self.actors[shard]
            try:
                result = ray.get(ref, timeout=max(deadline - time.monotonic(), 0.001))
            except ray.exceptions.GetTimeoutError:
                raise ClusterError(f"shard {shard} did not answer within {CALL_TIMEOUT:.0f} s; check the cluster with `ray status`") from None
            except (ray.exceptions.RayActorError, ray.exceptions.ActorUnschedulableError) as exc:
                if time.monotonic() > deadline:
                    raise ClusterError(f"shard {shard} is gone and did not come back: {str(exc).splitlines()[0]}") from None
                if isinstance(exc, (ray.exceptions.ActorDiedError, ray.exceptions.ActorUnschedulableError)):
                    self._replace(shard, actor)  # its node is lost: Ray cannot restart it there
                else:
                    time.sleep(0.2)
                result = None
            if method == "hold" and result is not None:
                held = self._held[shard]
                held.add(view.key)
                while len(held) > 16:
                    held.discard(min(held))
                return result
            if result is not None:
                return result
            if time.monotonic() > deadline:
                raise ClusterError(f"shard {shard} could not take up the index within {CALL_TIMEOUT:.0f} s; check the cluster with `ray status`")
            self._held[shard].clear()
            if method != "hold":
                self._settle(view, shard, "hold", (view.entries[shard], view.dim), self.actors[shard].hold.remote(view.key, view.entries[shard], view.dim), deadline)
            ref = getattr(self.actors[shard], method).remote(view.key, *args)

    def describe(self) -> list[dict[str, Any]]:
        return ray.get([actor.describe.remote() for actor in self.actors], timeout=CALL_TIMEOUT)


def _alive_nodes() -> list[str]:
    return sorted(n["NodeID"] for n in ray.nodes() if n.get("Alive"))


class ShardedVectors(VectorIndex):
    """`VectorIndex` whose search runs on the shards. Counts and ids are the driver's own (read from
    the chunk tables, no call)."""

    def __init__(self, parts: Sequence[LiveSegment], dim: int, view: ShardView) -> None:
        super().__init__(parts, dim)
        self.view = view

    def search(self, vector: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        vector = np.ascontiguousarray(vector, dtype=np.float32)
        results = self.view.call("dense", vector, k, self.view.allowed(allowed))
        scores = np.concatenate([np.zeros(0, np.float32), *(s for s, _ in results)])
        ids = np.concatenate([np.zeros(0, np.int64), *(i for _, i in results)])
        order = np.lexsort((ids, -scores))[:k]
        return scores[order], ids[order]


class ShardedLexical(LexicalIndex):
    """`LexicalIndex` whose statistics and scoring are asked of the shards; the weights, the fusion
    trust (`known_share`) and the answer model's idf are computed here from the summed counts.

    Exact BM25 over shards takes two round trips, the counts and then the scores. The first runs
    while the question is embedded: `Index.embed_query` calls `prefetch`, which asks in the
    background for the counts of the question's words (and the Arabic spellings of its Latin
    names, and their counts), so the search that follows finds them here and makes one trip. On
    2 cores that measured within noise (bench/README.md, "More than one machine"): the count trip
    mostly hid behind the dense search already; with cores to spare it comes off the path."""

    def __init__(self, parts: tuple[LexicalPart, ...], view: ShardView) -> None:
        super().__init__(parts)
        self.view = view
        self._warming: dict[str, Future] = {}

    def prefetch(self, query: str) -> None:
        if query not in self._warming:
            if len(self._warming) > 16:
                self._settle()
            self._warming[query] = _BACKGROUND.submit(self._warm, query)

    def _warm(self, query: str) -> None:
        self._avgdl()
        self._prefetch(lexical_tokens(query) + latin_names(query))
        extra = self._name_spellings(query)
        self._prefetch(t for terms in extra.values() for t in terms)

    def _settle(self) -> None:
        """Wait for the background work started for questions (its errors are met again, and
        raised, by the calls that need its results)."""
        warming, self._warming = self._warming, {}
        for future in warming.values():
            try:
                future.result()
            except Exception:  # noqa: BLE001 - see the docstring
                pass

    def search(self, query: str, k: int, allowed: np.ndarray | None = None, extra_terms: Sequence[str] = ()) -> tuple[np.ndarray, np.ndarray]:
        self._settle()
        return super().search(query, k, allowed, extra_terms)

    def idf(self, tokens: Iterable[str]) -> dict[str, float]:
        self._settle()
        return super().idf(tokens)

    def name_spellings(self, query: str) -> dict[str, list[str]]:
        self._settle()
        return self._name_spellings(query)

    def _name_spellings(self, query: str) -> dict[str, list[str]]:
        cache = self._memo.setdefault("spelled", {})
        if query not in cache:
            if len(cache) > 1000:
                cache.clear()
            cache[query] = LexicalIndex.name_spellings(self, query)
        return cache[query]

    def _prefetch(self, terms: Iterable[str]) -> None:
        cache = self._memo.setdefault("df", {})
        missing = [t for t in dict.fromkeys(terms) if t not in cache]
        if missing:
            counts = np.sum([np.asarray(r, dtype=np.int64) for r in self.view.call("df", missing)], axis=0)
            if len(cache) > 100_000:
                cache.clear()
            cache.update(zip(missing, (int(c) for c in counts)))

    def _df(self, term: str) -> int:
        cache = self._memo.setdefault("df", {})
        if term not in cache:
            self._prefetch([term])
        return cache[term]

    def _avgdl(self) -> float:
        if "avgdl" not in self._memo:
            total = sum(length for _, length in self.view.call("stats"))
            self._memo["avgdl"] = total / self.count if self.count else 1.0
        return self._memo["avgdl"]

    def _spell(self, names: list[str]) -> dict[str, list[str]]:
        found: dict[str, set[str]] = {}
        for result in self.view.call("spellings", names):
            for name, terms in result.items():
                found.setdefault(name, set()).update(terms)
        return {name: sorted(found[name]) for name in names if name in found}

    def _top(self, content: list, function: list, avgdl: float, k: int, allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        results = self.view.call("bm25", content, function, avgdl, k, self.view.allowed(allowed))
        scores = np.concatenate([np.zeros(0, np.float64), *(s for s, _ in results)])
        ids = np.concatenate([np.zeros(0, np.int64), *(i for _, i in results)])
        return scores, ids


def served(shards: Callable[[], ShardSet], state: Snapshot) -> Snapshot:
    """`state` with searches by the shards `shards()` returns (started on first use). No shard is
    asked anything until a query needs it; then each takes up the view once (`Shard.hold`)."""
    view = _LazyView(shards, state)
    parts = tuple(LexicalPart(p.segment.postings, p.segment.ids, p.live) for p in state.segments)
    return replace(state, vectors=ShardedVectors(state.segments, state.vectors.dim, view), lexical=ShardedLexical(parts, view))


class _LazyView:
    """A `ShardView` made on first use: a build commits many snapshots that no query reads."""

    def __init__(self, shards: Callable[[], ShardSet], state: Snapshot) -> None:
        self._args: tuple[Callable[[], ShardSet], Snapshot] | None = (shards, state)
        self._view: ShardView | None = None
        self._lock = threading.Lock()

    def _made(self) -> ShardView:
        with self._lock:
            if self._view is None:
                shards, state = self._args
                self._view = shards().view(state.segments, state.vectors.dim)
                self._args = None
            return self._view

    def call(self, method: str, *args: Any) -> list[Any]:
        return self._made().call(method, *args)

    def allowed(self, allowed: np.ndarray | None) -> Any:
        return self._made().allowed(allowed)
