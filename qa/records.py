"""Typed records passed between the stages: ingest -> chunk -> index -> retrieve -> quote -> cite.

All are frozen so that a stage returns new objects rather than mutating what it was given;
`to_dict` gives the JSON-friendly form used by the CLI's `--json` and the app's API.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Article:
    """One source document, its raw text kept verbatim (offsets everywhere point into `text`).

    `date` is ISO 8601 (`YYYY-MM-DD`, or with time and zone) when ingest could read it, else the
    string exactly as the source gave it; `source` is the outlet; `author` and `category` are
    optional, as a page or feed gives them.
    """

    id: str
    text: str
    title: str = ""
    url: str | None = None
    date: str | None = None
    source: str | None = None
    author: str | None = None
    category: str | None = None

    @property
    def content_hash(self) -> str:
        """Hash of everything that changes what is indexed or shown; upserts skip unchanged articles.

        `author` and `category` join the payload only when set, so an article without them hashes
        exactly as it did before they existed and indexes built then are not re-embedded.
        """
        parts = [self.text, self.title, self.url or "", self.date or "", self.source or ""]
        if self.author is not None or self.category is not None:
            parts += ["author=" + (self.author or ""), "category=" + (self.category or "")]
        payload = "\x1f".join(parts)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence span inside an article, `article.text[start:end]`."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Chunk:
    """A retrievable passage: `article.text[start:end] == text` always holds."""

    id: int
    doc_id: str
    start: int
    end: int
    text: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Hit:
    """A retrieved chunk with its score, best first in a result list."""

    chunk_id: int
    doc_id: str
    title: str
    text: str
    start: int
    end: int
    score: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Citation:
    """A numbered source of an answer: what `[n]` in the answer text refers to."""

    number: int
    doc_id: str
    title: str
    url: str | None = None
    date: str | None = None
    source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Quote:
    """A verbatim span of an article: `article.text[start:end] == text`.

    `citation` is the number the quote carries in the answer; `also_cited` lists the numbers of
    other articles that say the same thing (news agencies repeat each other), shown as `[1][3]`.
    """

    text: str
    doc_id: str
    title: str
    start: int
    end: int
    score: float
    citation: int = 0
    url: str | None = None
    also_cited: tuple[int, ...] = ()
    truncated: bool = False

    @property
    def markers(self) -> str:
        return "".join(f"[{n}]" for n in (self.citation, *self.also_cited))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["also_cited"] = list(self.also_cited)
        return data


@dataclass(frozen=True, slots=True)
class Report:
    """One outlet's value for what a question asked, quoted: `value` as written inside the verbatim
    sentence `text` (`article.text[start:end]`), and `normalized` ("13", "90-110", an ISO day)."""

    value: str
    normalized: str
    doc_id: str
    source: str | None
    date: str | None
    text: str
    start: int
    end: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Disagreement:
    """Independent reports of one event that give different values (`kind` "differ"), or a toll that
    rose from one report to the next ("update"); reports oldest first (`qa.answer.disagreement`)."""

    kind: str
    reports: tuple[Report, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "reports": [r.to_dict() for r in self.reports]}


@dataclass(frozen=True, slots=True)
class Answer:
    """What `Assistant.ask` returns: quotes with citations, or an abstention with related passages.

    `confidence` is "high", "medium" or "low" for an answer ("" when abstained; `qa.answer.confidence`
    says what each word means). `clarify` is set, with `abstained`, when the question does not say
    whom or what it is about ("أين ولد؟" as a first question): the text asks the reader to name it.
    """

    question: str
    text: str
    quotes: tuple[Quote, ...] = ()
    citations: tuple[Citation, ...] = ()
    abstained: bool = False
    related: tuple[Hit, ...] = ()
    language: str = "ar"
    context: str = ""
    confidence: str = ""
    clarify: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    disagreement: Disagreement | None = None
    """Outlets that report a different value for what was asked, beside the answer (never instead of it)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "text": self.text,
            "abstained": self.abstained,
            "language": self.language,
            "context": self.context,
            "confidence": self.confidence,
            "clarify": self.clarify,
            "quotes": [q.to_dict() for q in self.quotes],
            "citations": [c.to_dict() for c in self.citations],
            "related": [h.to_dict() for h in self.related],
            "disagreement": self.disagreement.to_dict() if self.disagreement else None,
            **self.extra,
        }
