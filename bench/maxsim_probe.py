"""`python bench/maxsim_probe.py`: does late interaction (ColBERT-style MaxSim over e5's token states)
pick the answering sentence better than the answer model alone? JSON on stdout.

The trust issue's part 2, measured before anything is built into the query path. Each development
question is asked in the development collection (XQuAD-ar and ARCD paragraphs plus Jawhara FM news,
`qa.train.datasets`) with its article present. The answer model's best 8 sentences are re-read: every
question token's best cosine against the sentence's tokens (both from e5's last layer, special and
prompt tokens left out), summed up as the mean and the worst-covered token. A logistic re-ranker over
(the answer model's log-odds, mean MaxSim, min MaxSim) is fitted on the train half of the articles
(`split_of`) and reported on the held-out half, once fitted on every set and once with each set left
out, against the answer model's own order. "best right" is the share of questions whose top sentence
holds a gold answer (the candidates are sentences, before quotes are trimmed or joined).

Usage: python bench/maxsim_probe.py [--index-dir DIR] [--distractors 3000] [--limit N]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from qa import Assistant, Retriever
from qa.model.embedding import PASSAGE_PROMPT, QUERY_PROMPT
from qa.model.verifier import logit
from qa.train.answer_model import DATA, logistic
from qa.train.datasets import contains_answer, load_news, open_index, question_sets, split_of

TOP = 8
SETS = ("xquad-ar", "arcd", "xquad-en")


def token_states(model, texts: list[str], prompt: str) -> list[np.ndarray]:
    """Unit-length last-layer states of each text's own tokens: no [CLS]/[SEP], no prompt tokens."""
    prompt_tokens = len(model.tokenizer(prompt, add_special_tokens=False)["input_ids"])
    states = model.encode([prompt + t for t in texts], output_value="token_embeddings", batch_size=32, convert_to_numpy=False)
    out = []
    for s in states:
        s = s.float().numpy()[1 + prompt_tokens : -1]
        out.append(s / np.maximum(np.linalg.norm(s, axis=1, keepdims=True), 1e-9))
    return out


def maxsim(question: np.ndarray, sentence: np.ndarray) -> tuple[float, float]:
    best = (question @ sentence.T).max(axis=1)
    return float(best.mean()), float(best.min())


def collect(index, sets, limit: int | None) -> list[dict]:
    """Per question: its set, split, the top sentences' texts, log-odds and labels."""
    assistant = Assistant(Retriever(index))
    rows = []
    for name in SETS:
        asked = sets[name] if limit is None else sets[name][:: max(1, len(sets[name]) // limit)]
        for q, text in asked:
            weighed = assistant.deliberate(text)
            if not weighed.candidates:
                continue
            logits = logit(weighed.probabilities)
            top = np.argsort(-logits, kind="stable")[:TOP]
            articles = weighed.snapshot.articles
            cands = [weighed.candidates[i] for i in top]
            texts = [articles[c.doc_id].text[c.start : c.end] for c in cands]
            labels = [int(c.doc_id == q.doc_id and contains_answer(t, q.answers)) for c, t in zip(cands, texts)]
            rows.append({"set": name, "split": split_of(q.article), "question": text, "sentences": texts,
                         "logit": logits[top], "label": np.asarray(labels)})
    return rows


def add_maxsim(model, rows: list[dict]) -> None:
    questions = token_states(model, [r["question"] for r in rows], QUERY_PROMPT)
    sentences = token_states(model, [s for r in rows for s in r["sentences"]], PASSAGE_PROMPT)
    at = 0
    for r, q in zip(rows, questions):
        n = len(r["sentences"])
        r["maxsim"] = np.asarray([maxsim(q, s) for s in sentences[at : at + n]])
        at += n


def features(r: dict) -> np.ndarray:
    return np.column_stack([r["logit"], r["maxsim"]])


def best_right(rows: list[dict], score=None) -> float:
    if not rows:
        return float("nan")
    picks = [r["label"][0] if score is None else r["label"][int(np.argmax(score(features(r))))] for r in rows]
    return round(float(np.mean(picks)), 4)


def fit(rows: list[dict]):
    x = np.concatenate([features(r) for r in rows])
    y = np.concatenate([r["label"] for r in rows])
    return logistic(x, y)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index-dir", type=Path, default=Path(".cache/maxsim-index"))
    parser.add_argument("--distractors", type=int, default=3000)
    parser.add_argument("--limit", type=int, default=None, help="about N questions of each set, spread over its articles (quick runs)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    articles, sets = question_sets(DATA, ("en",))
    index = open_index(args.index_dir, articles + load_news(DATA / "news" / "jawharafm.jsonl.gz", args.distractors), "auto")
    rows = collect(index, sets, args.limit)
    print(f"{len(rows)} questions asked, {time.perf_counter() - started:.0f}s", file=sys.stderr)
    add_maxsim(index.embedder.model, rows)
    print(f"token states read, {time.perf_counter() - started:.0f}s", file=sys.stderr)
    train = [r for r in rows if r["split"] == "train" and r["label"].any()]
    everything = fit(train)
    result = {"top": TOP, "precision": index.embedder.precision, "distractors": args.distractors,
              "weights": dict(zip(("logit", "maxsim_mean", "maxsim_min"), (round(float(c), 3) for c in everything.coef))),
              "heldout": {}}
    for name in SETS:
        held = [r for r in rows if r["set"] == name and r["split"] == "heldout"]
        left_out = fit([r for r in train if r["set"] != name])
        result["heldout"][name] = {
            "questions": len(held),
            "best_right_answer_model": best_right(held),
            "best_right_with_maxsim": best_right(held, everything),
            "best_right_with_maxsim_set_left_out": best_right(held, left_out),
            "in_top8": round(float(np.mean([r["label"].any() for r in held])), 4) if held else None,
        }
    print(json.dumps(result, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
