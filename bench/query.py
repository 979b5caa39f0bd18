"""`python bench/query.py`: latency of `Retriever.search` and `Assistant.ask` by corpus size, as JSON.

What is real and what is synthetic:

- Base set (real): every XQuAD paragraph present in ar and en (2 x 240 paragraphs), chunked and
  embedded once with the real model, passage and sentence vectors alike.
- Corpus of N chunks: articles of 3 to 7 real sentences drawn at random from the base set's sentences
  of one language (Arabic and English alternately), until N chunks. Copies of whole articles would be
  syndicated copies, which search folds into one story (`qa.search.syndication`): at a million chunks every
  question would read thousands deep to find 10 distinct stories, a collection no news desk has.
  `Index.build` runs its whole pipeline on the corpus (chunking, sentence splitting, BM25, FAISS,
  signatures, storage, merges, streamed in checkpoints) with one substitution: the embedder replays
  the real model's vector of each sentence, and a chunk's vector is the normalized sum of its
  sentences'. So every corpus has real text and real vector geometry, recombined.
- Queries (real): XQuAD questions, alternately Arabic and English, embedded by the real model at
  query time (no cache hits: every timed question is asked once). `search` and `ask` use disjoint
  question sets; both run after a few warm-up questions (the first loads the model).
- Each size is built in one child process and queried in another, which loads the saved index the
  way the CLI or the app does; `peak_rss_mb` is that query process's `ru_maxrss` (model, index and
  the answering included). `--threads N` sets torch's threads for embedding the base set.

Usage: python bench/query.py [--sizes 1000,10000,100000] [--queries 100] [--base FILE] [--work DIR [--skip-query]]
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
XQUAD = REPO.parent / "shared" / "data" / "xquad"
LANGUAGES = ("ar", "en")
WARM_UP = 5


def machine() -> dict:
    """Cores, CPU model and the load average now: figures on a shared machine mean little without it."""
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), "?")
    return {"cpus": os.cpu_count(), "cpu": model, "loadavg": [round(x, 2) for x in os.getloadavg()]}


def percentiles(ms: list[float]) -> dict:
    ordered = np.asarray(ms, dtype=np.float64)
    pick = lambda q: round(float(np.percentile(ordered, q)), 2)  # noqa: E731
    return {"p50": pick(50), "p95": pick(95), "p99": pick(99), "n": len(ordered)}


def peak_rss_mb() -> float:
    """Peak resident memory of this process (MiB); Linux reports ru_maxrss in KiB."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def base_articles():
    """XQuAD paragraphs in every language present, as articles with language-tagged ids."""
    from qa.train.evaluate import load_squad

    articles, questions = [], []
    for language in LANGUAGES:
        arts, qs = load_squad(XQUAD / f"xquad.{language}.json")
        articles += [replace(a, id=f"{language}:{a.id}") for a in arts]
        questions.append([q.text for q in qs])
    mixed = [q for pair in zip(*questions) for q in pair]  # ar, en, ar, en ...
    return articles, mixed


# ---------------------------------------------------------------------- base set: real vectors, once


def base_chunks(articles):
    """The base articles' chunks as the index cuts them: (language, chunk text, its sentences' spans
    relative to the chunk)."""
    from qa.config import Settings
    from qa.ingest.chunking import Chunker
    from qa.text.sentences import split_sentences

    settings = Settings()
    chunker = Chunker(settings.chunk_size, settings.chunk_overlap)
    for article in articles:
        language = article.id.split(":", 1)[0]
        for start, end in chunker.spans(article.text):
            spans = [(s - start, e - start) for s, e in split_sentences(article.text, start, end)]
            yield language, article.text[start:end], spans


def embed_base(path: Path, precision: str, threads: int) -> dict:
    """(child) Chunk and embed the base articles with the real model; pickle {chunk text: vectors} to `path`."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    from qa.config import Settings, default_model
    from qa.model.embedding import SentenceTransformerEmbedder

    settings = Settings(model=default_model(), precision=precision)
    articles, _ = base_articles()
    _, texts, spans = zip(*base_chunks(articles))
    embedder = SentenceTransformerEmbedder(settings.model, precision=precision, batch_size=settings.batch_size)
    started = time.perf_counter()
    vectors, sentences = embedder.encode_passages(list(texts), list(spans))
    seconds = time.perf_counter() - started
    cache = {
        "name": settings.model,
        "probe": embedder.probe(),
        "chunks": {t: (v, s) for t, v, s in zip(texts, vectors, sentences)},
    }
    path.write_bytes(pickle.dumps(cache))
    return {"articles": len(articles), "chunks": len(texts), "embed_s": round(seconds, 1), "precision": embedder.precision}


def sentence_pool(cache: dict) -> dict[str, list[tuple[str, np.ndarray]]]:
    """Per language, every distinct sentence of the base set with the vector the real model gave it."""
    articles, _ = base_articles()
    pool: dict[str, dict[str, np.ndarray]] = {language: {} for language in LANGUAGES}
    for language, text, spans in base_chunks(articles):
        _, vectors = cache["chunks"][text]
        for (s, e), vector in zip(spans, vectors):
            pool[language].setdefault(text[s:e].strip(), np.asarray(vector, dtype=np.float32))
    return {language: sorted(by_text.items(), key=lambda item: item[0]) for language, by_text in pool.items()}


def corpus(size: int, pool: dict[str, list[tuple[str, np.ndarray]]], seed: int = 0):
    """Articles of 3 to 7 real sentences drawn at random from one language's pool, alternately Arabic
    and English, until `size` chunks, generated as the build consumes them. Unlike copies of whole
    articles, no two of them are syndicated copies of each other (they share a sentence or two at
    most), as in a real archive."""
    from qa.config import Settings
    from qa.ingest.chunking import Chunker
    from qa.records import Article

    settings = Settings()
    chunker = Chunker(settings.chunk_size, settings.chunk_overlap)
    rng = np.random.default_rng(seed)
    total, number = 0, 0
    while total < size:
        language = LANGUAGES[number % len(LANGUAGES)]
        sentences = pool[language]
        picks = rng.choice(len(sentences), size=int(rng.integers(3, 8)), replace=False)
        text = " ".join(sentences[p][0] for p in picks)
        yield Article(id=f"{language}:{number}", text=text, title=sentences[picks[0]][0][:60])
        total += len(chunker.spans(text))
        number += 1


class ReplayEmbedder:
    """Sentence vectors looked up in the pool (the real model's, for the same sentence text), and each
    chunk's vector as the normalized sum of its sentences' (a stand-in for the model's passage vector
    with real geometry); used only to build the large corpora, never to answer a query. A sentence
    the splitter cut differently from the pool's gets a random unit vector (counted in `misses`)."""

    def __init__(self, cache: dict, pool: dict[str, list[tuple[str, np.ndarray]]], seed: int = 0) -> None:
        self.name = cache["name"]
        self._probe = cache["probe"]
        self.dim = len(self._probe)
        self._vectors = {text: vector for sentences in pool.values() for text, vector in sentences}
        self._rng = np.random.default_rng(seed)
        self.sentences = self.misses = 0

    def probe(self) -> np.ndarray:
        return self._probe

    def encode_queries(self, texts):  # pragma: no cover - the build never embeds a query
        raise RuntimeError("the replay embedder only replays passages")

    def _sentence(self, text: str) -> np.ndarray:
        self.sentences += 1
        vector = self._vectors.get(text.strip())
        if vector is None:
            self.misses += 1
            vector = self._rng.standard_normal(self.dim).astype(np.float32)
            vector /= np.linalg.norm(vector)
        return vector

    def encode_passages(self, texts, sentence_spans=None, on_batch=None):
        vectors = np.empty((len(texts), self.dim), dtype=np.float32)
        sentences = []
        for row, (text, spans) in enumerate(zip(texts, sentence_spans)):
            rows = np.stack([self._sentence(text[s:e]) for s, e in spans]) if spans else np.zeros((0, self.dim), np.float32)
            total = rows.sum(axis=0) if len(rows) else self._sentence(text)
            vectors[row] = total / np.linalg.norm(total)
            sentences.append(rows)
        if on_batch:
            on_batch(len(texts))
        return vectors, sentences


def build(size: int, cache_path: Path, index_dir: Path) -> dict:
    """(child) Build the N-chunk index with replayed vectors, streaming the corpus through the default
    checkpoints (one segment per 500 articles, tiered merges), as `qa index` would."""
    from qa.config import Settings
    from qa.index import Index

    cache = pickle.loads(cache_path.read_bytes())
    pool = sentence_pool(cache)
    settings = Settings(model=cache["name"])
    embedder = ReplayEmbedder(cache, pool)
    started = time.perf_counter()
    index = Index.build(corpus(size, pool), index_dir, settings=settings, embedder=embedder, progress=False)
    stats = index.stats()
    return {
        "articles": stats["documents"],
        "chunks": len(index),
        "segments": stats["segments"],
        "sentence_pool": {language: len(sentences) for language, sentences in pool.items()},
        "sentences_not_in_pool": round(embedder.misses / max(embedder.sentences, 1), 4),
        "build_without_model_s": round(time.perf_counter() - started, 1),
        "build_peak_rss_mb": peak_rss_mb(),
        "index_mb": round(stats["size_bytes"] / 2**20, 1),
    }


def query(index_dir: Path, queries: int, precision: str) -> dict:
    """(child) Load the index with the real model and time `search` and `ask` on real questions.
    Like `qa ask`, this process embeds questions with ONNX Runtime and never imports torch."""
    from qa.answer.assistant import Assistant
    from qa.index import Index
    from qa.model.embedding import SentenceTransformerEmbedder
    from qa.retrieve import Retriever

    _, questions = base_articles()
    started = time.perf_counter()
    index = Index.load(index_dir, embedder=SentenceTransformerEmbedder(precision=precision))
    retriever = Retriever(index)
    assistant = Assistant(retriever)
    for q in questions[:WARM_UP]:
        assistant.ask(q)
    open_s = time.perf_counter() - started
    at = WARM_UP
    timings: dict[str, list[float]] = {}
    for name, call in (
        ("embed_query", lambda q: index.embedder.encode_queries([q])),
        ("search_dense", lambda q: retriever.search(q, 10, mode="dense")),
        ("search_lexical", lambda q: retriever.search(q, 10, mode="lexical")),
        ("search", lambda q: retriever.search(q, 10)),
        ("ask", lambda q: assistant.ask(q)),
    ):
        times = timings.setdefault(name, [])
        for q in questions[at : at + queries]:
            started = time.perf_counter()
            call(q)
            times.append((time.perf_counter() - started) * 1000)
        at += queries
    peak = peak_rss_mb()  # before the recall check below, which copies every vector twice
    store = index.snapshot().vectors
    recall = None
    if store.kind == "approximate":  # graphs in the large segments: compare with an exact scan of the same vectors
        from qa.index.faiss_backend import FaissStore

        os.environ["QA_EXACT_LIMIT"] = str(store.count + 1)
        exact = FaissStore(store.dim)
        exact.add(*store.contents())
        asked = [index.embed_query(q) for q in questions[WARM_UP + queries : WARM_UP + 2 * queries]]
        recall = round(float(np.mean([len(set(store.search(v, 10)[1]) & set(exact.search(v, 10)[1])) / 10 for v in asked])), 4)
    return {
        "chunks": len(index),
        "segments": len(index.snapshot().segments),
        "vector_index": store.kind,
        "ef_search": store.ef_search,
        "dense_recall@10_vs_exact": recall,
        "query_encoder": "onnxruntime" if index.embedder.onnx else "torch",
        "open_and_warm_s": round(open_s, 1),
        **{name: percentiles(ms) for name, ms in timings.items()},
        "peak_rss_mb": peak,
        "load": machine()["loadavg"],
    }


def _child(*args: str) -> dict:
    done = subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True, text=True)
    return json.loads(done.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="corpus sizes in chunks, comma-separated")
    parser.add_argument("--queries", type=int, default=100, help="timed questions per measurement")
    parser.add_argument("--precision", default="auto", choices=["auto", "float32", "bfloat16"])
    parser.add_argument("--threads", type=int, default=0, help="torch threads for embedding the base set (default: torch's choice)")
    parser.add_argument("--base", type=Path, help="keep the embedded base set in this file and reuse it when present")
    parser.add_argument("--work", type=Path, help="build the indexes in this folder and keep them; an index already there is reused")
    parser.add_argument("--skip-query", action="store_true", help="only build (then time the queries later, on a quiet machine)")
    parser.add_argument("--role", choices=["embed", "build", "query"], help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--cache", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--index-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.role == "embed":
        print(json.dumps(embed_base(args.cache, args.precision, args.threads)))
        return 0
    if args.role == "build":
        print(json.dumps(build(args.size, args.cache, args.index_dir)))
        return 0
    if args.role == "query":
        print(json.dumps(query(args.index_dir, args.queries, args.precision)))
        return 0

    result: dict = {"machine": machine(), "precision": args.precision, "queries": args.queries, "sizes": {}}
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        cache = args.base or Path(tmp) / "base.pickle"
        # Children do all the work: Linux carries a parent's peak RSS into a forked child's ru_maxrss.
        if cache.exists():
            result["base"] = {"reused": str(cache)}
        else:
            result["base"] = _child(
                "--role", "embed", "--cache", str(cache), "--precision", args.precision, "--threads", str(args.threads)
            )
        for size in [int(s) for s in args.sizes.split(",")]:
            index_dir = work / f"index-{size}"
            common = ["--size", str(size), "--cache", str(cache), "--index-dir", str(index_dir)]
            if (index_dir / "manifest.json").exists():
                built = {"reused": str(index_dir)}
            else:
                built = _child("--role", "build", *common)
            if args.skip_query:
                result["sizes"][str(size)] = built
                continue
            asked = _child(
                "--role", "query", "--queries", str(args.queries), "--precision", args.precision, *common,
            )
            result["sizes"][str(size)] = {**built, **asked}
            print(f"{size}: search p50 {asked['search']['p50']} ms, ask p50 {asked['ask']['p50']} ms", file=sys.stderr)
    result["load_after"] = machine()["loadavg"]
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
