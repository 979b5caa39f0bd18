"""`python bench/cluster.py`: a local index against a two-node Ray cluster, as JSON.

    python bench/cluster.py [--work DIR] [--queries 100] [--size 100000]   # latency, build, memory
    python bench/cluster.py --check [--work DIR]                             # same answers, whole set

The cluster is the tests' (`tests/ray_cluster.py`): `ray start --head` and a second node in network and
process namespaces of their own, one CPU and a 120 MB object store each; children that talk to it run
inside those namespaces. `--address` uses a running cluster instead (children then run here).

What is measured, and what is real:

- Latency at `--size` chunks: the corpus and index of `bench/query.py` (real text; vectors replayed
  from the real model's sentence vectors, since embedding 100k chunks takes 40 min here; queries are
  real XQuAD questions, Arabic and English, embedded by the real model at query time). One child
  opens it locally and with `cluster=` and `--shards` shards (default 2: one per node) and times
  `search` (k = 10) and `ask` on both, each question on both sides in turn (disjoint questions for
  search and ask, after a warm-up); then each shard's resident memory (all of it, and the part that
  is not pages of memory-mapped index files). Two more children answer 20 questions each, one
  locally, one on the cluster, for the question-answering process's own peak RSS.
- Build throughput: the 240 XQuAD-ar paragraphs (real model) indexed in this machine's one process, then
  with `cluster=` and 1 and 2 embedding workers (one CPU each, so one torch thread each).
- `--check`: XQuAD-ar's 240 paragraphs and 3,000 Jawhara FM articles (`qa.train.datasets`, as `make
  eval` builds them; built here with the cluster's workers), then every XQuAD-ar question, and its
  English twin, asked of the local index and of 3 shards on the 2 nodes: the top-10 hits and the
  whole `Answer` must be equal; and every Arabic question again with its article removed
  (`Index.without`, tombstones on the shards), where the answer should abstain.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "bench")]

from query import base_articles, machine, peak_rss_mb, percentiles  # noqa: E402

DATA = REPO.parent / "shared" / "data"
WARM_UP = 5
NEWS = 3000


def latency(index_dir: Path, address: str, shards: int, queries: int) -> dict:
    """(child) Time `search` and `ask` on the index opened locally and on the cluster, side by side in
    this one process with one query embedder, each question asked of both (which goes first
    alternates), so both meet the same question and the same load on this shared machine."""
    from qa.answer.assistant import Assistant
    from qa.index import Index
    from qa.model.embedding import SentenceTransformerEmbedder
    from qa.retrieve import Retriever

    _, questions = base_articles()
    embedder = SentenceTransformerEmbedder()
    sides = {}
    for name, where in (("local", {}), ("cluster", {"cluster": address, "shards": shards})):
        started = time.perf_counter()
        index = Index.load(index_dir, embedder=embedder, **where)
        sides[name] = (index, Retriever(index), Assistant(Retriever(index)))
        for q in questions[:WARM_UP]:
            sides[name][2].ask(q)
        sides[name] += (round(time.perf_counter() - started, 1),)
    timings = {(side, call): [] for side in sides for call in ("search", "ask")}
    at = WARM_UP
    for call in ("search", "ask"):
        for number, q in enumerate(questions[at : at + queries]):
            for side in (("local", "cluster") if number % 2 else ("cluster", "local")):
                _, retriever, assistant, _ = sides[side]
                t = time.perf_counter()
                retriever.search(q, 10) if call == "search" else assistant.ask(q)
                timings[(side, call)].append((time.perf_counter() - t) * 1000)
        at += queries
    result = {
        side: {"open_and_warm_s": sides[side][3], **{call: percentiles(timings[(side, call)]) for call in ("search", "ask")}}
        for side in sides
    }
    index = sides["cluster"][0]
    result["chunks"], result["segments"] = len(index), len(index.snapshot().segments)
    result["shards"] = [{**{k: s[k] for k in ("shard", "segments", "chunks", "rss_mb", "anon_mb", "file_mb", "peak_mb")}, "node": s["node"][:8]} for s in index._cluster.describe()]
    return result


def memory(index_dir: Path, address: str | None, shards: int, queries: int) -> dict:
    """(child) The peak resident memory of a process that opens the index (locally or on the cluster)
    and answers `queries` questions: what the question-answering process itself holds."""
    from qa.answer.assistant import Assistant
    from qa.index import Index
    from qa.retrieve import Retriever

    _, questions = base_articles()
    index = Index.load(index_dir, cluster=address, shards=shards if address else None)
    assistant = Assistant(Retriever(index))
    for q in questions[:queries]:
        assistant.ask(q)
    return {"driver_peak_rss_mb": peak_rss_mb()}


def build(index_dir: Path, address: str | None, workers: int) -> dict:
    """(child) Index the 240 XQuAD-ar paragraphs with the real model, here or with `workers` on the cluster."""
    from qa.config import Settings, default_model
    from qa.index import Index
    from qa.train.datasets import load_squad

    articles, _ = load_squad(DATA / "xquad" / "xquad.ar.json", prefix="xquad:")
    settings = Settings(model=default_model(), checkpoint_every=24)
    started = time.perf_counter()
    index = Index.build(articles, index_dir, settings=settings, progress=False, cluster=address, workers=workers if address else None)
    seconds = time.perf_counter() - started
    return {"workers": workers if address else "local process", "chunks": len(index), "seconds": round(seconds, 1), "chunks_per_s": round(len(index) / seconds, 2)}


def check(index_dir: Path, address: str, shards: int) -> dict:
    """(child) Every question of the whole set, local against the cluster: hits, answers, abstention."""
    from qa.answer.assistant import Assistant
    from qa.config import Settings, default_model
    from qa.index import Index
    from qa.model.embedding import SentenceTransformerEmbedder
    from qa.retrieve import Retriever
    from qa.train.datasets import load_news, load_squad

    paragraphs, arabic = load_squad(DATA / "xquad" / "xquad.ar.json", prefix="xquad:")
    _, english = load_squad(DATA / "xquad" / "xquad.en.json", prefix="xquad:")
    built = None
    if not (index_dir / "manifest.json").exists():
        started = time.perf_counter()
        articles = paragraphs + load_news(DATA / "news" / "jawharafm.jsonl.gz", NEWS)
        Index.build(articles, index_dir, settings=Settings(model=default_model()), progress=False, cluster=address)
        built = round(time.perf_counter() - started, 1)
    embedder = SentenceTransformerEmbedder()
    local = Index.load(index_dir, embedder=embedder)
    cluster = Index.load(index_dir, embedder=embedder, cluster=address, shards=shards)
    by_id = {q.id: q for q in arabic}
    sets = {"xquad-ar": [(q.text, None) for q in arabic], "xquad-en": [(q.text, None) for q in english if q.id in by_id]}
    sets["xquad-ar, article absent"] = [(q.text, q.article) for q in arabic]
    result: dict = {"index": {"documents": len(local.document_ids), "chunks": len(local), "segments": len(local.snapshot().segments), "built_by_cluster_s": built}}
    views: dict[str, tuple] = {}
    asking: dict[int, tuple] = {}

    def ask(ix, text: str) -> tuple[list, dict]:
        if id(ix) not in asking:
            if len(asking) > 8:
                asking.clear()
            asking[id(ix)] = (ix, Retriever(ix), Assistant(Retriever(ix)))
        _, retriever, assistant = asking[id(ix)]
        return [(h.chunk_id, h.score) for h in retriever.search(text, 10)], assistant.ask(text).to_dict()

    started = time.perf_counter()
    for name, asked in sets.items():
        counts = {"questions": 0, "same_hits": 0, "same_answer": 0, "answered": 0, "abstained": 0}
        mismatches = []
        for text, absent in asked:
            if absent is not None and absent not in views:
                gone = [p.id for p in paragraphs if p.id.split("#")[0] == absent]
                views.clear()  # one article's view at a time: questions come grouped by article
                views[absent] = (local.without(gone), cluster.without(gone))
            pair = views[absent] if absent is not None else (local, cluster)
            (hits_local, answer_local), (hits_cluster, answer_cluster) = (ask(ix, text) for ix in pair)
            hits, answers = (hits_local, hits_cluster), (answer_local, answer_cluster)
            counts["questions"] += 1
            counts["same_hits"] += hits[0] == hits[1]
            counts["same_answer"] += answers[0] == answers[1]
            counts["abstained" if answers[1]["abstained"] else "answered"] += 1
            if hits[0] != hits[1] or answers[0] != answers[1]:
                mismatches.append({"question": text, "hits": hits, "answers": answers})
        result[name] = {**counts, "mismatches": mismatches[:5]}
        print(f"{name}: {counts}", file=sys.stderr, flush=True)
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["shards"] = [{k: s[k] for k in ("shard", "segments", "chunks", "rss_mb")} | {"node": s["node"][:8]} for s in cluster._cluster.describe()]
    result["passed"] = all(result[name]["questions"] == result[name]["same_hits"] == result[name]["same_answer"] for name in sets)
    return result


# ---------------------------------------------------------------------- orchestration


class Children:
    """Runs this script's roles: inside the test cluster's namespaces, or here with `--address`."""

    def __init__(self, address: str | None) -> None:
        self.cluster = None
        if address is None:
            from tests.ray_cluster import ADDRESS, RayCluster

            os.environ.setdefault("QA_CACHE_DIR", str(REPO / ".cache"))
            self.cluster = RayCluster().start()
            address = ADDRESS
        self.address = address

    def run(self, *args: str, timeout: float = 3600) -> dict:
        command = [sys.executable, __file__, *args]
        if self.cluster is not None:
            done = self.cluster.run(command, timeout=timeout)
        else:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(args[:2])} failed:\n{done.stderr[-4000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    def close(self) -> None:
        if self.cluster is not None:
            self.cluster.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=REPO / ".bench-cluster", help="indexes are built here once and reused")
    parser.add_argument("--size", type=int, default=100_000, help="chunks of the latency corpus")
    parser.add_argument("--queries", type=int, default=100, help="timed questions per measurement")
    parser.add_argument("--shards", type=int, default=None, help="shards (default: 2 for latency, 3 for --check)")
    parser.add_argument("--address", help="use this running Ray cluster instead of starting the tests' one")
    parser.add_argument("--check", action="store_true", help="only the same-answers check on the whole set")
    parser.add_argument("--skip-build", action="store_true", help="latency and memory only")
    parser.add_argument("--role", choices=["latency", "memory", "build", "check"], help=argparse.SUPPRESS)
    parser.add_argument("--index-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--local", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.role:
        address = None if args.local else args.address
        run = {
            "latency": lambda: latency(args.index_dir, address, args.shards, args.queries),
            "memory": lambda: memory(args.index_dir, address, args.shards, args.queries),
            "build": lambda: build(args.index_dir, address, args.workers),
            "check": lambda: check(args.index_dir, address, args.shards),
        }[args.role]
        print(json.dumps(run(), ensure_ascii=False))
        sys.stdout.flush()
        os._exit(0)  # no Ray shutdown at exit: it waits on the cluster for seconds

    args.work.mkdir(parents=True, exist_ok=True)
    children = Children(args.address)
    address = ["--address", children.address]
    result: dict = {"machine": machine()}
    try:
        if args.check:
            shards = str(args.shards or 3)
            result["check"] = children.run("--role", "check", "--index-dir", str(args.work / "check-index"), "--shards", shards, *address, timeout=6 * 3600)
        else:
            index_dir = args.work / f"index-{args.size}"
            if not (index_dir / "manifest.json").exists():
                base = args.work / "base.pickle"
                query = [sys.executable, str(REPO / "bench" / "query.py")]
                if not base.exists():
                    subprocess.run([*query, "--role", "embed", "--cache", str(base), "--precision", "auto", "--threads", "0"], check=True, capture_output=True)
                subprocess.run([*query, "--role", "build", "--size", str(args.size), "--cache", str(base), "--index-dir", str(index_dir)], check=True, capture_output=True)
            common = ["--index-dir", str(index_dir), "--shards", str(args.shards or 2)]
            result["latency"] = children.run("--role", "latency", *common, "--queries", str(args.queries), *address)
            local, cluster = result["latency"]["local"], result["latency"]["cluster"]
            result["latency"]["cluster_minus_local_p50_ms"] = {k: round(cluster[k]["p50"] - local[k]["p50"], 2) for k in ("search", "ask")}
            result["memory"] = {
                "local": children.run("--role", "memory", *common, "--queries", "20", "--local"),
                "cluster": children.run("--role", "memory", *common, "--queries", "20", *address),
            }
            if not args.skip_build:
                builds = []
                for workers in (0, 1, 2):
                    folder = args.work / f"build-{workers}"
                    builds.append(children.run("--role", "build", "--index-dir", str(folder), "--workers", str(workers), *(address if workers else ["--local"])))
                result["build"] = builds
    finally:
        children.close()
    result["load_after"] = machine()["loadavg"]
    print(json.dumps(result, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
