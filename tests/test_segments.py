"""Segments: rankings do not depend on the segmentation, tombstones, merges, `qa optimize`, the old format.

The invariance tests use the real model on real Jawhara FM articles and real questions (embedded once:
the second build replays the first one's vectors); the mechanics use the fake HashEmbedder.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from qa.config import Settings
from qa.faces.cli import main
from qa.index import Index, storage, writer
from qa.index.segment import Segment, doc_record
from qa.records import Article
from qa.retrieve import Retriever
from tests.conftest import HashEmbedder
from tests.news_corpus import jawhara_articles

QUESTIONS = [
    "ما هي نتيجة مباراة الترجي الرياضي؟",
    "ماذا قال وزير الصحة عن فيروس كورونا؟",
    "متى ينطلق الإضراب العام؟",
    "من فاز بالانتخابات البلدية؟",
    "ما هي توقعات الطقس ليوم غد؟",
    "كم عدد الإصابات الجديدة؟",
    "ماذا قررت الحكومة بخصوص الأسعار؟",
    "أين وقع حادث المرور؟",
]


class ReplayEmbedder:
    """The real model, with each passage batch embedded once and replayed to later builds."""

    def __init__(self, real) -> None:
        self.real = real
        self.name, self.dim, self.precision = real.name, real.dim, real.precision
        self._passages: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.real.encode_queries(texts)

    def encode_passages(self, texts, sentence_spans=None, on_batch: Callable[[int], object] | None = None):
        missing = [i for i, t in enumerate(texts) if t not in self._passages]
        if missing:
            vectors, sentences = self.real.encode_passages([texts[i] for i in missing], [sentence_spans[i] for i in missing])
            for i, v, s in zip(missing, vectors, sentences):
                self._passages[texts[i]] = (v, s)
        rows = [self._passages[t] for t in texts]
        return np.stack([v for v, _ in rows]), [s for _, s in rows]

    def probe(self) -> np.ndarray:
        return self.real.probe()


@pytest.fixture(scope="module")
def replay(real_embedder) -> ReplayEmbedder:
    return ReplayEmbedder(real_embedder)


@pytest.fixture(scope="module")
def news() -> list[Article]:
    return jawhara_articles(every=100)


def _rankings(index: Index) -> dict[tuple[str, str], list[tuple[int, float]]]:
    retriever = Retriever(index)
    out = {}
    for mode in ("dense", "lexical", "hybrid"):
        for question in QUESTIONS:
            ranked = retriever.rank(question, 10, mode=mode)[1]
            out[mode, question] = [(r.chunk_id, round(r.score, 6)) for r in ranked]
    return out


def test_one_segment_and_ten_rank_the_same_also_after_deletes(tmp_path: Path, replay, news, monkeypatch) -> None:
    monkeypatch.setattr(writer, "MERGE_FACTOR", 100)  # keep the ten segments apart
    one = Index.build(news, tmp_path / "one", embedder=replay, progress=False, settings=Settings(model=replay.name, checkpoint_every=len(news)))
    ten = Index.build(news, tmp_path / "ten", embedder=replay, progress=False, settings=Settings(model=replay.name, checkpoint_every=-(-len(news) // 10)))
    assert (one.stats()["segments"], ten.stats()["segments"]) == (1, 10)
    expected = _rankings(one)
    assert all(expected[key] for key in expected), "every real question finds something"
    assert _rankings(ten) == expected
    # tombstones: collection statistics leave deleted rows out, so ten segments with deletes rank like
    # one segment built without those articles (chunk ids differ: compare articles and scores)
    gone = [a.id for a in news[::7]]
    ten.delete(gone)
    rest = [a for a in news if a.id not in set(gone)]
    fresh = Index.build(rest, tmp_path / "fresh", embedder=replay, progress=False, settings=Settings(model=replay.name, checkpoint_every=len(rest)))

    def by_article(index: Index) -> dict:
        snap = index.snapshot()
        return {key: [(snap.chunks[c].doc_id, snap.chunks[c].start, s) for c, s in ranked] for key, ranked in _rankings(index).items()}

    after = by_article(ten)
    assert after == by_article(fresh)
    assert not {doc for ranked in after.values() for doc, _, _ in ranked} & set(gone)
    reloaded = Index.load(tmp_path / "ten", embedder=replay)
    assert by_article(reloaded) == after
    assert reloaded.optimize()["segments_after"] == 1
    assert by_article(reloaded) == after


def _articles(n: int, prefix: str = "doc") -> list[Article]:
    return [Article(id=f"{prefix}{i}", text=f"خبر رقم {i}. الوزير زار المدينة {i} وتحدث عن التعاون.", title=f"عنوان {i}") for i in range(n)]


def test_the_merge_policy_merges_ten_segments_of_a_tier() -> None:
    assert writer.plan_merge([5] * 9) == []
    assert writer.plan_merge([5] * 10) == list(range(10))
    assert writer.plan_merge([50_000] + [5] * 11) == sorted(range(1, 12))[:10]
    assert writer.plan_merge([2_000] * 10 + [5] * 3) == list(range(10))
    assert [writer.tier(n) for n in (0, 999, 1_000, 9_999, 10_000, 1_000_000)] == [0, 0, 1, 1, 2, 4]


def test_no_merge_writes_a_segment_beyond_the_size_cap() -> None:
    assert writer.MAX_MERGED_CHUNKS == 250_000
    assert writer.plan_merge([60_000] * 10) == [0, 1, 2, 3]  # 240,000: a fifth would pass the cap
    assert writer.plan_merge([130_000] * 10) == []  # above half the cap: never merged again
    assert writer.plan_merge([130_000] * 10 + [5] * 10) == list(range(10, 20))


def test_a_build_streams_its_source_and_commits_as_it_goes(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    committed_before_the_last_article = []

    def source():
        for i, article in enumerate(_articles(7)):
            if i == 6:
                committed_before_the_last_article.append(len(storage.read_manifest(index_dir)["segments"]))
            yield article

    settings = Settings(model=HashEmbedder.name, checkpoint_every=2)
    index = Index.build(source(), index_dir, embedder=HashEmbedder(), progress=False, settings=settings)
    assert committed_before_the_last_article == [3]
    assert len(index.document_ids) == 7


def test_a_loaded_index_keeps_texts_on_disk_and_reads_them_on_access(tmp_path: Path) -> None:
    articles = _articles(5)
    Index.build(articles, tmp_path / "index", embedder=HashEmbedder(), progress=False)
    loaded = Index.load(tmp_path / "index", embedder=HashEmbedder())
    [part] = loaded.snapshot().segments
    assert isinstance(part.segment.texts.buffer, np.memmap)
    assert {a.text for a in part.segment.docs} == {""}  # metadata only in memory
    assert loaded.article("doc3") == articles[3]
    for chunk in loaded.snapshot().chunks.values():
        assert chunk.text == articles[int(chunk.doc_id.removeprefix("doc"))].text[chunk.start : chunk.end]


def test_many_small_commits_stay_a_bounded_number_of_segments(tmp_path: Path) -> None:
    index = Index.build(_articles(3), tmp_path / "index", embedder=HashEmbedder(), progress=False)
    for i in range(25):
        index.add([Article(id=f"hour{i}", text=f"خبر الساعة {i} عن الطقس.")], progress=False)
    assert index.stats()["segments"] < writer.MERGE_FACTOR
    loaded = Index.load(tmp_path / "index", embedder=HashEmbedder())
    assert sorted(loaded.document_ids) == sorted([f"doc{i}" for i in range(3)] + [f"hour{i}" for i in range(25)])
    listed = {s["name"] for s in storage.read_manifest(tmp_path / "index")["segments"]}
    on_disk = {p.name for p in (tmp_path / "index").glob("seg-*")}
    assert listed <= on_disk and len(on_disk - listed) <= writer.MERGE_FACTOR  # only the previous state's


def test_readers_keep_answering_from_their_segments_during_and_after_a_merge(tmp_path: Path) -> None:
    settings = Settings(model=HashEmbedder.name, checkpoint_every=2)
    writer_index = Index.build(_articles(8), tmp_path / "index", embedder=HashEmbedder(), progress=False, settings=settings)
    reader = Index.load(tmp_path / "index", embedder=HashEmbedder())
    held = reader.snapshot()
    assert len(held.segments) == 4
    query = reader.embed_query("الوزير زار المدينة 3")
    before = held.vectors.search(query, 5)
    writer_index.optimize()
    writer_index.add([Article(id="late", text="خبر متأخر.")], progress=False)  # the merged-away folders go now
    assert not (tmp_path / "index" / held.segments[0].segment.name).exists()
    again = held.vectors.search(query, 5)
    assert np.array_equal(again[1], before[1]) and np.allclose(again[0], before[0])
    for chunk_id in again[1].tolist():
        assert held.chunks[chunk_id].text  # texts are memory-mapped too: readable after the folder is gone
        spans, vectors = held.sentences[chunk_id]
        assert len(spans) == len(vectors) and np.isfinite(np.asarray(vectors, dtype=np.float32)).all()
    assert held.lexical.search("الوزير", 3)[1].size
    assert Retriever(reader).search("خبر متأخر", k=1)[0].doc_id == "late"  # the next query refreshes
    assert reader.stats()["segments"] == 2


def test_optimize_merges_everything_into_one_segment_and_drops_tombstones(tmp_path: Path) -> None:
    settings = Settings(model=HashEmbedder.name, checkpoint_every=3)
    index = Index.build(_articles(9), tmp_path / "index", embedder=HashEmbedder(), progress=False, settings=settings)
    index.delete(["doc4"])
    ids = dict(index.snapshot().doc_chunks)
    before = index.snapshot()
    stored = {c: (before.chunks[c], *before.sentences[c]) for c in before.chunks}
    old_ids, old_vectors = before.vectors.contents()
    hits = [h.chunk_id for h in Retriever(index).search("الوزير زار المدينة", k=5)]
    result = CliRunner().invoke(main, ["optimize", "--index-dir", str(tmp_path / "index")])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("3 segments merged into 1: 8 documents")
    loaded = Index.load(tmp_path / "index", embedder=HashEmbedder())
    [entry] = storage.read_manifest(tmp_path / "index")["segments"]
    assert entry["deleted"] == [] and loaded.stats()["segments"] == 1
    assert dict(loaded.snapshot().doc_chunks) == ids  # chunk ids survive merges
    after = loaded.snapshot()
    merged_ids, merged_vectors = after.vectors.contents()
    for chunk_id, (chunk, spans, sentence_vectors) in stored.items():  # and everything with them
        assert after.chunks[chunk_id] == chunk
        assert np.array_equal(after.sentences[chunk_id][0], spans) and np.array_equal(after.sentences[chunk_id][1], sentence_vectors)
        assert np.array_equal(merged_vectors[merged_ids == chunk_id], old_vectors[old_ids == chunk_id])
    assert [h.chunk_id for h in Retriever(loaded).search("الوزير زار المدينة", k=5)] == hits
    again = CliRunner().invoke(main, ["optimize", "--index-dir", str(tmp_path / "index"), "--json"])
    assert json.loads(again.output)["segments_before"] == 1


def _as_format_2(folder: Path) -> None:
    """Rewrite a segment folder the way format 2 (and format 1) stored articles and chunks: texts
    inside docs.jsonl, chunks as JSON lines."""
    segment = Segment.read(folder)
    with (folder / "docs.jsonl").open("w", encoding="utf-8") as handle:
        for position, (article, content_hash) in enumerate(zip(segment.docs, segment.hashes)):
            record = {"id": article.id, "text": segment.texts[position], **doc_record(article), "hash": content_hash}
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    with (folder / "chunks.jsonl").open("w", encoding="utf-8") as handle:
        for row in range(segment.count):
            chunk = segment.chunk(row)
            handle.write(json.dumps({"id": chunk.id, "doc_id": chunk.doc_id, "start": chunk.start, "end": chunk.end}) + "\n")
    for name in ("texts.bin", "texts.npy", "chunks.npy"):
        (folder / name).unlink()


def test_an_index_of_format_2_still_loads_and_upgrades(tmp_path: Path) -> None:
    articles = _articles(6)
    settings = Settings(model=HashEmbedder.name, checkpoint_every=3)
    built = Index.build(articles, tmp_path / "index", embedder=HashEmbedder(), progress=False, settings=settings)
    index_dir = tmp_path / "index"
    manifest = storage.read_manifest(index_dir)
    for entry in manifest["segments"]:
        _as_format_2(index_dir / entry["name"])
        entry["files"] = storage.seal_folder(index_dir / entry["name"])
    storage.write_manifest(index_dir, {**manifest, "format_version": 2})
    loaded = Index.load(index_dir, embedder=HashEmbedder())
    query = "الوزير زار المدينة 4"
    assert [h.chunk_id for h in Retriever(loaded).search(query)] == [h.chunk_id for h in Retriever(built).search(query)]
    assert [loaded.article(a.id) for a in articles] == articles
    loaded.add([Article(id="doc1", text="خبر معدل.")], progress=False)  # an update tombstones the old copy
    assert storage.read_manifest(index_dir)["format_version"] == storage.FORMAT_VERSION
    loaded.optimize()
    again = Index.load(index_dir, embedder=HashEmbedder())
    assert again.article("doc1").text == "خبر معدل." and again.article("doc5") == articles[5]


def test_an_index_in_the_format_before_segments_still_loads_and_upgrades(tmp_path: Path) -> None:
    """Format 1: one `gen-NNNNNN` folder (bm25s files, no postings) named by a manifest without segments."""
    built = Index.build(_articles(5), tmp_path / "index", embedder=HashEmbedder(), progress=False)
    index_dir = tmp_path / "index"
    manifest = storage.read_manifest(index_dir)
    old = index_dir / storage.generation_name(1)
    _as_format_2(index_dir / "seg-000001")
    (index_dir / "seg-000001").rename(old)
    shutil.rmtree(old / "postings")
    (old / "bm25").mkdir()
    (old / "bm25" / "ids.npy").write_bytes(b"a bm25s file we no longer read")
    legacy = {k: v for k, v in manifest.items() if k not in ("segments", "next_segment")}
    storage.write_manifest(index_dir, {**legacy, "format_version": 1, "generation": 1, "files": storage.seal_folder(old)})
    loaded = Index.load(index_dir, embedder=HashEmbedder())
    query = "الوزير زار المدينة 2"
    assert [h.chunk_id for h in Retriever(loaded).search(query)] == [h.chunk_id for h in Retriever(built).search(query)]
    loaded.add([Article(id="new", text="خبر جديد.")], progress=False)
    upgraded = storage.read_manifest(index_dir)
    assert upgraded["format_version"] == storage.FORMAT_VERSION
    assert [s["name"] for s in upgraded["segments"]] == [old.name, "seg-000001"]
    loaded.optimize()
    assert [s["name"] for s in storage.read_manifest(index_dir)["segments"]] == ["seg-000002"]
    assert sorted(Index.load(index_dir, embedder=HashEmbedder()).document_ids) == sorted([*built.document_ids, "new"])
