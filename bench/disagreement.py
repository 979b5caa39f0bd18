"""`python bench/disagreement.py`: how often outlets' disagreements are flagged, and look-alikes are not, as JSON.

The cases (`tests/data/disagreement_cases.json`, articles in `tests/data/disagreement_articles.jsonl`) are
events of the multi-outlet development set (../shared/data/news/ant-multisource-dev.jsonl.gz, ANT Corpus v2.1)
that several outlets reported; `docs/disagreement.md` says how each was chosen. All case articles are
indexed together with `--others` other articles of the same development set (every n-th article in file
order, none of the cases'), with the real model, and each question is asked once with `Assistant.ask`.

- real disagreements: flagged when `Answer.disagreement` is "differ" and names, for each outlet the
  case lists, one of the values the case gives for it (`values`: "14|16" allows either);
- look-alikes: counted as a false alarm when flagged "differ" (an "update" or no note is right);
- split: cases alternate, within each label, between a development half (`dev`, the rules were
  written looking at it) and a held-out half (`heldout`, looked at only through these figures); the
  split is by event, so no article of one half answers a question of the other;
- per case: the note's kind and each report's outlet and normalized value, so a reader sees why.

The index is kept in `--work` (default .cache/bench-disagreement) and reused when it holds the same
articles. Usage: python bench/disagreement.py [--others 300] [--work DIR] [--split dev|heldout|all]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
MULTISOURCE = REPO.parent / "shared" / "data" / "news" / "ant-multisource-dev.jsonl.gz"
CASES = REPO / "tests" / "data" / "disagreement_cases.json"
ARTICLES = REPO / "tests" / "data" / "disagreement_articles.jsonl"


def articles(others: int) -> list:
    from qa.records import Article

    def record(r: dict) -> Article:
        return Article(id=r["id"], text=r["text"], title=r.get("title") or "", url=r.get("url"), date=r.get("date"),
                       source=r.get("source"), category=r.get("category"))  # fmt: skip

    cases = [json.loads(line) for line in ARTICLES.read_text(encoding="utf-8").splitlines() if line.strip()]
    taken = {r["id"] for r in cases}
    with gzip.open(MULTISOURCE, "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    pool = [r for r in rows if r["id"] not in taken]
    step = max(1, len(pool) // others) if others else len(pool) + 1
    extra = pool[::step][:others]
    return [record(r) for r in cases + extra]


def index_for(work: Path, docs: list):
    from qa.index import Index
    from qa.model.embedding import SentenceTransformerEmbedder

    stamp = hashlib.sha256("\n".join(a.content_hash for a in docs).encode()).hexdigest()[:16]
    folder = work / stamp
    embedder = SentenceTransformerEmbedder()
    if (folder / "index").exists():
        return Index.load(folder / "index", embedder=embedder), 0.0
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    index = Index.build(docs, folder / "index", embedder=embedder, progress=False)
    return index, time.perf_counter() - started


def matches(case: dict, note) -> bool:
    """A real case is flagged when the note says "differ" and gives each listed outlet a listed value."""
    if note is None or note.kind != "differ":
        return False
    by_outlet: dict[str, set[str]] = {}
    for r in note.reports:
        by_outlet.setdefault(r.source, set()).add(r.normalized)
    for outlet, allowed in case["values"].items():
        if not by_outlet.get(outlet, set()) & set(allowed.split("|")):
            return False
    return len(by_outlet) >= 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--others", type=int, default=300, help="other news articles indexed beside the cases")
    parser.add_argument("--work", type=Path, default=REPO / ".cache" / "bench-disagreement")
    parser.add_argument("--split", choices=["dev", "heldout", "all"], default="all")
    args = parser.parse_args(argv)

    from qa.answer.assistant import Assistant
    from qa.retrieve import Retriever

    cases = json.loads(CASES.read_text(encoding="utf-8"))
    docs = articles(args.others)
    index, build_s = index_for(args.work, docs)
    assistant = Assistant(Retriever(index))
    rows = []
    for case in cases:
        answer = assistant.ask(case["question"])
        note = answer.disagreement
        rows.append(
            {
                "id": case["id"],
                "split": case["split"],
                "label": case["label"],
                "type": case["type"],
                "expect": case["expect"],
                "kind": note.kind if note else None,
                "reports": [f"{r.source} {r.date}: {r.normalized}" for r in note.reports] if note else [],
                "first_quote": answer.quotes[0].doc_id if answer.quotes else None,
                "ok": matches(case, note) if case["label"] == "real" else not (note and note.kind == "differ"),
            }
        )
    figures = {}
    for split in ("dev", "heldout", "all"):
        chosen = [r for r in rows if split == "all" or r["split"] == split]
        real = [r for r in chosen if r["label"] == "real"]
        alike = [r for r in chosen if r["label"] == "lookalike"]
        figures[split] = {
            "real": len(real),
            "real_flagged": sum(r["ok"] for r in real),
            "real_flagged_share": round(sum(r["ok"] for r in real) / len(real), 3) if real else None,
            "lookalikes": len(alike),
            "lookalikes_flagged_differ": sum(not r["ok"] for r in alike),
            "lookalikes_differ_share": round(sum(not r["ok"] for r in alike) / len(alike), 3) if alike else None,
        }
    shown = [r for r in rows if args.split == "all" or r["split"] == args.split]
    print(json.dumps({"articles": len(docs), "others": args.others, "chunks": len(index), "build_s": round(build_s, 1),
                      "figures": figures if args.split == "all" else {args.split: figures[args.split]}, "cases": shown},
                     ensure_ascii=False, indent=1))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
