"""The `qa` command: thin wrappers that parse, call one library function, and print.

Readable text by default, `--json` for programs. Library errors (`QAError`) become one line on
stderr with a next step and exit code 1; no traceback for a user's mistake.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from contextlib import nullcontext
from contextvars import ContextVar
from functools import wraps
from pathlib import Path
from typing import Any

import click

from qa.errors import QAError
from qa.faces.streams import stdout_for_json_only

DEFAULT_INDEX_DIR = "index"

index_dir_option = click.option(
    "--index-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=lambda: os.environ.get("QA_INDEX_DIR", DEFAULT_INDEX_DIR),
    show_default="$QA_INDEX_DIR or ./index",
    help="Folder that holds the index.",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for programs instead of text.")
model_option = click.option(
    "--model",
    default=None,
    help="sentence-transformers model name or local folder (default: $QA_MODEL or the offline multilingual-e5-small).",
)

cluster_option = click.option(
    "--cluster",
    metavar="ADDRESS",
    default=lambda: os.environ.get("QA_CLUSTER") or None,
    show_default="$QA_CLUSTER, else none",
    help="A Ray cluster's address (127.0.0.1:6379, auto): embed or search there (needs the `cluster` extra).",
)
shards_option = click.option(
    "--shards", type=click.IntRange(1), default=None, help="With --cluster: shard actors the segments are spread over (default: one per node)."
)


def filter_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--since, --until, --source, --category: what `qa.Filters` restricts, for search and ask."""
    for option in reversed(
        [
            click.option("--since", default=None, metavar="YYYY-MM-DD", help="Only articles published on or after this day."),
            click.option("--until", default=None, metavar="YYYY-MM-DD", help="Only articles published on or before this day."),
            click.option("--source", "sources", multiple=True, metavar="OUTLET", help="Only this outlet (repeatable)."),
            click.option("--category", "categories", multiple=True, metavar="NAME", help="Only this category (repeatable)."),
        ]
    ):
        command = option(command)
    return command


def _filters(since: str | None, until: str | None, sources: tuple[str, ...], categories: tuple[str, ...]):
    """The `Filters` record of the options (None when none is given); a bad date raises InputError."""
    from qa.filters import Filters

    filters = Filters(since=since, until=until, sources=sources, categories=categories)
    return None if filters.empty else filters


_json_out: ContextVar[Any] = ContextVar("json_out", default=None)
"""Where `_print_json` writes while a command that prints JSON runs (None: standard output)."""


def _friendly(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn library errors into one line on stderr and exit code 1. A command that prints JSON
    (`--json`, `ask --questions`) keeps standard output for the JSON alone (`qa.faces.streams`)."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        prints_json = kwargs.get("as_json") or kwargs.get("questions") is not None
        try:
            with stdout_for_json_only() if prints_json else nullcontext() as out:
                token = _json_out.set(out)
                try:
                    return command(*args, **kwargs)
                finally:
                    _json_out.reset(token)
        except QAError as exc:
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt:
            raise click.ClickException("interrupted; the index keeps its last committed state") from None

    return wrapper


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False), file=_json_out.get())


def _load(index_dir: Path, model: str | None = None, cluster: str | None = None, shards: int | None = None):
    from qa.index import Index

    return Index.load(index_dir, model=model, cluster=cluster, shards=shards)


def _audit(index, report, *, deleted_hashes: dict[str, str] | None = None) -> None:
    """Log a committed change in the index folder's audit log, as this machine's user ("cli")."""
    import getpass

    from qa.faces.audit import record_report

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    record_report(index, report, user=user, via="cli", deleted_hashes=deleted_hashes)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="qa")
def main() -> None:
    """Ask questions about news articles; get verbatim quotes with their sources."""


@main.command("index")
@click.argument("path", metavar="PATH_OR_URL")
@index_dir_option
@model_option
@click.option("--rebuild", is_flag=True, help="Start over instead of updating (the old index stays usable until done).")
@click.option("--sync", "mirror", is_flag=True, help="Also delete documents whose files are gone from PATH.")
@click.option("--precision", type=click.Choice(["auto", "float32", "bfloat16", "float16"]), default=None)
@click.option("--device", default=None, help="cpu (default) or cuda.")
@click.option("--batch-size", type=click.IntRange(1, 1024), default=None)
@click.option("--checkpoint-every", type=click.IntRange(1), default=None, help="Commit after every N documents (default 500).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@cluster_option
@click.option("--workers", type=click.IntRange(1), default=None, help="With --cluster: embedding workers, one model each (default: one per CPU, or per GPU with --device cuda).")
@json_option
@_friendly
def index_command(
    path: str,
    index_dir: Path,
    model: str | None,
    rebuild: bool,
    mirror: bool,
    precision: str | None,
    device: str | None,
    batch_size: int | None,
    checkpoint_every: int | None,
    quiet: bool,
    cluster: str | None,
    workers: int | None,
    as_json: bool,
) -> None:
    """Index a file or folder (.txt .md .html .jsonl .xml/.rss/.atom feeds) or a page or feed URL.
    Incremental: unchanged documents are skipped."""
    from dataclasses import replace

    from qa.config import Settings, default_model
    from qa.index import Index
    from qa.ingest.fetch import is_url

    if is_url(path):
        if mirror:
            raise click.UsageError("--sync mirrors a folder; it cannot be used with a URL")
        source: str | Path = path.strip()
    else:
        source = Path(path)

    options = {"precision": precision, "device": device, "batch_size": batch_size, "checkpoint_every": checkpoint_every}
    overrides = {k: v for k, v in options.items() if v}
    if rebuild:
        settings = Settings(model=model or default_model(), **overrides)
        index = Index.build(source, index_dir, settings=settings, progress=not quiet, cluster=cluster, workers=workers)
        report = None
    else:
        settings = Settings(model=model or default_model(), **overrides) if model else None
        index = Index.open(index_dir, settings=settings, cluster=cluster, workers=workers)
        if overrides:
            index.settings = replace(index.settings, **overrides)
        report = index.sync(source, progress=not quiet) if mirror else index.add(source, progress=not quiet)
        _audit(index, report)  # ids --sync deleted are logged without hashes: reading every article first would cost O(N)
    stats = index.stats()
    if as_json:
        _print_json({"report": report.to_dict() if report else None, "stats": stats})
        return
    if report:
        for warning in report.warnings:
            click.echo(f"warning: {warning}", err=True)
        click.echo(
            f"{len(report.added)} added, {len(report.updated)} updated, {len(report.unchanged)} unchanged, "
            f"{len(report.deleted)} deleted ({report.chunks_embedded} chunks embedded in {report.seconds:.1f}s)"
        )
    click.echo(f"{stats['documents']} documents, {stats['chunks']} chunks in {stats['index_dir']}")


@main.command("search")
@click.argument("query")
@index_dir_option
@click.option("-k", "k", type=click.IntRange(1, 1000), default=5, show_default=True, help="How many passages.")
@click.option("--mode", type=click.Choice(["hybrid", "dense", "lexical"]), default="hybrid", show_default=True)
@filter_options
@cluster_option
@shards_option
@json_option
@_friendly
def search_command(
    query: str, index_dir: Path, k: int, mode: str, since, until, sources, categories, cluster, shards, as_json: bool
) -> None:
    """Show the passages that best match QUERY, best first."""
    from qa.retrieve import Retriever

    filters = _filters(since, until, sources, categories)
    index = _load(index_dir, cluster=cluster, shards=shards)
    hits = Retriever(index, mode=mode).search(query, k=k, filters=filters)
    if as_json:
        for hit in hits:
            article = index.article(hit.doc_id)
            _print_json({**hit.to_dict(), "source": article.source, "date": article.date})
        return
    from qa.faces.render import hit_to_text

    for rank, hit in enumerate(hits, start=1):
        click.echo(hit_to_text(rank, hit, index.article(hit.doc_id)))


@main.command("ask")
@click.argument("question", required=False)
@index_dir_option
@click.option("--questions", type=click.File("r", encoding="utf-8"), help="A file of questions, one per line (- for stdin); prints JSON lines.")
@click.option("-k", "k", type=click.IntRange(1, 100), default=None, help="How many passages to read.")
@filter_options
@cluster_option
@shards_option
@json_option
@_friendly
def ask_command(
    question: str | None, index_dir: Path, questions, k: int | None, since, until, sources, categories, cluster, shards, as_json: bool
) -> None:
    """Answer QUESTION with verbatim quotes and numbered sources (outlet and date on each)."""
    from qa.answer.assistant import Assistant
    from qa.retrieve import Retriever

    if bool(question) == bool(questions):
        raise click.UsageError("give either a QUESTION or --questions FILE")
    filters = _filters(since, until, sources, categories)
    assistant = Assistant(Retriever(_load(index_dir, cluster=cluster, shards=shards)))
    if questions is not None:
        for line in questions:
            if line.strip():
                _print_json(assistant.ask(line.strip(), k=k, filters=filters).to_dict())
        return
    answer = assistant.ask(question, k=k, filters=filters)
    if as_json:
        _print_json(answer.to_dict())
    else:
        click.echo(answer.text)


@main.command("delete")
@click.argument("doc_ids", nargs=-1, required=True)
@index_dir_option
@json_option
@_friendly
def delete_command(doc_ids: tuple[str, ...], index_dir: Path, as_json: bool) -> None:
    """Remove documents (by id, as `qa search --json` shows) and all their chunks."""
    index = _load(index_dir)
    known = set(index.document_ids)
    hashes = {d: index.article(d).content_hash for d in doc_ids if d in known}
    report = index.delete(doc_ids)
    _audit(index, report, deleted_hashes=hashes)
    if as_json:
        _print_json({"report": report.to_dict(), "stats": index.stats()})
        return
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"{len(report.deleted)} deleted; {len(index.document_ids)} documents left")
    if not report.deleted:
        sys.exit(1)


@main.command("optimize")
@index_dir_option
@json_option
@_friendly
def optimize_command(index_dir: Path, as_json: bool) -> None:
    """Merge every segment of the index into one (deleted articles dropped for good); searches
    running meanwhile keep answering."""
    result = _load(index_dir).optimize()
    if as_json:
        _print_json(result)
        return
    click.echo(
        f"{result['segments_before']} segments merged into {result['segments_after']}: "
        f"{result['documents']} documents, {result['chunks']} chunks in {result['seconds']:.1f} s"
    )


@main.command("stats")
@index_dir_option
@json_option
@_friendly
def stats_command(index_dir: Path, as_json: bool) -> None:
    """Documents, chunks, model, size on disk, last update, and the collection at a glance: articles
    per outlet and category, the date range, articles per month."""
    stats = _load(index_dir).stats()
    if as_json:
        _print_json(stats)
        return
    from qa.faces.render import stats_text

    click.echo(stats_text(stats))


@main.command("serve")
@index_dir_option
@click.option("--source", type=click.Path(path_type=Path), default=None, help="Folder to index first if the index is absent (default: seeds/).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=7860, show_default=True)
@click.option("--share", is_flag=True, help="Ask Gradio for a public link (off by default).")
@click.option(
    "--editors",
    type=click.Path(dir_okay=False, path_type=Path),
    default=lambda: os.environ.get("QA_EDITORS") or None,
    show_default="$QA_EDITORS, else none: nobody can add articles",
    help="The users file of `qa user add`: editors add and delete articles (chat login at /editor/, or an API key).",
)
@click.option("--readers-login", is_flag=True, help="Everyone logs in (chat) or sends an API key, readers too (needs --editors).")
@click.option("--asks-per-minute", type=click.IntRange(1), default=60, show_default=True, help="Questions and searches per client per minute.")
@click.option("--workers", type=click.IntRange(1, 64), default=4, show_default=True, help="REST questions answered at once.")
@click.option("--queue", "waiting", type=click.IntRange(0), default=64, show_default=True, help="REST questions that may wait; more get 429.")
@cluster_option
@shards_option
@_friendly
def serve_command(
    index_dir: Path,
    source: Path | None,
    host: str,
    port: int,
    share: bool,
    editors: Path | None,
    readers_login: bool,
    asks_per_minute: int,
    workers: int,
    waiting: int,
    cluster: str | None,
    shards: int | None,
) -> None:
    """Serve the chat (readers at /, editors at /editor/) and the REST API (/api/v1/docs)."""
    from qa.faces.auth import Limits
    from qa.faces.server import serve

    limits = Limits(asks_per_minute=asks_per_minute, workers=workers, waiting=waiting)
    serve(
        index_dir=index_dir,
        source=source,
        host=host,
        port=port,
        share=share,
        cluster=cluster,
        shards=shards,
        editors=editors,
        readers_login=readers_login,
        limits=limits,
    )


@main.group("user")
def user_group() -> None:
    """Manage the users file of `qa serve --editors FILE`."""


@user_group.command("add")
@click.argument("name")
@click.option("--editors", "users_file", type=click.Path(dir_okay=False, path_type=Path), required=True, help="The users file (created if absent).")
@click.option("--role", type=click.Choice(["editor", "reader"]), default="editor", show_default=True, help="Editors add and delete articles; readers only ask.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin instead of asking.")
@json_option
@_friendly
def user_add_command(name: str, users_file: Path, role: str, password_stdin: bool, as_json: bool) -> None:
    """Create or update user NAME with a password (asked, or --password-stdin) and a new API key,
    printed once: only hashes are stored."""
    from qa.faces.auth import add_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    key = add_user(users_file, name, password, role=role)
    if as_json:
        _print_json({"user": name, "role": role, "file": str(users_file), "api_key": key})
        return
    click.echo(f"{role} {name} saved in {users_file}. API key (shown once; send it as 'Authorization: Bearer KEY'):", err=True)
    click.echo(key)


@main.command("log")
@index_dir_option
@click.option("-n", "last", type=click.IntRange(1), default=None, help="Only the last N entries.")
@json_option
@_friendly
def log_command(index_dir: Path, last: int | None, as_json: bool) -> None:
    """The audit log: who added, updated or deleted which articles, when, with their content hashes."""
    from collections import deque

    from qa.faces.audit import entry_text, read_log

    entries = list(deque(read_log(index_dir), maxlen=last)) if last else list(read_log(index_dir))
    for entry in entries:
        if as_json:
            _print_json(entry)
        else:
            click.echo(entry_text(entry))
    if not entries and not as_json:
        click.echo(f"no changes logged in {index_dir}", err=True)
