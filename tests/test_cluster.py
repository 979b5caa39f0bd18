"""More than one machine: a real two-node Ray cluster builds and serves a collection and answers as the
local index does, through a killed worker, killed shards and a lost node.

The cluster is real (`tests/ray_cluster.py`): a head and a second node started with `ray start` in
network and process namespaces of their own, reached by drivers that run inside them
(`tests/cluster_driver.py`), with the real model throughout. The collection is a slice of the
benchmark's (`bench/cluster.py --check` runs the whole set): XQuAD-ar paragraphs of three articles,
90 Jawhara FM news articles and the two seeds, in a folder of seven files, about 140 chunks in six
segments, served by three shards.

The first tests need no cluster: a local index never imports Ray, a cluster without Ray installed
is a one-line error, and a staged segment that differs from what its worker sealed is never committed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qa.config import Settings, default_model
from qa.index import Index
from qa.records import Article
from tests.conftest import REPO, SEEDS, XQUAD, HashEmbedder
from tests.news_corpus import jawhara_articles

CHECKPOINT = 20
XQUAD_ARTICLES = 3
NEWS_EVERY, NEWS_COUNT = 100, 90


# ---------------------------------------------------------------------- without a cluster


def test_a_local_index_never_imports_ray(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from qa.index import Index\nfrom qa.retrieve import Retriever\nfrom qa.records import Article\n"
        "from tests.conftest import HashEmbedder\n"
        f"ix = Index.build([Article(id='a', text='الوزير زار المدينة.')], {str(tmp_path / 'ix')!r}, embedder=HashEmbedder(), progress=False)\n"
        f"ix = Index.load({str(tmp_path / 'ix')!r}, embedder=HashEmbedder())\n"
        "Retriever(ix).search('الوزير', 3)\n"
        "print('ray' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_a_cluster_without_ray_is_one_line_saying_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from qa.errors import ClusterError
    from qa.faces.cli import main

    Index.build([Article(id="a", text="الوزير زار المدينة.")], tmp_path / "ix", embedder=HashEmbedder(), progress=False)
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` meets where the extra is not installed
    with pytest.raises(ClusterError, match=r"pip install -e '\.\[cluster\]'"):
        Index.load(tmp_path / "ix", embedder=HashEmbedder(), cluster="127.0.0.1:6379")
    result = CliRunner().invoke(main, ["search", "الوزير", "--index-dir", str(tmp_path / "ix"), "--cluster", "127.0.0.1:6379"])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and result.output.startswith("Error: a cluster needs Ray")


def test_a_staged_segment_that_differs_from_what_its_worker_sealed_is_never_committed(tmp_path: Path) -> None:
    from qa.errors import IndexCorruptError
    from qa.index import storage, writer
    from qa.index.batches import UpdateReport, plan, stage

    settings = Settings(model=HashEmbedder.name)
    index = Index.build([Article(id="a", text="الوزير زار المدينة.")], tmp_path / "ix", embedder=HashEmbedder(), settings=settings, progress=False)
    state = index.snapshot()
    new = [Article(id="b", text="مباراة كرة القدم انتهت بالتعادل.")]
    (batch,) = plan(new, state.articles.content_hash, state.next_chunk_id, settings, UpdateReport())
    staged = stage(batch, HashEmbedder(), tmp_path / "ix" / ".staging")
    before = (tmp_path / "ix" / storage.MANIFEST).read_bytes()
    vectors = staged.folder / "vectors.faiss"
    vectors.write_bytes(vectors.read_bytes()[:-8])  # what a worker killed while writing leaves
    meta = index._meta(state.vectors.dim)
    with pytest.raises(IndexCorruptError, match="truncated"):
        writer.commit(index.index_dir, state, staged=staged, updated_at=0.0, next_chunk_id=batch.first_chunk_id + batch.chunk_count, **meta)
    assert (tmp_path / "ix" / storage.MANIFEST).read_bytes() == before
    intact = stage(batch, HashEmbedder(), tmp_path / "ix" / ".staging")
    writer.commit(index.index_dir, state, staged=intact, updated_at=0.0, next_chunk_id=batch.first_chunk_id + batch.chunk_count, **meta)
    assert sorted(Index.load(tmp_path / "ix", embedder=HashEmbedder()).document_ids) == ["a", "b"]


# ---------------------------------------------------------------------- on a real cluster


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The slice: articles (JSONL), the questions of each scenario, and the articles an update adds."""
    from qa.train.datasets import load_squad

    folder = tmp_path_factory.mktemp("cluster-corpus")
    paragraphs, asked = load_squad(XQUAD / "xquad.ar.json", prefix="xquad:")
    titles = list(dict.fromkeys(a.id.split("#")[0] for a in paragraphs))[:XQUAD_ARTICLES]
    paragraphs = [a for a in paragraphs if a.id.split("#")[0] in titles]
    asked = [q for q in asked if q.article in titles]
    _, english = load_squad(XQUAD / "xquad.en.json", prefix="xquad:")
    english_by_id = {q.id: q.text for q in english}
    news = jawhara_articles(every=NEWS_EVERY, limit=NEWS_COUNT + 2)
    articles, extra = paragraphs + news[:NEWS_COUNT], news[NEWS_COUNT:]
    write = lambda path, items: path.write_text("\n".join(json.dumps(a.to_dict(), ensure_ascii=False) for a in items), encoding="utf-8")  # noqa: E731
    (folder / "articles").mkdir()
    for part in range(5):  # a folder of files, which a cluster build reads in parallel tasks
        write(folder / "articles" / f"part-{part}.jsonl", articles[part::5])
    for seed in sorted(SEEDS.glob("*.txt")):
        shutil.copy(seed, folder / "articles" / seed.name)
    bad = [json.dumps({"id": news[1].id, "text": "نسخة ثانية"}, ensure_ascii=False), "{not json", json.dumps({"id": "x"})]
    (folder / "articles" / "zz-bad.jsonl").write_text("\n".join(bad), encoding="utf-8")  # three warnings
    write(folder / "updates.jsonl", extra)
    arabic = asked[::7][:8]
    days = sorted(a.date for a in news if a.date)
    questions = {
        "asked": [{"q": q.text} for q in arabic]
        + [{"q": english_by_id[q.id]} for q in arabic[:6]]
        + [
            {"q": "ما هي حالة الطقس اليوم؟", "filters": {"since": days[len(days) // 3], "until": days[-1]}},
            {"q": "من فاز بالمباراة؟", "filters": {"categories": ["sport"]}},
            {"q": "ما هي عاصمة كندا؟"},
            {"q": "ومتى حدث ذلك؟", "previous": arabic[1].text},
        ],
        "delete": [arabic[0].doc_id, arabic[2].doc_id, news[0].id],
        "after_update": [{"q": arabic[0].text}, {"q": arabic[2].text}, {"q": extra[0].title}, {"q": extra[1].title}, {"q": arabic[3].text}],
        "cli": arabic[4].text,
        "batch": [q.text for q in asked[3::5][:5]] + [english_by_id[q.id] for q in asked[4::5][:5]],
    }
    (folder / "questions.json").write_text(json.dumps(questions, ensure_ascii=False), encoding="utf-8")
    return {"articles": folder / "articles", "updates": folder / "updates.jsonl", "questions": folder / "questions.json"}


@pytest.fixture(scope="module")
def local_index(corpus: dict[str, Path], tmp_path_factory: pytest.TempPathFactory, real_embedder) -> Path:
    """The slice indexed in this process, the way one machine does it."""
    index_dir = tmp_path_factory.mktemp("cluster-local") / "index"
    Index.build(corpus["articles"], index_dir, settings=Settings(model=default_model(), checkpoint_every=CHECKPOINT), embedder=real_embedder, progress=False)
    return index_dir


@pytest.fixture(scope="module")
def cluster():
    from tests.ray_cluster import RayCluster

    started = RayCluster().start()
    yield started
    started.stop()


def _drive(cluster, *args: object, timeout: float = 420) -> dict:
    """Run a scenario of `tests/cluster_driver.py` in the cluster's namespaces; its JSON result."""
    done = cluster.python("tests.cluster_driver", *map(str, args), timeout=timeout)
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0 and lines, f"driver failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}"
    return json.loads(lines[-1])


def _contents(index_dir: Path, embedder) -> dict:
    index = Index.load(index_dir, embedder=embedder)
    snap = index.snapshot()
    ids, vectors = snap.vectors.contents()
    order = np.argsort(ids)
    sentences = [snap.sentences[c] for c in snap.chunks]
    manifest = json.loads((index_dir / "manifest.json").read_text())
    return {
        "articles": {d: snap.articles[d].to_dict() for d in sorted(snap.articles)},
        "chunks": [(c.id, c.doc_id, c.start, c.end) for c in snap.chunks.values()],
        "ids": ids[order],
        "vectors": vectors[order],
        "spans": np.concatenate([s for s, _ in sentences]),
        "sentence_vectors": np.concatenate([v for _, v in sentences]).astype(np.float32),
        "segments": [(s["name"], s["chunks"], s["deleted"]) for s in manifest["segments"]],
        "settings": manifest["settings"],
        "next_chunk_id": manifest["next_chunk_id"],
    }


VECTOR_COSINE_BOUND = 0.9999
"""How far a worker's vectors (one thread) may be from this process's (two threads): rounding only.
Measured minimum cosine between the two builds: 1.0 exactly on AMD Zen 4 (bitwise equal, bfloat16 and
float32 alike, also with oneDNN capped at AVX2 or AVX512_CORE_VNNI); 0.9999828 on an Intel Xeon with
AMX in bfloat16 (issue 31), where the kernels split work by thread. The bound leaves 6 times that gap."""
SCORE_TIE = 0.01
"""Fused retrieval scores (0-1) and the question's answer probability (against the threshold) closer
than this are a near-tie that rounding may break either way: a rounding gap of 1.7e-5 in cosine moves
a fused score by about 3e-3 at most."""
SENTENCE_TIE = 0.05
"""Two sentences' probabilities within this share of the higher one are a near-tie: they are often
small (0.005 to 0.4 for the corpus questions), and rounding moves a probability by a share of itself
(about its change in log-odds, 1e-3 for a 1.7e-5 gap in cosine)."""


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def _same_hits_and_answers(built_dir: Path, local_dir: Path, questions: list[dict], embedder) -> int:
    """What a user sees from either index, with the same question vectors: the first hit and the
    answer (abstained or not, the first quote's span) must be the same, except on a near-tie in the local
    index's own scores (`SCORE_TIE`, `SENTENCE_TIE`). Returns how many questions had no near-tie."""
    from qa.answer.assistant import Assistant
    from qa.filters import Filters
    from qa.retrieve import Retriever

    local, built = (Assistant(Retriever(Index.load(d, embedder=embedder))) for d in (local_dir, built_dir))
    clear = 0
    for item in (q for q in questions if not q.get("previous")):
        filters = Filters(**item["filters"]) if item.get("filters") else None
        weighed = local.deliberate(item["q"], filters=filters)
        scores = sorted((r.score for r in weighed.ranked), reverse=True)
        chosen = sorted(weighed.probabilities, reverse=True) if weighed.probabilities is not None and len(weighed.probabilities) else [1.0]
        near_tie = (
            (len(scores) > 1 and scores[0] - scores[1] < SCORE_TIE)
            or (len(chosen) > 1 and chosen[0] - chosen[1] < SENTENCE_TIE * chosen[0])
            or abs(weighed.confidence - local.threshold) < SCORE_TIE
        )
        if near_tie:
            continue
        clear += 1
        hits = [a.retriever.search(item["q"], 1, filters=filters)[0] for a in (local, built)]
        assert (hits[0].chunk_id, hits[0].start, hits[0].end) == (hits[1].chunk_id, hits[1].start, hits[1].end), item
        answers = [a.ask(item["q"], filters=filters) for a in (local, built)]
        spans = [(x.abstained, [(q.doc_id, q.start, q.end) for q in x.quotes[:1]]) for x in answers]
        assert spans[0] == spans[1], (item, spans)
    return clear


@pytest.mark.slow
@pytest.mark.quality
def test_a_cluster_build_with_a_worker_killed_mid_batch_is_the_local_build(cluster, corpus, local_index, tmp_path, real_embedder) -> None:
    index_dir = tmp_path / "cluster-built"
    result = _drive(cluster, "build", corpus["articles"], index_dir)
    assert result["exit_code"] == 0, result["output"]
    assert len(result["killed"]) == 2, result  # two workers killed while embedding a batch
    assert not result["staging_left"]
    assert result["read_on_cluster_as_locally"] and result["articles_read"] == 107 and len(result["warnings"]) == 3
    built, local = _contents(index_dir, real_embedder), _contents(local_index, real_embedder)
    for key in ("articles", "chunks", "segments", "settings", "next_chunk_id"):
        assert built[key] == local[key], key
    assert np.array_equal(built["ids"], local["ids"]) and np.array_equal(built["spans"], local["spans"])
    assert _cosines(built["vectors"], local["vectors"]).min() > VECTOR_COSINE_BOUND
    assert _cosines(built["sentence_vectors"], local["sentence_vectors"]).min() > VECTOR_COSINE_BOUND
    compared = _same_hits_and_answers(index_dir, local_index, json.loads(corpus["questions"].read_text(encoding="utf-8"))["asked"], real_embedder)
    assert compared >= 10, compared  # 13 of 17 here: the others sit on a near-tie that rounding may break either way


@pytest.mark.slow
def test_three_shards_on_two_nodes_give_the_local_hits_and_answers_before_and_after_updates(cluster, corpus, local_index, tmp_path) -> None:
    index_dir = tmp_path / "index"
    shutil.copytree(local_index, index_dir)
    result = _drive(cluster, "answers", index_dir, corpus["questions"], corpus["updates"])
    assert len(result["shards"]) == 3 and len({s["node"] for s in result["shards"]}) == 2
    assert sum(len(s["segments"]) for s in result["shards"]) > 3 and all(s["segments"] for s in result["shards"])
    before, after = result["before"], result["after"]
    assert before["mismatches"] == [] and before["questions"] == 18
    assert before["answered"] >= 8 and before["abstained"] >= 1  # both kinds of answer are compared
    assert len(result["deleted"]) == 3 and len(result["added"]) == 2
    assert result["generations"][1] > result["generations"][0] and result["generations"][1] == result["generations"][2]
    assert result["documents"][0] == result["documents"][1]
    assert after["mismatches"] == [] and after["questions"] == 5
    for command, outputs in result["cli"].items():
        assert outputs["exit_codes"] == [0, 0] and outputs["same"], (command, outputs)


@pytest.mark.slow
def test_kill_9_of_shards_during_a_batch_of_questions_every_question_is_answered(cluster, corpus, local_index) -> None:
    result = _drive(cluster, "kill-shard", local_index, corpus["questions"])
    assert result["answered_as_local"] == result["questions"] == 10, result["mismatches"]
    assert len(result["killed"]) == 2
    restarted = [after for before, after in zip(result["pids_before"], result["pids_after"]) if before in result["killed"]]
    assert len(restarted) == 2 and not set(restarted) & set(result["killed"])


@pytest.mark.slow
def test_losing_the_second_node_its_shards_come_back_on_the_head_and_questions_are_answered(cluster, corpus, local_index) -> None:
    """The second node stays down (the next test starts it again)."""
    result = _drive(cluster, "node-loss", local_index, corpus["questions"])
    assert result["answered_as_local"] == result["questions"] == 10, result["mismatches"]
    assert len(result["nodes_before"]) == 2 and result["stopped_pids"]
    assert len(result["alive_nodes"]) == 1 and result["nodes_after"] == result["alive_nodes"]


@pytest.mark.slow
def test_json_commands_print_json_alone_on_stdout_while_ray_processes_die(cluster, corpus, tmp_path) -> None:
    """A program parses what `qa ... --json` prints: Ray's messages about a killed worker or a dead
    node go to stderr, never before or after the JSON (issue 31: "(raylet) The node with node id ..."
    came first on stdout)."""
    result = _drive(cluster, "json-under-faults", corpus["articles"], tmp_path / "index", corpus["questions"])
    runs = result["runs"]
    assert result["killed_worker"] and result["stopped_pids"]
    expected = {"index": 1, "ask --questions": 2, "ask": 1, "search": 3, "stats": 1}
    assert set(runs) == set(expected)
    for name, run in runs.items():
        assert run["exit_code"] == 0, (name, run["stderr"][-3000:])
        documents = [json.loads(line) for line in run["stdout"].splitlines()]  # JSON lines and nothing else
        assert len(documents) == expected[name], (name, run["stdout"][-3000:])
    assert "has been marked dead" in runs["ask --questions"]["stderr"]  # Ray did tell this driver, on stderr
    assert json.loads(runs["stats"]["stdout"])["documents"] == json.loads(runs["index"]["stdout"])["stats"]["documents"] == 107
