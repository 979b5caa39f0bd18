"""The `qa` command through click's runner: JSON output, exit codes, one-line errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from qa.faces.cli import main
from tests.conftest import SEEDS

FIRST = "000_9744522dcfbc0ba7.txt"


@pytest.fixture(scope="module")
def index_dir(seeds_index, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the seeds' index, so commands that write cannot disturb other tests."""
    target = tmp_path_factory.mktemp("cli") / "index"
    shutil.copytree(seeds_index.index_dir, target)
    return target


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def test_every_command_has_help() -> None:
    for command in ("index", "search", "ask", "delete", "stats", "serve"):
        result = run(command, "--help")
        assert result.exit_code == 0 and "Usage: main " + command in result.output.replace("qa ", "main ")


def test_search_json_is_one_object_per_hit(index_dir: Path) -> None:
    result = run("search", "ما هي المبادرات التي يشرف عليها المغرب؟", "--index-dir", str(index_dir), "-k", "3", "--json")
    assert result.exit_code == 0
    hits = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(hits) == 3 and set(hits[0]) >= {"doc_id", "title", "text", "start", "end", "score"}
    assert any(h["doc_id"] == FIRST and "ثلاث مبادرات" in h["text"] for h in hits)


@pytest.mark.quality
def test_ask_text_json_and_batch(index_dir: Path, tmp_path: Path) -> None:
    text = run("ask", "ما هي المبادرات التي يشرف عليها المغرب؟", "--index-dir", str(index_dir))
    assert text.exit_code == 0 and "ثلاث مبادرات" in text.output and "المصادر:" in text.output
    record = json.loads(run("ask", "من هو نايثن سايلس؟", "--index-dir", str(index_dir), "--json").stdout)
    assert record["quotes"] and record["quotes"][0]["doc_id"] == FIRST
    questions = tmp_path / "questions.txt"
    questions.write_text("ما هي المبادرات التي يشرف عليها المغرب؟\n\nWho is Abdellatif Hammouchi?\n", encoding="utf-8")
    batch = run("ask", "--questions", str(questions), "--index-dir", str(index_dir))
    lines = [json.loads(line) for line in batch.stdout.splitlines()]
    assert batch.exit_code == 0 and [r["question"] for r in lines] == ["ما هي المبادرات التي يشرف عليها المغرب؟", "Who is Abdellatif Hammouchi?"]


def test_index_is_incremental_then_delete_and_stats(index_dir: Path, tmp_path: Path) -> None:
    again = run("index", str(SEEDS), "--index-dir", str(index_dir), "--quiet")
    assert again.exit_code == 0 and "0 added, 0 updated, 2 unchanged" in again.output
    extra = tmp_path / "extra.txt"
    extra.write_text("خبر قصير\nافتتح وزير الصحة مستشفى جديدا في مدينة فاس.", encoding="utf-8")
    added = run("index", str(extra), "--index-dir", str(index_dir), "--quiet", "--json")
    assert json.loads(added.stdout)["report"]["added"] == 1
    stats = json.loads(run("stats", "--index-dir", str(index_dir), "--json").stdout)
    assert stats["documents"] == 3 and stats["model"] == "intfloat/multilingual-e5-small" and stats["size_bytes"] > 0
    deleted = run("delete", "extra.txt", "--index-dir", str(index_dir))
    assert deleted.exit_code == 0 and "1 deleted; 2 documents left" in deleted.output
    log = [json.loads(line) for line in run("log", "--index-dir", str(index_dir), "--json").stdout.splitlines()]
    changes = [(e["via"], e["action"], e["documents"]) for e in log if e["documents"][0]["id"] == "extra.txt"]
    assert [(via, action) for via, action, _ in changes] == [("cli", "add"), ("cli", "delete")]
    assert changes[0][2] == changes[1][2] and len(changes[0][2][0]["hash"]) == 64  # the same version, added then deleted


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["search", "  ", "--index-dir", "{index}"], "the question is empty"),
        (["search", "سؤال", "--index-dir", "{missing}"], "no index here"),
        (["stats", "--index-dir", "{empty}"], "not an index"),
        (["index", "{missing}", "--index-dir", "{index}"], "no such file or folder"),
        (["index", "{empty}", "--index-dir", "{index}"], "no .txt"),
        (["delete", "nope.txt", "--index-dir", "{index}"], "no such document"),
        (["ask", "--index-dir", "{index}"], "give either a QUESTION or --questions FILE"),
        (["search", "سؤال", "--index-dir", "{index}", "--since", "2017-02-30"], "since must be a date as YYYY-MM-DD"),
        (["ask", "سؤال", "--index-dir", "{index}", "--until", "yesterday"], "until must be a date as YYYY-MM-DD"),
        (["ask", "سؤال", "--index-dir", "{index}", "--since", "2018-01-02", "--until", "2018-01-01"], "is after until"),
    ],
)
def test_user_errors_get_one_line_and_a_nonzero_exit(index_dir: Path, tmp_path: Path, args, message) -> None:
    (tmp_path / "empty").mkdir()
    paths = {"index": index_dir, "missing": tmp_path / "missing", "empty": tmp_path / "empty"}
    result = CliRunner().invoke(main, [a.format(**paths) for a in args])
    assert result.exit_code != 0
    assert message in result.output and "Traceback" not in result.output
    assert len([line for line in result.output.splitlines() if line.startswith("Error") or line.startswith("warning")]) == 1
    assert json.loads(run("stats", "--index-dir", str(index_dir), "--json").stdout)["documents"] == 2


@pytest.mark.quality
def test_a_fresh_ask_answers_without_importing_torch(index_dir: Path) -> None:
    """Cold start is mostly imports: the query path runs the ONNX export, so torch, transformers and
    sentence-transformers (4-5 s of start-up) must stay out of a `qa ask` process."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from qa.faces.cli import main\n"
        f"try:\n    main(['ask', 'ما هي المبادرات التي يشرف عليها المغرب؟', '--index-dir', {str(index_dir)!r}, '--json'])\n"
        "except SystemExit as exit:\n    assert not exit.code, exit.code\n"
        "print([m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules], file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    answer = json.loads(out.stdout)
    assert not answer["abstained"] and "مبادرات" in answer["quotes"][0]["text"]
    assert out.stderr.splitlines()[-1] == "[]", out.stderr
