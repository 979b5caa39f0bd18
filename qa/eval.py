"""`python -m qa.eval FILE`: retrieval and answer figures on a SQuAD-format file, printed as JSON.

Each paragraph becomes one article (id `title#n`); every question is asked against the index of
all paragraphs. Retrieval counts a hit when a returned chunk belongs to the question's paragraph.
Answers count when a quote contains a gold answer after Arabic normalization. Abstention is
measured twice: with the paragraph's whole article present, and with it removed from the index.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.config import Settings, default_model
from qa.normalize import normalize
from qa.records import Article


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    doc_id: str
    article: str
    answers: tuple[str, ...]


def load_squad(path: Path, limit: int | None = None) -> tuple[list[Article], list[Question]]:
    """Paragraphs as articles and their questions, in file order (the first `limit` paragraphs)."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    articles, questions = [], []
    for entry in data:
        for number, paragraph in enumerate(entry["paragraphs"]):
            if limit is not None and len(articles) >= limit:
                return articles, questions
            doc_id = f"{entry['title']}#{number}"
            articles.append(Article(id=doc_id, text=paragraph["context"], title=entry["title"].replace("_", " ")))
            for qa in paragraph["qas"]:
                answers = tuple(a["text"] for a in qa["answers"])
                questions.append(Question(qa["id"], qa["question"], doc_id, entry["title"], answers))
    return articles, questions


def ranking_figures(ranks: list[int | None]) -> dict[str, float]:
    """hit@1, hit@5 and mrr@10 from the 1-based rank of the right paragraph (None: not in the top 10)."""
    n = len(ranks) or 1
    return {
        "hit@1": round(sum(r == 1 for r in ranks if r) / n, 4),
        "hit@5": round(sum(r <= 5 for r in ranks if r) / n, 4),
        "mrr@10": round(sum(1 / r for r in ranks if r and r <= 10) / n, 4),
    }


def latency(ms: list[float]) -> dict[str, float]:
    if not ms:
        return {}
    ordered = sorted(ms)
    return {
        "p50": round(statistics.median(ordered), 2),
        "p95": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 2),
    }


def evaluate_retrieval(retriever, questions: list[Question], modes: list[str], texts: dict[str, str]) -> dict[str, Any]:
    """Ranking figures per mode. The first mode's latency includes embedding the question; the other
    modes reuse that vector (flagged `query_vector_cached`), so the run embeds each question once."""
    ranks: dict[str, list[int | None]] = defaultdict(list)
    times: dict[str, list[float]] = defaultdict(list)
    for q in questions:
        text = texts[q.id]
        retriever.index._query_cache.pop(text, None)
        for mode in modes:
            started = time.perf_counter()
            hits = retriever.search(text, k=10, mode=mode)
            times[mode].append((time.perf_counter() - started) * 1000)
            docs = list(dict.fromkeys(h.doc_id for h in hits))
            ranks[mode].append(docs.index(q.doc_id) + 1 if q.doc_id in docs else None)
    return {
        mode: {
            **ranking_figures(ranks[mode]),
            "query_ms_p50": latency(times[mode])["p50"],
            "query_ms_p95": latency(times[mode])["p95"],
            "query_vector_cached": i > 0,
        }
        for i, mode in enumerate(modes)
    }


def contains_answer(quote_text: str, answers: tuple[str, ...]) -> bool:
    text = normalize(quote_text)
    return any(normalize(a).strip() and normalize(a).strip() in text for a in answers)


def evaluate_answers(assistant, index, questions: list[Question], texts: dict[str, str]) -> dict[str, Any]:
    from qa.answer import Assistant

    in1 = in3 = abstained_present = abstained_absent = 0
    words: list[int] = []
    times: list[float] = []
    present_evidence: list[float] = []
    absent_evidence: list[float] = []
    by_article: dict[str, list[Question]] = defaultdict(list)
    for q in questions:
        by_article[q.article].append(q)
    for article, group in by_article.items():
        view = index.without([d for d in index.document_ids if d.split("#")[0] == article])
        blind = Assistant(
            assistant.retriever.__class__(view),
            passages=assistant.passages,
            min_evidence=assistant.min_evidence,
            min_cross_lingual_evidence=assistant.min_cross_lingual_evidence,
        )
        for q in group:
            text = texts[q.id]
            index._query_cache.pop(text, None)
            started = time.perf_counter()
            answer = assistant.ask(text)
            times.append((time.perf_counter() - started) * 1000)
            present_evidence.append(answer.extra["evidence"])
            abstained_present += answer.abstained
            quotes = answer.quotes if not answer.abstained else ()
            in1 += bool(quotes) and contains_answer(quotes[0].text, q.answers)
            in3 += any(contains_answer(x.text, q.answers) for x in quotes[:3])
            words += [len(x.text.split()) for x in quotes]
            absent = blind.ask(text)  # the view shares the query cache: no second embedding
            absent_evidence.append(absent.extra["evidence"])
            abstained_absent += absent.abstained
    n = len(questions) or 1
    return {
        "answer_in_quote@1": round(in1 / n, 4),
        "answer_in_quote@3": round(in3 / n, 4),
        "mean_quote_words": round(statistics.mean(words), 2) if words else 0.0,
        "abstain_when_present": round(abstained_present / n, 4),
        "abstain_when_absent": round(abstained_absent / n, 4),
        "abstain_threshold": assistant.min_evidence,
        "abstain_threshold_cross_lingual": assistant.min_cross_lingual_evidence,
        "abstention_sweep": _sweep(present_evidence, absent_evidence),
        "ask_ms_p50": latency(times)["p50"],
        "ask_ms_p95": latency(times)["p95"],
    }


def _sweep(present: list[float], absent: list[float]) -> list[dict[str, float]]:
    """Abstention rates at a few thresholds, to choose and document the trade-off."""
    rows = []
    for step in range(140, 182, 2):
        t = step / 200
        rows.append(
            {
                "threshold": t,
                "abstain_when_present": round(sum(e < t for e in present) / (len(present) or 1), 4),
                "abstain_when_absent": round(sum(e < t for e in absent) / (len(absent) or 1), 4),
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qa.eval", description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path, help="SQuAD-format JSON (e.g. xquad.ar.json)")
    parser.add_argument("--mode", choices=["dense", "lexical", "hybrid", "all"], default="all")
    parser.add_argument("--question-lang-file", type=Path, help="parallel SQuAD file whose questions (same ids) are asked instead, for cross-lingual figures")
    parser.add_argument("--limit", type=int, help="only the first N paragraphs (quick runs)")
    parser.add_argument("--no-answers", action="store_true", help="retrieval figures only")
    parser.add_argument("--model", default=None)
    parser.add_argument("--precision", default="auto", choices=["auto", "float32", "bfloat16", "float16"])
    parser.add_argument("--index-dir", type=Path, help="keep the index here (default: a temporary folder)")
    args = parser.parse_args(argv)

    from qa.answer import Assistant
    from qa.errors import QAError
    from qa.index import Index
    from qa.retrieve import Retriever

    try:
        articles, questions = load_squad(args.file, args.limit)
        settings = Settings(model=args.model or default_model(), precision=args.precision)
        with tempfile.TemporaryDirectory() as tmp:
            index_dir = args.index_dir or Path(tmp) / "index"
            index = Index(index_dir, settings)
            index.embedder.model  # load the model before timing the build
            started = time.perf_counter()
            index = Index.build(articles, index_dir, settings=settings, embedder=index.embedder, progress=sys.stderr.isatty())
            index_seconds = time.perf_counter() - started
            retriever = Retriever(index)
            modes = ["hybrid", "dense", "lexical"] if args.mode == "all" else [args.mode]
            texts = {q.id: q.text for q in questions}
            result: dict[str, Any] = {
                "file": str(args.file),
                "model": settings.model,
                "precision": index.embedder.precision,
                "paragraphs": len(articles),
                "questions": len(questions),
                "chunks": len(index),
                "index_seconds": round(index_seconds, 2),
            }
            by_mode = evaluate_retrieval(retriever, questions, modes, texts)
            main_mode = "hybrid" if "hybrid" in by_mode else modes[0]
            result.update({k: v for k, v in by_mode[main_mode].items()})
            result["mode"] = main_mode
            result["modes"] = by_mode
            if args.question_lang_file:
                _, other = load_squad(args.question_lang_file)
                other_texts = {q.id: q.text for q in other}
                asked = [q for q in questions if q.id in other_texts]
                result["cross_lingual"] = {
                    "question_file": str(args.question_lang_file),
                    "questions": len(asked),
                    "modes": evaluate_retrieval(retriever, asked, modes, other_texts),
                }
            if not args.no_answers:
                result["answers"] = evaluate_answers(Assistant(retriever), index, questions, texts)
                if args.question_lang_file:
                    result["cross_lingual"]["answers"] = evaluate_answers(Assistant(retriever), index, asked, other_texts)
    except QAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
