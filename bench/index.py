"""`python bench/index.py`: indexing throughput of `Index.build` against the raw model, as JSON.

For each precision (float32, bfloat16), in one process and on the same chunk texts:

- raw: `SentenceTransformer.encode_document(texts, batch_size=B)` on the very model object the
  index uses (sentence-transformers sorts by length, longest first, like `encode_passages`);
- build: `Index.build(articles, <temp dir>, embedder=...)`, everything included: chunking, sentence
  splitting, tokenization with offsets, the forward pass, sentence pooling, FAISS, BM25, the files.

`overhead` = build seconds / raw seconds (1.0 means the pipeline costs nothing beyond the model).
`bf16_vs_fp32` = bfloat16 chunks/s / float32 chunks/s (> 1 means bfloat16 is faster).
Each measurement is repeated `--repeats` times, alternating raw and build; the best (fastest) round
is reported, with every round listed, since other jobs on a shared machine only ever slow a round down.

Usage: python bench/index.py [--limit 120] [--batch-size 4] [--precisions float32,bfloat16] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
XQUAD = REPO.parent / "shared" / "data" / "xquad"


def machine() -> dict:
    """Cores, CPU model and the load average now: figures on a shared machine mean little without it."""
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), "?")
    return {"cpus": os.cpu_count(), "cpu": model, "loadavg": [round(x, 2) for x in os.getloadavg()]}


def chunk_texts(articles, settings) -> list[str]:
    """The chunk texts `Index.build` will embed, cut by the same chunker and settings."""
    from qa.ingest.chunking import Chunker

    chunker = Chunker(settings.chunk_size, settings.chunk_overlap)
    return [a.text[s:e] for a in articles for s, e in chunker.spans(a.text)]


def measure(precision: str, articles, batch_size: int, repeats: int) -> dict:
    import torch

    from qa.config import Settings, default_model
    from qa.index import Index
    from qa.model.embedding import SentenceTransformerEmbedder

    settings = Settings(model=default_model(), precision=precision, batch_size=batch_size)
    embedder = SentenceTransformerEmbedder(settings.model, precision=precision, batch_size=batch_size)
    model = embedder.model
    texts = chunk_texts(articles, settings)
    model.encode_document(texts[:batch_size], batch_size=batch_size)  # warm-up: first-call allocations
    rounds = []
    for _ in range(repeats):
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        model.encode_document(texts, batch_size=batch_size, convert_to_numpy=True)
        raw_s = time.perf_counter() - started
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            index = Index.build(articles, Path(tmp) / "index", settings=settings, embedder=embedder, progress=False)
            build_s = time.perf_counter() - started
        assert len(index) == len(texts), (len(index), len(texts))
        rounds.append({"raw_s": round(raw_s, 2), "build_s": round(build_s, 2), "load1": round(load_before, 2)})
        print(f"{precision}: {rounds[-1]}", file=sys.stderr, flush=True)
    best_raw = min(r["raw_s"] for r in rounds)
    best_build = min(r["build_s"] for r in rounds)
    return {
        "precision": precision,
        "model_dtype": str(next(model.parameters()).dtype).replace("torch.", ""),
        "torch_threads": torch.get_num_threads(),
        "chunks": len(texts),
        "raw_chunks_per_s": round(len(texts) / best_raw, 2),
        "build_chunks_per_s": round(len(texts) / best_build, 2),
        "overhead": round(best_build / best_raw, 3),
        "rounds": rounds,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=XQUAD / "xquad.ar.json", help="SQuAD-format JSON")
    parser.add_argument("--limit", type=int, default=120, help="first N paragraphs (default 120)")
    parser.add_argument("--batch-size", type=int, default=4, help="the CPU default of qa.model.embedding.default_batch_size")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--precisions", default="float32,bfloat16")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    args = parser.parse_args(argv)

    import torch

    from qa.model.embedding import cpu_has_native_bf16, resolve_precision
    from qa.train.evaluate import load_squad

    if args.threads:
        torch.set_num_threads(args.threads)
    articles, _ = load_squad(args.file, args.limit)
    result: dict = {
        "machine": machine(),
        "file": args.file.name,
        "paragraphs": len(articles),
        "batch_size": args.batch_size,
        "cpu_has_native_bf16": cpu_has_native_bf16(),
        "auto_precision": resolve_precision("auto", "cpu"),
        "runs": {},
    }
    for precision in args.precisions.split(","):
        result["runs"][precision] = measure(precision, articles, args.batch_size, args.repeats)
    runs = result["runs"]
    if "float32" in runs and "bfloat16" in runs:
        result["bf16_vs_fp32"] = {
            "build": round(runs["bfloat16"]["build_chunks_per_s"] / runs["float32"]["build_chunks_per_s"], 3),
            "raw": round(runs["bfloat16"]["raw_chunks_per_s"] / runs["float32"]["raw_chunks_per_s"], 3),
        }
    result["load_after"] = machine()["loadavg"]
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
