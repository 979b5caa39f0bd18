"""The README stays true: every CLI command and option is documented, and the test command is .ci/run's."""

from __future__ import annotations

import re

from qa.faces.cli import main
from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def test_every_command_and_option_is_in_the_readme() -> None:
    for name, command in main.commands.items():
        assert f"qa {name}" in README, f"README does not show `qa {name}`"
        for param in command.params:
            for flag in getattr(param, "opts", []):
                if flag.startswith("--") and flag != "--help":
                    assert flag in README, f"README does not mention {flag} of `qa {name}`"


def test_readme_test_command_is_what_ci_runs() -> None:
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^make test\b", ci, re.M)
    assert "make test" in README and "make demo" in README


def test_public_api_names_are_documented() -> None:
    for name in ("from qa import Index, Retriever, Assistant", "Index.build(", "Index.load(", ".search(", ".ask(",
                 "index.add(", "index.delete(", "index.sync(", "python -m qa.eval"):
        assert name in README
