"""Index mechanics with a deterministic fake embedder: upserts, deletes, sync, atomic saves,
verification on load, the writer lock. Quality is tested with the real model elsewhere."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from qa.config import Settings
from qa.errors import (
    IndexCorruptError,
    IndexLockedError,
    IndexMismatchError,
    IndexNotFoundError,
    InputError,
)
from qa.index import Index, storage
from qa.records import Article
from qa.retrieve import Retriever
from tests.conftest import SEEDS, HashEmbedder


def _articles(n: int, prefix: str = "doc") -> list[Article]:
    return [Article(id=f"{prefix}{i}", text=f"خبر رقم {i}. الوزير زار المدينة {i} وتحدث عن التعاون.", title=f"عنوان {i}") for i in range(n)]


def _build(tmp_path: Path, source, **kwargs) -> Index:
    return Index.build(source, tmp_path / "index", embedder=HashEmbedder(), progress=False, **kwargs)


def _live_folders(index_dir: Path) -> list[Path]:
    """The segment folders the committed manifest lists."""
    return [index_dir / entry["name"] for entry in storage.read_manifest(index_dir)["segments"]]


def _assert_consistent(index: Index) -> None:
    """Every chunk is an exact slice of its article, and FAISS, BM25 and the stores agree."""
    snap = index.snapshot()
    ids = np.sort(np.fromiter(snap.chunks, dtype=np.int64))
    assert np.array_equal(np.sort(snap.vectors.ids()), ids)
    assert np.array_equal(np.sort(snap.lexical.ids), ids)
    for chunk in snap.chunks.values():
        assert snap.articles[chunk.doc_id].text[chunk.start : chunk.end] == chunk.text
        spans, vectors = snap.sentences[chunk.id]
        assert len(spans) == len(vectors) >= 1
        assert all(chunk.start <= s < e <= chunk.end for s, e in spans.tolist())


def test_build_save_load_round_trip(tmp_path: Path) -> None:
    built = _build(tmp_path, SEEDS)
    loaded = Index.load(tmp_path / "index", embedder=HashEmbedder())
    assert loaded.document_ids == built.document_ids
    assert len(loaded) == len(built) > 2
    _assert_consistent(loaded)
    assert loaded.stats()["model"] == HashEmbedder.name
    query = "الوزير زار المدينة"
    assert [h.chunk_id for h in Retriever(loaded).search(query)] == [h.chunk_id for h in Retriever(built).search(query)]


def test_sentence_vectors_are_memory_mapped_and_equal_to_the_saved_ones(tmp_path: Path) -> None:
    built = _build(tmp_path, SEEDS)
    loaded = Index.load(tmp_path / "index", embedder=HashEmbedder())
    for chunk_id, (spans, vectors) in built.snapshot().sentences.items():
        loaded_spans, loaded_vectors = loaded.snapshot().sentences[chunk_id]
        assert _mapped_file(loaded_vectors) is not None
        assert np.array_equal(loaded_spans, spans) and np.array_equal(loaded_vectors, vectors)
    # the writer maps what it just wrote, and only files of live segments
    built.add([Article(id="extra", text="نص إضافي عن الوزير.")], progress=False)
    built.add([Article(id="extra2", text="نص آخر عن المدينة.")], progress=False)
    live = _live_folders(tmp_path / "index")
    assert len(live) == 3
    for _, vectors in built.snapshot().sentences.values():
        assert _mapped_file(vectors).parent.parent in live


def _mapped_file(array: np.ndarray) -> Path | None:
    """The file an array is a view of (segments hand out plain views of their memory maps), if any."""
    while array is not None and not isinstance(array, np.memmap):
        array = array.base if isinstance(array.base, np.ndarray) else None
    return Path(array.filename) if array is not None else None


def test_an_index_saved_with_sentences_in_one_npz_still_loads(tmp_path: Path) -> None:
    built = _build(tmp_path, SEEDS)
    index_dir = tmp_path / "index"
    manifest = storage.read_manifest(index_dir)
    [folder] = _live_folders(index_dir)
    arrays = {name: np.load(folder / "sentences" / f"{name}.npy") for name in ("counts", "spans", "vectors")}
    shutil.rmtree(folder / "sentences")
    np.savez(folder / "sentences.npz", **arrays)
    manifest["segments"][0]["files"] = storage.seal_folder(folder)
    storage.write_manifest(index_dir, manifest)
    loaded = Index.load(index_dir, embedder=HashEmbedder())
    _assert_consistent(loaded)
    query = "الوزير زار المدينة"
    assert [h.chunk_id for h in Retriever(loaded).search(query)] == [h.chunk_id for h in Retriever(built).search(query)]


def test_adding_the_same_documents_twice_changes_nothing(tmp_path: Path) -> None:
    index = _build(tmp_path, SEEDS)
    generation, chunks = index.stats()["generation"], len(index)
    report = index.add(SEEDS, progress=False)
    assert report.unchanged == index.document_ids and not report.added and report.chunks_embedded == 0
    assert len(index) == chunks and index.stats()["generation"] == generation


def test_upsert_replaces_changed_documents_and_keeps_ids_stable(tmp_path: Path) -> None:
    index = _build(tmp_path, _articles(5))
    before = dict(index.snapshot().doc_chunks)
    changed = Article(id="doc2", text="نص جديد تماما عن الاقتصاد.", title="عنوان 2")
    report = index.add([changed, *_articles(1, prefix="new")], progress=False)
    assert report.updated == ["doc2"] and report.added == ["new0"] and report.chunks_embedded == 2
    after = index.snapshot().doc_chunks
    assert after["doc1"] == before["doc1"]  # untouched documents keep their chunk ids
    assert not set(after["doc2"]) & set(before["doc2"])
    assert index.article("doc2").text == changed.text
    _assert_consistent(Index.load(tmp_path / "index", embedder=HashEmbedder()))


def test_delete_removes_every_trace(tmp_path: Path) -> None:
    index = _build(tmp_path, _articles(4))
    gone = set(index.snapshot().doc_chunks["doc1"])
    report = index.delete(["doc1", "nope"])
    assert report.deleted == ["doc1"] and report.warnings == ["nope: no such document in the index"]
    loaded = Index.load(tmp_path / "index", embedder=HashEmbedder())
    assert "doc1" not in loaded.document_ids
    assert not gone & set(loaded.snapshot().chunks)
    assert all(h.doc_id != "doc1" for h in Retriever(loaded).search("خبر رقم 1", k=10))
    _assert_consistent(loaded)


def test_sync_mirrors_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "news"
    folder.mkdir()
    for name in ("a", "b", "c"):
        (folder / f"{name}.txt").write_text(f"عنوان {name}\nنص المقال {name}.", encoding="utf-8")
    index = _build(tmp_path, folder)
    (folder / "b.txt").unlink()
    (folder / "c.txt").write_text("عنوان c\nنص معدل.", encoding="utf-8")
    (folder / "d.txt").write_text("عنوان d\nنص جديد.", encoding="utf-8")
    report = index.sync(folder, progress=False)
    assert (report.added, report.updated, report.unchanged, report.deleted) == (["d.txt"], ["c.txt"], ["a.txt"], ["b.txt"])
    assert sorted(Index.load(tmp_path / "index", embedder=HashEmbedder()).document_ids) == ["a.txt", "c.txt", "d.txt"]


def test_checkpoints_commit_every_n_documents(tmp_path: Path) -> None:
    settings = Settings(model=HashEmbedder.name, checkpoint_every=3)
    index = _build(tmp_path, _articles(8), settings=settings)
    assert index.stats()["generation"] == 3  # 3 + 3 + 2 documents
    assert len(index.document_ids) == 8
    assert index.stats()["segments"] == 3  # each checkpoint wrote only its own segment
    assert sorted(p.name for p in (tmp_path / "index").glob("seg-*")) == ["seg-000001", "seg-000002", "seg-000003"]


def test_save_is_a_manifest_switch_and_a_commit_writes_only_its_segment(tmp_path: Path) -> None:
    index = _build(tmp_path, _articles(2))
    first = tmp_path / "index" / "seg-000001"
    before = storage.seal_folder(first)
    for i in range(3):
        index.add([Article(id=f"x{i}", text=f"نص إضافي {i}.")], progress=False)
    manifest = json.loads((tmp_path / "index" / storage.MANIFEST).read_text())
    assert manifest["generation"] == 4 and manifest["format_version"] == storage.FORMAT_VERSION
    assert [s["name"] for s in manifest["segments"]] == ["seg-000001", "seg-000002", "seg-000003", "seg-000004"]
    assert sorted(p.name for p in (tmp_path / "index").glob("seg-*")) == [s["name"] for s in manifest["segments"]]
    assert storage.seal_folder(first) == before  # never rewritten
    assert not list((tmp_path / "index").glob("*.tmp"))


def test_a_delete_is_a_tombstone_and_an_update_is_a_delete_plus_an_add(tmp_path: Path) -> None:
    index = _build(tmp_path, _articles(4))
    first = storage.seal_folder(tmp_path / "index" / "seg-000001")
    index.delete(["doc1"])
    index.add([Article(id="doc2", text="نص جديد تماما عن الاقتصاد.")], progress=False)
    manifest = storage.read_manifest(tmp_path / "index")
    assert [(s["name"], s["deleted"]) for s in manifest["segments"]] == [("seg-000001", ["doc1", "doc2"]), ("seg-000002", [])]
    assert storage.seal_folder(tmp_path / "index" / "seg-000001") == first
    loaded = Index.load(tmp_path / "index", embedder=HashEmbedder())
    assert sorted(loaded.document_ids) == ["doc0", "doc2", "doc3"] and loaded.article("doc2").text == "نص جديد تماما عن الاقتصاد."
    _assert_consistent(loaded)
    # tombstoned rows never come back, however deep the search reads
    hits = Retriever(loaded).search("خبر رقم 1 الوزير زار المدينة", k=10, mode="lexical")
    assert {h.doc_id for h in hits} <= {"doc0", "doc3"}
    assert len(loaded.snapshot().vectors.search(loaded.embed_query("خبر رقم 1"), 10)[1]) == len(loaded)
    index.delete(["doc0", "doc3"])  # the first segment is now all tombstones: it leaves the manifest
    assert [s["name"] for s in storage.read_manifest(tmp_path / "index")["segments"]] == ["seg-000002"]


def _corrupt_cases():
    def truncate(path: Path) -> None:
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])

    def flip(path: Path) -> None:
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))

    return [("truncate", truncate, "truncated or altered"), ("flip", flip, "checksum mismatch"), ("delete", Path.unlink, "missing index file")]


@pytest.mark.parametrize(("name", "damage", "message"), _corrupt_cases(), ids=[c[0] for c in _corrupt_cases()])
def test_every_damaged_file_is_refused_with_one_line(tmp_path: Path, name, damage, message) -> None:
    index = _build(tmp_path, SEEDS)
    index.add([Article(id="extra", text="نص إضافي.")], progress=False)  # a second segment
    folders = _live_folders(tmp_path / "index")
    assert len(folders) == 2
    for file in sorted(p for folder in folders for p in folder.rglob("*") if p.is_file()):
        backup = file.read_bytes()
        damage(file)
        with pytest.raises(IndexCorruptError, match=message) as info:
            Index.load(tmp_path / "index", embedder=HashEmbedder())
        assert "\n" not in str(info.value) and "qa index PATH --rebuild" in str(info.value)
        file.write_bytes(backup)
    Index.load(tmp_path / "index", embedder=HashEmbedder())


@pytest.mark.parametrize(
    ("edit", "error", "message"),
    [
        (lambda m: m.update(format_version=99), IndexMismatchError, "format version 99"),
        (lambda m: m["segments"][0].update(name="seg-000099"), IndexCorruptError, "missing index file"),
        (lambda m: m["segments"][0].update(deleted=["نص"]), IndexCorruptError, "tombstones articles"),
        (lambda m: m["counts"].update(chunks=1), IndexCorruptError, "counts differ"),
    ],
)
def test_bad_manifests_are_refused(tmp_path: Path, edit, error, message) -> None:
    _build(tmp_path, SEEDS)
    path = tmp_path / "index" / storage.MANIFEST
    manifest = json.loads(path.read_text())
    edit(manifest)
    path.write_text(json.dumps(manifest))
    with pytest.raises(error, match=message):
        Index.load(tmp_path / "index", embedder=HashEmbedder())


def test_garbage_manifest_and_missing_index(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFoundError, match="no index here"):
        Index.load(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(IndexNotFoundError, match="not an index"):
        Index.load(tmp_path / "empty")
    _build(tmp_path, SEEDS)
    (tmp_path / "index" / storage.MANIFEST).write_text("{ not json")
    with pytest.raises(IndexCorruptError, match="unreadable manifest"):
        Index.load(tmp_path / "index")


def test_another_model_is_refused(tmp_path: Path) -> None:
    _build(tmp_path, SEEDS)
    with pytest.raises(IndexMismatchError, match="built with model 'test-hash-embedder'"):
        Index.load(tmp_path / "index", model="intfloat/multilingual-e5-small")

    class Impostor(HashEmbedder):
        def probe(self) -> np.ndarray:
            return -super().probe()

    index = Index.load(tmp_path / "index", embedder=Impostor())
    with pytest.raises(IndexMismatchError, match="embeds differently"):
        Retriever(index).search("سؤال")


def test_second_writer_is_refused_while_the_first_holds_the_lock(tmp_path: Path) -> None:
    index = _build(tmp_path, SEEDS)
    with storage.writer_lock(tmp_path / "index"):
        with pytest.raises(IndexLockedError, match="another process is writing"):
            index.add([Article(id="x", text="نص.")], progress=False)
    index.add([Article(id="x", text="نص.")], progress=False)
    assert "x" in index.document_ids


def test_readers_pick_up_commits_from_other_writers(tmp_path: Path) -> None:
    writer = _build(tmp_path, _articles(2))
    reader = Index.load(tmp_path / "index", embedder=HashEmbedder())
    writer.add([Article(id="late", text="خبر متأخر عن الانتخابات.")], progress=False)
    assert "late" not in reader.document_ids
    assert Retriever(reader).search("خبر متأخر عن الانتخابات", k=1)[0].doc_id == "late"  # search refreshes


def test_bad_input_keeps_the_index(tmp_path: Path) -> None:
    index = _build(tmp_path, SEEDS)
    with pytest.raises(InputError, match="no such file"):
        index.add(tmp_path / "missing", progress=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="no .txt"):
        index.add(empty, progress=False)
    with pytest.raises(InputError, match="the question is empty"):
        Retriever(index).search("   ")
    assert len(Index.load(tmp_path / "index", embedder=HashEmbedder()).document_ids) == 2


def test_duplicate_ids_in_one_batch_keep_the_first(tmp_path: Path) -> None:
    first, second = Article(id="same", text="النص الأول."), Article(id="same", text="النص الثاني.")
    index = Index.build([first, second], tmp_path / "index", embedder=HashEmbedder(), progress=False)
    assert index.article("same").text == "النص الأول."


def test_rebuild_replaces_contents_atomically(tmp_path: Path) -> None:
    _build(tmp_path, _articles(3))
    rebuilt = _build(tmp_path, SEEDS)
    assert sorted(rebuilt.document_ids) == sorted(p.name for p in SEEDS.glob("*.txt"))
    assert Index.load(tmp_path / "index", embedder=HashEmbedder()).stats()["generation"] == 2


def test_without_is_a_read_only_view(tmp_path: Path) -> None:
    index = _build(tmp_path, _articles(3))
    view = index.without(["doc0"])
    assert sorted(view.document_ids) == ["doc1", "doc2"] and len(index.document_ids) == 3
    with pytest.raises(Exception, match="read-only"):
        view.delete(["doc1"])
    shutil.rmtree(tmp_path / "index")
