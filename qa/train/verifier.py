"""`python -m qa.train --verifier`: fine-tune the verifier, e5-small read as a cross-encoder.

Why a second model: the answer model sees features of a question and a sentence taken apart (cosines,
word overlaps, answer types). A cross-encoder reads the two together, which is what "does this
sentence answer this question?" needs; on its own it is weaker than the feature model here, but
added to it it picks better and tells present from absent better (README, "Verifier").

What it learns from: the answer model's 8 best candidates for each development question, asked in
the development collection (XQuAD-ar and ARCD paragraphs plus real news) with the question's article
present and removed. The loss is listwise over the 8 plus a learned "none of them" option; the
target is the sentence that holds the answer, or "none". These are the hard negatives that fool the
assistant: on-topic sentences that do not answer.

Splits: the held-out half of the articles (`qa.train.datasets.split_of`) is never seen. The training half
is cut again by article: three quarters train the verifier, the last quarter ("fit") is where the
weight of its score beside the answer model's is chosen, on scores the verifier never trained on.

Only e5's top `TRAIN_LAYERS` layers, a linear head and the "none" logit change; they are saved as
8-bit weights (`qa/verifier.npz`) and merged into the materialized e5 on first use (`qa.model.verifier`).
"""

from __future__ import annotations

import hashlib
import json
import pickle
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from qa.model.verifier import (
    COMBINATION_FILE,
    MAX_LENGTH,
    WEIGHTS_FILE,
    Combination,
    Verifier,
    cross_encoder,
    logit,
    save_weights,
    weights_digest,
)
from qa.train.datasets import (
    article_of,
    asked_by_article,
    contains_answer,
    load_news,
    open_index,
    question_sets,
    split_of,
)

TOP = 8
"""Candidates per question kept for training, in the answer model's order."""
READ = 8
"""Of those, how many the verifier reads per question at query time (its cost grows with them)."""
TRAIN_LAYERS = 6
GROUPS = 4
"""Questions per step (each with its TOP candidates)."""
STEPS = 1200
SEED = 0
LEARNING_RATES = (3e-5, 1e-3)
"""Encoder layers, then the head and the "none" logit."""
WARMUP = 100
FIT_SHARE = 0.25
CROSS_LINGUAL = ("en", "de", "es")


def part_of(article: str) -> str:
    """"verifier" or "fit" for a training-half article: where the verifier trains, and where its
    combination with the answer model is fitted on scores it never trained on."""
    digest = hashlib.sha256(f"verifier:{article}".encode()).digest()
    return "fit" if int.from_bytes(digest[:8], "big") / 2**64 < FIT_SHARE else "verifier"


def collect(index, sets: dict[str, list], log=print, hard: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The answer model's TOP candidates per asked question, present and absent, with their texts; with
    `hard` (question id -> `qa.train.hard.HardView`, the index holding every answer-free copy), also
    hard-absent: its article present minus every sentence holding an answer, labelled "none" (`view`
    says which of "present", "absent", "hard" a row is)."""
    from qa.answer.assistant import Assistant
    from qa.retrieve import Retriever

    def asking(view):
        return Assistant(Retriever(view), threshold=0.0, verify=False)

    whole = index
    hidden = {a.id for v in (hard or {}).values() for a in v.show}
    index = whole.without(hidden) if hidden else whole
    by_article = asked_by_article(sets)
    everything = [d for d in whole.document_ids if d not in hidden]
    full = asking(index)
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    for done, (article, group) in enumerate(by_article.items(), start=1):
        blind = asking(index.without([d for d in everything if article_of(d) == article]))
        for name, q, text in group:
            views = [(1, "present", full), (0, "absent", blind)]
            if hard and q.id in hard:
                v = hard[q.id]
                views.append((0, "hard", asking(whole.without(hidden - {a.id for a in v.show} | v.hide))))
            for present, view, who in views:
                weighed = who.deliberate(text)
                if not weighed.candidates:
                    continue
                articles = weighed.snapshot.articles
                top = np.argsort(-weighed.probabilities, kind="stable")[:TOP]
                chosen = [weighed.candidates[i] for i in top]
                sentences = [articles[c.doc_id].text[c.start : c.end] for c in chosen]
                labels = [
                    int(present and c.doc_id == q.doc_id and contains_answer(s, q.answers)) for c, s in zip(chosen, sentences)
                ]
                rows.append(
                    dict(set=name, split=split_of(article), art=article, present=present, view=view, qid=q.id, q=text,
                         sents=sentences, label=np.array(labels), p=weighed.probabilities[top],
                         conf=weighed.confidence, n=len(weighed.candidates))
                )
        if done % 40 == 0:
            log(f"{done}/{len(by_article)} articles, {time.perf_counter() - started:.0f}s")
    return rows


def train(rows: list[dict[str, Any]], model_folder: Path, steps: int = STEPS, log=print):
    """Fine-tune on the "verifier" part; returns the torch module (encoder, head, null)."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    torch.manual_seed(SEED)
    random.seed(SEED)
    tokenizer = AutoTokenizer.from_pretrained(str(model_folder), local_files_only=True)
    model = cross_encoder(AutoModel.from_pretrained(str(model_folder), local_files_only=True))
    for p in model.encoder.parameters():
        p.requires_grad = False
    for layer in model.encoder.encoder.layer[-TRAIN_LAYERS:]:
        for p in layer.parameters():
            p.requires_grad = True
    groups = [r for r in rows if r["split"] == "train" and part_of(r["art"]) == "verifier" and len(r["sents"]) == TOP]
    optimizer = torch.optim.AdamW(
        [
            {"params": [p for p in model.encoder.parameters() if p.requires_grad], "lr": LEARNING_RATES[0]},
            {"params": list(model.head.parameters()) + [model.null], "lr": LEARNING_RATES[1]},
        ],
        weight_decay=0.01,
    )
    rng = np.random.default_rng(SEED)
    order: list[int] = []
    running = 0.0
    started = time.perf_counter()
    model.train()
    for step in range(steps):
        if len(order) < GROUPS:
            order = list(rng.permutation(len(groups)))
        batch = [groups[order.pop(0)] for _ in range(GROUPS)]
        encoded = tokenizer(
            ["query: " + r["q"] for r in batch for _ in r["sents"]],
            ["passage: " + s for r in batch for s in r["sents"]],
            truncation="only_second", max_length=MAX_LENGTH, padding=True, return_tensors="pt",
        )
        scores = model(encoded["input_ids"], encoded["attention_mask"]).view(len(batch), TOP)
        logits = torch.cat([scores, model.null.expand(len(batch), 1)], 1)
        target = torch.tensor([int(np.argmax(r["label"])) if r["label"].any() else TOP for r in batch])
        loss = torch.nn.functional.cross_entropy(logits, target)
        for group, rate in zip(optimizer.param_groups, LEARNING_RATES):
            group["lr"] = rate * min(1.0, (step + 1) / WARMUP)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        running = loss.item() if step == 0 else 0.98 * running + 0.02 * loss.item()
        if (step + 1) % 50 == 0:
            log(f"step {step + 1}/{steps}: loss {running:.4f}, {time.perf_counter() - started:.0f}s")
    return model.eval()


WEIGHT_GRID = (0.25, 0.5, 1.0, 2.0)
"""Candidate weights of the verifier's score beside the answer model's log-odds; the fit part picks
the one that picks best, and of equals the smallest (the least change to the answer model)."""
REPORT_PER_SET = 200
"""Held-out questions per set scored for the training report (`qa.train.evaluate` measures the full sets)."""
REPORT_SETS = ("xquad-ar", "arcd", "xquad-en")


def changed_tensors(state: dict[str, Any], layers: int) -> list[str]:
    """The state-dict names training changed: the top `layers` encoder layers, the head and "none"."""
    last = max(int(k.split(".")[3]) for k in state if k.startswith("encoder.encoder.layer."))
    top = tuple(f"encoder.encoder.layer.{i}." for i in range(last + 1 - layers, last + 1))
    return [k for k in state if k.startswith(top) or k.startswith(("head.", "null"))]


def score_rows(verifier, rows: list[dict[str, Any]], log=print) -> None:
    """Add the verifier's scores (the shipped ONNX graph's, as queries see them) to each row."""
    started = time.perf_counter()
    for done, r in enumerate(rows, start=1):
        r["verified"] = verifier.scores(r["q"], r["sents"][:READ])
        if done % 200 == 0:
            log(f"scored {done}/{len(rows)} questions, {time.perf_counter() - started:.0f}s")


def _combined_pick(r: dict[str, Any], weight: float) -> int:

    v = r["verified"]  # the rest cannot overtake these (`Combination.combined_logits`)
    return int(np.argmax(logit(r["p"][: len(v)]) + weight * v))


def fit(rows: list[dict[str, Any]], digest: str):
    """The `Combination` fitted on the "fit" part: the weight that picks the answering sentence most often."""

    present = [r for r in rows if r["present"]]
    picks = {w: float(np.mean([r["label"][_combined_pick(r, w)] for r in present])) for w in WEIGHT_GRID}
    weight = max(WEIGHT_GRID, key=lambda w: (picks[w], -w))
    meta = {"fit_questions": len(present), "fit_pick_by_weight": {str(w): round(p, 4) for w, p in picks.items()}}
    return Combination(READ, weight, digest, meta)


def report(rows: list[dict[str, Any]], combination) -> dict[str, Any]:
    """Per set: how often the best sentence holds the answer, answer model alone and with the verifier."""
    out: dict[str, Any] = {}
    for name in sorted({r["set"] for r in rows}):
        present = [r for r in rows if r["set"] == name and r["present"]]
        out[name] = {
            "questions": len(present),
            "pick_model": round(float(np.mean([r["label"][0] for r in present])), 4),
            "pick_with_verifier": round(float(np.mean([r["label"][_combined_pick(r, combination.weight)] for r in present])), 4),
        }
    return out


def _report_sample(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every asked view of REPORT_PER_SET held-out questions per set, drawn with a fixed seed."""
    rng = random.Random(SEED)
    chosen: set[tuple[str, str]] = set()
    for name in REPORT_SETS:
        ids = sorted({r["qid"] for r in rows if r["set"] == name and r["split"] == "heldout"})
        chosen |= {(name, q) for q in rng.sample(ids, min(REPORT_PER_SET, len(ids)))}
    return [r for r in rows if (r["set"], r["qid"]) in chosen]


def write_combination(fit_rows: list[dict[str, Any]], held_out: list[dict[str, Any]]) -> dict[str, Any]:
    """Fit the combination on scored "fit" rows, report it on scored held-out rows, write `COMBINATION_FILE`."""
    from dataclasses import replace


    combination = fit(fit_rows, weights_digest())
    result = {"fit": report(fit_rows, combination), "heldout_sample": report(held_out, combination)}
    meta = {
        "trained_by": f"python -m qa.train --verifier (--verifier-steps {STEPS}, seed {SEED})",
        "data": "the answer model's top 8 candidates of XQuAD-ar, ARCD train, XQuAD " + ",".join(CROSS_LINGUAL)
        + " questions in the development collection, article present and removed",
        "split": "qa.train.datasets.split_of train half: verifier trained on 3/4 of its articles, weight fitted on 1/4 (part_of)",
        **combination.meta,
        "heldout_sample": result["heldout_sample"],
    }
    combination = replace(combination, meta=meta)
    COMBINATION_FILE.write_text(json.dumps(combination.to_dict(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return result


def main(args) -> int:
    from qa.model.store import materialize_default_model

    log = lambda message: print(message, file=sys.stderr)  # noqa: E731
    rows_path = Path(args.verifier_rows)
    if rows_path.exists():
        rows = pickle.loads(rows_path.read_bytes())
    else:
        from qa.train.hard import hard_views

        articles, sets = question_sets(args.data, CROSS_LINGUAL)
        distractors = load_news(args.data / "news" / "jawharafm.jsonl.gz", args.distractors)
        hard = None if args.no_hard else hard_views(articles, sets)
        copies = list({a.id: a for v in (hard or {}).values() for a in v.show}.values())
        index = open_index(args.index_dir, articles + distractors + copies, args.precision)
        rows = collect(index, sets, log=log, hard=hard)
        rows_path.parent.mkdir(parents=True, exist_ok=True)
        rows_path.write_bytes(pickle.dumps(rows))
    folder = materialize_default_model()
    if args.verifier_steps:
        import torch

        model = train(rows, folder, steps=args.verifier_steps, log=log)
        state = model.state_dict()
        torch.save(state, rows_path.with_name("verifier.pt"))
        save_weights(state, changed_tensors(state, TRAIN_LAYERS), WEIGHTS_FILE)
        log(f"wrote {WEIGHTS_FILE} ({WEIGHTS_FILE.stat().st_size / 1e6:.1f} MB)")
    fit_rows = [r for r in rows if r["split"] == "train" and part_of(r["art"]) == "fit"]
    held_out = _report_sample(rows)
    score_rows(Verifier(folder), fit_rows + held_out, log=log)
    print(json.dumps(write_combination(fit_rows, held_out), ensure_ascii=False, indent=1))
    return 0
