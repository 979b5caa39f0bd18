"""Text -> unit-length float32 vectors, with e5's separate query and passage prompts.

Passages are encoded once at index time, and the same forward pass also yields one vector per
sentence (the chunk's contextual token embeddings mean-pooled over the sentence's characters),
so quoting can score sentences at query time without running the model again.

Passages go through torch (in bfloat16 where the CPU has native bf16 instructions). Queries of the
default model on the CPU go through its ONNX export instead (`qa.model.onnx_encoder`): a fresh `qa ask`
then never imports torch, which is most of its start-up time.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from qa.config import DEFAULT_MODEL, PRECISIONS
from qa.errors import InputError
from qa.model.onnx_encoder import unit_rows

if TYPE_CHECKING:
    from qa.model.onnx_encoder import OnnxEncoder
    from qa.model.verifier import Verifier

PROBE_TEXT = "passage: الرباط عاصمة المغرب. Rabat is the capital of Morocco."
QUERY_PROMPT = "query: "
PASSAGE_PROMPT = "passage: "


class Embedder(Protocol):
    """What the index and retriever need from a model; tests may supply a small deterministic one."""

    name: str
    dim: int

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_passages(
        self,
        texts: Sequence[str],
        sentence_spans: Sequence[Sequence[tuple[int, int]]] | None = None,
        on_batch: Callable[[int], object] | None = None,
    ) -> tuple[np.ndarray, list[np.ndarray]]: ...

    def probe(self) -> np.ndarray: ...


def cpu_has_native_bf16() -> bool:
    """True on CPUs with bf16 matrix instructions, where bfloat16 inference is faster than float32."""
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="ignore")
    except OSError:
        return False
    return any(flag in flags for flag in (" avx512_bf16", " amx_bf16"))


def resolve_precision(precision: str, device: str) -> str:
    """'auto' is `$QA_PRECISION` when set, else the fast type the hardware runs natively, else float32
    (which is never wrong). The variable lets a whole run (the test suite, a benchmark) pin the
    numerics: bfloat16 rounds differently on CPUs with and without AMX, so CI checks the answer
    tests in float32 and in the default precision.

    Raises:
        InputError: `$QA_PRECISION` names no known precision.
    """
    if precision == "auto":
        precision = os.environ.get("QA_PRECISION", "").strip() or "auto"
        if precision not in PRECISIONS:
            raise InputError(f"QA_PRECISION must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision != "auto":
        return precision
    if device.startswith("cuda"):
        return "float16"
    return "bfloat16" if cpu_has_native_bf16() else "float32"


def default_batch_size(device: str) -> int:
    """Passages per forward pass. On the CPU small batches are fastest (bench/README.md: 4 gave 25.7
    chunks/s in bfloat16 against 24.3 for 8 and 22.7 for 16; float32 likewise): they pad less, and a
    layer's activations and attention matrices stay in cache. A GPU wants large batches to fill it."""
    return 64 if device.startswith("cuda") else 4


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded on first use (importing `qa` never loads torch).

    Example:
        >>> embedder = SentenceTransformerEmbedder()      # the offline multilingual-e5-small
        >>> embedder.encode_queries(["من هو وزير الخارجية المغربي؟"]).shape
        (1, 384)
    """

    def __init__(
        self,
        name: str = DEFAULT_MODEL,
        *,
        precision: str = "auto",
        device: str = "cpu",
        batch_size: int | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        self.name = name
        self.device = device
        self.precision = resolve_precision(precision, device)
        self.batch_size = batch_size or default_batch_size(device)
        self._cache_dir = cache_dir
        self._model = None
        self._lock = threading.Lock()
        self._dim: int | None = None
        self._onnx: OnnxEncoder | None | bool = False  # False: not looked for yet
        self._verifier: Verifier | None | bool = False

    @property
    def model(self):
        """The loaded SentenceTransformer; loading is thread-safe and happens once per process."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    def warm_up(self) -> None:
        """Load everything an index build uses now instead of during it: the passage model, and the
        default model's ONNX encoder, which gives the probe vector an index records (5 s to load on a
        busy machine).

        On a fresh machine this first prepares the default model (`qa.model.store`: about a minute, one
        line on stderr). A caller showing progress calls it before starting its bar, so that the line
        comes before the bar and the loading is not counted in its rate.

        Raises:
            ModelError: the model cannot be prepared or loaded.
        """
        _ = self.model
        self.probe()

    def _load(self):
        import torch

        from qa.model.store import load_sentence_transformer

        model = load_sentence_transformer(self.name, cache_dir=self._cache_dir, device=self.device)
        dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[self.precision]
        if dtype != torch.float32:
            model = model.to(dtype)
        model.eval()
        return model

    @property
    def onnx(self) -> OnnxEncoder | None:
        """The torch-free encoder, where this model has an ONNX export and runs on the CPU."""
        if self._onnx is False:
            self._onnx = None
            if self.name == DEFAULT_MODEL and self.device == "cpu":
                from qa.model.onnx_encoder import OnnxEncoder
                from qa.model.store import materialize_default_model

                folder = materialize_default_model(self._cache_dir)
                if OnnxEncoder.available(folder):
                    self._onnx = OnnxEncoder(folder)
        return self._onnx

    @property
    def verifier(self) -> Verifier | None:
        """The verifier (`qa.model.verifier`), which is e5 fine-tuned: only for the default model, on the CPU,
        when the project ships one."""
        if self._verifier is False:
            self._verifier = None
            if self.name == DEFAULT_MODEL and self.device == "cpu":
                from qa.model.store import materialize_default_model
                from qa.model.verifier import Verifier, default_combination

                if default_combination() is not None:
                    self._verifier = Verifier(materialize_default_model(self._cache_dir))
        return self._verifier

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = self.onnx.dim if self.onnx else int(self.model.get_embedding_dimension())
        return self._dim

    def probe(self) -> np.ndarray:
        """The embedding of a fixed text: a fingerprint telling this model apart from others."""
        if self.onnx:
            return self.onnx.encode([PROBE_TEXT])[0]
        return self.encode_passages([PROBE_TEXT[len(PASSAGE_PROMPT) :]])[0][0]

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        if self.onnx:
            return self.onnx.encode([QUERY_PROMPT + t for t in texts])
        vectors, _ = self._encode([QUERY_PROMPT + t for t in texts], len(QUERY_PROMPT), None, None)
        return vectors

    def encode_passages(
        self,
        texts: Sequence[str],
        sentence_spans: Sequence[Sequence[tuple[int, int]]] | None = None,
        on_batch: Callable[[int], object] | None = None,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage vectors, plus per passage one vector per given sentence span (offsets into the passage)."""
        return self._encode([PASSAGE_PROMPT + t for t in texts], len(PASSAGE_PROMPT), sentence_spans, on_batch)

    def _encode(
        self,
        prompted: list[str],
        prompt_len: int,
        sentence_spans: Sequence[Sequence[tuple[int, int]]] | None,
        on_batch: Callable[[int], object] | None,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        import torch

        model = self.model
        out = np.zeros((len(prompted), self.dim), dtype=np.float32)
        sentences: list[np.ndarray] = [np.zeros((0, self.dim), np.float32)] * len(prompted)
        # Longest first, so each batch holds texts of similar length and pads little.
        order = sorted(range(len(prompted)), key=lambda i: -len(prompted[i]))
        tokenizer = model.tokenizer
        for begin in range(0, len(order), self.batch_size):
            batch = order[begin : begin + self.batch_size]
            features = tokenizer(
                [prompted[i] for i in batch],
                padding=True,
                truncation=True,
                max_length=model.max_seq_length,
                return_offsets_mapping=True,
                return_tensors="pt",
            )
            offsets = features.pop("offset_mapping").numpy()
            features = {k: v.to(self.device) for k, v in features.items()}
            with torch.inference_mode():
                result = model(features)
            out[batch] = result["sentence_embedding"].float().cpu().numpy()
            if sentence_spans is not None:
                tokens = result["token_embeddings"].float().cpu().numpy()
                mask = features["attention_mask"].cpu().numpy().astype(bool)
                for row, i in enumerate(batch):
                    sentences[i] = _pool_spans(tokens[row], offsets[row], mask[row], sentence_spans[i], prompt_len)
            if on_batch is not None:
                on_batch(len(batch))
        return unit_rows(out), sentences


def _pool_spans(
    tokens: np.ndarray, offsets: np.ndarray, mask: np.ndarray, spans: Sequence[tuple[int, int]], shift: int
) -> np.ndarray:
    """Mean of the token embeddings whose characters fall in each span; spans past truncation get the
    chunk's mean so they still rank, just without their own signal."""
    starts = offsets[:, 0] - shift
    ends = offsets[:, 1] - shift
    real = mask & (offsets[:, 1] > offsets[:, 0])
    fallback = tokens[mask].mean(axis=0)
    pooled = np.empty((len(spans), tokens.shape[1]), dtype=np.float32)
    for j, (s, e) in enumerate(spans):
        inside = real & (ends > s) & (starts < e)
        pooled[j] = tokens[inside].mean(axis=0) if inside.any() else fallback
    return unit_rows(pooled)


def fingerprint(vector: np.ndarray) -> str:
    """A short printable id of a probe vector, for stats and error messages."""
    return hashlib.sha256(np.round(vector, 2).astype(np.float32).tobytes()).hexdigest()[:12]
