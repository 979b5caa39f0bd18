"""Distributed build: batches embedded by Ray actors, one model each, committed in order by the driver.

The driver plans the batches (`qa.index.batches.plan`: chunk spans and chunk ids, in source order)
and hands each to a free `EmbeddingWorker`. The worker embeds it with its own model (loaded once,
on the CPU or a GPU), writes the finished segment into `<index>/.staging/batch-N-<attempt>/` and
seals it (fsync, SHA-256 of each file). The driver commits the staged folders in batch order through
the manifest and the writer lock it holds (`qa.index.writer.commit`, which verifies every file
against the worker's digests before moving the folder in), and merges as a local build does. So the
index is the one a local build of the same input gives: same documents, chunks, offsets and chunk
ids; vectors equal up to the rounding of another thread count.

Faults: a worker killed mid-batch (kill -9, a lost node) is restarted by Ray and the batch's call is
retried on it (`MAX_TASK_RETRIES`); the killed attempt's half-written folder has its own name, is never
committed, and goes with `.staging/` when the build ends. A batch that fails every attempt stops the
build with what was committed before it kept, as a killed local build does.
"""

from __future__ import annotations

import os
import shutil
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import ray

from qa.config import Settings, default_cache_dir
from qa.errors import ClusterError
from qa.index.batches import Batch, Staged, stage
from qa.model.embedding import SentenceTransformerEmbedder, resolve_precision

STAGING = ".staging"
"""Where workers write segments inside the index folder (same filesystem: the commit is a rename)."""
MAX_TASK_RETRIES = 3
"""Attempts after the first for a batch whose worker died; a batch that kills its worker each time
(a poison input, memory) then stops the build instead of looping."""
IN_FLIGHT_PER_WORKER = 2
"""Batches handed out or finished but not yet committed, per worker: enough to keep every worker busy
while the driver commits, few enough that the driver holds a few batches of articles, not the source."""


@ray.remote(max_restarts=-1, max_task_retries=MAX_TASK_RETRIES)
class EmbeddingWorker:
    """One model on one worker (a CPU core or a GPU), embedding whole batches into staged segments."""

    def __init__(self, model: str, precision: str, device: str, batch_size: int | None, cache_dir: str, threads: int) -> None:
        if threads and not device.startswith("cuda"):
            import torch

            torch.set_num_threads(threads)
        self.embedder = SentenceTransformerEmbedder(model, precision=precision, device=device, batch_size=batch_size, cache_dir=Path(cache_dir))

    def probe(self) -> np.ndarray:
        return np.asarray(self.embedder.probe(), dtype=np.float32)

    def stage(self, batch: Batch, staging: str) -> Staged:
        return stage(batch, self.embedder, Path(staging))

    def pid(self) -> int:
        return os.getpid()


class ClusterEmbedding:
    """The embedding workers of one build or add, fed in source order and read back in that order.

    Args:
        index_dir: the index folder, on storage every node sees.
        settings: the index's settings (model, precision, device, batch size).
        bar: the progress bar (its total grows as batches are handed out).
        workers: how many workers (default: the cluster's CPUs, or GPUs for a CUDA device).
        env: environment variables for the workers (`qa.index.cluster.actor_env`).
    """

    def __init__(self, index_dir: Path, settings: Settings, bar, *, workers: int | None, env: dict[str, str]) -> None:
        self.staging = Path(index_dir) / STAGING
        shutil.rmtree(self.staging, ignore_errors=True)  # left by a build that died: the caller holds the writer lock
        self.staging.mkdir(parents=True)
        self.bar = bar
        gpu = settings.device.startswith("cuda")
        resources = ray.cluster_resources()
        count = workers or max(1, int(resources.get("GPU" if gpu else "CPU", 1)))
        options: dict[str, Any] = {"num_cpus": 1, "scheduling_strategy": "SPREAD", "runtime_env": {"env_vars": env}}
        if gpu:
            options["num_gpus"] = 1
        arguments = (settings.model, resolve_precision(settings.precision, settings.device), settings.device, settings.batch_size, env.get("QA_CACHE_DIR", str(default_cache_dir())), 1)
        self.actors = [EmbeddingWorker.options(**options).remote(*arguments) for _ in range(count)]

    def probe(self) -> np.ndarray:
        """The model's fingerprint vector, as the first worker computes it (the driver loads no model)."""
        return self._get(self.actors[0].probe.remote(), "the model's probe")

    def run(self, batches: Iterable[Batch]) -> Iterator[tuple[Batch, Staged]]:
        """Each batch with its staged segment, in the order of `batches`, as soon as it and every
        batch before it are done; meanwhile the workers go on with the next ones."""
        free = deque(self.actors)
        running: dict[Any, tuple[Batch, Any]] = {}
        finished: dict[int, tuple[Batch, Staged]] = {}
        order: deque[int] = deque()
        source = iter(batches)
        exhausted = False
        limit = IN_FLIGHT_PER_WORKER * len(self.actors)
        while True:
            while free and not exhausted and len(running) + len(finished) < limit:
                batch = next(source, None)
                if batch is None:
                    exhausted = True
                    break
                actor = free.popleft()
                running[actor.stage.remote(batch, str(self.staging))] = (batch, actor)
                order.append(batch.number)
                self.bar.total = (self.bar.total or 0) + batch.chunk_count
            if order and order[0] in finished:
                yield finished.pop(order.popleft())
                continue
            if not running:
                return
            ready, _ = ray.wait(list(running), num_returns=1)
            for ref in ready:
                batch, actor = running.pop(ref)
                staged = self._get(ref, f"batch {batch.number} ({len(batch.articles)} articles from {batch.articles[0].id!r})")
                free.append(actor)
                finished[batch.number] = (batch, staged)
                self.bar.update(batch.chunk_count)

    def close(self) -> None:
        """Stop the workers (their models go with them) and remove what is left under `.staging/`."""
        for actor in self.actors:
            ray.kill(actor, no_restart=True)
        shutil.rmtree(self.staging, ignore_errors=True)

    @staticmethod
    def _get(ref: Any, what: str) -> Any:
        try:
            return ray.get(ref)
        except ray.exceptions.RayError as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ClusterError(f"{what} failed on the cluster after {MAX_TASK_RETRIES + 1} attempts: {reason}") from exc
