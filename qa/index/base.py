"""`Index`: articles, chunks, vectors, sentence vectors and BM25, saved atomically in one folder.

Readers use an immutable snapshot (`Snapshot`); a write builds the next snapshot beside it, commits it
to disk as a new generation, then swaps the reference. Queries running during a write keep
answering from the last committed state, and never see a half-applied change.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from qa import syndication
from qa.chunking import Chunker
from qa.config import Settings, default_model
from qa.embedding import Embedder, SentenceTransformerEmbedder, fingerprint
from qa.errors import IndexCorruptError, IndexMismatchError, InputError, QAError
from qa.index import storage
from qa.index.faiss_backend import FaissStore
from qa.index.lexical import LexicalIndex
from qa.index.overview import overview
from qa.ingest import read_path
from qa.records import Article, Chunk
from qa.sentences import split_sentences

QUERY_CACHE_SIZE = 64
PROBE_MIN_COSINE = 0.99
"""Same model in another precision stays above 0.999; a different model lands far below."""
_LOADING = threading.RLock()
"""One load at a time per process: threads that see a new generation together would otherwise each
read it, and numpy's .npy header parsing (ast.literal_eval) is not thread-safe on CPython 3.11."""


@dataclass(frozen=True)
class Snapshot:
    """One committed generation, never mutated once published: a query reads one snapshot throughout,
    so a concurrent write or reload can never hand it a chunk id from another generation."""

    generation: int
    articles: dict[str, Article]
    chunks: dict[int, Chunk]
    doc_chunks: dict[str, tuple[int, ...]]
    sentences: dict[int, tuple[np.ndarray, np.ndarray]]
    vectors: FaissStore
    lexical: LexicalIndex
    next_chunk_id: int
    updated_at: float
    signatures: dict[str, np.ndarray]
    """Each article's MinHash signature, from which `qa.syndication` groups syndicated copies."""
    memo: dict[str, Any] = field(default_factory=dict, init=False, compare=False, repr=False)
    """Data derived from this snapshot on first use (filter columns, syndication groups)."""


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


Source = str | os.PathLike | Iterable[Article]


class Index:
    """A searchable collection of articles stored in `index_dir`.

    Example:
        >>> index = Index.build("seeds", "index")            # embeds with a progress bar, saves
        >>> index = Index.load("index")                      # later, in another process
        >>> index.add("new-articles/")                        # upsert: unchanged files are skipped
        >>> index.delete(["old.txt"])
    """

    def __init__(self, index_dir: str | os.PathLike, settings: Settings, embedder: Embedder | None = None) -> None:
        self.index_dir = Path(index_dir)
        self.settings = settings
        self._embedder = embedder
        self._probe: np.ndarray | None = None
        self._embedder_checked = False
        self._manifest_stamp: tuple[int, int] | None = None
        self._query_cache: dict[str, np.ndarray] = {}
        self._read_only = False
        self._state = self._empty_state(dim=None)

    # ----------------------------------------------------------------- opening

    @classmethod
    def build(
        cls,
        source: Source,
        index_dir: str | os.PathLike,
        *,
        settings: Settings | None = None,
        embedder: Embedder | None = None,
        progress: bool = True,
    ) -> Index:
        """Index `source` (a folder, a file or articles) from scratch into `index_dir`.

        An index already in the folder stays readable until the new one is committed.

        Raises:
            InputError: the source is missing, empty or holds no usable document.
            IndexLockedError: another process is writing to `index_dir`.
        """
        settings = settings or Settings(model=embedder.name if embedder else default_model())
        index = cls(index_dir, settings, embedder)
        with storage.writer_lock(index.index_dir):
            index._write(source, progress=progress, rebuild=True)
        return index

    @classmethod
    def load(
        cls,
        index_dir: str | os.PathLike,
        *,
        model: str | None = None,
        embedder: Embedder | None = None,
    ) -> Index:
        """Open a committed index, verifying every file against the manifest's checksums and counts.

        Raises:
            IndexNotFoundError: no index in that folder.
            IndexCorruptError: a file is missing, truncated or altered.
            IndexMismatchError: `model` (or the embedder's) is not the model that built the index.
        """
        index_dir = Path(index_dir)
        manifest = storage.read_manifest(index_dir)
        built_with = manifest["model"]["name"]
        wanted = model or (embedder.name if embedder else None)
        if wanted and wanted != built_with:
            raise IndexMismatchError(
                f"{index_dir}: built with model {built_with!r}, not {wanted!r}; "
                f"use that model or rebuild with `qa index PATH --rebuild --model {wanted}`"
            )
        index = cls(index_dir, Settings.from_dict(manifest["settings"]), embedder)
        index._load_committed()
        return index

    @classmethod
    def open(
        cls,
        index_dir: str | os.PathLike,
        *,
        settings: Settings | None = None,
        embedder: Embedder | None = None,
    ) -> Index:
        """Load the index in `index_dir` if there is one, else start an empty one there (not yet saved)."""
        if (Path(index_dir) / storage.MANIFEST).exists():
            return cls.load(index_dir, model=settings.model if settings else None, embedder=embedder)
        settings = settings or Settings(model=embedder.name if embedder else default_model())
        return cls(index_dir, settings, embedder)

    # ----------------------------------------------------------------- writing

    def add(self, source: Source, *, progress: bool = True) -> UpdateReport:
        """Upsert articles by id: unchanged ones (same content hash) are skipped without re-embedding,
        changed ones replace their chunks, new ones are added. Commits every `checkpoint_every`
        articles, so an interrupted run keeps what it finished and a rerun resumes."""
        self._check_writable()
        with storage.writer_lock(self.index_dir):
            return self._write(source, progress=progress)

    def delete(self, doc_ids: Iterable[str]) -> UpdateReport:
        """Remove articles and all their chunks; unknown ids are reported as warnings."""
        self._check_writable()
        with storage.writer_lock(self.index_dir):
            self._catch_up()
            report = UpdateReport()
            state = self._state
            for doc_id in dict.fromkeys(doc_ids):
                (report.deleted if doc_id in state.articles else report.warnings).append(
                    doc_id if doc_id in state.articles else f"{doc_id}: no such document in the index"
                )
            if report.deleted:
                self._commit(self._apply(state, removed=report.deleted, new=[]))
            return report

    def sync(self, path: str | os.PathLike, *, progress: bool = True) -> UpdateReport:
        """Mirror a folder: new and changed files indexed, documents whose files are gone deleted."""
        self._check_writable()
        with storage.writer_lock(self.index_dir):
            result = read_path(path)
            report = self._write(result.articles, progress=progress, warnings=result.warnings)
            present = {a.id for a in result.articles}
            gone = [doc_id for doc_id in self._state.articles if doc_id not in present]
            if gone:
                self._commit(self._apply(self._state, removed=gone, new=[]))
                report.deleted.extend(gone)
            return report

    def _write(
        self, source: Source, *, progress: bool, rebuild: bool = False, warnings: list[str] | None = None
    ) -> UpdateReport:
        started = time.perf_counter()
        report = UpdateReport(warnings=list(warnings or []))
        if isinstance(source, (str, os.PathLike)):
            result = read_path(source)
            articles, report.warnings = result.articles, report.warnings + result.warnings
        else:
            articles = _unique_articles(list(source), report.warnings)
        if not articles and (rebuild or not self._state.articles):
            raise InputError("no usable document to index" + (f": {report.warnings[0]}" if report.warnings else ""))
        if not rebuild:
            self._catch_up()
        # A rebuild prepares its state privately: readers keep the committed one until the first commit.
        state = self._empty_state(dim=None, generation=self._committed_generation()) if rebuild else self._state
        pending = []
        for article in articles:
            old = state.articles.get(article.id)
            if old is not None and old.content_hash == article.content_hash:
                report.unchanged.append(article.id)
            else:
                (report.updated if old is not None else report.added).append(article.id)
                pending.append(article)
        with _progress_bar(progress, len(pending)) as bar:
            step = self.settings.checkpoint_every
            for begin in range(0, len(pending), step):
                batch = pending[begin : begin + step]
                new_chunks, vectors, sentences = self._embed(batch, bar)
                report.chunks_embedded += len(new_chunks)
                replaced = [a.id for a in batch if a.id in state.articles]
                self._commit(self._apply(state, removed=replaced, new=batch, chunks=(new_chunks, vectors, sentences)))
                state = self._state
        report.seconds = time.perf_counter() - started
        return report

    def _embed(self, articles: Sequence[Article], bar) -> tuple[list[Chunk], np.ndarray, list]:
        """Chunk and embed a batch; chunk ids are provisional (renumbered in `_apply`)."""
        chunker = Chunker(self.settings.chunk_size, self.settings.chunk_overlap)
        chunks: list[Chunk] = []
        spans: list[list[tuple[int, int]]] = []
        for article in articles:
            for start, end in chunker.spans(article.text):
                chunks.append(Chunk(-1, article.id, start, end, article.text[start:end]))
                spans.append([(s - start, e - start) for s, e in split_sentences(article.text, start, end)])
        bar.total = (bar.total or 0) + len(chunks)
        vectors, sentence_vectors = self.embedder.encode_passages(
            [c.text for c in chunks], spans, on_batch=bar.update
        )
        sentences = [
            (np.asarray([(c.start + s, c.start + e) for s, e in sp], dtype=np.int64).reshape(-1, 2), sv)
            for c, sp, sv in zip(chunks, spans, sentence_vectors)
        ]
        return chunks, vectors, sentences

    def _apply(
        self,
        state: Snapshot,
        *,
        removed: Sequence[str],
        new: Sequence[Article],
        chunks: tuple[list[Chunk], np.ndarray, list] | None = None,
    ) -> Snapshot:
        """The next snapshot: `state` minus `removed` articles plus `new` ones (never mutates `state`)."""
        articles = dict(state.articles)
        all_chunks = dict(state.chunks)
        doc_chunks = dict(state.doc_chunks)
        sentences = dict(state.sentences)
        signatures = dict(state.signatures)
        vectors = state.vectors.copy()
        gone_ids = []
        for doc_id in removed:
            articles.pop(doc_id, None)
            signatures.pop(doc_id, None)
            for chunk_id in doc_chunks.pop(doc_id, ()):
                all_chunks.pop(chunk_id, None)
                sentences.pop(chunk_id, None)
                gone_ids.append(chunk_id)
        vectors.remove(np.asarray(gone_ids, dtype=np.int64))
        next_id = state.next_chunk_id
        if chunks is not None:
            new_chunks, new_vectors, new_sentences = chunks
            ids = np.arange(next_id, next_id + len(new_chunks), dtype=np.int64)
            next_id += len(new_chunks)
            signatures.update(zip((a.id for a in new), syndication.signatures(new)))
            for article in new:
                articles[article.id] = article
                doc_chunks[article.id] = ()
            for chunk_id, chunk, sent in zip(ids.tolist(), new_chunks, new_sentences):
                all_chunks[chunk_id] = replace(chunk, id=chunk_id)
                doc_chunks[chunk.doc_id] += (chunk_id,)
                sentences[chunk_id] = (sent[0], np.asarray(sent[1], dtype=np.float16))
            if vectors.count == 0 and vectors.dim != new_vectors.shape[1]:
                vectors = FaissStore(new_vectors.shape[1])
            vectors.add(ids, new_vectors)
        ordered = sorted(all_chunks)
        lexical = LexicalIndex.build(ordered, [all_chunks[i].text for i in ordered])
        return Snapshot(
            generation=state.generation,
            articles=articles,
            chunks=all_chunks,
            doc_chunks=doc_chunks,
            sentences=sentences,
            vectors=vectors,
            lexical=lexical,
            next_chunk_id=next_id,
            updated_at=time.time(),
            signatures=signatures,
        )

    def _commit(self, state: Snapshot) -> None:
        """Write `state` as the next generation, switch the manifest, then publish it to readers."""
        generation = max(state.generation, self._committed_generation()) + 1
        folder = self.index_dir / storage.generation_name(generation)
        if folder.exists():  # left by a save that crashed before its manifest switch
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        _write_state(folder, state)
        files = storage.seal_generation(folder)
        manifest = {
            "format_version": storage.FORMAT_VERSION,
            "generation": generation,
            "updated_at": state.updated_at,
            "settings": self.settings.to_dict(),
            "model": {"name": self.settings.model, "dim": state.vectors.dim, "probe": self._model_probe().tolist()},
            "counts": _counts(state),
            "next_chunk_id": state.next_chunk_id,
            "files": files,
        }
        storage.write_manifest(self.index_dir, manifest)
        storage.remove_stale_generations(
            self.index_dir, keep={storage.generation_name(generation), storage.generation_name(state.generation)}
        )
        self._manifest_stamp = self._stamp()
        with _LOADING:  # the sentence vectors just written, mapped: no RAM copy, no mapping of old files
            counts, spans, vectors = _read_sentences(folder)
        sentences = _split_sentences(sorted(state.chunks), counts, spans, vectors)
        self._state = replace(state, generation=generation, sentences=sentences)

    def without(self, doc_ids: Iterable[str]) -> Index:
        """A read-only, in-memory view of this index minus some articles; nothing is written or
        re-embedded. The evaluation uses it to ask questions whose source article is absent."""
        view = Index(self.index_dir, self.settings, self._embedder)
        view._state = self._apply(self._state, removed=list(doc_ids), new=[])
        view._probe, view._embedder_checked = self._probe, self._embedder_checked
        view._manifest_stamp, view._query_cache = self._manifest_stamp, self._query_cache
        view._read_only = True
        return view

    def _check_writable(self) -> None:
        if self._read_only:
            raise QAError("this index view is read-only; load the index to change it")

    # ----------------------------------------------------------------- loading

    def _load_committed(self, attempts: int = 10) -> None:
        """Load what the manifest names. A writer may switch generations (and delete the one being
        read) mid-load; that shows as a changed manifest, and the load starts over on the new one."""
        with _LOADING:
            for attempt in range(attempts):
                stamp = self._stamp()
                manifest = storage.read_manifest(self.index_dir)
                try:
                    state = _read_state(self.index_dir, manifest)
                except IndexCorruptError:
                    if attempt + 1 < attempts and self._stamp() != stamp:
                        continue
                    raise
                self._probe = np.asarray(manifest["model"]["probe"], dtype=np.float32)
                self._manifest_stamp = stamp
                self._state = state
                return

    def refresh(self) -> bool:
        """Pick up a generation committed by another process; cheap (one stat) when nothing changed.

        While a writer commits faster than this reader can load, the reader keeps answering from
        the snapshot it holds and tries again on the next call; only an index that stays broken
        with no writer moving it on is an error."""
        stamp = self._stamp()
        if stamp == self._manifest_stamp:
            return False
        with _LOADING:
            if self._manifest_stamp == self._stamp():  # another thread loaded it meanwhile
                return False
            try:
                self._load_committed()
            except IndexCorruptError:
                if self._stamp() != stamp:
                    return False
                raise
        return True

    def _catch_up(self) -> None:
        if (self.index_dir / storage.MANIFEST).exists():
            self.refresh()

    def _stamp(self) -> tuple[int, int] | None:
        try:
            info = (self.index_dir / storage.MANIFEST).stat()
        except FileNotFoundError:
            return None
        return (info.st_mtime_ns, info.st_ino)

    def _committed_generation(self) -> int:
        try:
            return int(storage.read_manifest(self.index_dir)["generation"])
        except QAError:
            return 0

    # ----------------------------------------------------------------- model

    @property
    def embedder(self) -> Embedder:
        """The model that embeds queries and passages, created on first use and checked against the
        probe vector saved with the index, so a different model can never silently search it."""
        if self._embedder is None:
            s = self.settings
            self._embedder = SentenceTransformerEmbedder(
                s.model, precision=s.precision, device=s.device, batch_size=s.batch_size
            )
        if not self._embedder_checked and self._probe is not None:
            probe = np.asarray(self._embedder.probe(), dtype=np.float32)
            same = probe.shape == self._probe.shape and float(probe @ self._probe) >= PROBE_MIN_COSINE
            if not same:
                raise IndexMismatchError(
                    f"{self.index_dir}: the model {self._embedder.name!r} embeds differently from the one that "
                    f"built this index (fingerprint {fingerprint(self._probe)}); {storage.REBUILD_HINT}"
                )
        self._embedder_checked = True
        return self._embedder

    def _model_probe(self) -> np.ndarray:
        if self._probe is None:
            self._probe = np.asarray(self.embedder.probe(), dtype=np.float32)
        return self._probe

    # ----------------------------------------------------------------- reading

    def embed_query(self, text: str) -> np.ndarray:
        """The query vector; the last few are cached, since retrieval and quoting both need it."""
        cached = self._query_cache.get(text)
        if cached is None:
            cached = self.embedder.encode_queries([text])[0]
            self._query_cache[text] = cached
            while len(self._query_cache) > QUERY_CACHE_SIZE:
                self._query_cache.pop(next(iter(self._query_cache)), None)
        return cached

    def snapshot(self) -> Snapshot:
        """The committed state a query should use from start to end (consistent even during a write)."""
        return self._state

    def chunk(self, chunk_id: int) -> Chunk:
        return self._state.chunks[chunk_id]

    def article(self, doc_id: str) -> Article:
        """The stored article, for showing a quote in context.

        Raises:
            InputError: no article with that id.
        """
        try:
            return self._state.articles[doc_id]
        except KeyError:
            raise InputError(f"no document {doc_id!r} in the index; `qa stats` lists the counts") from None

    def sentences(self, chunk_id: int) -> tuple[np.ndarray, np.ndarray]:
        """Absolute `(start, end)` sentence spans of a chunk and their unit vectors (float16)."""
        return self._state.sentences[chunk_id]

    @property
    def document_ids(self) -> list[str]:
        return list(self._state.articles)

    def __len__(self) -> int:
        return len(self._state.chunks)

    def stats(self) -> dict[str, Any]:
        """Counts, model, size on disk and last update, for `qa stats` and the app's status line,
        plus the collection at a glance (`qa.index.overview`: outlets, categories, dates, months)."""
        state = self._state
        size = sum(p.stat().st_size for p in self.index_dir.rglob("*") if p.is_file()) if self.index_dir.exists() else 0
        return {
            "index_dir": str(self.index_dir),
            "documents": len(state.articles),
            "chunks": len(state.chunks),
            "model": self.settings.model,
            "dimension": state.vectors.dim,
            "generation": state.generation,
            "size_bytes": size,
            "updated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(state.updated_at)) if state.updated_at else None,
            **overview(state.articles.values()),
        }

    def _empty_state(self, dim: int | None, generation: int = 0) -> Snapshot:
        return Snapshot(
            generation=generation,
            articles={},
            chunks={},
            doc_chunks={},
            sentences={},
            vectors=FaissStore(dim or 0),
            lexical=LexicalIndex.build([], []),
            next_chunk_id=0,
            updated_at=0.0,
            signatures={},
        )


def _unique_articles(articles: list[Article], warnings: list[str]) -> list[Article]:
    seen: set[str] = set()
    unique = []
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
        unique.append(article)
    return unique


class _NullBar:
    total: int | None = None

    def update(self, n: int = 1) -> None:
        pass

    def __enter__(self) -> _NullBar:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def _progress_bar(enabled: bool, documents: int):
    """A chunks-per-second bar whose total grows as each checkpoint batch is chunked."""
    if not enabled or documents == 0:
        return _NullBar()
    from tqdm import tqdm

    return tqdm(desc="Embedding", unit="chunk", total=0, dynamic_ncols=True)


def _counts(state: Snapshot) -> dict[str, int]:
    return {
        "documents": len(state.articles),
        "chunks": len(state.chunks),
        "vectors": state.vectors.count,
        "lexical": state.lexical.count,
        "sentences": sum(len(spans) for spans, _ in state.sentences.values()),
    }


# ---------------------------------------------------------------------- files of one generation

DOCS = "docs.jsonl"
CHUNKS = "chunks.jsonl"
VECTORS = "vectors.faiss"
SENTENCES = "sentences"
"""counts.npy (sentences per chunk, in chunk id order), spans.npy (int64 pairs) and vectors.npy
(float16, memory-mapped when loaded: about 4 KB per chunk, of which a query reads only its candidates')."""
LEGACY_SENTENCES = "sentences.npz"  # the same three arrays in one zip, read by np.load whole
LEXICAL = "bm25"


def _write_state(folder: Path, state: Snapshot) -> None:
    with (folder / DOCS).open("w", encoding="utf-8") as handle:
        for article in state.articles.values():
            handle.write(json.dumps({**article.to_dict(), "hash": article.content_hash}, ensure_ascii=False) + "\n")
    ordered = sorted(state.chunks)
    with (folder / CHUNKS).open("w", encoding="utf-8") as handle:
        for chunk_id in ordered:
            c = state.chunks[chunk_id]
            handle.write(json.dumps({"id": c.id, "doc_id": c.doc_id, "start": c.start, "end": c.end}, ensure_ascii=False) + "\n")
    state.vectors.save(folder / VECTORS)
    _write_sentences(folder / SENTENCES, [state.sentences[i] for i in ordered], state.vectors.dim)
    state.lexical.save(folder / LEXICAL)
    syndication.save(folder, state.articles, state.signatures)


def _write_sentences(folder: Path, per_chunk: list[tuple[np.ndarray, np.ndarray]], dim: int) -> None:
    """Written chunk by chunk into a preallocated file, so a commit of a large index never holds a
    second copy of every sentence vector in memory."""
    folder.mkdir()
    counts = np.asarray([len(spans) for spans, _ in per_chunk], dtype=np.int64)
    np.save(folder / "counts.npy", counts)
    np.save(folder / "spans.npy", np.concatenate([s for s, _ in per_chunk]) if per_chunk else np.zeros((0, 2), np.int64))
    out = np.lib.format.open_memmap(folder / "vectors.npy", mode="w+", dtype=np.float16, shape=(int(counts.sum()), dim))
    row = 0
    for _, vectors in per_chunk:
        out[row : row + len(vectors)] = vectors
        row += len(vectors)
    out.flush()
    del out


def _read_sentences(folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """counts, spans and (memory-mapped) vectors; indexes written before the split read their .npz."""
    if (folder / LEGACY_SENTENCES).is_file():
        with np.load(folder / LEGACY_SENTENCES, allow_pickle=False) as data:
            return data["counts"], data["spans"], data["vectors"]
    where = folder / SENTENCES
    return (
        np.load(where / "counts.npy", allow_pickle=False),
        np.load(where / "spans.npy", allow_pickle=False),
        np.load(where / "vectors.npy", allow_pickle=False, mmap_mode="r"),
    )


def _split_sentences(
    ordered: list[int], counts: np.ndarray, spans: np.ndarray, vectors: np.ndarray
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Per chunk id, views of its rows in the sentence arrays (chunk ids in ascending order)."""
    bounds = np.concatenate([[0], np.cumsum(counts)])
    return {cid: (spans[bounds[i] : bounds[i + 1]], vectors[bounds[i] : bounds[i + 1]]) for i, cid in enumerate(ordered)}


def _read_state(index_dir: Path, manifest: dict[str, Any]) -> Snapshot:
    generation = int(manifest["generation"])
    folder = index_dir / storage.generation_name(generation)
    storage.verify_generation(folder, manifest["files"])
    hint = storage.REBUILD_HINT
    try:
        articles = {}
        for line in (folder / DOCS).read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            record.pop("hash", None)
            articles[record["id"]] = Article(**record)
        chunks: dict[int, Chunk] = {}
        doc_chunks: dict[str, tuple[int, ...]] = {doc_id: () for doc_id in articles}
        for line in (folder / CHUNKS).read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            text = articles[r["doc_id"]].text
            chunks[r["id"]] = Chunk(r["id"], r["doc_id"], r["start"], r["end"], text[r["start"] : r["end"]])
            doc_chunks[r["doc_id"]] += (r["id"],)
        vectors = FaissStore.load(folder / VECTORS)
        lexical = LexicalIndex.load(folder / LEXICAL)
        counts, spans, sent_vectors = _read_sentences(folder)
        signatures = syndication.load(folder, articles)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise IndexCorruptError(f"{folder}: unreadable index data ({type(exc).__name__}); {hint}") from exc
    ordered = sorted(chunks)
    if len(counts) != len(ordered) or int(counts.sum()) != len(spans) or len(spans) != len(sent_vectors):
        raise IndexCorruptError(f"{folder}: sentence store does not match the chunk store; {hint}")
    sentences = _split_sentences(ordered, counts, spans, sent_vectors)
    chunk_ids = np.asarray(ordered, dtype=np.int64)
    if not np.array_equal(np.sort(vectors.ids()), chunk_ids) or not np.array_equal(np.sort(lexical.ids), chunk_ids):
        raise IndexCorruptError(f"{folder}: vector, BM25 and chunk stores disagree on chunk ids; {hint}")
    expected = manifest.get("counts", {})
    state = Snapshot(
        generation=generation,
        articles=articles,
        chunks=chunks,
        doc_chunks=doc_chunks,
        sentences=sentences,
        vectors=vectors,
        lexical=lexical,
        next_chunk_id=int(manifest["next_chunk_id"]),
        updated_at=float(manifest.get("updated_at", 0.0)),
        signatures=signatures,
    )
    if _counts(state) != expected:
        raise IndexCorruptError(f"{folder}: counts differ from the manifest ({_counts(state)} vs {expected}); {hint}")
    return state
