"""`python bench/news.py`: the news collection at full size, as JSON on stdout.

Over the 9,965 Jawhara FM articles in ../shared/data/news (dates DD/MM/YYYY turned into ISO days, as
ingest does; `category` kept):

- build: `Index.build` of all but `--held-out` articles (seconds, peak RSS of the process);
- add: `Index.load` then `index.add` of the held-out articles (seconds for the add, peak RSS);
- search and ask: latency p50/p95 per query over `QUESTIONS`, unfiltered and under each of
  `FILTERS` (wide and narrow date ranges, a category), plus `ratio` = filtered p50 / unfiltered p50;
  the query vectors are embedded (and timed, `query_embedding`) once before, so every configuration
  measures the same work: the two searches, fusion, and for ask the quoting;
- check: every filtered search returned min(k, chunks passing) hits, all passing the filter.

Each phase runs in its own process so its peak memory is its own (ru_maxrss). Queries run warm (the
first question of each phase is asked once before timing: model and index load are not latency).

Usage: python bench/news.py [--index-dir DIR] [--held-out 100] [--k 10] [--repeats 3] [--phases build,add,query]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
JAWHARA = REPO.parent / "shared" / "data" / "news" / "jawharafm.jsonl.gz"
QUESTIONS = [
    "ما هي حالة الطقس؟",
    "ما هي آخر أخبار النجم الساحلي؟",
    "من فاز في مباراة الترجي والإفريقي؟",
    "ما هي نتائج مباريات الرابطة الأولى لكرة القدم؟",
    "لماذا تأجل الإضراب العام في قطاع الصحة؟",
    "ماذا قال رئيس الحكومة يوسف الشاهد عن الفساد؟",
    "كم بلغت نسبة التضخم في تونس؟",
    "ما هي الإجراءات الجديدة لامتحان الباكالوريا؟",
    "أين وقع الهجوم الإرهابي؟",
    "ما هو موقف الاتحاد العام التونسي للشغل من الزيادة في الأجور؟",
    "What happened at the Tunisian parliament?",
    "ما هي أسعار النفط اليوم؟",
]
FILTERS = {
    "2017": {"since": "2017-01-01", "until": "2017-12-31"},
    "2016-H2": {"since": "2016-07-01", "until": "2016-12-31"},
    "month 2017-03": {"since": "2017-03-01", "until": "2017-03-31"},
    "week 2017-02-06..12": {"since": "2017-02-06", "until": "2017-02-12"},
    "day 2017-05-02": {"since": "2017-05-02", "until": "2017-05-02"},
    "before 2016": {"until": "2015-12-31"},
    "economy in 2017": {"since": "2017-01-01", "categories": ["economy"]},
}
_DMY = re.compile(r"^(\d{2})/(\d{2})/(\d{4})$")


def articles():
    from qa.records import Article

    out = []
    with gzip.open(JAWHARA, "rt", encoding="utf-8") as handle:
        for line in handle:
            r = json.loads(line)
            m = _DMY.match(r.get("date") or "")
            date = f"{m[3]}-{m[2]}-{m[1]}" if m else (r.get("date") or None)
            out.append(
                Article(
                    id=r["id"], text=r["text"], title=r.get("title") or "", url=r.get("url") or None, date=date,
                    source=r.get("source") or None, category=r.get("category") or None,
                )
            )
    return out


def peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)


def phase_build(args) -> dict:
    from qa.index import Index

    corpus = articles()
    kept = corpus[: len(corpus) - args.held_out]
    started = time.perf_counter()
    index = Index.build(kept, args.index_dir, progress=False)
    seconds = time.perf_counter() - started
    return {"articles": len(kept), "chunks": len(index), "seconds": round(seconds, 1),
            "chunks_per_s": round(len(index) / seconds, 2), "peak_rss_mb": peak_mb()}


def phase_add(args) -> dict:
    from qa.index import Index

    held_out = articles()[-args.held_out :]
    index = Index.load(args.index_dir)
    index.embedder  # model loaded before timing: the add is what is measured
    loaded_mb = peak_mb()
    started = time.perf_counter()
    report = index.add(held_out, progress=False)
    seconds = time.perf_counter() - started
    return {"added": len(report.added), "chunks_embedded": report.chunks_embedded, "seconds": round(seconds, 2),
            "peak_rss_mb_after_load": loaded_mb, "peak_rss_mb": peak_mb(), "chunks_total": len(index)}


def phase_query(args) -> dict:
    from qa.answer.assistant import Assistant
    from qa.filters import Filters
    from qa.index import Index
    from qa.index.selection import allowed_chunks
    from qa.retrieve import Retriever

    index = Index.load(args.index_dir)
    retriever, assistant = Retriever(index), Assistant(Retriever(index))
    assistant.ask(QUESTIONS[0])  # warm: model, ONNX session, first-use columns
    embed_times = []
    for question in QUESTIONS:  # every configuration then reads the same cached query vectors
        started = time.perf_counter()
        index.embed_query(question)
        embed_times.append(time.perf_counter() - started)
    snapshot = index.snapshot()
    out: dict = {"k": args.k, "questions": len(QUESTIONS), "repeats": args.repeats, "search": {}, "ask": {}, "checks": {},
                 "query_embedding": {"p50_ms": percentile(embed_times, 0.5), "p95_ms": percentile(embed_times, 0.95)}}
    for name, spec in [("unfiltered", None), *FILTERS.items()]:
        filters = Filters(**spec) if spec else None
        passing = len(allowed_chunks(snapshot, filters)) if filters else len(snapshot.chunks)
        search_times, ask_times, ok = [], [], True
        for question in QUESTIONS:
            for _ in range(args.repeats):
                started = time.perf_counter()
                hits = retriever.search(question, k=args.k, filters=filters)
                search_times.append(time.perf_counter() - started)
            if filters is not None:
                ok &= len(hits) == min(args.k, passing) and all(filters.allows(index.article(h.doc_id)) for h in hits)
            started = time.perf_counter()
            assistant.ask(question, filters=filters)
            ask_times.append(time.perf_counter() - started)
        out["search"][name] = {"p50_ms": percentile(search_times, 0.5), "p95_ms": percentile(search_times, 0.95), "chunks_passing": passing}
        out["ask"][name] = {"p50_ms": percentile(ask_times, 0.5), "p95_ms": percentile(ask_times, 0.95)}
        if filters is not None:
            out["checks"][name] = ok
            out["search"][name]["ratio_p50"] = round(out["search"][name]["p50_ms"] / out["search"]["unfiltered"]["p50_ms"], 2)
    out["all_filtered_searches_full_and_passing"] = all(out["checks"].values())
    out["stats"] = {k: index.stats()[k] for k in ("documents", "chunks", "dates")}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index-dir", type=Path, default=REPO / ".bench-news-index")
    parser.add_argument("--held-out", type=int, default=100)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--phases", default="build,add,query")
    parser.add_argument("--phase", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(globals()[f"phase_{args.phase}"](args), ensure_ascii=False))
        return
    result = {"machine": {"cpus": os.cpu_count(), "loadavg_start": [round(x, 2) for x in os.getloadavg()]}}
    for phase in args.phases.split(","):
        command = [sys.executable, __file__, "--phase", phase, "--index-dir", str(args.index_dir),
                   "--held-out", str(args.held_out), "--k", str(args.k), "--repeats", str(args.repeats)]
        done = subprocess.run(command, capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": str(REPO)})
        result[phase] = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"{phase} done", file=sys.stderr)
    result["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
