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
import os
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
CHECKPOINT_EVERY = 50
"""Steps between checkpoints: about 3 minutes on 2 CPU cores, seconds on a GPU."""
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


def train(
    rows: list[dict[str, Any]], model_folder: Path, steps: int = STEPS, log=print, *,
    device: str = "cpu", checkpoint: Path | None = None, checkpoint_every: int = CHECKPOINT_EVERY,
):
    """Fine-tune on the "verifier" part; returns the torch module (encoder, head, null) on the CPU.

    With `checkpoint`, the trainable tensors, the optimizer, the step and every random state are saved
    there each `checkpoint_every` steps, and a run that finds one goes on from it: an interrupted run
    resumed ends on the weights of one that never stopped (same batches, same dropout masks, on one
    device). The learning rate depends on the step alone, so `steps` may grow between runs."""
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
    model.to(device)
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
    first = 0
    fingerprint = hashlib.sha256(json.dumps([(r["art"], r["q"], r["sents"]) for r in groups]).encode()).hexdigest()
    saved = torch.load(checkpoint, map_location=device, weights_only=False) if checkpoint is not None and checkpoint.is_file() else None
    if saved is not None and saved.get("rows") != fingerprint:
        log(f"{checkpoint} was trained on other rows (another --no-hard or data?): starting over")
        saved = None
    if saved is not None:
        model.load_state_dict(saved["model"], strict=False)
        optimizer.load_state_dict(saved["optimizer"])
        rng.bit_generator.state = saved["rng"]
        torch.set_rng_state(saved["torch_rng"])
        if saved.get("cuda_rng") is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(saved["cuda_rng"])
        first, order, running = saved["step"], saved["order"], saved["running"]
        log(f"resumed from {checkpoint} at step {first}")
    started = time.perf_counter()
    model.train()
    for step in range(first, steps):
        if len(order) < GROUPS:
            order = list(rng.permutation(len(groups)))
        batch = [groups[order.pop(0)] for _ in range(GROUPS)]
        encoded = tokenizer(
            ["query: " + r["q"] for r in batch for _ in r["sents"]],
            ["passage: " + s for r in batch for s in r["sents"]],
            truncation="only_second", max_length=MAX_LENGTH, padding=True, return_tensors="pt",
        ).to(device)
        scores = model(encoded["input_ids"], encoded["attention_mask"]).view(len(batch), TOP)
        logits = torch.cat([scores, model.null.expand(len(batch), 1)], 1)
        target = torch.tensor([int(np.argmax(r["label"])) if r["label"].any() else TOP for r in batch], device=device)
        loss = torch.nn.functional.cross_entropy(logits, target)
        for group, rate in zip(optimizer.param_groups, LEARNING_RATES):
            group["lr"] = rate * min(1.0, (step + 1) / WARMUP)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        running = loss.item() if step == 0 else 0.98 * running + 0.02 * loss.item()
        if (step + 1) % 50 == 0:
            log(f"step {step + 1}/{steps}: loss {running:.4f}, {time.perf_counter() - started:.0f}s")
        if checkpoint is not None and ((step + 1) % checkpoint_every == 0 or step + 1 == steps):
            _save_checkpoint(checkpoint, model, optimizer, step + 1, order, running, rng, fingerprint)
    return model.cpu().eval()


def _save_checkpoint(path: Path, model, optimizer, step: int, order: list[int], running: float, rng, rows: str) -> None:
    """Written beside and renamed over, so that a run killed while saving leaves the last good one;
    `rows` (the training rows' digest) keeps a run on other rows from resuming it."""
    import torch

    state = model.state_dict()
    trainable = {k: state[k] for k in changed_tensors(state, TRAIN_LAYERS)}
    state = dict(
        model=trainable, optimizer=optimizer.state_dict(), step=step, order=list(order), running=running, rows=rows,
        rng=rng.bit_generator.state, torch_rng=torch.get_rng_state(),
        cuda_rng=torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    torch.save(state, partial)
    os.replace(partial, path)


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


def score_rows(verifier, rows: list[dict[str, Any]], log=print, key: str = "verified") -> None:
    """Add the verifier's scores (its ONNX graph's, as queries see them) to each row, under `key`."""
    started = time.perf_counter()
    for done, r in enumerate(rows, start=1):
        r[key] = verifier.scores(r["q"], r["sents"][:READ])
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


PRESENT_REFUSED = 0.05
"""The operating point of the presence report: each signal's threshold refuses this share of the fit
part's answerable Arabic questions (the issue's ceiling on present abstention)."""


def presence_report(fit_rows: list[dict[str, Any]], held_out: list[dict[str, Any]], key: str = "verified") -> dict[str, Any]:
    """Per held-out set, how well each signal tells an answerable question from an absent and a
    hard-absent one: the question model's probability alone, the verifier's best score over "none",
    and the two in a logistic model fitted on the fit part. AUCs, and what is refused at the threshold
    that refuses `PRESENT_REFUSED` of the fit part's answerable Arabic questions (chosen there, not
    on the held-out rows)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    def signals(rows):
        q = np.array([float(logit(r["conf"])) for r in rows])
        v = np.array([float(np.max(r[key])) for r in rows])
        return {"question_model": q, "verifier": v, "both": np.stack([q, v], 1)}

    fit_signals = signals(fit_rows)
    both = LogisticRegression(max_iter=1000).fit(fit_signals["both"], [r["present"] for r in fit_rows])
    fit_scores = {**fit_signals, "both": both.decision_function(fit_signals["both"])}
    arabic_present = np.array([r["present"] == 1 and r["set"] in ("xquad-ar", "arcd") for r in fit_rows])
    thresholds = {k: float(np.quantile(v[arabic_present], PRESENT_REFUSED)) for k, v in fit_scores.items()}
    held_signals = signals(held_out)
    held_scores = {**held_signals, "both": both.decision_function(held_signals["both"])}
    out: dict[str, Any] = {"both_coefficients": [round(float(c), 4) for c in (*both.coef_[0], both.intercept_[0])]}
    views = np.array([r["view"] for r in held_out])
    for name in sorted({r["set"] for r in held_out}):
        in_set = np.array([r["set"] == name for r in held_out])
        figures: dict[str, Any] = {"asked": {v: int((in_set & (views == v)).sum()) for v in ("present", "absent", "hard")}}
        for signal, score in held_scores.items():
            row: dict[str, float] = {}
            for other in ("absent", "hard"):
                pair = in_set & np.isin(views, ["present", other])
                if len(set(views[pair])) == 2:
                    row[f"auc_present_vs_{other}"] = round(float(roc_auc_score(views[pair] == "present", score[pair])), 4)
            for view in ("present", "absent", "hard"):
                chosen = in_set & (views == view)
                if chosen.any():
                    row[f"refused_{view}"] = round(float((score[chosen] < thresholds[signal]).mean()), 4)
            figures[signal] = row
        out[name] = figures
    return out


def write_combination(
    fit_rows: list[dict[str, Any]], held_out: list[dict[str, Any]], weights: Path = WEIGHTS_FILE,
    steps: int = STEPS, languages: tuple[str, ...] = CROSS_LINGUAL,
) -> dict[str, Any]:
    """Fit the combination on scored "fit" rows, report it on scored held-out rows, and write it beside
    `weights` (`COMBINATION_FILE` for the shipped ones)."""
    from dataclasses import replace

    combination = fit(fit_rows, weights_digest(weights))
    result = {
        "fit": report(fit_rows, combination),
        "heldout_sample": report(held_out, combination),
        "presence_heldout_sample": presence_report(fit_rows, held_out),
    }
    meta = {
        "trained_by": f"python -m qa.train --verifier (--verifier-steps {steps}, seed {SEED})",
        "data": "the answer model's top 8 candidates of XQuAD-ar, ARCD train, XQuAD " + ",".join(languages)
        + " questions in the development collection; views: " + ", ".join(sorted({r["view"] for r in fit_rows}))
        + " (hard: the article present minus every sentence holding an answer)",
        "split": "qa.train.datasets.split_of train half: verifier trained on 3/4 of its articles, weight fitted on 1/4 (part_of)",
        **combination.meta,
        "heldout_sample": result["heldout_sample"],
    }
    combination = replace(combination, meta=meta)
    target = COMBINATION_FILE if weights == WEIGHTS_FILE else weights.with_suffix(".json")
    target.write_text(json.dumps(combination.to_dict(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return result


def main(args) -> int:
    from qa.model.store import materialize_default_model

    log = lambda message: print(message, file=sys.stderr)  # noqa: E731
    languages = tuple(x for x in args.languages.split(",") if x) if args.languages is not None else CROSS_LINGUAL
    rows_path = Path(args.verifier_rows)
    if rows_path.exists():
        rows = pickle.loads(rows_path.read_bytes())
    else:
        from qa.train.hard import hard_views

        articles, sets = question_sets(args.data, languages)
        distractors = load_news(args.data / "news" / "jawharafm.jsonl.gz", args.distractors)
        hard = None if args.no_hard else hard_views(articles, sets)
        copies = list({a.id: a for v in (hard or {}).values() for a in v.show}.values())
        index = open_index(args.index_dir, articles + distractors + copies, args.precision)
        rows = collect(index, sets, log=log, hard=hard)
        rows_path.parent.mkdir(parents=True, exist_ok=True)
        rows_path.write_bytes(pickle.dumps(rows))
    if args.no_hard:
        rows = [r for r in rows if r["view"] != "hard"]
    folder = materialize_default_model()
    weights = Path(args.verifier_weights)
    if args.verifier_steps:
        model = train(
            rows, folder, steps=args.verifier_steps, log=log, device=args.device,
            checkpoint=rows_path.with_name("checkpoint.pt"),
        )
        save_weights(model.state_dict(), changed_tensors(model.state_dict(), TRAIN_LAYERS), weights)
        log(f"wrote {weights} ({weights.stat().st_size / 1e6:.1f} MB)")
    fit_rows = [r for r in rows if r["split"] == "train" and part_of(r["art"]) == "fit"]
    held_out = _report_sample(rows)
    score_rows(Verifier(folder, weights), fit_rows + held_out, log=log)
    result = write_combination(fit_rows, held_out, weights, args.verifier_steps, languages)
    if weights != WEIGHTS_FILE and WEIGHTS_FILE.is_file():
        score_rows(Verifier(folder), fit_rows + held_out, log=log, key="shipped")
        result["presence_heldout_sample_shipped_verifier"] = presence_report(fit_rows, held_out, key="shipped")
    print(json.dumps(result, ensure_ascii=False, indent=1))
    return 0
