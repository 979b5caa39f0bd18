"""The answer model: the probability that a candidate sentence answers the question.

Why a learned model: a bi-encoder cosine says whether a sentence is on the question's topic, not
whether it answers it, and a news collection always has an on-topic sentence. Hand-set constants
over that cosine (the rule this replaces: cosine + 0.1 x coverage >= 0.865) were fitted to XQuAD
and abstained on only about half of the unanswerable questions of other styles. The model reads
the signals a careful reader uses (is the sentence close in meaning, does it name the question's
rarest words, the year, the name, does it hold a date when the question asks "when", how far ahead
is it of the rest) and weighs them with linear models fitted on article-level splits of XQuAD,
ARCD and real news distractors (`python -m qa.train`, which writes `answer_model.json`): a ranker
that orders a question's sentences, scaled to a probability, and a logistic regression that decides
whether any sentence answers.

Inference is a dot product in numpy: queries never import scikit-learn or torch.
"""

from __future__ import annotations

import json
import math
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from qa.answer.confidence import HIGH
from qa.answer.quote import Candidate
from qa.question import Question
from qa.text.constraints import Constraint, Window, constraints_of, unmet, unmet_shares
from qa.text.kinds import KINDS, kind_match, sentence_tokens
from qa.text.normalize import content_terms, detect_language
from qa.text.sentences import split_sentences
from qa.text.transliterate import spelled_in

MODEL_FILE = Path(__file__).with_name("answer_model.json")

FEATURES: tuple[str, ...] = (
    "cos",
    "cos_gap",
    "best_cos",
    "best_margin",
    "chunk_fused",
    "chunk_rank_log",
    "chunk_dense",
    "top_dense",
    "lex_sentence",
    "lex_article",
    "rare_sentence",
    "rare_article",
    "lex_candidates",
    "known_share",
    "kind_match",
    "kind_when",
    "kind_how_many",
    "kind_who",
    "kind_where",
    "novel_log",
    "sentence_words_log",
    "question_words_log",
    "question_en",
    "cross_lingual",
    "cos_x_cross",
    "all_terms_article",
    "all_rare_sentence",
    "missing_idf_share",
    "collection_log",
    "unmet_year",
    "unmet_number",
    "unmet_name",
    "unmet_rare",
    "unmet_any",
)
"""The feature vector of one (question, sentence) pair, in order; `answer_model.json` names them too
and loading refuses a file that names one this list lacks. The `unmet_*` features are the question's
constraints (`qa.text.constraints`) that the sentence's window (itself, its neighbours, its headline,
its article's date for a year) leaves unmet: the share per kind, and whether a distinctive one is."""

QUESTION_FEATURES: tuple[str, ...] = (
    "best_logit",
    "max_cos",
    "best_margin",
    "top_dense",
    "known_share",
    "max_lex_article",
    "max_rare_article",
    "max_rare_sentence",
    "max_lex_sentence",
    "question_words_log",
    "question_en",
    "cross_lingual",
    "best_chunk_dense",
    "best_rare_article",
    "best_lex_article",
    "best_rare_sentence",
    "max_all_terms_article",
    "max_all_rare_sentence",
    "min_missing_idf_share",
    "collection_log",
    "best_unmet_any",
    "best_unmet_rare",
    "best_unmet_named",
    "min_unmet_any",
    "min_unmet_rare",
)
"""What the abstention model reads of a whole question: the best sentence's probability (as a logit)
and features, and the best each signal reaches over all candidates. The sentence model picks the
sentence; whether any sentence answers is a question about the collection. On held-out articles (a
first run, 3,000 news distractors) this second model separated present from absent articles better
than the best sentence's probability alone: AUC 0.962 against 0.937 on XQuAD-ar, 0.914 against 0.886
on ARCD. The `*_unmet_*` features say whether the best sentence misses a constraint of the question
(`best_unmet_named`: its year, number or name), and whether every candidate does (`min_*`)."""

RARE_SHARE = 1 / 3
"""The question's rarest words: the top third by idf (at least one), plus any number it holds."""


@dataclass(frozen=True)
class Salience:
    """What the features read of a parsed question inside one collection: each content word's idf,
    the rarest words (the top `RARE_SHARE` by idf, at least one, plus any number), and the share of
    the question's idf mass in words the collection uses at all. The parse is the question's own
    (`qa.question.Question`); only these depend on the snapshot searched."""

    question: Question
    rare: frozenset[str]
    idf: dict[str, float]
    known_share: float
    constraints: tuple[Constraint, ...] = ()
    """The question's distinctive constraints in this collection (`qa.text.constraints`)."""

    @classmethod
    def of(cls, question: Question, lexical) -> Salience:
        terms = question.terms
        idf = lexical.idf(terms) if terms else {}
        ordered = sorted(terms, key=lambda t: (-idf[t], t))
        rare = set(ordered[: max(1, math.ceil(len(ordered) * RARE_SHARE))]) if ordered else set()
        return cls(
            question=question,
            rare=frozenset(rare | question.numbers),
            idf=idf,
            known_share=lexical.known_share(question.query) if terms else 0.0,
            constraints=constraints_of(question.topic_terms, question.numbers, question.names, idf, unknown=lexical.idf_unknown()),
        )


def _share(weights: dict[str, float], wanted: frozenset[str], found: set[str]) -> float:
    total = sum(weights.get(t, 1.0) for t in wanted)
    return sum(weights.get(t, 1.0) for t in wanted & found) / total if total else 0.0


@lru_cache(maxsize=4096)
def _article_terms(text: str) -> tuple[frozenset[str], str]:
    """An article's content words and language, computed once per process (articles are immutable;
    the same few come back for question after question on a topic)."""
    return frozenset(content_terms(text)), detect_language(text[:2000])


@lru_cache(maxsize=4096)
def _article_spells(names: frozenset[str], text: str) -> frozenset[str]:
    """Which of a question's Latin names the article writes in Arabic letters (`qa.text.transliterate`)."""
    return frozenset(spelled_in(names, set(sentence_tokens(text))))


@lru_cache(maxsize=4096)
def _article_sentences(text: str) -> tuple[list[int], list[frozenset[str]], list[frozenset[str]]]:
    """An article's sentence starts, and each sentence's content terms and unstemmed tokens, computed
    once per process: the windows in which constraints are checked."""
    spans = split_sentences(text)
    return (
        [start for start, _ in spans],
        [frozenset(content_terms(text[s:e])) for s, e in spans],
        [frozenset(sentence_tokens(text[s:e])) for s, e in spans],
    )


@lru_cache(maxsize=4096)
def _headline(title: str) -> tuple[frozenset[str], frozenset[str]]:
    return frozenset(content_terms(title)), frozenset(sentence_tokens(title))


def constraint_window(article, start: int, terms: set[str], tokens: list[str]) -> Window:
    """The window of the sentence at `start` of `article` (whose own `terms` and `tokens` are given):
    it, the sentences before and after it, the headline, and the year of the article's date."""
    starts, sentence_terms, sentence_tokens_ = _article_sentences(article.text)
    at = max(0, bisect_right(starts, start) - 1)
    around = range(max(0, at - 1), min(len(starts), at + 2))
    head_terms, head_tokens = _headline(article.title or "")
    date = article.date or ""
    return Window(
        terms=frozenset(terms).union(head_terms, *(sentence_terms[i] for i in around)),
        tokens=frozenset(tokens).union(head_tokens, *(sentence_tokens_[i] for i in around)),
        year=date[:4] if date[:4].isdigit() else "",
    )


def _unmet_row(salience: Salience, window: Window, cross: bool) -> list[float]:
    """The `unmet_*` features: across languages a rare word cannot be compared (it would need
    translating), so only years, numbers and names are checked there."""
    constraints = tuple(c for c in salience.constraints if not (cross and c.kind == "rare"))
    shares = unmet_shares(constraints, unmet(constraints, window))
    return [shares["year"], shares["number"], shares["name"], shares["rare"], shares["any"]]


def featurize(snapshot, ranked, candidates: list[Candidate], salience: Salience) -> np.ndarray:
    """One row of `FEATURES` per candidate sentence (rows follow `candidates`).

    Args:
        snapshot: The index snapshot the candidates come from.
        ranked: The retrieved chunks (`qa.retrieve.Ranked`), best first; `Candidate.chunk_rank` indexes it.
        candidates: The sentences of those chunks with their cosine to the query.
        salience: The question as the features read it in this collection.
    """
    if not candidates:
        return np.zeros((0, len(FEATURES)), np.float32)
    question = salience.question
    cosines = sorted((c.dense for c in candidates), reverse=True)
    best_cos = cosines[0]
    margin = cosines[0] - cosines[1] if len(cosines) > 1 else cosines[0]
    dense_seen = [r.dense for r in ranked if r.dense is not None]
    floor = min(dense_seen) if dense_seen else 0.0
    top_dense = max(dense_seen) if dense_seen else 0.0
    kinds = [float(question.kind == k) for k in KINDS[:4]]
    top_idf = max(salience.idf.values(), default=0.0) or 1.0
    collection = math.log1p(len(snapshot.chunks))
    rows = []
    for c in candidates:
        article = snapshot.articles[c.doc_id]
        article_words, article_language = _article_terms(article.text)
        if unmatched := question.names - article_words:
            article_words = article_words | _article_spells(unmatched, article.text)
        text = article.text[c.start : c.end]
        tokens = sentence_tokens(text)
        words = set(content_terms(text))
        if unmatched := question.names - words:  # unstemmed tokens: the stemmer cuts the ب of "بوريطة"
            words |= spelled_in(unmatched, tokens)
        chunk = ranked[c.chunk_rank]
        cross = float(article_language != question.language)
        window = constraint_window(article, c.start, words, tokens)
        rows.append(
            [
                c.dense,
                c.dense - best_cos,
                best_cos,
                margin,
                chunk.score,
                math.log1p(c.chunk_rank),
                chunk.dense if chunk.dense is not None else floor,
                top_dense,
                _share(salience.idf, question.terms, words),
                _share(salience.idf, question.terms, article_words),
                _share(salience.idf, salience.rare, words),
                _share(salience.idf, salience.rare, article_words),
                c.overlap,
                salience.known_share,
                kind_match(question.kind, tokens),
                *kinds,
                math.log1p(len(words - question.terms)),
                math.log1p(len(text.split())),
                math.log1p(len(question.terms)),
                float(question.language == "en"),
                cross,
                c.dense * cross,
                float(question.terms <= article_words),
                float(salience.rare <= words),
                max((salience.idf[t] for t in question.terms - article_words), default=0.0) / top_idf,
                collection,
                *_unmet_row(salience, window, bool(cross)),
            ]
        )
    return np.asarray(rows, dtype=np.float32)


def question_features(features: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """The `QUESTION_FEATURES` row of one question from its candidates' features and probabilities."""
    col = {name: i for i, name in enumerate(FEATURES)}
    best = int(np.argmax(probabilities))
    p = float(np.clip(probabilities[best], 1e-6, 1 - 1e-6))
    top = features.max(axis=0)
    row = features[best]
    return np.asarray(
        [
            math.log(p / (1 - p)),
            top[col["cos"]],
            row[col["best_margin"]],
            row[col["top_dense"]],
            row[col["known_share"]],
            top[col["lex_article"]],
            top[col["rare_article"]],
            top[col["rare_sentence"]],
            top[col["lex_sentence"]],
            row[col["question_words_log"]],
            row[col["question_en"]],
            row[col["cross_lingual"]],
            row[col["chunk_dense"]],
            row[col["rare_article"]],
            row[col["lex_article"]],
            row[col["rare_sentence"]],
            top[col["all_terms_article"]],
            top[col["all_rare_sentence"]],
            features[:, col["missing_idf_share"]].min(),
            row[col["collection_log"]],
            row[col["unmet_any"]],
            row[col["unmet_rare"]],
            max(row[col["unmet_year"]], row[col["unmet_number"]], row[col["unmet_name"]]),
            features[:, col["unmet_any"]].min(),
            features[:, col["unmet_rare"]].min(),
        ],
        dtype=np.float32,
    )


@dataclass(frozen=True)
class Logistic:
    """A linear score over standardized features through the logistic function: all that inference
    needs of either model, in numpy."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def __call__(self, features: np.ndarray) -> np.ndarray:
        z = ((features - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=np.float64)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "mean": [round(float(x), 6) for x in self.mean],
            "scale": [round(float(x), 6) for x in self.scale],
            "coef": [round(float(x), 6) for x in self.coef],
            "intercept": round(float(self.intercept), 6),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Logistic:
        return cls(
            np.asarray(data["mean"], np.float32),
            np.asarray(data["scale"], np.float32),
            np.asarray(data["coef"], np.float32),
            float(data["intercept"]),
        )


@dataclass(frozen=True)
class AnswerModel:
    """Two linear models over standardized features and the operating point.

    `sentence`: P(this sentence answers the question), which orders the quotes.
    `question`: P(the collection answers the question at all), which decides abstention.
    `threshold`: below this question probability, the assistant says the articles do not answer.
    `extra_quote_gap`: a second or third sentence is quoted only when its log-odds are within this
    many standard deviations (of the question's candidates' log-odds) of the first one's: a close
    contender is shown, a sentence the model thinks far less likely to answer is not. Measured in
    the question's own spread because that spread differs by language: a cross-lingual question's
    candidates lie close together, and a fixed share of the best probability let nearly every one
    through.
    `neighbour_gap`: the same, wider, for a sentence that joins a quote it follows or precedes: the
    answer is often in the sentence next to the one that names the question's words, and joined
    they read as one passage rather than as another quote.
    """

    sentence: Logistic
    question: Logistic
    threshold: float
    extra_quote_gap: float
    neighbour_gap: float
    meta: dict[str, Any]
    sentence_features: tuple[str, ...] = FEATURES
    """The features the sentence model reads, in its order: all of `FEATURES`, or (a model fitted
    without some, to measure what they add) a subset of them."""
    question_features: tuple[str, ...] = QUESTION_FEATURES
    high: float = HIGH
    """The question probability from which an answer is "high" (`qa.answer.confidence`), fitted with
    the model on its train half."""
    high_cross: float | None = None
    """A band of its own for a first quote in another language than the question (an English question
    on Arabic articles), whose first pick holds the answer far less often at the same probability;
    None (the shipped model): `high` for every question. One fitted on the train half's cross-language
    questions was measured and not shipped (docs/experiments.md)."""
    cap: bool = False
    """Whether a first quote that misses a distinctive constraint of the question is kept from "high"
    (`qa.answer.confidence.confidence_word`); off for a model fitted before constraints were read,
    so that it answers as it did."""

    def high_band(self, cross_lingual: bool) -> float:
        """The "high" band for a first quote in the question's language or (`cross_lingual`) not."""
        return self.high_cross if cross_lingual and self.high_cross is not None else self.high

    def extra_bar(self, probabilities: np.ndarray, *, neighbour: bool = False) -> float:
        """The lowest probability a second or third quote (or a joining `neighbour`) may have among
        these candidates."""
        p = np.clip(np.asarray(probabilities, np.float64), 1e-12, 1 - 1e-12)
        logits = np.log(p / (1 - p))
        bar = logits.max() - (self.neighbour_gap if neighbour else self.extra_quote_gap) * logits.std()
        return float(1.0 / (1.0 + np.exp(-bar)))

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """P(sentence answers the question) for each row of `features`."""
        if not len(features):
            return np.zeros(0, np.float64)
        return self.sentence(_columns(features, FEATURES, self.sentence_features))

    def confidence(self, features: np.ndarray, probabilities: np.ndarray) -> float:
        """P(the question is answered by these candidates); 0 when there are none."""
        if not len(features):
            return 0.0
        return float(self.question_probability(question_features(features, probabilities)[None, :])[0])

    def question_probability(self, rows: np.ndarray) -> np.ndarray:
        """The question model on `QUESTION_FEATURES` rows (it reads its own columns of them)."""
        return self.question(_columns(rows, QUESTION_FEATURES, self.question_features))

    @classmethod
    def load(cls, path: str | Path = MODEL_FILE) -> AnswerModel:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        sentence_features, question_names = tuple(data["features"]), tuple(data["question_features"])
        if not set(sentence_features) <= set(FEATURES) or not set(question_names) <= set(QUESTION_FEATURES):
            raise ValueError(f"{path} was trained on other features; retrain with `python -m qa.train`")
        return cls(
            sentence=Logistic.from_dict(data["sentence"]),
            question=Logistic.from_dict(data["question"]),
            threshold=float(data["threshold"]),
            extra_quote_gap=float(data["extra_quote_gap"]),
            neighbour_gap=float(data["neighbour_gap"]),
            meta=data.get("meta", {}),
            sentence_features=sentence_features,
            question_features=question_names,
            high=float(data.get("high", HIGH)),
            high_cross=float(data["high_cross"]) if data.get("high_cross") is not None else None,
            cap=bool(data.get("cap_unmet", False)),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": list(self.sentence_features),
            "question_features": list(self.question_features),
            "high": round(self.high, 4),
            "high_cross": round(self.high_cross, 4) if self.high_cross is not None else None,
            "cap_unmet": self.cap,
            "sentence": self.sentence.to_dict(),
            "question": self.question.to_dict(),
            "threshold": round(self.threshold, 4),
            "extra_quote_gap": round(self.extra_quote_gap, 4),
            "neighbour_gap": round(self.neighbour_gap, 4),
            "meta": self.meta,
        }


def _columns(rows: np.ndarray, names: tuple[str, ...], wanted: tuple[str, ...]) -> np.ndarray:
    """`rows` (columns named `names`) reduced to the `wanted` columns, in that order."""
    if wanted == names:
        return rows
    return rows[:, [names.index(n) for n in wanted]]


@lru_cache(maxsize=1)
def default_model() -> AnswerModel:
    """The committed model, read once per process."""
    return AnswerModel.load()
