"""`python bench/seed_questions.py`: questions about the seeds, written the way a news reader asks
them, answered on the seeds alone and among the 48 real news articles of the tests; JSON on stdout.

Why beside `qa.train.evaluate`: XQuAD and ARCD are Wikipedia questions, and a change that helps there can hurt
news ("who is X?", answered in news by a title beside the name). These 20 answerable questions (15
Arabic, 5 English) and 5 the seeds cannot answer were written on 2026-12-01 after reading the seeds,
with the fact a right first quote must hold; they were not used to fit anything. Twenty questions
move by 0.05 per question, so read the lists of failures, not only the shares.

Usage: python bench/seed_questions.py [--no-verify] [--work DIR] [--answer-model FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from qa import Assistant, Index, Retriever
from qa.answer.model import AnswerModel
from qa.ingest.files import read_path

REPO = Path(__file__).resolve().parent.parent

ANSWERABLE = [
    ("ما هي المبادرات التي يشرف عليها المغرب؟", "ثلاث مبادرات"),
    ("من هو نايثن سايلس؟", "المنسق"),
    ("من هو وزير الخارجية المغربي؟", "بوريطة"),
    ("أين التقى بوريطة وسايلس؟", "الرباط"),
    ("متى سيتم إطلاق المبادرة الخاصة بقوائم المراقبة؟", "27 شتنبر"),
    ("من هو سفير الولايات المتحدة في المغرب؟", "فيشر"),
    ("من استقبل عبد اللطيف حموشي؟", "غرينواي"),
    ("من هو عبد اللطيف حموشي؟", "المدير العام"),
    ("ما هو المنتدى العالمي لمكافحة الإرهاب؟", "المنتدى"),
    ("ما هو قرار مجلس الأمن رقم 2396؟", "2396"),
    ("متى اعترف المغرب باستقلال الولايات المتحدة؟", "قرنين"),
    ("ما هي التهديدات الإرهابية في منطقة الساحل؟", "الساحل"),
    ("من هو روبير غرينواي؟", "مساعد"),
    ("أين جرى استقبال غرينواي؟", "بمقر"),
    ("ما هي الجبهة الأمنية المشتركة؟", "جبهة"),
    ("Who is Nathan Sales?", "المنسق"),
    ("When will the watchlist initiative be launched?", "27 شتنبر"),
    ("Who is Abdellatif Hammouchi?", "المدير العام"),
    ("Who is the US ambassador to Morocco?", "فيشر"),
    ("Where did Bourita and Sales meet?", "الرباط"),
]
UNANSWERABLE = [
    "كم عدد سكان المغرب؟",
    "من فاز بكأس العالم لكرة القدم سنة 2022؟",
    "What is the gross domestic product of Morocco?",
    "من هو رئيس وزراء الهند؟",
    "ما هي عاصمة أستراليا؟",
]


def measure(assistant: Assistant) -> dict:
    """Shares over the questions, and each failure with its evidence."""
    right, refused, wrong, words = [], [], [], {}
    for question, fact in ANSWERABLE:
        answer = assistant.ask(question)
        evidence = answer.extra["evidence"]
        if answer.abstained:
            refused.append([question, evidence])
        elif fact in answer.quotes[0].text:
            right.append(question)
            words[answer.confidence] = words.get(answer.confidence, 0) + 1
        else:
            wrong.append([question, evidence, answer.quotes[0].text[:80], answer.confidence])
    answered = [[q, a.extra["evidence"], a.confidence] for q in UNANSWERABLE if not (a := assistant.ask(q)).abstained]
    return {
        "answerable_right_first_quote": round(len(right) / len(ANSWERABLE), 3),
        "answerable_refused": round(len(refused) / len(ANSWERABLE), 3),
        "unanswerable_refused": round(1 - len(answered) / len(UNANSWERABLE), 3),
        "right_first_quotes_by_confidence": words,
        "refused": refused,
        "wrong_first_quote": wrong,
        "unanswerable_answered": answered,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-verify", action="store_true", help="the answer model alone (Assistant(verify=False))")
    parser.add_argument("--work", type=Path, default=None, help="where the two indexes are built (default: a temporary folder); kept ones are reused")
    parser.add_argument("--answer-model", type=Path, default=None, help="an answer model file other than the shipped one, to compare")
    args = parser.parse_args()
    model = AnswerModel.load(args.answer_model) if args.answer_model else None
    seeds = read_path(REPO / "seeds").articles
    news = read_path(REPO / "tests" / "data" / "news_distractors.jsonl").articles
    with tempfile.TemporaryDirectory() as scratch:
        work = args.work or Path(scratch)
        out = {}
        for name, articles in (("seeds", seeds), ("seeds and 48 news articles", seeds + news)):
            folder = work / name.replace(" ", "-")
            index = Index.load(folder) if (folder / "manifest.json").exists() else Index.build(articles, folder, progress=False)
            out[name] = measure(Assistant(Retriever(index), model=model, verify=not args.no_verify))
    print(json.dumps({"verify": not args.no_verify, **out}, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
