"""`Index`: the façade over a segmented index of articles, chunks, vectors, sentence vectors and BM25.

Readers use an immutable snapshot (`qa.index.reader.Snapshot`); a write prepares the next one beside
it, commits it to disk (`qa.index.writer`: one new segment plus a manifest switch), then swaps the
reference. Queries running during a write or a merge keep answering from the segments they hold,
and never see a half-applied change.

One class, so one module of a little over 450 lines: each method is a few lines that hand the work to
`reader`, `writer` or `batches`, and cutting the façade itself would scatter the public API.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qa.config import Settings, default_model
from qa.errors import IndexCorruptError, IndexMismatchError, InputError, QAError
from qa.index import reader, storage, writer
from qa.index.batches import Batch, LocalEmbedding, Staged, UpdateReport, plan, progress_bar, unique_articles
from qa.index.overview import overview
from qa.index.reader import LOADING, LiveSegment, Snapshot
from qa.index.segment import Segment
from qa.ingest.files import iter_path, read_path
from qa.model.embedding import Embedder, SentenceTransformerEmbedder, fingerprint
from qa.records import Article, Chunk

if TYPE_CHECKING:
    from qa.index.cluster import Cluster

QUERY_CACHE_SIZE = 64
PROBE_MIN_COSINE = 0.99
"""Same model in another precision stays above 0.999; a different model lands far below."""


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
        self._cluster: Cluster | None = None
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
        cluster: str | None = None,
        workers: int | None = None,
        shards: int | None = None,
    ) -> Index:
        """Index `source` (a folder, a file or articles) from scratch into `index_dir`.

        An index already in the folder stays readable until the new one is committed. With
        `cluster` (a Ray address, such as "127.0.0.1:6379" or "auto"), `workers` Ray actors embed the
        batches in parallel, one model each, and write their segments into `index_dir`, which every
        node must see; this process commits them in order, so the index is the one a local build
        makes (`qa.index.cluster`). The returned index then searches through `shards` shard actors.

        Raises:
            InputError: the source is missing, empty or holds no usable document.
            IndexLockedError: another process is writing to `index_dir`.
            ClusterError: Ray is not installed, or the cluster cannot be reached.
        """
        if cluster is not None and embedder is not None:
            raise InputError("a cluster build embeds with the settings' model on its own workers; pass settings, not an embedder")
        settings = settings or Settings(model=embedder.name if embedder else default_model())
        index = cls(index_dir, settings, embedder)
        index._attach(cluster, workers=workers, shards=shards)
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
        cluster: str | None = None,
        shards: int | None = None,
        workers: int | None = None,
    ) -> Index:
        """Open a committed index, verifying every file against the manifest's checksums and counts.

        With `cluster` (a Ray address), dense and BM25 searches fan out to `shards` shard actors
        (default: one per node) that hold the live segments between them, while this process keeps
        the articles, chunks and sentence vectors that answers read; `workers` embed what `add`
        and `sync` index. Answers are the same as without a cluster (`qa.index.cluster`).

        Raises:
            IndexNotFoundError: no index in that folder.
            IndexCorruptError: a file is missing, truncated or altered.
            IndexMismatchError: `model` (or the embedder's) is not the model that built the index.
            ClusterError: Ray is not installed, or the cluster cannot be reached.
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
        index._attach(cluster, workers=workers, shards=shards)
        index._load_committed()
        return index

    @classmethod
    def open(
        cls,
        index_dir: str | os.PathLike,
        *,
        settings: Settings | None = None,
        embedder: Embedder | None = None,
        cluster: str | None = None,
        workers: int | None = None,
        shards: int | None = None,
    ) -> Index:
        """Load the index in `index_dir` if there is one, else start an empty one there (not yet saved);
        `cluster`, `workers` and `shards` as for `load`."""
        where = {"cluster": cluster, "workers": workers, "shards": shards}
        if (Path(index_dir) / storage.MANIFEST).exists():
            return cls.load(index_dir, model=settings.model if settings else None, embedder=embedder, **where)
        settings = settings or Settings(model=embedder.name if embedder else default_model())
        index = cls(index_dir, settings, embedder)
        index._attach(**where)
        return index

    def _attach(self, cluster: str | None, *, workers: int | None, shards: int | None) -> None:
        """Connect to the Ray cluster at `cluster`, if one is given: the one place `qa.index` imports
        the cluster code (and through it Ray), so a local index never does."""
        if cluster is None:
            if workers is not None or shards is not None:
                raise InputError("workers and shards need a cluster: pass cluster=ADDRESS (`--cluster` in the CLI)")
            return
        from qa.index.cluster import Cluster

        self._cluster = Cluster(cluster, workers=workers, shards=shards)

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
                if doc_id in state.articles:
                    report.deleted.append(doc_id)
                else:
                    report.warnings.append(f"{doc_id}: no such document in the index")
            if report.deleted:
                self._publish(self._commit(state, deleted=report.deleted))
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
                self._publish(self._commit(self._state, deleted=gone))
                report.deleted.extend(gone)
            return report

    def _write(
        self, source: Source, *, progress: bool, rebuild: bool = False, warnings: list[str] | None = None
    ) -> UpdateReport:
        """Stream `source` through chunking, embedding and one commit per `checkpoint_every` articles:
        memory holds a few batches, whatever the source's size (a list or generator of articles is
        consumed as it goes). Batches are embedded here, or by the cluster's workers when the index
        has one (`qa.index.cluster.build`); either way they are committed here, in source order."""
        started = time.perf_counter()
        report = UpdateReport(warnings=list(warnings or []))
        if isinstance(source, (str, os.PathLike)):
            articles = iter_path(source, report.warnings) if self._cluster is None else self._cluster.read(source, report.warnings)
        else:
            articles = unique_articles(source, report.warnings)
        first = next(articles, None)
        if first is None and (rebuild or not self._state.articles):
            raise InputError("no usable document to index" + (f": {report.warnings[0]}" if report.warnings else ""))
        if not rebuild:
            self._catch_up()
        # A rebuild prepares its state privately: readers keep the committed one until the first commit.
        state = self._empty_state(dim=0, generation=self._committed_generation()) if rebuild else self._state
        source_articles = itertools.chain([] if first is None else [first], articles)
        batches = plan(source_articles, state.articles.content_hash, state.next_chunk_id, self.settings, report)
        if self._cluster is None:
            first_batch = next(batches, None)
            if first_batch is not None:  # a first run prepares the model (its own line) before the bar starts
                getattr(self.embedder, "warm_up", lambda: None)()
                batches = itertools.chain([first_batch], batches)
        bar = progress_bar(progress)
        try:
            if self._cluster is not None:
                embedding = self._cluster.embedding(self.index_dir, self.settings, bar)
                if self._probe is None:
                    self._probe = embedding.probe()
            else:
                embedding = LocalEmbedding(self.embedder, bar)
            try:
                for batch, finished in embedding.run(batches):
                    report.chunks_embedded += batch.chunk_count
                    state = self._commit_batch(state, batch, finished)
            finally:
                if self._cluster is not None:
                    embedding.close()
        finally:
            bar.close()
        report.seconds = time.perf_counter() - started
        return report

    def _commit_batch(self, state: Snapshot, batch: Batch, finished: Segment | Staged) -> Snapshot:
        """Commit one embedded batch as a new segment (older copies of its articles tombstoned), then
        merge by the tiered policy; readers see each step as it commits."""
        made = {"staged": finished} if isinstance(finished, Staged) else {"new": finished}
        next_chunk_id = batch.first_chunk_id + batch.chunk_count
        dim = finished.dim if isinstance(finished, Staged) else finished.vectors.dim
        committed = self._commit(state, deleted=batch.replaced, next_chunk_id=next_chunk_id, dim=dim, **made)
        self._publish(committed)
        return self._publish(writer.merge_by_policy(self.index_dir, committed, **self._meta(dim)))

    def _commit(self, state: Snapshot, *, dim: int | None = None, **change: Any) -> Snapshot:
        return writer.commit(self.index_dir, state, updated_at=time.time(), **change, **self._meta(dim or state.vectors.dim))

    def _meta(self, dim: int) -> dict[str, Any]:
        return {
            "settings": self.settings.to_dict(),
            "model": {"name": self.settings.model, "dim": dim, "probe": self._model_probe().tolist()},
        }

    def _publish(self, state: Snapshot) -> Snapshot:
        self._state = self._served(state)
        self._manifest_stamp = self._stamp()
        return state

    def _served(self, state: Snapshot) -> Snapshot:
        """`state` as queries read it: searched by the cluster's shards when there is one."""
        return state if self._cluster is None else self._cluster.serve(self.index_dir, state)

    def optimize(self) -> dict[str, Any]:
        """Merge every segment into one (tombstoned articles dropped for good), for the fastest
        searches and the smallest folder; readers keep answering from the old segments meanwhile.

        Returns:
            `segments_before`, `segments_after`, `documents`, `chunks` and `seconds`.

        Raises:
            IndexLockedError: another process is writing to the index.
        """
        self._check_writable()
        started = time.perf_counter()
        with storage.writer_lock(self.index_dir):
            self._catch_up()
            state = self._state
            parts = state.segments
            needed = len(parts) > 1 or any(p.deleted or p.segment.name.startswith(storage.GENERATION_PREFIX) for p in parts)
            if needed:
                self._publish(writer.merge(self.index_dir, state, range(len(parts)), **self._meta(state.vectors.dim)))
        return {
            "segments_before": len(parts),
            "segments_after": len(self._state.segments),
            "documents": len(self._state.articles),
            "chunks": len(self._state.chunks),
            "seconds": round(time.perf_counter() - started, 3),
        }

    def without(self, doc_ids: Iterable[str]) -> Index:
        """A read-only, in-memory view of this index minus some articles; nothing is written or
        re-embedded. The evaluation uses it to ask questions whose source article is absent."""
        view = Index(self.index_dir, self.settings, self._embedder)
        state, gone = self._state, set(doc_ids)
        live = [LiveSegment(p.segment, p.deleted | {d for d in gone if p.position_of(d) is not None}) for p in state.segments]
        view._cluster = self._cluster
        view._state = self._served(reader.assemble(
            live, dim=state.vectors.dim, generation=state.generation, next_chunk_id=state.next_chunk_id,
            updated_at=state.updated_at, next_segment=state.next_segment,
        ))
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
        with LOADING:
            for attempt in range(attempts):
                stamp = self._stamp()
                manifest = storage.read_manifest(self.index_dir)
                try:
                    state = reader.read_state(self.index_dir, manifest, previous=self._state, stores=self._cluster is None)
                except IndexCorruptError:
                    if attempt + 1 < attempts and self._stamp() != stamp:
                        continue
                    raise
                self._probe = np.asarray(manifest["model"]["probe"], dtype=np.float32)
                self._manifest_stamp = stamp
                self._state = self._served(state)
                return

    def refresh(self) -> bool:
        """Pick up a generation committed by another process; cheap (one stat) when nothing changed.

        While a writer commits faster than this reader can load, the reader keeps answering from
        the snapshot it holds and tries again on the next call; only an index that stays broken
        with no writer moving it on is an error."""
        stamp = self._stamp()
        if stamp == self._manifest_stamp:
            return False
        with LOADING:
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
        return reader.stamp(self.index_dir)

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
            self._state.lexical.prefetch(text)  # shards (if any) count the question's words meanwhile
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
            "segments": len(state.segments),
            "deleted_documents": sum(len(p.deleted) for p in state.segments),
            "size_bytes": size,
            "updated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(state.updated_at)) if state.updated_at else None,
            **overview(state.articles.metadata()),
        }

    def _empty_state(self, dim: int | None, generation: int = 0) -> Snapshot:
        return reader.empty(dim or 0, generation=generation, next_segment=writer.next_segment_number(self.index_dir, reader.empty(0)))
