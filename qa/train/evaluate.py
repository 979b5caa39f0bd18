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


def evaluate_answers(
    assistant, index, questions: list[Question], texts: dict[str, str], hard: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Answer figures with each question's article present, then removed, plus the risk-coverage curve;
    with `hard` (question id -> `qa.train.hard.HardView`, and the ids of every answer-free copy under
    "hidden"), also with its article present minus every sentence that holds an answer.

    Each question is asked once, never abstaining, so the risk-coverage curve also knows whether the
    first quote of a question the assistant refuses would have been right; whether it is refused at
    the assistant's own threshold is read from its evidence (as reported, to 4 decimals, the same
    figure the abstention rates always read), which does not depend on the threshold. The confidence
    word is the one the answer carries (capped below "high" where the quote misses a constraint).
    """
    from qa.answer.assistant import Assistant

    threshold = assistant.threshold
    verify = assistant.verifier is not None
    retriever_class = assistant.retriever.__class__
    hidden = set(hard["hidden"]) if hard else set()

    def asking(view, at: float):
        return Assistant(retriever_class(view), passages=assistant.passages, model=assistant.model, threshold=at, verify=verify)

    base = index.without(hidden) if hidden else index
    always = asking(base, 0.0)
    in1 = in3 = 0
    words: list[int] = []
    times: list[float] = []
    present: list[tuple[float, bool, str]] = []  # (best probability, first quote right, confidence word)
    absent: list[tuple[float, str]] = []
    hard_absent: list[tuple[float, str]] = []
    by_article: dict[str, list[Question]] = defaultdict(list)
    for q in questions:
        by_article[q.article].append(q)
    views: dict[Any, Any] = {}
    for article, group in by_article.items():
        blind = asking(base.without([d for d in index.document_ids if article_of(d) == article]), threshold)
        for q in group:
            text = texts[q.id]
            index._query_cache.pop(text, None)
            started = time.perf_counter()
            answer = always.ask(text)
            times.append((time.perf_counter() - started) * 1000)
            evidence = answer.extra["evidence"]
            right = bool(answer.quotes) and contains_answer(answer.quotes[0].text, q.answers)
            present.append((evidence, right, answer.confidence))
            quotes = answer.quotes if evidence >= threshold else ()
            in1 += bool(quotes) and right
            in3 += any(contains_answer(x.text, q.answers) for x in quotes[:3])
            words += [len(x.text.split()) for x in quotes]
            missing = blind.ask(text)  # the view shares the query cache
            absent.append((missing.extra["evidence"], missing.confidence))
            view = hard.get(q.id) if hard else None
            if view is not None:
                if view.key not in views:
                    views = {view.key: asking(index.without(hidden - {a.id for a in view.show} | view.hide), threshold)}
                unanswered = views[view.key].ask(text)
                hard_absent.append((unanswered.extra["evidence"], unanswered.confidence))
    n = len(questions) or 1
    result = {
        "answer_in_quote@1": round(in1 / n, 4),
        "answer_in_quote@3": round(in3 / n, 4),
        "mean_quote_words": round(statistics.mean(words), 2) if words else 0.0,
        "abstain_when_present": round(sum(p < threshold for p, _, _ in present) / n, 4),
        "abstain_when_absent": round(sum(p < threshold for p, _ in absent) / n, 4),
        "abstain_threshold": round(threshold, 4),
        "high_when_present": _share_high([(p, w) for p, _, w in present], threshold),
        "high_when_absent": _share_high(absent, threshold),
    }
    if hard is not None:
        result.update(
            {
                "hard_absent_questions": len(hard_absent),
                "abstain_when_hard_absent": round(sum(p < threshold for p, _ in hard_absent) / (len(hard_absent) or 1), 4),
                "high_when_hard_absent": _share_high(hard_absent, threshold),
            }
        )
    result.update(
        {
            "confidence": confidence_figures(present, absent + hard_absent, threshold),
            "risk_coverage": risk_coverage([(p, r) for p, r, _ in present], [p for p, _ in absent], [p for p, _ in hard_absent]),
            "ask_ms_p50": latency(times)["p50"],
            "ask_ms_p95": latency(times)["p95"],
        }
    )
    return result


def _share_high(asked: list[tuple[float, str]], threshold: float) -> float:
    """The share of these questions answered with "high" confidence."""
    return round(sum(p >= threshold and word == "high" for p, word in asked) / (len(asked) or 1), 4)


def confidence_figures(
    present: list[tuple[float, bool, str]], unanswerable: list[tuple[float, str]], threshold: float
) -> dict[str, dict[str, float]]:
    """Per confidence word (`qa.answer.confidence`): how many questions were answered with it, and the
    share of those answers whose first quote holds the answer. Every view counts: an answer given
    with the question's article removed, or with its answers removed, cannot hold it."""
    from qa.answer.confidence import WORDS

    counts = {word: [0, 0] for word in WORDS}
    for evidence, right, word in present:
        if evidence >= threshold and word:
            counts[word][0] += 1
            counts[word][1] += right
    for evidence, word in unanswerable:
        if evidence >= threshold and word:
            counts[word][0] += 1
    return {
        word: {"answers": n, "hold_answer": round(hits / n, 4) if n else None}
        for word, (n, hits) in counts.items()
        if n
    }


def risk_coverage(present: list[tuple[float, bool]], absent: list[float], hard_absent: list[float] = ()) -> list[dict[str, float]]:
    """At each threshold: the share of answerable questions answered, how often an answered one's first
    quote is wrong, and the shares of unanswerable ones (article absent; answers removed) that are
    rightly refused."""
    rows = []
    for step in range(1, 20):
        t = step / 20
        answered = [right for p, right in present if p >= t]
        row = {
            "threshold": t,
            "answered": round(len(answered) / (len(present) or 1), 4),
            "wrong_when_answered": round(sum(not r for r in answered) / (len(answered) or 1), 4),
            "abstain_when_absent": round(sum(p < t for p in absent) / (len(absent) or 1), 4),
        }
        if hard_absent:
            row["abstain_when_hard_absent"] = round(sum(p < t for p in hard_absent) / len(hard_absent), 4)
        rows.append(row)
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
    from qa.answer.model import AnswerModel
    from qa.index import Index
    from qa.retrieve import Retriever

    index = Index(index_dir, settings)
    index.embedder.model  # load the model before timing the build
    hard = _hard_views(articles, questions) if args.hard_absent else None
    copies = list({a.id: a for v in (hard or {}).values() for a in v.show}.values())
    started = time.perf_counter()
    index = _open(articles + distractors + copies, index_dir, settings, index.embedder)
    index_seconds = time.perf_counter() - started
    full = index
    if hard is not None:
        hard = {**hard, "hidden": {a.id for a in copies}}
        index = index.without(hard["hidden"])  # every other figure reads the collection without the copies
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
    if hard is not None:
        result["hard_absent_views"] = {"questions": len(hard) - 1, "skipped": len(questions) - len(hard) + 1, "copies": len(copies)}
    if not args.no_answers:
        model = AnswerModel.load(args.answer_model) if args.answer_model else None
        result["answer_model"] = str(args.answer_model or "qa/answer/answer_model.json")
        result["answers"] = evaluate_answers(Assistant(Retriever(full), model=model), full, questions, texts, hard)
        if args.question_lang_file:
            result["cross_lingual"]["answers"] = evaluate_answers(Assistant(Retriever(full), model=model), full, asked, other_texts, hard)
    return result


def _hard_views(articles, questions: list[Question]) -> dict[str, Any]:
    """Each question's hard-absent view (`qa.train.hard.hard_view`): its article's paragraphs minus
    every sentence holding a gold answer. A question whose answer spans two sentences has none."""
    from qa.train.hard import hard_view

    by_article: dict[str, list] = defaultdict(list)
    for a in articles:
        by_article[article_of(a.id)].append(a)
    views = {}
    for q in questions:
        view = hard_view(by_article[q.article], q.answers)
        if view is not None:
            views[q.id] = view
    return views


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qa.eval", description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path, help="SQuAD-format JSON (e.g. xquad.ar.json)")
    parser.add_argument("--mode", choices=["dense", "lexical", "hybrid", "all"], default="all")
    parser.add_argument("--question-lang-file", type=Path, help="parallel SQuAD file whose questions (same ids) are asked instead, for cross-lingual figures")
    parser.add_argument("--limit", type=int, help="only the first N paragraphs (quick runs)")
    parser.add_argument("--split", choices=["all", "train", "heldout"], default="all", help="only questions of articles in this half of qa.train.datasets.split_of")
    parser.add_argument("--distractors", type=Path, help="a news JSONL(.gz) whose articles are indexed beside the paragraphs")
    parser.add_argument("--distractor-count", type=int, nargs="+", default=[3000], help="news articles indexed with --distractors; several sizes (e.g. 30 300 3000) are each reported, smallest first, on one kept index (built for the largest, then deleted down)")
    parser.add_argument("--no-answers", action="store_true", help="retrieval figures only")
    parser.add_argument("--hard-absent", action="store_true", help="also ask each question with its article present minus every sentence that holds a gold answer (qa.train.hard)")
    parser.add_argument("--answer-model", type=Path, help="an answer model file other than the shipped one (e.g. one fitted without some features)")
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
            # largest first: each smaller collection is the kept index less some news (deletes only),
            # where smallest first re-embedded every article the next size adds
            results = [_evaluate(args, settings, index_dir, articles, questions, news[:size]) for size in reversed(sizes)][::-1]
        result = results[0] if len(results) == 1 else {"sizes": results}
    except QAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
