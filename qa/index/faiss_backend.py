"""The only module that imports faiss: inner-product search with stable ids, whose index type follows
the size of the segment it serves.

Up to `exact_limit()` chunks (`EXACT_LIMIT`, or `$QA_EXACT_LIMIT`) the store is exact:
`IndexIDMap2(IndexFlatIP)`, a brute-force scan. The first `add` that takes it past the limit turns
it into a graph, `IndexIDMap2(IndexHNSWFlat)` with inner product, as Lucene indexes vectors per
segment: full float32 vectors (no quantization error), and a query walks the graph instead of
scanning. Segments never change once written, so the graph never has to forget a vector: tombstones
and filters are id selectors applied during the walk.

- `M` (`HNSW_M`) links per vector and `efConstruction` (`EF_CONSTRUCTION`) are fixed; `efSearch`, how
  many candidates a query keeps, is calibrated once per graph on the store's own data:
  `CALIBRATION_QUERIES` of its vectors, linked in only afterwards, are searched with efSearch = 16,
  23, 32, 45, 64 ... (powers of sqrt 2), and the smallest value whose recall@10 (a result tied with
  the true 10th counts) against an exhaustive scan reaches `RECALL_TARGET` is multiplied by
  `EF_MARGIN` (at least `EF_MIN`), since real questions sit less snugly among passages than passages
  do. faiss saves efSearch with the index, and never searches with fewer than k candidates.
- A selection no larger than `exact_limit()` (a narrow filter) is scanned exactly instead: a walk
  that must skip most of the graph finds few allowed vectors, and the scan costs no more than an
  exact segment's.
- Indexes written before the graph (an `IndexIVFFlat` in a segment, or in a format-2 index above
  200,000 chunks) still load and search with the `nprobe` saved in them.
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
HNSW_M = 32
"""Graph links per vector (64 on the bottom layer): 256 bytes per vector beside its 1,536."""
EF_CONSTRUCTION = 80
"""Candidates kept while linking a new vector: a 236k-chunk segment builds in 54 s on 2 cores."""
RECALL_TARGET = 0.97
"""The recall@10 that calibration asks of stored vectors used as queries."""
EF_MARGIN = 2.0
"""Calibrated efSearch is multiplied by this: real questions are harder than passages held out of the
graph. In a 236k-chunk segment of bench/query.py's corpus, held-out passages reached 0.97 at efSearch
91, where 200 real questions had recall@10 0.96 at 128, 0.99 at 256 (1.0 ms)."""
EF_MAX = 1024
"""Calibration stops here (efSearch at most twice this): a walk keeping more candidates computes about
as many distances as a scan of a 60k-chunk segment. Only data without neighbourhoods gets there
(random vectors); real passages reach the target below 128."""
EF_MIN = 64
"""Never fewer candidates: below it, one link more or less swings a question's recall."""
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


class FaissStore:
    """Unit vectors keyed by chunk id; inner product equals cosine similarity.

    Exact (`IndexIDMap2(IndexFlatIP)`) up to `exact_limit()` vectors, then approximate
    (`IndexIDMap2(IndexHNSWFlat)`, inner product).

    Example:
        >>> store = FaissStore(384)
        >>> store.add(np.arange(3), unit_vectors)          # ids are the caller's chunk ids
        >>> scores, ids = store.search(unit_vectors[0], k=2)
        >>> store.kind
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
        self._by_id: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    @property
    def count(self) -> int:
        return int(self._index.ntotal)

    @property
    def _graph(self) -> faiss.IndexHNSW | None:
        inner = getattr(self._index, "index", None)
        inner = faiss.downcast_index(inner) if inner is not None else None
        return inner if isinstance(inner, faiss.IndexHNSW) else None

    @property
    def kind(self) -> str:
        """'exact' or 'approximate'."""
        return KIND_APPROXIMATE if self._graph is not None or isinstance(self._index, faiss.IndexIVF) else KIND_EXACT

    @property
    def ef_search(self) -> int | None:
        """Candidates a query keeps in the graph (None unless the store is a graph)."""
        graph = self._graph
        return int(graph.hnsw.efSearch) if graph is not None else None

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add unit vectors under the given ids (ids must not be in the store yet).

        An add that takes an exact store past `exact_limit()` turns it into a graph holding the old
        vectors and these (seconds to a minute per 100k vectors); a graph links new vectors in and
        keeps its efSearch (segments are written in one add, so only tests add twice).

        Raises:
            ValueError: the vectors' dimension is not the store's, or the store is a loaded one.
        """
        if not len(ids):
            return
        if self._mapped:
            raise ValueError("a loaded store is memory-mapped and read-only; build a new one from its contents()")
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(ids), -1)
        if vectors.shape[1] != self.dim:
            raise ValueError(f"vectors have dimension {vectors.shape[1]}, the store holds {self.dim}")
        if self.kind == KIND_EXACT and self.count + len(ids) > exact_limit():
            self._index = _graph_of(self.dim, [self.contents(), (ids, vectors)])
        else:
            self._index.add_with_ids(vectors, ids)  # a graph keeps the efSearch it was calibrated with
        self._by_id = None

    def search(self, vector: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Scores and ids of the `k` nearest chunks, best first (fewer when the index is smaller).

        `allowed` (sorted chunk ids) restricts the search itself: faiss skips every other id while it
        scans or walks (`IDSelectorBitmap`, one bit per id, tested in O(1)), so the k best allowed
        chunks come back however few of them rank among the collection's best. A graph scans a
        selection of at most `exact_limit()` exactly, and any selection its walk could not fill.
        """
        total = self.count if allowed is None else min(self.count, len(allowed))
        k = min(k, total)
        if k <= 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        query = np.ascontiguousarray(vector, dtype=np.float32).reshape(1, -1)
        # One query is one thread's work: faiss would split the scan over OpenMP threads and wait for
        # the other core, which on a busy 2-core machine turned 1.6 ms (10k exact) into 24 ms.
        # The setting is per calling thread in libgomp, so training elsewhere keeps its threads.
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            scores, ids = self._search(query, k, allowed)
        finally:
            faiss.omp_set_num_threads(threads)
        keep = ids >= 0
        return scores[keep], ids[keep]

    def _search(self, query: np.ndarray, k: int, allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        if allowed is None:
            scores, ids = self._index.search(query, k)
            return scores[0], ids[0]
        graph = self._graph
        if graph is not None and len(allowed) <= exact_limit():
            return self._scan(query, k, allowed)
        selector = _selector(allowed)
        if graph is not None:
            scores, ids = self._index.search(query, k, params=faiss.SearchParametersHNSW(sel=selector, efSearch=graph.hnsw.efSearch))
            if int((ids[0] >= 0).sum()) < k:  # the walk met too few allowed vectors
                return self._scan(query, k, allowed)
        elif isinstance(self._index, faiss.IndexIVF):
            scores, ids = self._index.search(query, k, params=faiss.SearchParametersIVF(sel=selector, nprobe=self._index.nprobe))
            if int((ids[0] >= 0).sum()) < k:  # the cells visited held too few allowed vectors
                every = faiss.SearchParametersIVF(sel=selector, nprobe=self._index.nlist)
                scores, ids = self._index.search(query, k, params=every)
        else:
            scores, ids = self._index.search(query, k, params=faiss.SearchParameters(sel=selector))
        return scores[0], ids[0]

    def _scan(self, query: np.ndarray, k: int, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact search of a graph's stored vectors, `allowed` ids only: the graph's storage is a flat
        index numbered by position, so the ids become positions first (a binary search each)."""
        if self._by_id is None:
            stored = self.ids()  # position -> id
            order = np.argsort(stored, kind="stable")
            self._by_id = (stored, stored[order], order)
        stored, sorted_ids, order = self._by_id
        at = np.searchsorted(sorted_ids, allowed).clip(max=len(sorted_ids) - 1)
        positions = order[at[sorted_ids[at] == allowed]]
        if not len(positions):
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        selector = _selector(positions)  # held here: the parameters keep only its address
        scores, rows = self._graph.storage.search(query, k, params=faiss.SearchParameters(sel=selector))
        return scores[0], np.where(rows[0] >= 0, stored[rows[0].clip(min=0)], -1)

    def ids(self) -> np.ndarray:
        """Every stored id (exact and graph: insertion order; an old IVF index: grouped by cell)."""
        if isinstance(self._index, faiss.IndexIVF):
            return _ivf_contents(self._index, with_vectors=False)[0]
        return faiss.vector_to_array(self._index.id_map).astype(np.int64)

    def save(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path) -> FaissStore:
        """The store saved at `path`, its vectors memory-mapped (`IO_FLAG_MMAP_IFC`) rather than read:
        a process pays for the pages its searches touch, and a loaded store is read-only (segments
        never change once written; `add` raises)."""
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


def _selector(ids: np.ndarray) -> faiss.IDSelectorBitmap:
    """faiss's `IDSelectorBitmap` over `ids`: bit (id & 7) of byte (id >> 3) set for each. The
    bitmap rides on the selector, which faiss reads by pointer, so both live as long as it."""
    ids = np.asarray(ids, dtype=np.int64)
    flags = np.zeros(int(ids.max()) + 1 if len(ids) else 1, dtype=bool)
    flags[ids] = True
    bitmap = np.packbits(flags, bitorder="little")
    selector = faiss.IDSelectorBitmap(len(bitmap), faiss.swig_ptr(bitmap))
    selector.bitmap_array = bitmap
    return selector


def _exact(dim: int) -> faiss.Index:
    return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))


def _graph_of(dim: int, parts: list[tuple[np.ndarray, np.ndarray]]) -> faiss.IndexIDMap2:
    """An HNSW graph holding `parts` (id and vector arrays), with efSearch calibrated on
    `CALIBRATION_QUERIES` of its vectors that are linked in only after calibration, so they search
    the graph as a new question does rather than finding themselves in it."""
    graph = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    graph.hnsw.efConstruction = EF_CONSTRUCTION
    index = faiss.IndexIDMap2(graph)
    index.own_fields = True
    graph.this.disown()  # the ID map frees it
    parts = [(i, v) for i, v in parts if len(i)]  # at least the new vectors: `add` skips an empty add
    ids = np.concatenate([i for i, _ in parts]).astype(np.int64)
    vectors = parts[0][1] if len(parts) == 1 else np.concatenate([v for _, v in parts])
    held = np.zeros(len(ids), dtype=bool)
    held[np.random.default_rng(0).choice(len(ids), min(CALIBRATION_QUERIES, len(ids) // 2), replace=False)] = True
    # One add for the bulk: faiss links a batch well, but graphs added block by block left 5% of a
    # 236k segment unreachable from the entry point (found by no query, however wide the walk).
    index.add_with_ids(np.ascontiguousarray(vectors[~held], dtype=np.float32), ids[~held])
    queries = np.ascontiguousarray(vectors[held], dtype=np.float32)
    calibrate_ef_search(graph, queries)
    index.add_with_ids(queries, ids[held])
    return index


def calibrate_ef_search(graph: faiss.IndexHNSW, queries: np.ndarray, k: int = 10) -> int:
    """Set and return `EF_MARGIN` times the smallest efSearch, on a grid of powers of sqrt(2) from 16
    to `EF_MAX` (16, 23, 32, 45, 64, 91, 128 ...), for which `queries` (vectors not in the graph) find on average
    `RECALL_TARGET` of their true `k` nearest neighbours; a result scoring at least the true k-th
    counts, so duplicates do not look like misses. The truth is an exact scan of the graph's
    storage. At least `EF_MIN`."""
    k = min(k, int(graph.ntotal))
    if k < 1 or not len(queries):
        return int(graph.hnsw.efSearch)
    truth, _ = graph.storage.search(queries, k)
    ef = 16
    for step in range(8, 2 * int(math.log2(EF_MAX)) + 1):
        ef = round(2 ** (step / 2))
        graph.hnsw.efSearch = ef
        scores, _ = graph.search(queries, k)
        if float(np.mean(scores >= truth[:, -1:] - 1e-5)) >= RECALL_TARGET:
            break
    graph.hnsw.efSearch = max(EF_MIN, math.ceil(ef * EF_MARGIN))
    return int(graph.hnsw.efSearch)


def _ivf_contents(index: faiss.IndexIVF, *, with_vectors: bool) -> tuple[np.ndarray, np.ndarray]:
    """Ids (and, for IVFFlat, vectors) read straight from the inverted lists of an index written
    before the graph."""
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
