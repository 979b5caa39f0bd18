"""The vector store's contract, run against both index types: exact (`IndexIDMap2(IndexFlatIP)`)
and approximate (an HNSW graph, reached by growing past a small `QA_EXACT_LIMIT`). Plus the
graph's recall@10 against exact search on held-out queries, and indexes written before the graph."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import pytest

from qa.index.faiss_backend import (
    EF_MIN,
    KIND_APPROXIMATE,
    KIND_EXACT,
    FaissStore,
    exact_limit,
)

DIM = 32
N = 3000
LIMIT = 500


def _clustered(n: int, seed: int) -> np.ndarray:
    """Unit vectors around 40 overlapping topics in an 8-dim subspace, plus noise: neighbours straddle
    topics, as real embeddings do."""
    rng = np.random.default_rng(seed)
    basis = np.random.default_rng(0).standard_normal((8, DIM)).astype(np.float32)
    centres = np.random.default_rng(1).standard_normal((40, 8)).astype(np.float32)
    z = centres[rng.integers(0, 40, n)] + 0.6 * rng.standard_normal((n, 8)).astype(np.float32)
    x = z @ basis + 0.3 * rng.standard_normal((n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


VECTORS = _clustered(N, seed=2)
QUERIES = _clustered(100, seed=3)
IDS = np.arange(1000, 1000 + N, dtype=np.int64)  # not row numbers, so a mix-up shows


@pytest.fixture(params=[KIND_EXACT, KIND_APPROXIMATE])
def store(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> FaissStore:
    """A store of the requested kind holding VECTORS under IDS, filled in two adds."""
    monkeypatch.setenv("QA_EXACT_LIMIT", str(LIMIT if request.param == KIND_APPROXIMATE else 10 * N))
    built = FaissStore(DIM)
    built.add(IDS[:400], VECTORS[:400])
    assert built.kind == KIND_EXACT
    built.add(IDS[400:], VECTORS[400:])
    assert built.kind == request.param and built.count == N
    return built


def _hits(store: FaissStore, queries: np.ndarray, k: int = 10) -> list[list[int]]:
    return [store.search(q, k)[1].tolist() for q in queries]


def test_save_load_round_trip(store: FaissStore, tmp_path: Path) -> None:
    store.save(tmp_path / "vectors.faiss")
    loaded = FaissStore.load(tmp_path / "vectors.faiss")
    assert (loaded.kind, loaded.dim, loaded.count, loaded.ef_search) == (store.kind, store.dim, store.count, store.ef_search)
    assert np.array_equal(np.sort(loaded.ids()), IDS)
    assert _hits(loaded, QUERIES) == _hits(store, QUERIES)
    scores, _ = loaded.search(QUERIES[0], 5)
    assert np.allclose(scores, store.search(QUERIES[0], 5)[0])
    with pytest.raises(ValueError, match="read-only"):  # memory-mapped: changing it would abort the process
        loaded.add(np.array([N + 1]), QUERIES[:1])


def test_ids_and_later_adds(store: FaissStore) -> None:
    assert np.array_equal(np.sort(store.ids()), IDS)
    store.add(np.array([1]), VECTORS[:1])  # a new id for an old vector is found with it
    assert set(store.search(VECTORS[0], 2)[1].tolist()) == {1, int(IDS[0])}
    assert store.count == N + 1


def test_selection_is_applied_inside_the_search(store: FaissStore) -> None:
    """Wide selections walk the graph with a selector, narrow ones are scanned exactly; either way only
    allowed ids come back, and as many as k of them."""
    rng = np.random.default_rng(4)
    for size in (5, 300, N - 100):  # narrow (scanned), wide (walked) on the graph
        allowed = np.sort(rng.choice(IDS, size=size, replace=False))
        for q in QUERIES[:10]:
            scores, ids = store.search(q, 10, allowed)
            assert len(ids) == min(10, size) and set(ids.tolist()) <= set(allowed.tolist())
            assert np.all(np.diff(scores) <= 1e-6)
        truth = allowed[np.argsort(-(VECTORS[allowed - 1000] @ QUERIES[0]))][:5]
        if size <= 300:
            assert store.search(QUERIES[0], 5, allowed)[1].tolist() == truth.tolist()
    outside = np.array([5, 6], dtype=np.int64)  # ids the store never held
    assert len(store.search(QUERIES[0], 5, outside)[1]) == 0


def test_search_order_and_bounds(store: FaissStore) -> None:
    for q in QUERIES[:20]:
        scores, ids = store.search(q, 25)
        assert len(ids) == 25 == len(set(ids.tolist()))
        assert np.all(np.diff(scores) <= 1e-6), "best first"
        assert np.all(ids >= 1000)
    for row in range(0, N, 250):  # every stored vector is its own nearest neighbour
        scores, ids = store.search(VECTORS[row], 3)
        assert ids[0] == IDS[row] and scores[0] == pytest.approx(1.0, abs=1e-5)
    assert len(store.search(QUERIES[0], 0)[1]) == 0


def test_empty_store_and_small_k() -> None:
    empty = FaissStore(DIM)
    scores, ids = empty.search(QUERIES[0], 10)
    assert len(scores) == len(ids) == 0 and empty.count == 0 and len(empty.ids()) == 0
    empty.add(IDS[:3], VECTORS[:3])
    assert empty.search(QUERIES[0], 10)[1].size == 3, "k larger than the store gives the whole store"


def test_approximate_recall_at_10_against_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_EXACT_LIMIT", str(LIMIT))
    approximate = FaissStore(DIM)
    approximate.add(IDS, VECTORS)
    monkeypatch.setenv("QA_EXACT_LIMIT", str(10 * N))
    exact = FaissStore(DIM)
    exact.add(IDS, VECTORS)
    assert EF_MIN <= approximate.ef_search < N, "calibration should not need an exhaustive walk on clustered data"
    found, truth = _hits(approximate, QUERIES), _hits(exact, QUERIES)
    recall = np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth)])
    assert recall >= 0.95


def test_growing_past_the_limit_keeps_ids_and_vectors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_EXACT_LIMIT", str(LIMIT))
    store = FaissStore(DIM)
    store.add(IDS[:LIMIT], VECTORS[:LIMIT])
    assert store.kind == KIND_EXACT
    store.add(IDS[LIMIT:], VECTORS[LIMIT:])
    assert store.kind == KIND_APPROXIMATE
    ids, vectors = store.contents()
    assert np.array_equal(vectors[np.argsort(ids)], VECTORS)


def test_an_index_written_before_the_graph_still_loads_and_searches(tmp_path: Path) -> None:
    """Segments above the limit used to be `IndexIVFFlat` (format 2 above 200,000 chunks, format 3
    until the graph): they load read-only, search with their saved nprobe, filters included, and give
    their vectors back for a merge."""
    quantizer = faiss.IndexFlatIP(DIM)
    ivf = faiss.IndexIVFFlat(quantizer, DIM, 16, faiss.METRIC_INNER_PRODUCT)
    ivf.train(VECTORS)
    ivf.add_with_ids(VECTORS, IDS)
    ivf.nprobe = 16
    faiss.write_index(ivf, str(tmp_path / "vectors.faiss"))
    old = FaissStore.load(tmp_path / "vectors.faiss")
    assert old.kind == KIND_APPROXIMATE and old.count == N and old.ef_search is None
    assert old.search(VECTORS[10], 1)[1].tolist() == [int(IDS[10])]
    allowed = np.sort(IDS[::500])
    assert old.search(QUERIES[0], 10, allowed)[1].tolist() == allowed[np.argsort(-(VECTORS[::500] @ QUERIES[0]))].tolist()
    ids, vectors = old.contents()
    assert np.array_equal(vectors[np.argsort(ids)], VECTORS)


def test_limit_from_the_environment_and_bad_input(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QA_EXACT_LIMIT", raising=False)
    assert exact_limit() == 20_000
    monkeypatch.setenv("QA_EXACT_LIMIT", "1000")
    assert exact_limit() == 1000
    monkeypatch.setenv("QA_EXACT_LIMIT", "many")
    with pytest.raises(ValueError, match="QA_EXACT_LIMIT"):
        exact_limit()
    with pytest.raises(ValueError, match="dimension"):
        FaissStore(DIM).add(IDS[:2], np.zeros((2, DIM + 1), np.float32))
