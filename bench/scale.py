"""`python bench/scale.py`: the vector store (and BM25) at a million chunks, printed as JSON.

Everything here is synthetic, since embedding a million chunks with the real model would take
about a day on 2 cores:

- Vectors: 384-dim unit vectors with a two-level cluster structure, like news (a topic, stories
  within it, articles about each story): `n / 1000` topic centres drawn uniformly on the sphere,
  10 stories per topic at cosine ~0.8 from it, and each chunk at cosine ~0.85 from its story.
  Chunks of one story have cosine ~0.72 to each other, of one topic ~0.46, unrelated ones ~0.
- Queries (default 200): fresh points drawn the same way, none of them in the store.
- Truth: exact top-10 by inner product over all vectors (numpy, in blocks).
- Store: `FaissStore` from qa, fed in one `add` of all vectors; past `exact_limit()` that trains the
  approximate index (graph links, efSearch calibration) - `build_s` is that whole call.
- BM25 (`--bm25-n`, default 0 = skipped): `LexicalIndex.build` over XQuAD ar+en paragraphs
  repeated with varied ids (each copy tagged with a few unique number tokens).

Usage: python bench/scale.py [--n 1000000] [--queries 200] [--bm25-n 100000]
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
XQUAD = REPO.parent / "shared" / "data" / "xquad"
LATENT_DIM = 32
CLUSTERS = 2000


def clustered_vectors(
    n: int, queries: int, dim: int, seed: int, *, spread: float = 0.6, noise: float = 0.3
) -> tuple[np.ndarray, np.ndarray]:
    """`n` corpus vectors and `queries` query vectors from the same process: a mixture of `CLUSTERS`
    Gaussian topics of very unequal sizes (Pareto weights) in a `LATENT_DIM`-dim space, each point
    `spread` from its topic centre, projected to `dim` dims, plus isotropic noise of norm `noise`
    (relative to the unit signal), then normalised. Topics overlap, so neighbours straddle clusters."""
    rng = np.random.default_rng(seed)
    projection = rng.standard_normal((LATENT_DIM, dim), dtype=np.float32) / np.float32(math.sqrt(LATENT_DIM))
    centres = rng.standard_normal((CLUSTERS, LATENT_DIM), dtype=np.float32)
    weights = rng.pareto(1.0, CLUSTERS) + 1
    weights /= weights.sum()

    def draw(m: int) -> np.ndarray:
        z = centres[rng.choice(CLUSTERS, m, p=weights)] + spread * rng.standard_normal((m, LATENT_DIM), dtype=np.float32)
        x = z @ projection
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        e = rng.standard_normal((m, dim), dtype=np.float32)
        x += np.float32(noise) * e / np.linalg.norm(e, axis=1, keepdims=True)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        return x

    corpus = np.empty((n, dim), dtype=np.float32)
    for begin in range(0, n, 100_000):
        corpus[begin : min(n, begin + 100_000)] = draw(min(n, begin + 100_000) - begin)
    return corpus, draw(queries)


def exact_top_k(corpus: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Ids (row numbers) of the exact `k` best rows per query, best first."""
    best_scores = np.full((len(queries), 0), -np.inf, dtype=np.float32)
    best_ids = np.zeros((len(queries), 0), dtype=np.int64)
    for begin in range(0, len(corpus), 100_000):
        scores = queries @ corpus[begin : begin + 100_000].T
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        best_scores = np.concatenate([best_scores, np.take_along_axis(scores, top, 1)], axis=1)
        best_ids = np.concatenate([best_ids, top + begin], axis=1)
        keep = np.argsort(-best_scores, axis=1, kind="stable")[:, :k]
        best_scores, best_ids = np.take_along_axis(best_scores, keep, 1), np.take_along_axis(best_ids, keep, 1)
    return best_ids


def recall_at_k(found: list[np.ndarray], truth: np.ndarray, k: int) -> float:
    return float(np.mean([len(set(f[:k].tolist()) & set(t[:k].tolist())) / k for f, t in zip(found, truth)]))


def vector_figures(args: argparse.Namespace) -> dict:
    from qa.index import faiss_backend
    from qa.index.faiss_backend import FaissStore

    started = time.perf_counter()
    corpus, queries = clustered_vectors(args.n, args.queries, args.dim, args.seed, spread=args.spread, noise=args.noise)
    generate_s = time.perf_counter() - started
    started = time.perf_counter()
    truth = exact_top_k(corpus, queries, args.k)
    truth_s = time.perf_counter() - started
    nearest = float(np.mean(np.sum(queries * corpus[truth[:, 0]], axis=1)))
    exact_ms = []
    for q in queries[: args.exact_queries]:
        started = time.perf_counter()
        scores = corpus @ q
        np.argpartition(-scores, args.k - 1)[: args.k]
        exact_ms.append((time.perf_counter() - started) * 1000)

    rss_before = rss_mb()
    store = FaissStore(args.dim)
    started = time.perf_counter()
    store.add(np.arange(args.n, dtype=np.int64), corpus)
    build_s = time.perf_counter() - started
    store_mb = rss_mb() - rss_before  # the corpus array is still held, so this is the store's share
    del corpus
    gc.collect()

    found, latencies = [], []
    store.search(queries[0], args.k)  # first call pays page faults
    for q in queries:
        started = time.perf_counter()
        _, ids = store.search(q, args.k)
        latencies.append((time.perf_counter() - started) * 1000)
        found.append(ids)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        store.save(Path(tmp) / "vectors.faiss")
        save_s = time.perf_counter() - started
        file_mb = (Path(tmp) / "vectors.faiss").stat().st_size / 2**20
    return {
        "n": args.n,
        "dim": args.dim,
        "queries": args.queries,
        "kind": store.kind,
        "ef_search": store.ef_search,
        "hnsw_m": faiss_backend.HNSW_M,
        "data": {"spread": args.spread, "noise": args.noise, "clusters": CLUSTERS, "latent_dim": LATENT_DIM},
        "nearest_cosine_mean": round(nearest, 3),
        f"recall@{args.k}": round(recall_at_k(found, truth, args.k), 4),
        "search_ms": percentiles(latencies),
        "exact_numpy_scan_ms": percentiles(exact_ms),
        "build_s": round(build_s, 1),
        "generate_s": round(generate_s, 1),
        "exact_truth_s": round(truth_s, 1),
        "save_s": round(save_s, 2),
        "file_mb": round(file_mb, 1),
        "store_rss_mb": round(store_mb, 1),
        "bytes_per_chunk": round(store_mb * 2**20 / args.n, 1),
        "rss_mb_after": round(rss_mb(), 1),
    }


def bm25_figures(n: int, queries: int, seed: int) -> dict:
    from qa.index.lexical import LexicalIndex

    paragraphs = xquad_paragraphs(("ar", "en"))
    rng = np.random.default_rng(seed)
    texts = [f"{paragraphs[i % len(paragraphs)]} {i} {rng.integers(10**6)}" for i in range(n)]
    rss_before = rss_mb()
    started = time.perf_counter()
    lexical = LexicalIndex.build(range(n), texts)
    build_s = time.perf_counter() - started
    del texts
    gc.collect()
    asked = [paragraphs[i][:80] for i in rng.integers(0, len(paragraphs), queries)]
    latencies = []
    for q in asked:
        started = time.perf_counter()
        lexical.search(q, 50)
        latencies.append((time.perf_counter() - started) * 1000)
    return {
        "n": n,
        "distinct_paragraphs": len(paragraphs),
        "build_s": round(build_s, 1),
        "search_ms": percentiles(latencies),
        "rss_mb_delta": round(rss_mb() - rss_before, 1),
    }


# ---------------------------------------------------------------------- helpers (each bench script stands alone)


def machine() -> dict:
    """Cores, CPU model and the load average now: figures on a shared machine mean little without it."""
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), "?")
    return {"cpus": os.cpu_count(), "cpu": model, "loadavg": [round(x, 2) for x in os.getloadavg()]}


def percentiles(ms: list[float]) -> dict:
    ordered = np.sort(np.asarray(ms, dtype=np.float64))
    pick = lambda q: round(float(np.percentile(ordered, q)), 3)  # noqa: E731
    return {"p50": pick(50), "p95": pick(95), "p99": pick(99), "n": len(ordered)}


def rss_mb() -> float:
    """Resident memory now (MiB), from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mb() -> float:
    """Peak resident memory of this process (MiB); Linux reports ru_maxrss in KiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def xquad_paragraphs(languages: tuple[str, ...]) -> list[str]:
    texts = []
    for language in languages:
        data = json.loads((XQUAD / f"xquad.{language}.json").read_text(encoding="utf-8"))["data"]
        texts += [p["context"] for entry in data for p in entry["paragraphs"]]
    return texts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="vectors in the store (default 1M)")
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--exact-queries", type=int, default=20, help="queries timed on a plain numpy scan, for reference")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--spread", type=float, default=0.6, help="topic spread in the latent space (larger: harder)")
    parser.add_argument("--noise", type=float, default=0.3, help="isotropic noise norm (larger: harder)")
    parser.add_argument("--bm25-n", type=int, default=0, help="also build BM25 over this many repeated XQuAD paragraphs (0: skip)")
    parser.add_argument("--no-vectors", action="store_true", help="BM25 only")
    args = parser.parse_args(argv)

    result: dict = {"machine": machine()}
    if not args.no_vectors:
        result["vectors"] = vector_figures(args)
        gc.collect()
    if args.bm25_n:
        result["bm25"] = bm25_figures(args.bm25_n, args.queries, args.seed)
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    result["load_after"] = machine()["loadavg"]
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
