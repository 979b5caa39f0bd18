"""The README stays true: every CLI command and option is documented, the test command is .ci/run's,
the README's examples run on the seeds, every `qa` line in the docs parses, and every link resolves.

The README marks the blocks that are run with an HTML comment on the line before the fence
(`<!-- runnable ... -->`): one `python` block, run as it stands, and `console` blocks whose `$ qa ...`
lines are run one after another through click's runner, in a folder holding the seeds (`seeds/`),
the seeds' index (`index/`) and a `questions.txt`.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from qa.faces.cli import main
from tests.conftest import REPO, SEEDS

README = (REPO / "README.md").read_text(encoding="utf-8")
DOCS = [REPO / "README.md", REPO / "bench" / "README.md", *sorted((REPO / "docs").glob("*.md"))]
MAX_README_LINES = 260
"""The issue asks for a README of about 250 lines; engineers' detail belongs in docs/."""

FENCE = re.compile(
    r"^(?:(?P<marker><!-- runnable[^\n]*-->)\n)?```(?P<lang>\w*)[^\n]*\n(?P<body>.*?)^```", re.MULTILINE | re.DOTALL
)
ISOLATES = dict.fromkeys(map(ord, "\u2066\u2067\u2068\u2069"))  # the invisible marks around [n] in RTL text
QUESTIONS = ["ما هي المبادرات التي يشرف عليها المغرب؟", "من هو نايثن سايلس؟"]


def fenced_blocks(text: str) -> list[tuple[bool, str, str]]:
    """(runnable, language, body) of every fenced block of a Markdown text."""
    return [(bool(m["marker"]), m["lang"], m["body"]) for m in FENCE.finditer(text)]


def qa_lines(body: str) -> list[tuple[list[str], list[str]]]:
    """Each `$ qa ...` line of a console block as its arguments (after `qa`), with the output lines
    shown under it. A shell comment or output redirection ends the arguments."""
    found: list[tuple[list[str], list[str]]] = []
    for line in body.splitlines():
        if line.startswith("$ "):
            words = shlex.split(line[2:], comments=True)
            if words[:1] == ["qa"]:
                args = words[1:]
                for i, word in enumerate(args):
                    if word in (">", ">>", "|", "2>", "<"):
                        args = args[:i]
                        break
                found.append((args, []))
            else:
                found.append(([], []))  # another program's line: its output is not ours
        elif found:
            found[-1][1].append(line)
    return [(args, shown) for args, shown in found if args]


def runnable(language: str) -> list[str]:
    return [body for run, lang, body in fenced_blocks(README) if run and lang == language]


def parse(args: list[str]) -> click.Context:
    """Parse `qa ARGS` as the command would, without running it: a renamed or removed option, a bad
    choice or a missing argument raises click's usage error."""
    group = click.Context(main, info_name="qa")
    command = main.get_command(group, args[0])
    if command is None:
        raise click.UsageError(f"no such command {args[0]!r}")
    return command.make_context(args[0], list(args[1:]), parent=group)


@pytest.fixture
def seeds_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, real_embedder) -> Path:
    """A working folder with `seeds/` and `questions.txt`, made the current directory, where any index
    built or opened with the default model reuses the session's loaded model instead of loading it
    again (the vectors are the same; only the seconds differ)."""
    import qa.index.base as index_base

    original = index_base.SentenceTransformerEmbedder

    def reuse(name: str = real_embedder.name, **options: Any):
        return real_embedder if name == real_embedder.name else original(name, **options)

    monkeypatch.setattr(index_base, "SentenceTransformerEmbedder", reuse)
    shutil.copytree(SEEDS, tmp_path / "seeds")
    (tmp_path / "questions.txt").write_text("\n".join(QUESTIONS) + "\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_every_command_and_option_is_in_the_readme() -> None:
    for name, command in main.commands.items():
        assert f"qa {name}" in README, f"README does not show `qa {name}`"
        for param in command.params:
            for flag in getattr(param, "opts", []):
                if flag.startswith("--") and flag != "--help":
                    assert flag in README, f"README does not mention {flag} of `qa {name}`"


def test_readme_test_command_is_what_ci_runs() -> None:
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^make test\b", ci, re.MULTILINE)
    assert "make test" in README and "make demo" in README


def test_public_api_names_are_documented() -> None:
    for name in ("from qa import Index, Retriever, Assistant", "Index.build(", "Index.load(", ".search(", ".ask(",
                 "index.add(", "index.delete(", "index.sync(", "python -m qa.eval"):
        assert name in README


def test_readme_stays_a_readme() -> None:
    lines = README.count("\n")
    assert lines <= MAX_README_LINES, f"README.md has {lines} lines; move engineers' detail into docs/"


def test_readme_runs_every_command_but_serve() -> None:
    """The runnable blocks exist and exercise every command (serve would block: it is only parsed)."""
    assert len(runnable("python")) == 1, "README needs exactly one runnable ```python block"
    ran = {args[0] for body in runnable("console") for args, _ in qa_lines(body)}
    assert ran >= set(main.commands) - {"serve"}, f"no runnable README example of {set(main.commands) - {'serve'} - ran}"


def test_every_qa_line_in_the_docs_parses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every `$ qa ...` example in README.md, bench/README.md and docs/ names real options and values."""
    (tmp_path / "questions.txt").write_text(QUESTIONS[0] + "\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    checked = 0
    for path in DOCS:
        for _, language, body in fenced_blocks(path.read_text(encoding="utf-8")):
            if language not in ("console", "sh", "bash", "shell"):
                continue
            for args, _ in qa_lines(body):
                try:
                    parse(args)
                except click.ClickException as exc:
                    pytest.fail(f"{path.relative_to(REPO)}: `qa {shlex.join(args)}` no longer parses: {exc.format_message()}")
                checked += 1
    assert checked >= len(main.commands)


def test_app_options_in_the_readme_exist() -> None:
    """`python app.py --x` in the README names options app.py defines."""
    defined = set(re.findall(r"add_argument\(\s*\"(--[\w-]+)\"", (REPO / "app.py").read_text(encoding="utf-8")))
    lines = [line for line in README.splitlines() if "python app.py" in line]
    assert lines
    for line in lines:
        used = set(re.findall(r"(--[\w-]+)", line.split("#")[0]))
        assert used <= defined, f"app.py has no {used - defined}"


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_links_in_the_docs_resolve() -> None:
    """Every relative link of README.md, bench/README.md and docs/ names a file that exists and, with
    #anchor, a heading of it."""
    for path in DOCS:
        prose = FENCE.sub("", path.read_text(encoding="utf-8"))
        for target in re.findall(r"\]\(([^)\s]+)\)", prose):
            if re.match(r"[a-z]+:", target):
                continue
            file, _, anchor = target.partition("#")
            linked = (path.parent / file).resolve() if file else path
            assert linked.exists(), f"{path.relative_to(REPO)} links to missing {target}"
            if anchor:
                headings = FENCE.sub("", linked.read_text(encoding="utf-8"))
                slugs = {_slug(h) for h in re.findall(r"^#{1,6} (.+)$", headings, re.MULTILINE)}
                assert anchor in slugs, f"{path.relative_to(REPO)} links to {target}: no such heading"


@pytest.mark.quality
def test_readme_cli_examples_run_on_the_seeds(seeds_folder: Path, seeds_index) -> None:
    """The runnable console block, line by line, on a copy of the seeds' index: every command exits 0,
    and what the README shows of an answer, a search or a delete is what the command prints."""
    shutil.copytree(seeds_index.index_dir, seeds_folder / "index")
    for body in runnable("console"):
        for args, shown in qa_lines(body):
            password = "correct horse battery\n" if args[:2] == ["user", "add"] else None  # what `< password.txt` gives
            result = CliRunner().invoke(main, args, input=password, catch_exceptions=False)
            where = f"`qa {shlex.join(args)}`"
            assert result.exit_code == 0, f"{where} exited {result.exit_code}:\n{result.output}"
            printed = result.stdout.translate(ISOLATES)
            if "--json" in args or "--questions" in args:
                records = [json.loads(line) for line in printed.splitlines() if line.strip()]
                assert records, f"{where} printed no JSON"
            if args[0] == "ask" and "--questions" in args:
                assert [r["question"] for r in records] == QUESTIONS
                assert all(r["quotes"] and r["citations"] for r in records), f"{where}: an answer without a quote"
            elif args[0] == "ask" and "--json" not in args:
                shown_quotes = [line for line in shown if line.startswith("«")]
                assert shown_quotes and "[1]" in printed and "«" in printed, f"{where} printed no quoted answer"
                assert printed.splitlines()[0] == shown_quotes[0], f"{where}: README shows another first quote"
            elif args[0] == "search" and "--json" not in args:
                spans = re.findall(r"\(([^()\s]+:\d+-\d+)\)$", "\n".join(shown), re.MULTILINE)
                assert spans and all(span in printed for span in spans), f"{where} no longer finds {spans}"
            elif args[0] == "delete":
                assert shown and shown[0] in printed, f"{where} printed {printed!r}, README shows {shown[0]!r}"
            elif args[0] == "log":  # the delete above, logged with the article's hash
                assert shown and shown[0].split("  ")[-1] in printed, f"{where} printed {printed!r}, README shows {shown[0]!r}"


@pytest.mark.quality
def test_readme_python_example_runs_on_the_seeds(seeds_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The README's Python block, as written: it builds an index of the seeds, searches, and answers
    with a quote that is the article's own text and a citation that names the article."""
    (code,) = runnable("python")
    names: dict[str, Any] = {"__name__": "readme"}
    exec(compile(code, "README.md (python example)", "exec"), names)  # noqa: S102 -- the README's own example, run as written
    printed = capsys.readouterr().out.translate(ISOLATES)

    answer = names["answer"]
    assert not answer.abstained and answer.quotes and answer.citations
    quote = answer.quotes[0]
    cited = {c.number: c for c in answer.citations}[quote.citation]
    assert cited.doc_id == quote.doc_id
    assert names["index"].article(quote.doc_id).text[quote.start:quote.end] == quote.text
    assert "«" in printed and quote.text[:40] in printed, "the example prints no quoted answer"
    assert "ثلاث مبادرات" in quote.text
    assert "27 شتنبر" in names["turn"].answer.quotes[0].text
    assert names["hits"] == [], "the seeds are undated: no article passes a date filter"
