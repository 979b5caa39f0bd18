"""`python bench/segments.py`: what an add costs on a segmented index, and search latency by segment count, as JSON.

What is real and what is synthetic:

- Text (real): the 9,965 Jawhara FM articles (../shared/data/news), repeated with new ids until the
  corpus reaches N chunks. `Index.build` and `Index.add` run their whole pipeline on them (chunking,
  sentence splitting, postings, FAISS, signatures, storage, merges).
- Vectors (replayed): a fixed random unit vector per distinct chunk text (and per sentence), noise
  added to repeats, instead of the model: at these sizes the model would take hours on 2 cores. So
  `add_100` reports the time of everything but the embedding (`non_embedding_s`); the embedding
  itself is what the model costs for 200 chunks (measured separately in bench/README.md).
- Bytes written: the `wchar` delta of /proc/self/io during the add (every write() the process made:
  the new segment, the manifest, and any merge the add triggered), against the new segment's size.
- Search latency: the snapshot's dense fan-out with a stored vector plus noise as the query, and its
  BM25 fan-out with a real article title as the question (k = 10), at 1, 10 and 30 segments of the
  same collection (built as 30 segments, then merged 3 by 3, then optimized).

Usage: python bench/segments.py [--sizes 10000,100000] [--queries 200] [--segments-at 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DIM = 384


class Replay:
    """Deterministic unit vectors per text (no model): a hash seeds each vector."""

    name = "replayed-vectors"
    dim = DIM
    precision = "float32"

    def __init__(self) -> None:
        self.embedding_s = 0.0

    def _vec(self, text: str) -> np.ndarray:
        rng = np.random.default_rng(abs(hash(text)) % (2**32))
        v = rng.standard_normal(DIM).astype(np.float32)
        return v / np.linalg.norm(v)

    def encode_passages(self, texts, sentence_spans=None, on_batch=None):
        started = time.perf_counter()
        vectors = np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, DIM), np.float32)
        spans = sentence_spans or [[] for _ in texts]
        sentences = [np.stack([self._vec(t[s:e]) for s, e in sp]) if sp else np.zeros((0, DIM), np.float32) for t, sp in zip(texts, spans)]
        self.embedding_s += time.perf_counter() - started
        return vectors, sentences

    def encode_queries(self, texts):
        return np.stack([self._vec(t) for t in texts])

    def probe(self) -> np.ndarray:
        return self._vec("probe")


def wchar() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    return 0


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def corpus(chunks: int, offset: int = 0):
    """Jawhara articles (repeated with new ids) until about `chunks` chunks (estimated at 1 per 900
    chars), generated as the build consumes them."""
    from tests.news_corpus import jawhara_articles

    base = jawhara_articles()
    total, copy = 0, 0
    while total < chunks:
        for article in base:
            if total >= chunks:
                return
            yield replace(article, id=f"{article.id}@{copy + offset}")
            total += max(1, -(-len(article.text) // 900))
        copy += 1


def percentile(ms: list[float], q: float) -> float:
    return round(float(np.percentile(np.asarray(ms), q)), 2)


def search_latency(index, titles: list[str], queries: int) -> dict:
    snap = index.snapshot()
    stored = snap.vectors.ids()
    rng = np.random.default_rng(0)
    dense, lexical = [], []
    for q in range(queries):
        chunk = snap.chunks[int(stored[rng.integers(len(stored))])]
        v = Replay()._vec(chunk.text) + 0.05 * rng.standard_normal(DIM).astype(np.float32)
        started = time.perf_counter()
        snap.vectors.search(v / np.linalg.norm(v), 10)
        dense.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        snap.lexical.search(titles[q % len(titles)], 10)
        lexical.append((time.perf_counter() - started) * 1000)
    both = [a + b for a, b in zip(dense, lexical)]
    return {
        "segments": len(snap.segments),
        "dense_p50_ms": percentile(dense, 50),
        "bm25_p50_ms": percentile(lexical, 50),
        "search_p50_ms": percentile(both, 50),
        "search_p95_ms": percentile(both, 95),
    }


def add_100(size: int, workdir: Path) -> dict:
    from qa.config import Settings
    from qa.index import Index

    replay = Replay()
    settings = Settings(model=Replay.name, checkpoint_every=2000)
    started = time.perf_counter()
    index = Index.build(corpus(size), workdir / f"index-{size}", settings=settings, embedder=replay, progress=False)
    build_s = time.perf_counter() - started
    new = [replace(a, id=f"{a.id}@new") for a in corpus(200, offset=10_000)][:100]
    build_peak = peak_rss_mb()
    replay.embedding_s = 0.0
    before, started = wchar(), time.perf_counter()
    report = index.add(new, progress=False)
    total_s = time.perf_counter() - started
    written = wchar() - before
    snap = index.snapshot()
    newest = max(snap.segments, key=lambda p: p.segment.name).segment
    segment_bytes = sum(f["size"] for f in newest.files.values())
    return {
        "chunks_before": len(index) - report.chunks_embedded,
        "build_s": round(build_s, 1),
        "build_peak_rss_mb": build_peak,
        "add_peak_rss_mb": peak_rss_mb(),
        "segments_after_add": len(snap.segments),
        "added_articles": len(report.added),
        "added_chunks": report.chunks_embedded,
        "add_total_s": round(total_s, 3),
        "add_embedding_s (replayed)": round(replay.embedding_s, 3),
        "add_non_embedding_s": round(total_s - replay.embedding_s, 3),
        "add_bytes_written": written,
        "new_segment_bytes": segment_bytes,
        "written_over_segment": round(written / max(segment_bytes, 1), 2),
    }, index


def segment_counts(index, queries: int) -> list[dict]:
    """Search latency at 30, 10 and 1 segments of one collection (rebuilt as 30 small segments)."""
    from qa.config import Settings
    from qa.index import Index, writer

    titles = [a.title for a in list(index.snapshot().articles.values())[:500] if a.title]
    meta = index._meta(index.snapshot().vectors.dim)
    articles = list(index.snapshot().articles.values())
    writer.MERGE_FACTOR = 1000
    settings = Settings(model=Replay.name, checkpoint_every=-(-len(articles) // 30))
    thirty = Index.build(articles, index.index_dir.parent / "thirty", settings=settings, embedder=Replay(), progress=False)
    out = [search_latency(thirty, titles, queries)]
    state = thirty.snapshot()
    while len(state.segments) > 10:
        state = writer.merge(thirty.index_dir, state, [0, 1, 2], **meta)
    thirty._publish(state)
    out.append(search_latency(thirty, titles, queries))
    thirty.optimize()
    out.append(search_latency(thirty, titles, queries))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--segments-at", type=int, default=100000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    results: dict = {"machine": {"cpus": os.cpu_count(), "loadavg": [round(x, 2) for x in os.getloadavg()]}, "add_100": [], "search_by_segments": None}
    with tempfile.TemporaryDirectory() as tmp:
        for size in [int(s) for s in args.sizes.split(",") if s]:
            row, index = add_100(size, Path(tmp))
            results["add_100"].append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
            if size == args.segments_at:
                results["search_by_segments"] = segment_counts(index, args.queries)
    print(json.dumps(results, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
