"""Articles -> checkpoint batches -> embedded, finished segments: the step a build repeats.

A build streams its source in batches of `Settings.checkpoint_every` articles and commits each as
one segment. This module holds the two halves that do not touch the manifest:

- `plan` decides, in the writer's process, what each batch adds (new and changed articles; the
  unchanged are skipped), cuts its articles into chunks and numbers them: batch i's chunk ids start
  where batch i-1's end. Chunking is cheap (0.2 s for 3,000 news articles here), embedding is not
  (about 40 chunks/s on 2 cores), so numbering first costs little and lets batches be embedded
  anywhere, in any order, and still get the ids a one-process build gives them.
- `make_segment` turns one planned batch into a finished `Segment`: sentences, passage and sentence
  vectors, MinHash signatures, postings. `stage` also writes it into a folder of its own and seals
  it (fsync and SHA-256 of every file), which is what a Ray worker does (`qa.index.cluster.build`).

`LocalEmbedding` runs `make_segment` batch after batch in this process, the default. The writer
(`qa.index.base`) commits each result through the manifest, in batch order, whoever embedded it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from qa.config import Settings
from qa.errors import InputError
from qa.index import signatures, storage
from qa.index.segment import Segment
from qa.ingest.chunking import Chunker
from qa.model.embedding import Embedder
from qa.records import Article, Chunk
from qa.text.sentences import split_sentences


@dataclass
class UpdateReport:
    """What an `add`, `delete` or `sync` changed, plus warnings about skipped input."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    chunks_embedded: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": len(self.added),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
            "deleted": len(self.deleted),
            "chunks_embedded": self.chunks_embedded,
            "seconds": round(self.seconds, 3),
            "warnings": self.warnings,
        }


@dataclass(frozen=True)
class Batch:
    """One checkpoint's articles to embed, with their chunk spans and the id of their first chunk.

    `replaced` are the ids among `articles` whose older versions the index holds: the commit of
    this batch tombstones those."""

    number: int
    articles: tuple[Article, ...]
    spans: tuple[tuple[tuple[int, int], ...], ...]
    replaced: tuple[str, ...]
    first_chunk_id: int

    @property
    def chunk_count(self) -> int:
        return sum(len(s) for s in self.spans)


@dataclass(frozen=True)
class Staged:
    """A batch's segment written and sealed in a folder of its own, not yet committed."""

    number: int
    folder: Path
    files: dict[str, dict[str, Any]]
    chunks: int
    dim: int


def plan(articles: Iterable[Article], holds: Callable[[str], str | None], first_chunk_id: int, settings: Settings, report: UpdateReport) -> Iterator[Batch]:
    """The batches to embed, in source order, filling `report`'s added, updated and unchanged lists
    as it goes. `holds(doc_id)` is the content hash the index holds for an article (None: absent).

    Articles are unique by id (`unique_articles`, `qa.ingest.files.iter_path`), so no batch changes
    what a later one must do: the whole plan can be made against the state before the first commit."""
    chunker = Chunker(settings.chunk_size, settings.chunk_overlap)
    next_id = first_chunk_id
    for number, group in enumerate(_groups(articles, settings.checkpoint_every)):
        pending, replaced = [], []
        for article in group:
            old_hash = holds(article.id)
            if old_hash == article.content_hash:
                report.unchanged.append(article.id)
                continue
            (replaced if old_hash is not None else report.added).append(article.id)
            pending.append(article)
        report.updated += replaced
        if not pending:
            continue
        spans = tuple(tuple(chunker.spans(a.text)) for a in pending)
        batch = Batch(number, tuple(pending), spans, tuple(replaced), next_id)
        next_id += batch.chunk_count
        yield batch


def make_segment(batch: Batch, embedder: Embedder, name: str = "", on_batch: Callable[[int], object] | None = None) -> Segment:
    """The finished segment of `batch`: chunks numbered from its first id, passage vectors and one
    vector per sentence from the same forward pass, signatures and postings (in memory; `name` is
    the folder it is meant for, which the commit decides)."""
    chunks: list[Chunk] = []
    spans: list[list[tuple[int, int]]] = []
    for article, article_spans in zip(batch.articles, batch.spans):
        for start, end in article_spans:
            chunks.append(Chunk(batch.first_chunk_id + len(chunks), article.id, start, end, article.text[start:end]))
            spans.append([(s - start, e - start) for s, e in split_sentences(article.text, start, end)])
    vectors, sentence_vectors = embedder.encode_passages([c.text for c in chunks], spans, on_batch=on_batch)
    sentences = [
        (np.asarray([(c.start + s, c.start + e) for s, e in sp], dtype=np.int64).reshape(-1, 2), np.asarray(sv, dtype=np.float16))
        for c, sp, sv in zip(chunks, spans, sentence_vectors)
    ]
    dim = int(vectors.shape[1])
    return Segment.create(name, batch.articles, chunks, vectors, sentences, signatures.signatures(batch.articles), dim)


def stage(batch: Batch, embedder: Embedder, staging: Path) -> Staged:
    """Embed `batch` and write its segment into a new folder under `staging`, named for the batch
    and this attempt: an attempt killed half-way leaves its own folder behind, never one a retry
    or the commit reads."""
    segment = make_segment(batch, embedder)
    folder = staging / f"batch-{batch.number:06d}-{uuid.uuid4().hex[:12]}"
    segment.write(folder)
    return Staged(batch.number, folder, storage.seal_folder(folder), segment.count, segment.vectors.dim)


class LocalEmbedding:
    """Batches embedded one after another in this process, with `embedder` (the default build)."""

    def __init__(self, embedder: Embedder, bar) -> None:
        self.embedder = embedder
        self.bar = bar

    def run(self, batches: Iterable[Batch]) -> Iterator[tuple[Batch, Segment]]:
        for batch in batches:
            self.bar.total = (self.bar.total or 0) + batch.chunk_count
            yield batch, make_segment(batch, self.embedder, on_batch=self.bar.update)


def unique_articles(articles: Iterable[Article], warnings: list[str]) -> Iterator[Article]:
    """The articles with text, first of each id, as they come (warnings name the others)."""
    seen: set[str] = set()
    for article in articles:
        if not isinstance(article, Article):
            raise InputError(f"expected Article records, got {type(article).__name__}")
        if article.id in seen:
            warnings.append(f"{article.id}: skipped: duplicate id in this batch")
            continue
        if not article.text.strip():
            warnings.append(f"{article.id}: skipped: empty document")
            continue
        seen.add(article.id)
        yield article


def _groups(articles: Iterable[Article], size: int) -> Iterator[list[Article]]:
    batch: list[Article] = []
    for article in articles:
        batch.append(article)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def progress_bar(enabled: bool):
    """A chunks-per-second bar whose total grows as each checkpoint batch is planned."""
    if not enabled:
        return NullBar()
    from tqdm import tqdm

    return tqdm(desc="Embedding", unit="chunk", total=0, dynamic_ncols=True)


class NullBar:
    total: int | None = None

    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass
