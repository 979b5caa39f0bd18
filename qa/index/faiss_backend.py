"""The only module that imports faiss: inner-product search with stable, deletable ids, whose index
type follows the corpus size.

Up to `exact_limit()` chunks (`EXACT_LIMIT`, or `$QA_EXACT_LIMIT`) the store is exact:
`IndexIDMap2(IndexFlatIP)`, a brute-force scan. The first `add` that takes it past the limit turns
it into an inverted-file index, `IndexIVFFlat` with inner product, which keeps the chunk ids as its
own, deletes with `remove_ids`, and stores full float32 vectors (no quantization error: the only
approximation is which cells a query visits).

- `nlist`, the number of cells, is `CELLS_PER_SQRT_N * sqrt(n)` at training time, capped so each cell
  gets at least `TRAIN_PER_CELL` training vectors. The coarse centroids come from spherical k-means
  on a random sample of the store's own vectors (`TRAIN_PER_CELL` per cell).
- `nprobe`, the number of cells a query visits, is calibrated once per training, on the store's own
  data: `CALIBRATION_QUERIES` stored vectors that were not in the training sample are searched with
  nprobe = 1, 2, 3, 4, 6, 8, 11, 16 ... (powers of sqrt 2) and the smallest value whose recall@10
  (the vector itself left out) against an exhaustive scan reaches `RECALL_TARGET` is found, then
  multiplied by `NPROBE_MARGIN` (at least `NPROBE_MIN`), since real questions sit less snugly among
  passages than passages do. Tightly clustered data gets a small nprobe, diffuse data a large one;
  either way recall is measured on the data, not assumed. faiss saves nprobe with the index.
- When the store outgrows its cells (the `nlist` rule above gives twice the current count), the next
  `add` retrains, so list lengths and latency stay in proportion. Shrinking never converts back.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

try:
    import faiss
except ImportError as exc:  # pragma: no cover - exercised only on a broken install
    raise ImportError("qa needs faiss for vector search: pip install faiss-cpu") from exc

EXACT_LIMIT = 20_000
"""Chunks a store (one segment's) searches exactly: a scan costs ~1.5 ms per 10k on one busy core here,
and a query scans every segment, so larger segments turn approximate. A million chunks then scan at
most the small segments' ~100k vectors exactly instead of all of them (80 ms)."""
CELLS_PER_SQRT_N = 4.0
"""nlist = this * sqrt(n). At 1M synthetic vectors on a loaded 2-core machine, at equal recall, 4
searched in 4.7 ms p50, 2 in 6.3 ms and 1 in 7.6 ms; 4 costs more training (once per 4x growth). On the
idle machine of bench/README.md: recall@10 0.986, 2.1 ms p50, 58 s to train and fill."""
TRAIN_PER_CELL = 40
"""Training vectors per cell, just above faiss's minimum of 39; k-means time grows with it."""
RECALL_TARGET = 0.97
"""The recall@10 that calibration asks of stored vectors used as queries."""
NPROBE_MARGIN = 1.5
"""Calibrated nprobe is multiplied by this: real questions are harder than stored passages. On XQuAD
ar+en (100k chunks, real vectors repeated with noise) the nprobe giving stored vectors 0.991 gave real
questions 0.954; 1.5x that nprobe gave them 0.985."""
NPROBE_MIN = 8
"""Never fewer cells: 8 cells are a few thousand vectors even at 1M (well under a millisecond), and at
nprobe 2 or 3 one cell more or less swings real-question recall (0.95 to 0.99 on the XQuAD data)."""
CALIBRATION_QUERIES = 200
KIND_EXACT = "exact"
KIND_APPROXIMATE = "approximate"


def exact_limit() -> int:
    """The size up to which search is exact: `$QA_EXACT_LIMIT` if set, else `EXACT_LIMIT`.

    Raises:
        ValueError: `$QA_EXACT_LIMIT` is not a positive integer.
    """
    raw = os.environ.get("QA_EXACT_LIMIT")
    if raw is None or not raw.strip():
        return EXACT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        limit = 0
    if limit < 1:
        raise ValueError(f"QA_EXACT_LIMIT must be a positive integer (chunks searched exactly), got {raw!r}")
    return limit


def cells_for(n: int) -> int:
    """The IVF cell count for `n` vectors: `CELLS_PER_SQRT_N * sqrt(n)`, at most n / TRAIN_PER_CELL."""
    return max(1, min(int(CELLS_PER_SQRT_N * math.sqrt(n)), n // TRAIN_PER_CELL))


class FaissStore:
    """Unit vectors keyed by chunk id; inner product equals cosine similarity.

    Exact (`IndexIDMap2(IndexFlatIP)`) up to `exact_limit()` vectors, then approximate
    (`IndexIVFFlat`, inner product); both keep ids stable across deletes.

    Example:
        >>> store = FaissStore(384)
        >>> store.add(np.arange(3), unit_vectors)          # ids are the caller's chunk ids
        >>> scores, ids = store.search(unit_vectors[0], k=2)
        >>> store.remove(np.array([1])); store.kind
        'exact'
    """

    def __init__(self, dim: int, index: faiss.Index | None = None) -> None:
        if dim < 0:
            raise ValueError(f"dim must be zero or positive, got {dim}")
        if index is not None and index.d != dim:
            raise ValueError(f"the faiss index has dimension {index.d}, not {dim}")
        self.dim = dim
        self._index = index if index is not None else _exact(dim)
        self._mapped = False

    @property
    def count(self) -> int:
        return int(self._index.ntotal)

    @property
    def kind(self) -> str:
        """'exact' or 'approximate'."""
        return KIND_APPROXIMATE if isinstance(self._index, faiss.IndexIVF) else KIND_EXACT

    @property
    def nprobe(self) -> int | None:
        """Cells visited per query (None when exact)."""
        return int(self._index.nprobe) if isinstance(self._index, faiss.IndexIVF) else None

    @property
    def nlist(self) -> int | None:
        """Cells of the approximate index (None when exact)."""
        return int(self._index.nlist) if isinstance(self._index, faiss.IndexIVF) else None

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add unit vectors under the given ids (ids must not be in the store yet).

        An add that takes an exact store past `exact_limit()` turns it into an approximate one; an add
        after which `cells_for(count)` is twice the approximate store's cells retrains it. Either
        way the new index holds the old vectors and these, and this add takes seconds to minutes.

        Raises:
            ValueError: the vectors' dimension is not the store's.
        """
        if not len(ids):
            return
        self._check_writable()
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(ids), -1)
        if vectors.shape[1] != self.dim:
            raise ValueError(f"vectors have dimension {vectors.shape[1]}, the store holds {self.dim}")
        total = self.count + len(ids)
        if self.kind == KIND_EXACT and total <= exact_limit():
            self._index.add_with_ids(vectors, ids)
        elif self.kind == KIND_APPROXIMATE and cells_for(total) < 2 * self.nlist:
            self._index.add_with_ids(vectors, ids)
        else:
            self._index = _approximate(self.dim, [self.contents(), (ids, vectors)])

    def remove(self, ids: np.ndarray) -> None:
        if len(ids):
            self._check_writable()
            self._index.remove_ids(np.ascontiguousarray(ids, dtype=np.int64))

    def _check_writable(self) -> None:
        if self._mapped:
            raise ValueError("a loaded store is memory-mapped and read-only; build a new one from its contents()")

    def search(self, vector: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Scores and ids of the `k` nearest chunks, best first (fewer when the index is smaller).

        `allowed` (sorted chunk ids) restricts the search itself: faiss skips every other id while it
        scans (`IDSelectorBitmap`, one bit per id, tested in O(1)), so the k best allowed chunks come
        back however few of them rank among the collection's best. On the approximate index the
        cells visited may hold fewer than k allowed vectors (a narrow filter); the search is then
        repeated over every cell, which costs only the id tests for the vectors skipped.
        """
        total = self.count if allowed is None else min(self.count, len(allowed))
        k = min(k, total)
        if k <= 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        query = np.ascontiguousarray(vector, dtype=np.float32).reshape(1, -1)
        bitmap = _bitmap(allowed) if allowed is not None else None
        selector = faiss.IDSelectorBitmap(len(bitmap), faiss.swig_ptr(bitmap)) if bitmap is not None else None
        # One query is one thread's work: faiss would split the scan over OpenMP threads and wait for
        # the other core, which on a busy 2-core machine turned 1.6 ms (10k exact) into 24 ms.
        # The setting is per calling thread in libgomp, so training elsewhere keeps its threads.
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            if selector is None:
                scores, ids = self._index.search(query, k)
            elif isinstance(self._index, faiss.IndexIVF):
                scores, ids = self._index.search(query, k, params=faiss.SearchParametersIVF(sel=selector, nprobe=self.nprobe))
                if int((ids[0] >= 0).sum()) < k:
                    every = faiss.SearchParametersIVF(sel=selector, nprobe=self.nlist)
                    scores, ids = self._index.search(query, k, params=every)
            else:
                scores, ids = self._index.search(query, k, params=faiss.SearchParameters(sel=selector))
        finally:
            faiss.omp_set_num_threads(threads)
        keep = ids[0] >= 0
        return scores[0][keep], ids[0][keep]

    def ids(self) -> np.ndarray:
        """Every stored id (exact: insertion order, approximate: grouped by cell)."""
        if isinstance(self._index, faiss.IndexIVF):
            return _ivf_contents(self._index, with_vectors=False)[0]
        return faiss.vector_to_array(self._index.id_map).astype(np.int64)

    def save(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path) -> FaissStore:
        """The store saved at `path`, its vectors memory-mapped (`IO_FLAG_MMAP_IFC`) rather than read:
        a process pays for the pages its searches touch, and a loaded store is read-only (segments
        never change once written; `add` and `remove` raise)."""
        index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC)
        store = cls(index.d, index)
        store._mapped = True
        return store

    def contents(self) -> tuple[np.ndarray, np.ndarray]:
        """All ids and their vectors, copied out of the index (row i of the vectors belongs to id i)."""
        if isinstance(self._index, faiss.IndexIVF):
            return _ivf_contents(self._index, with_vectors=True)
        ids = self.ids()
        vectors = self._index.index.reconstruct_n(0, self.count) if self.count else np.zeros((0, self.dim), np.float32)
        return ids, vectors


def _bitmap(ids: np.ndarray) -> np.ndarray:
    """faiss's `IDSelectorBitmap` layout: bit (id & 7) of byte (id >> 3) set for each id."""
    ids = np.asarray(ids, dtype=np.int64)
    flags = np.zeros(int(ids.max()) + 1 if len(ids) else 1, dtype=bool)
    flags[ids] = True
    return np.packbits(flags, bitorder="little")


def _exact(dim: int) -> faiss.Index:
    return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))


def _approximate(dim: int, parts: list[tuple[np.ndarray, np.ndarray]]) -> faiss.IndexIVFFlat:
    """An `IndexIVFFlat` trained on a sample of `parts` (id and vector arrays), holding all of them,
    with nprobe calibrated on stored vectors outside the training sample."""
    parts = [(i, v) for i, v in parts if len(i)]
    sizes = [len(i) for i, _ in parts]
    n = sum(sizes)
    nlist = cells_for(n)
    order = np.random.default_rng(0).permutation(n)
    train = min(n, nlist * TRAIN_PER_CELL)
    # Queries the centroids were not fitted to, as real queries are (when the store has enough).
    held_out = order[train:] if n - train >= CALIBRATION_QUERIES else order
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
    index.cp.seed = 0  # reproducible cells; spherical k-means is faiss's default for inner product
    index.train(_rows(parts, sizes, np.sort(order[:train]))[1])
    for ids, vectors in parts:
        index.add_with_ids(vectors, ids)
    index.nprobe = calibrate_nprobe(index, *_rows(parts, sizes, np.sort(held_out[:CALIBRATION_QUERIES])))
    return index


def _rows(parts: list[tuple[np.ndarray, np.ndarray]], sizes: list[int], rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows (sorted global positions) of the concatenation of `parts`, without concatenating them."""
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    ids, vectors = [], []
    for (part_ids, part_vectors), lo, hi in zip(parts, bounds[:-1], bounds[1:]):
        local = rows[(rows >= lo) & (rows < hi)] - lo
        ids.append(part_ids[local])
        vectors.append(part_vectors[local])
    return np.concatenate(ids), np.ascontiguousarray(np.concatenate(vectors), dtype=np.float32)


def calibrate_nprobe(index: faiss.IndexIVF, ids: np.ndarray, vectors: np.ndarray, k: int = 10) -> int:
    """`NPROBE_MARGIN` times the smallest nprobe, on a grid of powers of sqrt(2) (1, 2, 3, 4, 6, 8, 11,
    16, 23, 32 ...), for which searching stored `vectors` finds on average `RECALL_TARGET` of their
    true `k` nearest neighbours (each vector's own id left out); the truth is a scan of every cell.
    At least `NPROBE_MIN`, at most nlist (an exact scan)."""
    nlist = int(index.nlist)
    index.nprobe = nlist
    _, truth = index.search(vectors, k + 1)
    truth = [set(row[row != own][:k].tolist()) - {-1} for row, own in zip(truth, ids)]
    grid = sorted({round(2 ** (step / 2)) for step in range(2 * math.ceil(math.log2(nlist)) + 1)})
    for nprobe in (p for p in grid if p < nlist):
        index.nprobe = nprobe
        _, found = index.search(vectors, k + 1)
        hits = [len(t & set(row[row != own][:k].tolist())) / max(1, len(t)) for row, own, t in zip(found, ids, truth)]
        if float(np.mean(hits)) >= RECALL_TARGET:
            return min(nlist, max(NPROBE_MIN, math.ceil(nprobe * NPROBE_MARGIN)))
    return nlist


def _ivf_contents(index: faiss.IndexIVF, *, with_vectors: bool) -> tuple[np.ndarray, np.ndarray]:
    """Ids (and, for IVFFlat, vectors) read straight from the inverted lists."""
    lists = index.invlists
    sizes = [lists.list_size(i) for i in range(index.nlist)]
    ids = np.empty(sum(sizes), dtype=np.int64)
    vectors = np.empty((len(ids), index.d) if with_vectors else (0, index.d), dtype=np.float32)
    at = 0
    for number, size in enumerate(sizes):
        if not size:
            continue
        pointer = lists.get_ids(number)
        ids[at : at + size] = faiss.rev_swig_ptr(pointer, size)
        lists.release_ids(number, pointer)
        if with_vectors:
            codes = lists.get_codes(number)
            vectors[at : at + size] = faiss.rev_swig_ptr(codes, size * lists.code_size).view(np.float32).reshape(size, -1)
            lists.release_codes(number, codes)
        at += size
    return ids, vectors
