"""The query-time encoder: the same model exported to ONNX and run by ONNX Runtime, without torch.

A question is one short text, so its cost is fixed overhead rather than arithmetic: importing torch,
transformers and sentence-transformers takes 4-5 s of a fresh `qa ask`, and torch's eager forward
adds per-layer dispatch to every query. ONNX Runtime starts in about a second and runs the whole
graph at once. The export is float32 and matches the sentence-transformers model at cosine
> 0.99999 (tests/test_model_store.py), so queries can be encoded this way against passages that
were encoded by torch in any precision.

The ONNX file is written next to the sentence-transformers files when the default model is
materialized (`qa.model.store`); other models have no such file and stay on torch.
"""

from __future__ import annotations

import functools
import json
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from qa.model.quiet import quietly

if TYPE_CHECKING:
    import numpy as np
    import onnxruntime

OPSET = 17
ONNX_FILE = "onnx/model.onnx"
"""Where the export lies inside the materialized model folder (`qa.model.store` builds it there)."""
MAX_SEQ_LENGTH = 512
"""e5's position limit: longer inputs are truncated, by the tokenizer here and by sentence-transformers."""


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as float32."""
    import numpy as np  # here, not at the top: `qa.model.store` imports this module and must stay cheap

    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


def export_onnx(model_folder: Path) -> Path:
    """Export the folder's transformer (float32) to `ONNX_FILE`, with dynamic batch and length; the
    graph maps (input_ids, attention_mask) to per-token embeddings, pooling stays in numpy."""
    import torch
    from transformers import AutoModel

    with quietly():  # no "Loading weights" bar
        model = AutoModel.from_pretrained(str(model_folder), local_files_only=True).eval()

    class TokenEmbeddings(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    target = model_folder / ONNX_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    example = torch.tensor([[0, 6, 2]]), torch.ones(1, 3, dtype=torch.long)
    axes = {0: "batch", 1: "tokens"}
    with quietly(), torch.inference_mode():  # quiet: tracer notes about data-dependent branches of HF's attention
        torch.onnx.export(
            TokenEmbeddings(),
            example,
            str(target),
            input_names=["input_ids", "attention_mask"],
            output_names=["token_embeddings"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_embeddings": axes},
            opset_version=OPSET,
            dynamo=False,  # the TorchScript exporter needs no onnxscript and handles HF BERT as is
        )
    return target


class OnnxEncoder:
    """Mean-pooled, unit-length embeddings from the exported graph; thread-safe like its session."""

    def __init__(self, model_folder: Path) -> None:
        self.folder = Path(model_folder)
        self._session: onnxruntime.InferenceSession | None = None
        self._tokenizer = None
        self._lock = threading.Lock()

    @staticmethod
    def available(model_folder: Path) -> bool:
        return (Path(model_folder) / ONNX_FILE).is_file()

    def _load(self) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = min(4, os.cpu_count() or 1)  # one query gains nothing past a few cores
        # Its worker threads stop spinning for more work when a run ends: spinning held both cores
        # through the BM25 and vector search that follow each question.
        options.add_session_config_entry("session.force_spinning_stop", "1")
        tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
        tokenizer.enable_truncation(MAX_SEQ_LENGTH)
        self._tokenizer = tokenizer  # before the session: other threads take a set session as "loaded"
        self._session = onnxruntime.InferenceSession(
            str(self.folder / ONNX_FILE), options, providers=["CPUExecutionProvider"]
        )

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Unit vectors of already-prompted texts ("query: ..."), batched by length to pad little."""
        import numpy as np

        if self._session is None:
            with self._lock:
                if self._session is None:
                    self._load()
        encodings = self._tokenizer.encode_batch(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))
        for begin in range(0, len(order), batch_size):
            batch = order[begin : begin + batch_size]
            length = len(encodings[batch[0]].ids)
            ids = np.ones((len(batch), length), dtype=np.int64)  # 1 is XLM-R's <pad>, masked out anyway
            mask = np.zeros((len(batch), length), dtype=np.int64)
            for row, i in enumerate(batch):
                ids[row, : len(encodings[i].ids)] = encodings[i].ids
                mask[row, : len(encodings[i].ids)] = 1
            tokens = self._session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
            out[batch] = (tokens * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
        return unit_rows(out)

    @functools.cached_property
    def dim(self) -> int:
        return int(json.loads((self.folder / "config.json").read_text(encoding="utf-8"))["hidden_size"])
