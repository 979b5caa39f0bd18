"""`python -m qa.eval FILE`: retrieval and answer figures on a SQuAD-format file, printed as JSON.

Each paragraph becomes one article (id `title#n`); every question is asked against the index of
all paragraphs, plus `--distractors` real news articles when given (a news collection always has an
on-topic sentence, which is what fools an answer rule). Retrieval counts a hit when a returned chunk
belongs to the question's paragraph. Answers count when a quote contains a gold answer after Arabic
normalization. Abstention is measured twice: with the paragraph's whole article present, and with it
removed from the index. `--split heldout` keeps the questions of articles the answer model was never
trained on (`qa.train.datasets.split_of`); every figure should be reported with its split.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from qa.config import Settings, default_model
from qa.train.datasets import (
    Question,
    article_of,
    contains_answer,
    dataset_prefix,
    load_news,
    load_squad,
    split_of,
)


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


def evaluate_answers(assistant, index, questions: list[Question], texts: dict[str, str]) -> dict[str, Any]:
    """Answer figures with each question's article present, then removed, plus the risk-coverage curve.

    Each question is asked once, never abstaining, so the risk-coverage curve also knows whether the
    first quote of a question the assistant refuses would have been right; whether it is refused at
    the assistant's own threshold is read from its evidence (as reported, to 4 decimals, the same
    figure the abstention rates always read), which does not depend on the threshold.
    """
    from qa.answer.assistant import Assistant

    threshold = assistant.threshold
    verify = assistant.verifier is not None
    always = Assistant(assistant.retriever, passages=assistant.passages, model=assistant.model, threshold=0.0, verify=verify)
    in1 = in3 = 0
    words: list[int] = []
    times: list[float] = []
    present: list[tuple[float, bool]] = []  # (best probability, first quote right)
    absent: list[float] = []
    by_article: dict[str, list[Question]] = defaultdict(list)
    for q in questions:
        by_article[q.article].append(q)
    for article, group in by_article.items():
        view = index.without([d for d in index.document_ids if article_of(d) == article])
        blind = Assistant(
            assistant.retriever.__class__(view), passages=assistant.passages, model=assistant.model, threshold=threshold, verify=verify
        )
        for q in group:
            text = texts[q.id]
            index._query_cache.pop(text, None)
            started = time.perf_counter()
            answer = always.ask(text)
            times.append((time.perf_counter() - started) * 1000)
            evidence = answer.extra["evidence"]
            right = bool(answer.quotes) and contains_answer(answer.quotes[0].text, q.answers)
            present.append((evidence, right))
            quotes = answer.quotes if evidence >= threshold else ()
            in1 += bool(quotes) and right
            in3 += any(contains_answer(x.text, q.answers) for x in quotes[:3])
            words += [len(x.text.split()) for x in quotes]
            absent.append(blind.ask(text).extra["evidence"])  # the view shares the query cache
    n = len(questions) or 1
    return {
        "answer_in_quote@1": round(in1 / n, 4),
        "answer_in_quote@3": round(in3 / n, 4),
        "mean_quote_words": round(statistics.mean(words), 2) if words else 0.0,
        "abstain_when_present": round(sum(p < threshold for p, _ in present) / n, 4),
        "abstain_when_absent": round(sum(p < threshold for p in absent) / n, 4),
        "abstain_threshold": round(threshold, 4),
        "confidence": confidence_figures(present, absent, threshold, assistant.model.threshold),
        "risk_coverage": risk_coverage(present, absent),
        "ask_ms_p50": latency(times)["p50"],
        "ask_ms_p95": latency(times)["p95"],
    }


def confidence_figures(
    present: list[tuple[float, bool]], absent: list[float], threshold: float, model_threshold: float
) -> dict[str, dict[str, float]]:
    """Per confidence word (`qa.answer.confidence`): how many questions were answered with it, and the
    share of those answers whose first quote holds the answer. Both views count: an answer given
    with the question's article removed cannot hold it."""
    from qa.answer.confidence import WORDS, confidence_word

    counts = {word: [0, 0] for word in WORDS}
    for evidence, right in present:
        if evidence >= threshold:
            counts[confidence_word(evidence, model_threshold)][0] += 1
            counts[confidence_word(evidence, model_threshold)][1] += right
    for evidence in absent:
        if evidence >= threshold:
            counts[confidence_word(evidence, model_threshold)][0] += 1
    return {
        word: {"answers": n, "hold_answer": round(hits / n, 4) if n else None}
        for word, (n, hits) in counts.items()
        if n
    }


def risk_coverage(present: list[tuple[float, bool]], absent: list[float]) -> list[dict[str, float]]:
    """At each threshold: the share of answerable questions answered, how often an answered one's first
    quote is wrong, and the share of unanswerable ones (article absent) that are rightly refused."""
    rows = []
    for step in range(1, 20):
        t = step / 20
        answered = [right for p, right in present if p >= t]
        rows.append(
            {
                "threshold": t,
                "answered": round(len(answered) / (len(present) or 1), 4),
                "wrong_when_answered": round(sum(not r for r in answered) / (len(answered) or 1), 4),
                "abstain_when_absent": round(sum(p < t for p in absent) / (len(absent) or 1), 4),
            }
        )
    return rows


def _open(articles, index_dir: Path, settings: Settings, embedder):
    """Build the index, or bring a kept one (`--index-dir`) up to date: unchanged articles are skipped."""
    from qa.index import Index

    if (index_dir / "manifest.json").exists():
        index = Index.load(index_dir, embedder=embedder)
        wanted = {a.id for a in articles}
        index.delete([d for d in index.document_ids if d not in wanted])
        index.add(articles, progress=False)
        return index
    return Index.build(articles, index_dir, settings=settings, embedder=embedder, progress=sys.stderr.isatty())


def _evaluate(args, settings: Settings, index_dir: Path, articles, questions, distractors) -> dict[str, Any]:
    """Every figure for one collection: the paragraphs plus `distractors`."""
    from qa.answer.assistant import Assistant
    from qa.index import Index
    from qa.retrieve import Retriever

    index = Index(index_dir, settings)
    index.embedder.model  # load the model before timing the build
    started = time.perf_counter()
    index = _open(articles + distractors, index_dir, settings, index.embedder)
    index_seconds = time.perf_counter() - started
    retriever = Retriever(index)
    modes = ["hybrid", "dense", "lexical"] if args.mode == "all" else [args.mode]
    texts = {q.id: q.text for q in questions}
    result: dict[str, Any] = {
        "file": str(args.file),
        "model": settings.model,
        "precision": index.embedder.precision,
        "paragraphs": len(articles),
        "distractors": len(distractors),
        "split": args.split,
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
        _, other = load_squad(args.question_lang_file, prefix=dataset_prefix(args.question_lang_file))
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
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qa.eval", description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path, help="SQuAD-format JSON (e.g. xquad.ar.json)")
    parser.add_argument("--mode", choices=["dense", "lexical", "hybrid", "all"], default="all")
    parser.add_argument("--question-lang-file", type=Path, help="parallel SQuAD file whose questions (same ids) are asked instead, for cross-lingual figures")
    parser.add_argument("--limit", type=int, help="only the first N paragraphs (quick runs)")
    parser.add_argument("--split", choices=["all", "train", "heldout"], default="all", help="only questions of articles in this half of qa.train.datasets.split_of")
    parser.add_argument("--distractors", type=Path, help="a news JSONL(.gz) whose articles are indexed beside the paragraphs")
    parser.add_argument("--distractor-count", type=int, nargs="+", default=[3000], help="news articles indexed with --distractors; several sizes (e.g. 30 300 3000) are each reported, smallest first, on one kept index")
    parser.add_argument("--no-answers", action="store_true", help="retrieval figures only")
    parser.add_argument("--model", default=None)
    parser.add_argument("--precision", default="auto", choices=["auto", "float32", "bfloat16", "float16"])
    parser.add_argument("--index-dir", type=Path, help="keep the index here (default: a temporary folder)")
    args = parser.parse_args(argv)

    from qa.errors import QAError

    try:
        articles, questions = load_squad(args.file, args.limit, prefix=dataset_prefix(args.file))
        if args.split != "all":
            questions = [q for q in questions if split_of(q.article) == args.split]
        sizes = sorted(set(args.distractor_count)) if args.distractors else [0]
        news = load_news(args.distractors, max(sizes)) if args.distractors else []
        settings = Settings(model=args.model or default_model(), precision=args.precision)
        with tempfile.TemporaryDirectory() as tmp:
            index_dir = args.index_dir or Path(tmp) / "index"
            results = [_evaluate(args, settings, index_dir, articles, questions, news[:size]) for size in sizes]
        result = results[0] if len(results) == 1 else {"sizes": results}
    except QAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
