"""Drivers for `tests/test_cluster.py`: each runs inside the test cluster's namespaces (`RayCluster.run`),
connects to it, does one scenario with the real model, and prints one JSON object.

    python -m tests.cluster_driver build SOURCE INDEX_DIR
    python -m tests.cluster_driver answers INDEX_DIR QUESTIONS_JSON UPDATES_JSONL
    python -m tests.cluster_driver kill-shard INDEX_DIR QUESTIONS_JSON
    python -m tests.cluster_driver node-loss INDEX_DIR QUESTIONS_JSON
    python -m tests.cluster_driver json-under-faults SOURCE INDEX_DIR QUESTIONS_JSON

Answers are compared inside the driver, the local index and the cluster one side by side in one
process with one query embedder, so both sides search with the very same question vectors; what
differs is reported whole, for the test to show.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from tests.ray_cluster import ADDRESS, start_second_node, stop_second_node

SHARDS = 3
CHECKPOINT = 20
"""Articles per segment in the test builds: the corpus makes about ten segments (and a merge), so three
shards each hold several."""


def _compare(local_index, cluster_index, questions: list[dict[str, Any]]) -> dict[str, Any]:
    """For each question: the top-10 hits and the `Answer` (follow-ups through `ask_in_context`) on
    both indexes; the mismatches, whole."""
    from qa.answer.assistant import Assistant
    from qa.answer.followup import ask_in_context
    from qa.filters import Filters
    from qa.retrieve import Retriever

    sides = {name: (Retriever(index), Assistant(Retriever(index))) for name, index in (("local", local_index), ("cluster", cluster_index))}
    mismatches, answered, abstained = [], 0, 0
    for item in questions:
        filters = Filters(**item["filters"]) if item.get("filters") else None
        got = {}
        for name, (retriever, assistant) in sides.items():
            hits = [(h.chunk_id, h.doc_id, h.start, h.end, h.score) for h in retriever.search(item["q"], 10, filters=filters)]
            if item.get("previous"):
                first = assistant.ask(item["previous"], filters=filters)
                answer = ask_in_context(assistant, item["q"], item["previous"], first, filters=filters).answer
            else:
                answer = assistant.ask(item["q"], filters=filters)
            got[name] = {"hits": hits, "answer": answer.to_dict()}
        if got["local"] != got["cluster"]:
            mismatches.append({"question": item, **got})
        abstained += got["cluster"]["answer"]["abstained"]
        answered += not got["cluster"]["answer"]["abstained"]
    return {"questions": len(questions), "mismatches": mismatches, "answered": answered, "abstained": abstained}


def _indexes(index_dir: Path, shards: int = SHARDS):
    from qa.index import Index
    from qa.model.embedding import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder()
    local = Index.load(index_dir, embedder=embedder)
    cluster = Index.load(index_dir, embedder=embedder, cluster=ADDRESS, shards=shards)
    return local, cluster


def build(source: Path, index_dir: Path) -> dict[str, Any]:
    """The source read by tasks on the cluster as a local read gives it; then `qa index SOURCE
    --cluster` with two workers, each killed (SIGKILL) once in the middle of a batch."""
    from click.testing import CliRunner

    from qa.faces.cli import main

    killed: list[dict[str, Any]] = []
    done = threading.Event()

    def killer() -> None:
        rng = random.Random(26)
        while not done.is_set() and len(killed) < 2:
            busy = _processes("ray::EmbeddingWorker.stage")
            if busy and len(_processes("ray::EmbeddingWorker")) >= 2:
                time.sleep(rng.uniform(0.2, 1.0))
                for pid in _processes("ray::EmbeddingWorker.stage")[:1]:
                    os.kill(pid, signal.SIGKILL)
                    killed.append({"pid": pid, "staging": sorted(p.name for p in (index_dir / ".staging").glob("*"))})
                time.sleep(3.0)  # let it restart and take its batch again
            time.sleep(0.05)

    from qa.index.cluster import Cluster
    from qa.ingest.files import iter_path

    warned: tuple[list[str], list[str]] = ([], [])
    read = [list(iter_path(source, warned[0])), list(Cluster(ADDRESS).read(source, warned[1]))]
    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    args = ["index", str(source), "--index-dir", str(index_dir), "--rebuild", "--cluster", ADDRESS, "--workers", "2",
            "--checkpoint-every", str(CHECKPOINT), "--quiet", "--json"]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    done.set()
    thread.join()
    return {"exit_code": result.exit_code, "output": result.output[-3000:], "killed": killed,
            "staging_left": (index_dir / ".staging").exists(),
            "read_on_cluster_as_locally": read[0] == read[1] and warned[0] == warned[1], "articles_read": len(read[1]), "warnings": warned[1]}


def answers(index_dir: Path, questions_file: Path, updates: Path) -> dict[str, Any]:
    """Same hits and answers on 3 shards as locally; then after a delete and an add committed by
    the cluster index (the add embedded by its workers), seen by both at their next query; and the
    CLI's `ask --json` and `search --json` with and without `--cluster`."""
    from click.testing import CliRunner

    from qa.faces.cli import main
    from qa.records import Article

    questions = json.loads(questions_file.read_text(encoding="utf-8"))
    local, cluster = _indexes(index_dir)
    before = _compare(local, cluster, questions["asked"])
    shards = cluster._cluster.describe()
    generation = cluster.snapshot().generation
    deleted = cluster.delete(questions["delete"])
    added = cluster.add([Article(**json.loads(line)) for line in updates.read_text(encoding="utf-8").splitlines()], progress=False)
    after = _compare(local, cluster, questions["after_update"])
    cli = {}
    for command in (["ask", questions["cli"]], ["search", questions["cli"], "-k", "10"]):
        outputs = [CliRunner().invoke(main, [*command, "--index-dir", str(index_dir), "--json", *extra], catch_exceptions=False) for extra in ([], ["--cluster", ADDRESS])]
        cli[command[0]] = {"same": outputs[0].output == outputs[1].output, "exit_codes": [o.exit_code for o in outputs], "local": outputs[0].output[-2000:], "cluster": outputs[1].output[-2000:]}
    return {
        "before": before,
        "after": after,
        "shards": shards,
        "generations": [generation, cluster.snapshot().generation, local.snapshot().generation],
        "deleted": deleted.deleted,
        "added": added.added,
        "documents": [len(local.document_ids), len(cluster.document_ids)],
        "cli": cli,
    }


def kill_shard(index_dir: Path, questions_file: Path) -> dict[str, Any]:
    """Ten questions in a row while two shard processes are killed (SIGKILL), each at a random
    moment during the batch; every answer must be the local one."""
    from qa.answer.assistant import Assistant
    from qa.retrieve import Retriever

    questions = json.loads(questions_file.read_text(encoding="utf-8"))["batch"]
    local, cluster = _indexes(index_dir)
    expected = [Assistant(Retriever(local)).ask(q).to_dict() for q in questions]
    assistant = Assistant(Retriever(cluster))
    assistant.ask(questions[0])  # the shards take up the index before the clock starts
    before = cluster._cluster.describe()
    killed: list[int] = []
    rng = random.Random(9)
    moments = sorted(rng.uniform(0.0, 1.5) for _ in range(2))
    started = time.monotonic()

    def killer() -> None:
        for shard, moment in zip(rng.sample(range(SHARDS), 2), moments):
            time.sleep(max(0.0, started + moment - time.monotonic()))
            os.kill(before[shard]["pid"], signal.SIGKILL)
            killed.append(before[shard]["pid"])

    thread = threading.Thread(target=killer)
    thread.start()
    got, seconds = [], []
    for q in questions:
        t = time.monotonic()
        got.append(assistant.ask(q).to_dict())
        seconds.append(round(time.monotonic() - t, 3))
    thread.join()
    after = cluster._cluster.describe()
    return {
        "questions": len(questions),
        "answered_as_local": sum(a == b for a, b in zip(got, expected)),
        "mismatches": [{"q": q, "local": b, "cluster": a} for q, a, b in zip(questions, got, expected) if a != b],
        "killed": killed,
        "pids_before": [s["pid"] for s in before],
        "pids_after": [s["pid"] for s in after],
        "seconds": seconds,
    }


def node_loss(index_dir: Path, questions_file: Path) -> dict[str, Any]:
    """Three questions, then the second node is killed, then seven more: the shards it held start
    again on the head node from the shared index folder, and every answer is still the local one."""
    from qa.answer.assistant import Assistant
    from qa.retrieve import Retriever

    questions = json.loads(questions_file.read_text(encoding="utf-8"))["batch"]
    local, cluster = _indexes(index_dir)
    expected = [Assistant(Retriever(local)).ask(q).to_dict() for q in questions]
    assistant = Assistant(Retriever(cluster))
    got = [assistant.ask(q).to_dict() for q in questions[:3]]
    before = cluster._cluster.describe()
    stopped = stop_second_node(Path(os.environ["QA_TEST_CLUSTER_TMP"]))
    seconds = []
    for q in questions[3:]:
        t = time.monotonic()
        got.append(assistant.ask(q).to_dict())
        seconds.append(round(time.monotonic() - t, 3))
    after = cluster._cluster.describe()
    import ray

    return {
        "questions": len(questions),
        "answered_as_local": sum(a == b for a, b in zip(got, expected)),
        "mismatches": [{"q": q, "local": b, "cluster": a} for q, a, b in zip(questions, got, expected) if a != b],
        "nodes_before": sorted({s["node"] for s in before}),
        "nodes_after": sorted({s["node"] for s in after}),
        "alive_nodes": sorted(n["NodeID"] for n in ray.nodes() if n.get("Alive")),
        "stopped_pids": stopped,
        "seconds_after_loss": seconds,
    }


def json_under_faults(source: Path, index_dir: Path, questions_file: Path) -> dict[str, Any]:
    """`qa index|ask|search|stats --json` as real processes, as a program runs them, while Ray
    processes die: `index --cluster` with an embedding worker killed (SIGKILL) mid-batch; `ask
    --questions - --cluster` asked once, then the second node killed, then asked again once the
    cluster has told its drivers that the node is dead ("(raylet) The node with node id ..."); then
    `ask`, `search` and `stats`. Each command's stdout and stderr, whole."""
    tmp = Path(os.environ["QA_TEST_CLUSTER_TMP"])
    question = json.loads(questions_file.read_text(encoding="utf-8"))["cli"]
    qa = [sys.executable, "-m", "qa"]
    where = ["--index-dir", str(index_dir), "--json"]
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    start_second_node(tmp)  # the node-loss test leaves it down, and two workers need both nodes' CPUs
    index = subprocess.Popen([*qa, "index", str(source), *where, "--rebuild", "--cluster", ADDRESS, "--workers", "2", "--quiet"], **pipes)
    killed: list[int] = []
    while index.poll() is None and not killed:
        busy = _processes("ray::EmbeddingWorker.stage")
        if busy:
            os.kill(busy[0], signal.SIGKILL)
            killed.append(busy[0])
        time.sleep(0.05)
    out, err = index.communicate(timeout=600)
    runs = {"index": {"exit_code": index.returncode, "stdout": out, "stderr": err}}

    asking = subprocess.Popen([*qa, "ask", "--questions", "-", *where, "--cluster", ADDRESS], stdin=subprocess.PIPE, **pipes)
    asking.stdin.write(question + "\n")
    asking.stdin.flush()
    first = asking.stdout.readline()  # answered: this driver is connected
    stopped = stop_second_node(tmp)
    deadline = time.monotonic() + 60
    while "/1.0 CPU" not in subprocess.run(["ray", "status", "--address", ADDRESS], capture_output=True, text=True).stdout:
        assert time.monotonic() < deadline, "the cluster never declared the second node dead"
        time.sleep(0.5)
    time.sleep(2.0)  # the news reaches the connected driver
    out, err = asking.communicate(question + "\n", timeout=300)
    runs["ask --questions"] = {"exit_code": asking.returncode, "stdout": first + out, "stderr": err}
    for name, args in (("ask", ["ask", question, "--cluster", ADDRESS]), ("search", ["search", question, "-k", "3", "--cluster", ADDRESS]), ("stats", ["stats"])):
        done = subprocess.run([*qa, *args, *where], capture_output=True, text=True, timeout=300)
        runs[name] = {"exit_code": done.returncode, "stdout": done.stdout, "stderr": done.stderr}
    return {"runs": runs, "killed_worker": killed, "stopped_pids": stopped}


def _processes(title: str) -> list[int]:
    """Pids of this namespace's processes whose command line starts with `title` (Ray sets an
    actor's process title to `ray::Class.method` while a method runs, `ray::Class` when idle)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
            except OSError:
                continue
            if command.startswith(title):
                found.append(int(entry.name))
    return sorted(found)


def main(argv: list[str]) -> int:
    scenario, *args = argv
    paths = [Path(a) for a in args]
    run = {"build": build, "answers": answers, "kill-shard": kill_shard, "node-loss": node_loss, "json-under-faults": json_under_faults}[scenario]
    print(json.dumps(run(*paths), ensure_ascii=False))
    sys.stdout.flush()
    os._exit(0)  # skip Ray's shutdown at exit: the cluster is the test's to stop


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
