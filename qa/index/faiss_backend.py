"""The only module that imports faiss: exact inner-product search with stable, deletable ids."""

from __future__ import annotations

from pathlib import Path

import numpy as np

try:
    import faiss
except ImportError as exc:  # pragma: no cover - exercised only on a broken install
    raise ImportError("qa needs faiss for vector search: pip install faiss-cpu") from exc


class FaissStore:
    """Unit vectors keyed by chunk id; inner product equals cosine similarity.

    `IndexIDMap2(IndexFlatIP)` keeps ids stable across deletes and searches exactly.
    """

    def __init__(self, dim: int, index: faiss.Index | None = None) -> None:
        self.dim = dim
        self._index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    @property
    def count(self) -> int:
        return int(self._index.ntotal)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids):
            self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))

    def remove(self, ids: np.ndarray) -> None:
        if len(ids):
            self._index.remove_ids(np.asarray(ids, dtype=np.int64))

    def search(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Scores and ids of the `k` nearest chunks, best first (fewer when the index is smaller)."""
        k = min(k, self.count)
        if k <= 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        scores, ids = self._index.search(np.ascontiguousarray(vector.reshape(1, -1), dtype=np.float32), k)
        keep = ids[0] >= 0
        return scores[0][keep], ids[0][keep]

    def copy(self) -> FaissStore:
        """An independent copy, so a write can prepare the next snapshot while readers use this one."""
        return FaissStore(self.dim, faiss.clone_index(self._index))

    def ids(self) -> np.ndarray:
        return faiss.vector_to_array(self._index.id_map).astype(np.int64)

    def save(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path) -> FaissStore:
        index = faiss.read_index(str(path))
        return cls(index.d, index)
