"""Shared fixtures: the real default model (built once per machine into .cache/), the seeds' index
(built once per test session), a deterministic fake embedder for storage mechanics, and no network."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
XQUAD = REPO.parent / "shared" / "data" / "xquad"

os.environ.setdefault("QA_CACHE_DIR", str(REPO / ".cache"))
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    """Unit tests must not reach out: only loopback connections are allowed."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and (host in ("localhost", "::1") or host.startswith("127.") or host.startswith("/")):
            return real_connect(self, address)
        raise OSError(f"network access blocked in tests: {address!r}")

    monkeypatch.setattr(socket.socket, "connect", guarded)


class HashEmbedder:
    """Deterministic bag-of-words vectors: identical texts embed identically, shared words score higher.

    Only for tests about mechanics (offsets, storage, upserts); quality is always tested on the real model.
    """

    name = "test-hash-embedder"
    dim = 64
    precision = "float32"

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dim, dtype=np.float32)
        for word in text.split():
            h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
            vec[h % self.dim] += 1.0 if (h >> 32) & 1 else -1.0
        norm = np.linalg.norm(vec)
        return vec / norm if norm else vec

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._vector(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def encode_passages(
        self,
        texts: Sequence[str],
        sentence_spans: Sequence[Sequence[tuple[int, int]]] | None = None,
        on_batch: Callable[[int], object] | None = None,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        vectors = self.encode_queries(texts)
        spans = sentence_spans or [[] for _ in texts]
        sentences = [
            np.stack([self._vector(t[s:e]) for s, e in sp]) if sp else np.zeros((0, self.dim), np.float32)
            for t, sp in zip(texts, spans)
        ]
        if on_batch:
            on_batch(len(texts))
        return vectors, sentences

    def probe(self) -> np.ndarray:
        return self._vector("probe text")


@pytest.fixture
def fake_embedder() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture(scope="session")
def real_embedder():
    """The default multilingual-e5-small, materialized once per machine and loaded once per session."""
    from qa.model.embedding import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder()
    embedder.model
    return embedder


@pytest.fixture(scope="session")
def seeds_index(tmp_path_factory: pytest.TempPathFactory, real_embedder):
    """The seeds indexed with the real model (read-only for tests: copy it before changing it)."""
    from qa.index import Index

    return Index.build(SEEDS, tmp_path_factory.mktemp("seeds") / "index", embedder=real_embedder, progress=False)


def stop_server(proc: subprocess.Popen) -> None:
    """Stop a server a test started: SIGTERM, then SIGKILL if it has not ended in 15 s."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=15)
