"""The verifier: e5-small read as a cross-encoder, rescoring the answer model's best few sentences.

Why: the answer model's features take question and sentence apart; a model that reads the two
together judges "does this sentence answer?" better, and the two combined pick the answering
sentence and tell present from absent articles better than either alone (README, "Verifier").

What ships: only what `python -m qa.train --verifier` changed of e5 (its top layers, a linear head
and the "none of these" logit), as 8-bit weights in `WEIGHTS_FILE`, and how its score combines with
the answer model in `COMBINATION_FILE`. On first use the weights are merged into the materialized
e5 and exported to ONNX with 8-bit matrix products, next to the query encoder; a query runs that
graph in ONNX Runtime and never imports torch.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from qa.model.quiet import quietly
from qa.question import Question

WEIGHTS_FILE = Path(__file__).with_name("verifier.npz")
COMBINATION_FILE = Path(__file__).with_name("verifier.json")
MAX_LENGTH = 128
"""Tokens of a (question, sentence) pair, as trained; the sentence is cut, never the question."""
ONNX_OPSET = 17
QUANTIZE = True
"""8-bit matrix products (`export_onnx`). Here, for a question's 8 sentences: 190 ms against 283 ms in
float32 (p50 of 120 held-out questions, idle machine); scores correlate at 0.997 and the best of 8 is
the same sentence for 0.87 of questions, while the pick combined with the answer model was as good
(0.46 against 0.43 of 63 answerable ones). Quantizing every product as well lost more (correlation
0.979, same best 0.78, with the first probe's weights)."""


def weights_digest(path: Path = WEIGHTS_FILE) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_weights(state: dict[str, Any], changed: list[str], path: Path = WEIGHTS_FILE) -> None:
    """Write the `changed` tensors of a torch state dict: matrices as int8 with one float32 scale per
    row (symmetric), vectors (biases, layer norms, the head) as float32; they are a few KB."""
    arrays: dict[str, np.ndarray] = {}
    for name in changed:
        value = state[name].detach().float().numpy()
        if value.ndim == 2:
            scale = np.abs(value).max(axis=1) / 127.0
            scale[scale == 0] = 1.0
            arrays[f"{name}.int8"] = np.round(value / scale[:, None]).astype(np.int8)
            arrays[f"{name}.scale"] = scale.astype(np.float32)
        else:
            arrays[name] = value.astype(np.float32)
    np.savez_compressed(path, **arrays)


def load_weights(path: Path = WEIGHTS_FILE) -> dict[str, np.ndarray]:
    """The saved tensors in float32, by state-dict name."""
    out: dict[str, np.ndarray] = {}
    with np.load(path, allow_pickle=False) as data:
        for key in data.files:
            if key.endswith(".int8"):
                name = key[: -len(".int8")]
                out[name] = data[key].astype(np.float32) * data[f"{name}.scale"][:, None]
            elif not key.endswith(".scale"):
                out[key] = data[key]
    return out


def cross_encoder(encoder):
    """The verifier's torch module around an e5 encoder. Built inside a function so that importing this
    module (as every query does) never imports torch; training (`qa.train.verifier`) and the ONNX
    export both build it here, so the two cannot disagree on the architecture."""
    import torch

    class CrossEncoder(torch.nn.Module):
        """e5 over "query: ... </s></s> passage: ...", mean-pooled, then one linear score."""

        def __init__(self, encoder) -> None:
            super().__init__()
            self.encoder = encoder
            self.head = torch.nn.Linear(encoder.config.hidden_size, 1)
            self.null = torch.nn.Parameter(torch.zeros(1))

        def forward(self, input_ids, attention_mask):
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            pooled = (hidden * attention_mask[..., None]).sum(1) / attention_mask.sum(1, keepdim=True)
            return self.head(pooled).squeeze(-1)

    return CrossEncoder(encoder)


def export_onnx(model_folder: Path, weights: Path = WEIGHTS_FILE) -> Path:
    """Merge the weights into the folder's e5, export (input_ids, attention_mask) -> one score per
    pair (the head's score minus the "none" logit), and quantize its matrix products to 8 bits."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    with quietly():  # no "Loading weights" bar
        model = cross_encoder(AutoModel.from_pretrained(str(model_folder), local_files_only=True))
    state = {k: torch.from_numpy(v) for k, v in load_weights(weights).items()}
    missing = set(state) - set(model.state_dict())
    if missing:
        raise ValueError(f"{weights} names tensors this model lacks: {sorted(missing)[:3]}")
    model.load_state_dict(state, strict=False)
    model.eval()

    class Score(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.model(input_ids, attention_mask) - self.model.null

    target = onnx_path(model_folder, weights)
    target.parent.mkdir(parents=True, exist_ok=True)
    plain = target.with_suffix(".float.onnx")
    axes = {0: "pairs", 1: "tokens"}
    with quietly(), torch.inference_mode():
        torch.onnx.export(
            Score(),
            (torch.tensor([[0, 6, 2]]), torch.ones(1, 3, dtype=torch.long)),
            str(plain),
            input_names=["input_ids", "attention_mask"],
            output_names=["score"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "score": {0: "pairs"}},
            opset_version=ONNX_OPSET,
            dynamo=False,
        )
    if QUANTIZE:
        with quietly():  # its root-logger advice to pre-process first, with a URL, is for us: QUANTIZE was measured without
            quantize_dynamic(
                str(plain), str(target.with_suffix(".partial")), weight_type=QuantType.QInt8, per_channel=True,
                op_types_to_quantize=["MatMul"], nodes_to_exclude=_feed_forward_outputs(plain),
                extra_options={"MatMulConstBOnly": True},
            )
        plain.unlink()
        plain = target.with_suffix(".partial")
    os.replace(plain, target)
    return target


def _feed_forward_outputs(path: Path) -> list[str]:
    """The matrix products that stay float32: each layer's feed-forward output, whose input (after
    GELU) has the outlier dimensions XLM-R models are known for, which 8-bit activations flatten."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    return [n.name for n in graph.node if n.op_type == "MatMul" and "/output/dense/" in n.name and "/attention/" not in n.name]


def onnx_path(model_folder: Path, weights: Path = WEIGHTS_FILE) -> Path:
    """Named by the weights' digest, so new weights never run an old graph."""
    kind = "int8" if QUANTIZE else "float32"
    return Path(model_folder) / "onnx" / f"verifier-{weights_digest(weights)[:12]}-{kind}.onnx"


class Verifier:
    """Scores (question, sentence) pairs with the exported graph; thread-safe like its session."""

    def __init__(self, model_folder: Path, weights: Path = WEIGHTS_FILE) -> None:
        self.folder = Path(model_folder)
        self.weights = weights
        self._session = None
        self._tokenizer = None
        self._lock = threading.Lock()

    def _load(self) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        path = onnx_path(self.folder, self.weights)
        if not path.is_file():
            export_onnx(self.folder, self.weights)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = min(4, os.cpu_count() or 1)
        options.add_session_config_entry("session.force_spinning_stop", "1")
        tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
        tokenizer.enable_truncation(MAX_LENGTH, strategy="only_second")
        self._tokenizer = tokenizer
        self._session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def scores(self, question: Question | str, sentences: list[str]) -> np.ndarray:
        """The verifier's log-odds over "none of these" for each sentence answering `question` (read
        as typed: the verifier was trained on the question's own words)."""
        question = question.text if isinstance(question, Question) else question
        if not sentences:
            return np.zeros(0, np.float32)
        if self._session is None:
            with self._lock:
                if self._session is None:
                    self._load()
        encodings = self._tokenizer.encode_batch([("query: " + question, "passage: " + s) for s in sentences])
        length = max(len(e.ids) for e in encodings)
        ids = np.ones((len(sentences), length), dtype=np.int64)  # 1 is XLM-R's <pad>
        mask = np.zeros((len(sentences), length), dtype=np.int64)
        for row, e in enumerate(encodings):
            ids[row, : len(e.ids)] = e.ids
            mask[row, : len(e.ids)] = 1
        return self._session.run(None, {"input_ids": ids, "attention_mask": mask})[0].astype(np.float32)


@dataclass(frozen=True)
class Combination:
    """How the verifier's scores join the answer model's (fitted by `qa.train.verifier`).

    `top`: how many of the answer model's best sentences the verifier reads.
    `weight`: a read sentence's log-odds become the answer model's plus this times the verifier's.
    Abstention stays with the answer model's question model: fitted on large and small collections
    alike, it kept the seeds' answerable questions answered, where a presence model over the
    verifier's scores (fitted in the large collection only) refused "من هو نايثن سايلس؟".
    """

    top: int
    weight: float
    digest: str
    meta: dict[str, Any]

    def combined_logits(self, logits: np.ndarray, read: np.ndarray, verified: np.ndarray) -> np.ndarray:
        """All candidates' log-odds: the `read` ones (indexes) get `weight` times their score; the rest
        get the lowest read score, so that no unread sentence can pass a read one on the verifier's say."""
        out = logits + self.weight * float(verified.min())
        out[read] = logits[read] + self.weight * verified
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"top": self.top, "weight": self.weight, "weights_sha256": self.digest, "meta": self.meta}

    @classmethod
    def load(cls, path: Path = COMBINATION_FILE) -> Combination:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(int(data["top"]), float(data["weight"]), data["weights_sha256"], data.get("meta", {}))


def logit(p: float | np.ndarray) -> float | np.ndarray:
    clipped = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(clipped / (1 - clipped))


@lru_cache(maxsize=1)
def default_combination() -> Combination | None:
    """The committed combination, or None when the verifier is not shipped."""
    if not (COMBINATION_FILE.is_file() and WEIGHTS_FILE.is_file()):
        return None
    return Combination.load()

