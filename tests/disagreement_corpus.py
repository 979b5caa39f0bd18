"""The cases of outlets that disagree (tests/data/disagreement_cases.json) and the articles they need.

The articles are real (the multi-outlet development set, ../shared/data/news/ant-multisource-dev.jsonl.gz,
ANT Corpus v2.1: Chouigui, Ben Khiroun, Elayeb, Arabian Journal for Science and Engineering 46(8),
2021), copied unchanged into tests/data/disagreement_articles.jsonl; docs/disagreement.md says how
each case was chosen.
"""

from __future__ import annotations

import json
from pathlib import Path

from qa.records import Article

DATA = Path(__file__).parent / "data"
CASES: dict[str, dict] = {c["id"]: c for c in json.loads((DATA / "disagreement_cases.json").read_text(encoding="utf-8"))}
_FIELDS = ("id", "text", "title", "url", "date", "source", "category")


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def case_articles(*case_ids: str, distractors: bool = True) -> list[Article]:
    """The articles of `case_ids`, and (by default) the 48 real Jawhara FM articles of
    tests/data/news_distractors.jsonl beside them."""
    wanted = {d for case in case_ids for d in CASES[case]["docs"]}
    rows = [r for r in _records(DATA / "disagreement_articles.jsonl") if r["id"] in wanted]
    if distractors:
        rows += _records(DATA / "news_distractors.jsonl")
    return [Article(**{k: r.get(k) for k in _FIELDS}) for r in rows]
