"""More than one machine: a Ray cluster embeds a build's batches and searches a collection's segments.

```
driver (qa index / qa ask / the chat)         Ray tasks and actors, on any node
  lists the source's files          ------>   read tasks: parse the files (reading.py)
  plans batches (chunk ids)         ------>   EmbeddingWorker x workers: one model each, writes a
  commits segments through the manifest <---    finished segment into <index>/.staging/ (build.py)
  embeds the question, ranks, quotes ------>  Shard x shards: the live segments, spread by size;
  (articles, chunks, sentence vectors)  <---    dense and BM25 top k of their segments (shards.py)
```

Everything on disk stays where a local index keeps it (`qa.index.storage`): one index folder on
storage every node sees, one manifest, one writer lock, held by the driver. Workers only write new
folders under `.staging/`, which the driver checks and moves in; shards only read. So a cluster
index is a local index, readable without Ray, and the answers are the same
(`tests/test_cluster.py`, `bench/cluster.py --check`). `docs/cluster.md` says what runs where.

This module never imports Ray at import time; `Cluster` does, and says what to install when it is
missing. The default install and a local index never import it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.config import Settings, default_cache_dir
from qa.errors import ClusterError, InputError

if TYPE_CHECKING:
    from qa.index.cluster.build import ClusterEmbedding
    from qa.index.cluster.serving import ShardSet
    from qa.index.reader import Snapshot
    from qa.records import Article

INSTALL_HINT = "pip install -e '.[cluster]' (ray==2.60.0)"
NAMESPACE = "qa"
FORWARDED = ("QA_MODEL", "QA_PRECISION", "QA_EXACT_LIMIT", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
"""Environment variables the driver passes to its actors, so a worker embeds and stores as the
driver would (model, precision, when a segment's vectors become a graph)."""


def require_ray() -> Any:
    """The `ray` module.

    Raises:
        ClusterError: Ray is not installed (the `cluster` extra).
    """
    try:
        import ray
    except ImportError:
        raise ClusterError(f"a cluster needs Ray, which is not installed; install it with {INSTALL_HINT}") from None
    return ray


def connect(address: str) -> None:
    """Join the Ray cluster at `address` as a driver (once per process).

    Raises:
        ClusterError: Ray is missing, or no cluster answers at `address`.
    """
    ray = require_ray()
    if ray.is_initialized():
        return
    try:
        ray.init(address=address, namespace=NAMESPACE, logging_level=logging.WARNING, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ClusterError(
            f"cannot reach a Ray cluster at {address!r} ({reason}); start one with `ray start --head` and pass its address"
        ) from None


def actor_env() -> dict[str, str]:
    """The environment every actor of this driver runs with: the model cache and `FORWARDED`."""
    env = {name: os.environ[name] for name in FORWARDED if name in os.environ}
    env["QA_CACHE_DIR"] = str(default_cache_dir())
    return env


class Cluster:
    """A driver's handle on a Ray cluster: embedding workers for each build, shards for searches.

    Example:
        >>> index = Index.load("index", cluster="127.0.0.1:6379", shards=3)   # what Index does with it
        >>> Retriever(index).search("من فاز بالمباراة؟")                        # fans out to the shards

    Args:
        address: a Ray address ("127.0.0.1:6379", "auto").
        workers: embedding actors per build (default: one per CPU of the cluster, or per GPU when the
            settings' device is CUDA).
        shards: shard actors (default: one per alive node).

    Raises:
        InputError: `workers` or `shards` is not positive.
        ClusterError: Ray is missing, or no cluster answers at `address`.
    """

    def __init__(self, address: str, *, workers: int | None = None, shards: int | None = None) -> None:
        for name, value in (("workers", workers), ("shards", shards)):
            if value is not None and (not isinstance(value, int) or value < 1):
                raise InputError(f"{name} must be a positive integer, got {value!r}")
        if not isinstance(address, str) or not address.strip():
            raise InputError(f"cluster must be a Ray address such as 127.0.0.1:6379 or auto, got {address!r}")
        connect(address.strip())
        self.address = address.strip()
        self.workers = workers
        self.shard_count = shards
        self._shards: ShardSet | None = None
        self._lock = threading.Lock()

    def embedding(self, index_dir: Path, settings: Settings, bar) -> ClusterEmbedding:
        """Embedding workers for one build or add into `index_dir` (stopped by its `close`)."""
        from qa.index.cluster.build import ClusterEmbedding

        return ClusterEmbedding(index_dir, settings, bar, workers=self.workers, env=actor_env())

    def read(self, path: str | os.PathLike, warnings: list[str]) -> Iterator[Article]:
        """The articles of a file, folder or URL, as `qa.ingest.files.iter_path` gives them, with the
        files parsed by tasks on the cluster."""
        from qa.index.cluster.reading import read_on_cluster

        return read_on_cluster(path, warnings, actor_env())

    def shards(self, index_dir: Path) -> ShardSet:
        """The shard actors serving `index_dir`, started on first use."""
        with self._lock:
            if self._shards is None:
                from qa.index.cluster.serving import ShardSet

                self._shards = ShardSet(index_dir, self.shard_count, env=actor_env())
            return self._shards

    def serve(self, index_dir: Path, state: Snapshot) -> Snapshot:
        """`state` with its dense and BM25 searches done by the shards (no call is made until a
        query needs one)."""
        from qa.index.cluster.serving import served

        return served(lambda: self.shards(index_dir), state)

    def describe(self) -> list[dict[str, Any]]:
        """Each shard's node, process, memory and segments (`bench/cluster.py`, `docs/cluster.md`)."""
        return [] if self._shards is None else self._shards.describe()
