"""Fault tests: SIGKILL during `qa index`, readers during writes, and a sweep of bad input.

A tiny randomly initialised BERT (the real tokenizer, 1 layer, 32 dimensions) stands in for the
embedding model where a test is about crash safety and concurrency, not answer quality: it goes
through the same sentence-transformers loading and encoding code, at a fraction of the cost.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from qa.errors import IndexNotFoundError
from qa.index import Index
from qa.records import Article
from qa.retrieve import Retriever
from tests.conftest import REPO, HashEmbedder

CORPUS_SIZE = 300
CHECKPOINT = 20
TRIALS = 20


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory, real_embedder) -> Path:
    """A real sentence-transformers folder with a tiny random encoder and the default model's tokenizer."""
    import torch
    from transformers import BertConfig, BertModel

    from qa.model.store import materialize_default_model

    source = materialize_default_model(progress=False)
    target = tmp_path_factory.mktemp("tiny") / "tiny-e5"
    shutil.copytree(source, target)
    (target / "model.safetensors").unlink()
    pooling = json.loads((target / "1_Pooling" / "config.json").read_text())
    (target / "1_Pooling" / "config.json").write_text(json.dumps({**pooling, "word_embedding_dimension": 32}))
    config = json.loads((source / "config.json").read_text())
    config.update(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64)
    torch.manual_seed(0)
    BertModel(BertConfig(**config)).save_pretrained(target)
    return target


def _corpus(folder: Path) -> list[str]:
    folder.mkdir()
    ids = []
    for i in range(CORPUS_SIZE):
        name = f"{i:04d}.txt"
        (folder / name).write_text(f"خبر {i}\nقال المتحدث إن الاجتماع رقم {i} ناقش التعاون. وأضاف أن اللقاء المقبل في شهر {i % 12 + 1}.", encoding="utf-8")
        ids.append(name)
    return ids


def _qa(*args: str, model: Path) -> list[str]:
    env = {**os.environ, "QA_MODEL": str(model), "PYTHONUNBUFFERED": "1"}
    return [sys.executable, "-m", "qa", *args], env


def _committed_ids(index_dir: Path, model: Path) -> list[str] | None:
    """The documents of the committed state, after full verification; None when nothing was committed."""
    from qa.model.embedding import SentenceTransformerEmbedder

    try:
        index = Index.load(index_dir, embedder=SentenceTransformerEmbedder(str(model)))
    except IndexNotFoundError:
        return None
    for chunk in index.snapshot().chunks.values():
        assert index.article(chunk.doc_id).text[chunk.start : chunk.end] == chunk.text
    return sorted(index.document_ids)


@pytest.mark.slow
def test_sigkill_during_indexing_never_leaves_a_broken_index(tmp_path: Path, tiny_model: Path) -> None:
    ids = _corpus(tmp_path / "corpus")
    index_dir = tmp_path / "index"
    rng = random.Random(20261123)
    command, env = _qa("index", str(tmp_path / "corpus"), "--index-dir", str(index_dir), "--checkpoint-every", str(CHECKPOINT), model=tiny_model)
    started = time.perf_counter()
    subprocess.run([*command, "--rebuild"], env=env, check=True, capture_output=True)
    full_run = time.perf_counter() - started
    shutil.rmtree(index_dir)
    survived, before = 0, None
    for trial in range(TRIALS):
        rebuild = trial % 5 == 4
        process = subprocess.Popen([*command, *(["--rebuild"] if rebuild else [])], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.2, full_run))
        process.send_signal(signal.SIGKILL)
        process.wait()
        after = _committed_ids(index_dir, tiny_model)
        if after is not None:
            count = len(after)
            assert after == ids[:count], "committed documents must be a prefix of the input order"
            previous = len(before or [])
            # either nothing new was committed, or whole checkpoint batches were (counted from the run's start)
            start = 0 if rebuild else previous
            assert count == previous or count == CORPUS_SIZE or (count - start) % CHECKPOINT == 0, (trial, previous, count)
        before = after
        survived += 1
    subprocess.run(command, env=env, check=True, capture_output=True)
    assert _committed_ids(index_dir, tiny_model) == ids
    assert survived == TRIALS
    assert not list(index_dir.glob("*.tmp"))


@pytest.mark.slow
def test_queries_during_upserts_and_deletes_always_see_consistent_text(tmp_path: Path, tiny_model: Path) -> None:
    from qa.model.embedding import SentenceTransformerEmbedder

    versions = {f"d{i}": [f"نسخة أولى من الخبر {i}. الوزير زار المدينة.", f"نسخة ثانية معدلة من الخبر {i}. الوزير غادر البلاد."] for i in range(30)}
    Index.build([Article(id=k, text=v[0]) for k, v in versions.items()], tmp_path / "index",
                embedder=SentenceTransformerEmbedder(str(tiny_model)), progress=False)
    reader = Index.load(tmp_path / "index", embedder=SentenceTransformerEmbedder(str(tiny_model)))
    jsonl = tmp_path / "v2.jsonl"
    jsonl.write_text("\n".join(json.dumps({"id": k, "text": v[1]}, ensure_ascii=False) for k, v in versions.items()), encoding="utf-8")
    script = (
        "import sys; from qa.index import Index; from qa.records import Article\n"
        "from qa.model.embedding import SentenceTransformerEmbedder as E\n"
        f"ix = Index.load({str(tmp_path / 'index')!r}, embedder=E({str(tiny_model)!r}))\n"
        "for round in range(4):\n"
        f"    ix.add({str(jsonl)!r}, progress=False)\n"
        "    ix.delete(['d1', 'd2', 'd3'])\n"
        f"    ix.add([Article(id=k, text=t) for k, t in {json.dumps({k: v[0] for k, v in versions.items()}, ensure_ascii=False)}.items()], progress=False)\n"
    )
    writer = subprocess.Popen([sys.executable, "-c", script], cwd=REPO)
    errors: list[BaseException] = []
    checked = [0]

    def query_loop() -> None:
        retriever = Retriever(reader)
        try:
            while writer.poll() is None:
                for hit in retriever.search("الوزير زار المدينة", k=5):
                    assert any(v[hit.start : hit.end] == hit.text for v in versions[hit.doc_id])
                    checked[0] += 1
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=query_loop) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert writer.wait(timeout=60) == 0
    assert not errors, errors[0]
    assert checked[0] > 0 and reader.snapshot().generation > 1


def test_bad_input_sweep_indexes_the_good_and_names_the_bad(tmp_path: Path) -> None:
    folder = tmp_path / "sweep"
    folder.mkdir()
    (folder / "empty.txt").write_bytes(b"")
    (folder / "huge.txt").write_text("كلمة " * 4_200_000, encoding="utf-8")  # one 21 MB line
    (folder / "nul.txt").write_bytes("نص\x00ثنائي".encode())
    (folder / "latin1.txt").write_bytes(b"\xe9t\xe9")
    (folder / "utf16.txt").write_bytes("عنوان\nنص بترميز UTF-16".encode("utf-16"))
    (folder / "marks.txt").write_text("عنوان\u200f\nنص\u200d فيه علامات اتجاه \u202bوروابط صفرية\u202c.", encoding="utf-8")
    (folder / "mixed.md").write_text("# Rabat الرباط\nزار Antony Blinken العاصمة الرباط في 2024.", encoding="utf-8")
    (folder / "script.html").write_text(
        "<title>x</title><p>نص ظاهر في الصفحة يتحدث عن اجتماع وزراء الخارجية العرب في القاهرة يوم الخميس الماضي.</p>"
        "<script>alert('x')</script>",
        encoding="utf-8",
    )
    (folder / "types.jsonl").write_text('{"id": 1, "text": "نص رقمي المعرف"}\n{"id": "a", "text": ["list"]}\n{"id": "b", "text": "ب", "date": 2024}\n', encoding="utf-8")
    (folder / "dups.jsonl").write_text('{"id": "same", "text": "الأول"}\n{"id": "same", "text": "الثاني"}\n', encoding="utf-8")
    index = Index.build(folder, tmp_path / "index", embedder=HashEmbedder(), progress=False)
    assert sorted(index.document_ids) == ["1", "marks.txt", "mixed.md", "same", "script.html", "utf16.txt"]
    assert index.article("same").text == "الأول"
    assert "alert" not in index.article("script.html").text


def test_ten_thousand_tiny_documents(tmp_path: Path) -> None:
    articles = [Article(id=f"t{i}", text=f"خبر قصير رقم {i}.") for i in range(10_000)]
    index = Index.build(articles, tmp_path / "index", embedder=HashEmbedder(), progress=False)
    assert len(index.document_ids) == 10_000 and len(index) == 10_000
    assert len(Index.load(tmp_path / "index", embedder=HashEmbedder()).document_ids) == 10_000


# ---------------------------------------------------------------------- kill -9 during add, delete, merge

SEGMENT_CHILD = """
import sys, json
from qa.index import Index
from qa.records import Article
from tests.conftest import HashEmbedder
index = Index.load(sys.argv[1], embedder=HashEmbedder())
print("ready", flush=True)
sys.stdin.readline()
op = sys.argv[2]
if op == "add":
    index.add([Article(id=f"new{i}", text=f"خبر جديد رقم {i} عن الاجتماع الطارئ.") for i in range(25)]
              + [Article(id="a3", text="نسخة معدلة من الخبر الثالث.")], progress=False)
elif op == "delete":
    index.delete([f"a{i}" for i in range(0, 270, 9)])
else:
    index.optimize()
print("done", flush=True)
"""


def _documents(index_dir: Path) -> dict[str, str]:
    """The committed state (every file verified against the manifest): article id -> text."""
    index = Index.load(index_dir, embedder=HashEmbedder())
    snap = index.snapshot()
    for chunk in snap.chunks.values():
        assert snap.articles[chunk.doc_id].text[chunk.start : chunk.end] == chunk.text
    assert len(snap.vectors.ids()) == len(snap.lexical.ids) == len(snap.chunks)
    return {doc_id: a.text for doc_id, a in snap.articles.items()}


def _run_child(index_dir: Path, op: str, kill_after: float | None) -> float:
    child = subprocess.Popen([sys.executable, "-c", SEGMENT_CHILD, str(index_dir), op], cwd=REPO,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert child.stdout.readline().strip() == "ready"
    started = time.perf_counter()
    child.stdin.write("go\n")
    child.stdin.flush()
    if kill_after is None:
        assert child.stdout.readline().strip() == "done"
        child.wait()
        return time.perf_counter() - started
    time.sleep(kill_after)
    child.send_signal(signal.SIGKILL)
    child.wait()
    return time.perf_counter() - started


@pytest.fixture(scope="module")
def segmented_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """270 articles in 9 segments of 30: one more segment fills the tier, so an add (one checkpoint
    batch: fewer than 30 articles) also merges."""
    from qa.config import Settings

    index_dir = tmp_path_factory.mktemp("segmented") / "index"
    articles = [Article(id=f"a{i}", text=f"خبر {i}. قال المتحدث إن الاجتماع رقم {i} ناقش التعاون.") for i in range(270)]
    Index.build(articles, index_dir, embedder=HashEmbedder(), progress=False, settings=Settings(model=HashEmbedder.name, checkpoint_every=30))
    return index_dir


@pytest.mark.slow
@pytest.mark.parametrize("op", ["add", "delete", "merge"])
def test_sigkill_during_segment_add_delete_and_merge_leaves_the_old_or_the_new_state(tmp_path: Path, segmented_base: Path, op: str) -> None:
    old = _documents(segmented_base)
    reference = tmp_path / "reference"
    shutil.copytree(segmented_base, reference)
    duration = _run_child(reference, op, None)
    new = _documents(reference)
    assert new != old or op == "merge"
    rng = random.Random(f"segments-{op}")
    outcomes = {"old": 0, "new": 0}
    for trial in range(TRIALS):
        target = tmp_path / f"trial{trial}"
        shutil.copytree(segmented_base, target)
        _run_child(target, op, 0.0 if trial == 0 else rng.uniform(0, duration * 1.2))  # trial 0: at once
        after = _documents(target)
        assert after in (old, new), (op, trial, sorted(set(after) ^ set(old))[:5], sorted(set(after) ^ set(new))[:5], {k for k in after if after[k] != new.get(k)})
        outcomes["old" if after == old else "new"] += 1
        if trial % 5 == 0:  # and the crashed folder takes the next write
            _run_child(target, op, None)
            assert _documents(target) == new
        shutil.rmtree(target)
    assert sum(outcomes.values()) == TRIALS  # how many landed on each side depends on the machine's load
