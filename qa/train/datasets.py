"""Development data for training and evaluating the answer model: SQuAD-format sets and news.

Every split is by *article*, never by question: the questions of one article share its wording and
its answers, so a model that saw some of them would look better on the rest than it is. XQuAD is
parallel across languages, so an article is in the same split in every language.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from qa.config import Settings, default_model
from qa.index import Index
from qa.records import Article
from qa.text.normalize import normalize

SPLIT_SEED = "qa-answer-model-v1"
HELD_OUT_SHARE = 0.5
"""Half of the articles are never seen in training; every figure says which half it comes from."""


@dataclass(frozen=True)
class Question:
    """A development question with its gold answers; `doc_id` is the paragraph that answers it."""

    id: str
    text: str
    doc_id: str
    article: str
    answers: tuple[str, ...]


def article_of(doc_id: str) -> str:
    """The article a development paragraph belongs to (`load_squad` ids are `article#n`); a news
    article is its own."""
    return doc_id.split("#")[0]


def contains_answer(text: str, answers: tuple[str, ...]) -> bool:
    """Whether `text` holds one of the gold answers, compared after Arabic normalization."""
    folded = normalize(text)
    return any(normalize(a).strip() and normalize(a).strip() in folded for a in answers)


def split_of(article: str) -> str:
    """"train" or "heldout" for an article title, stable across runs, machines and languages."""
    digest = hashlib.sha256(f"{SPLIT_SEED}:{article}".encode()).digest()
    return "heldout" if int.from_bytes(digest[:8], "big") / 2**64 < HELD_OUT_SHARE else "train"


def dataset_prefix(path: Path) -> str:
    """The id prefix of a development file ("xquad:", "arcd:"), so that articles keep one name, and so
    one split, in training and in evaluation, and two sets' titles can never collide."""
    name = Path(path).name.lower()
    return next((f"{p}:" for p in ("xquad", "arcd") if name.startswith(p)), "")


def load_squad(path: Path, limit: int | None = None, *, prefix: str = "") -> tuple[list[Article], list[Question]]:
    """Paragraphs as articles and their questions, in file order (the first `limit` paragraphs).

    Article ids are `prefix + title#n`; `Question.article` is `prefix + title`, the unit of splits.
    """
    data = json.loads(Path(path).read_text(encoding="utf-8"))["data"]
    articles, questions = [], []
    for entry in data:
        title = prefix + entry["title"]
        for number, paragraph in enumerate(entry["paragraphs"]):
            if limit is not None and len(articles) >= limit:
                return articles, questions
            doc_id = f"{title}#{number}"
            articles.append(Article(id=doc_id, text=paragraph["context"], title=entry["title"].replace("_", " ")))
            for qa in paragraph["qas"]:
                answers = tuple(a["text"] for a in qa["answers"])
                text = qa["question"].strip().lstrip("-–").strip()
                questions.append(Question(qa["id"], text, doc_id, title, answers))
    return articles, questions


def load_news(path: Path, count: int, *, seed: int = 13) -> list[Article]:
    """`count` articles drawn at random (seeded) from a JSONL or JSONL.gz news file."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle if line.strip()]
    random.Random(seed).shuffle(records)
    return [
        Article(
            id=f"news:{r['id']}",
            text=r["text"],
            title=r.get("title", ""),
            url=r.get("url"),
            date=r.get("date"),
            source=r.get("source"),
        )
        for r in records[:count]
    ]


def question_sets(data: Path, languages: tuple[str, ...]) -> tuple[list, dict[str, list[tuple[Question, str]]]]:
    """The articles to index and, per set name, (question, text asked) pairs."""
    ar_articles, ar_questions = load_squad(data / "xquad" / "xquad.ar.json", prefix="xquad:")
    arcd_articles, arcd_questions = load_squad(data / "arcd" / "arcd-train.json", prefix="arcd:")
    sets: dict[str, list[tuple[Question, str]]] = {
        "xquad-ar": [(q, q.text) for q in ar_questions],
        "arcd": [(q, q.text) for q in arcd_questions],
    }
    by_id = {q.id: q for q in ar_questions}
    for language in languages:
        _, other = load_squad(data / "xquad" / f"xquad.{language}.json", prefix="xquad:")
        sets[f"xquad-{language}"] = [(by_id[q.id], q.text) for q in other if q.id in by_id]
    return ar_articles + arcd_articles, sets


def open_index(path: Path, articles: list, precision: str):
    """The development index, built once and reused (an upsert skips unchanged articles)."""
    settings = Settings(model=default_model(), precision=precision)
    if (path / "manifest.json").exists():
        index = Index.load(path)
        index.add(articles, progress=sys.stderr.isatty())
        return index
    return Index.build(articles, path, settings=settings, progress=sys.stderr.isatty())


def asked_by_article(sets: dict[str, list[tuple[Question, str]]]) -> dict[str, list[tuple[str, Question, str]]]:
    """Every (set name, question, text asked) of `sets`, grouped by the question's article: the unit
    that an "absent" view removes from the collection."""
    by_article: dict[str, list[tuple[str, Question, str]]] = defaultdict(list)
    for name, pairs in sets.items():
        for q, text in pairs:
            by_article[q.article].append((name, q, text))
    return by_article
