"""The newsroom server: the readers' chat, the editors' chat and a REST API on one FastAPI app.

`qa serve` runs it. Gradio already runs on FastAPI, so one app holds everything, mounted with
`gr.mount_gradio_app`:

    /             the chat for readers: ask, filter, open sources; no upload button, no /add_files
                  (a login for everyone with --readers-login, Gradio's `auth`)
    /editor/      the chat for editors, behind Gradio's login: the same chat plus the upload button
    /api/v1/...   the REST API (`POST /ask`, `GET /search`, `GET /stats`, `GET|POST|DELETE
                  /documents`), keys sent as `Authorization: Bearer KEY` (FastAPI's `HTTPBearer`),
                  its OpenAPI docs at /api/v1/docs

Who may do what is decided in `qa.faces.auth` (users, roles, limits) and nowhere else; every write
goes through `qa.faces.desk` (one at a time, one commit, audited). The routes call the same library
doors as the CLI and the chat: `Assistant` through `ask_in_context`, `Retriever.search`,
`Index.stats` and `Index.article`. Errors are JSON with a one-line message, `{"error": "..."}`:
400 bad input, 401 no or wrong key, 403 not allowed, 404 no such document, 409 another process is
writing, 413 too large, 429 too many questions (with `Retry-After`). See docs/server.md.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations at definition time,
# and they name dependencies local to `build_app`.

import logging
import math
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import anyio.to_thread  # noqa: E402
import gradio as gr  # noqa: E402
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request  # noqa: E402
from fastapi.exceptions import RequestValidationError  # noqa: E402
from fastapi.responses import JSONResponse  # noqa: E402
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer  # noqa: E402
from pydantic import BaseModel, ConfigDict, Field, ValidationError  # noqa: E402
from starlette.datastructures import UploadFile  # noqa: E402
from starlette.exceptions import HTTPException as StarletteHTTPException  # noqa: E402

from qa.answer.assistant import Assistant  # noqa: E402
from qa.answer.followup import ask_in_context  # noqa: E402
from qa.errors import IndexLockedError, InputError, QAError  # noqa: E402
from qa.faces.auth import AskQueue, Busy, Limits, Policy, RateLimiter, User, Users, is_loopback  # noqa: E402
from qa.faces.desk import Desk, NotFound, TooLarge  # noqa: E402
from qa.faces.handlers import MAX_QUESTION_CHARS, filters_from  # noqa: E402
from qa.faces.render_html import safe_text, status_markdown  # noqa: E402
from qa.faces.ui import CSS, build_demo, example_questions, open_index  # noqa: E402
from qa.faces.uploads import safe_filename  # noqa: E402
from qa.index import Index  # noqa: E402
from qa.retrieve import Retriever  # noqa: E402

__all__ = ["API_PREFIX", "EDITOR_PATH", "build_app", "serve"]

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
EDITOR_PATH = "/editor"


# ---------------------------------------------------------------------------- request bodies


class AskIn(BaseModel):
    """A question, optionally a follow-up of the previous turn, optionally filtered."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS, examples=["ما هي المبادرات التي يشرف عليها المغرب؟"])
    previous_question: str = Field("", max_length=MAX_QUESTION_CHARS, description="The previous turn's question, for a follow-up.")
    previous_answer: dict[str, Any] | None = Field(None, description="The previous turn's answer, as this route returned it.")
    since: str | None = Field(None, description="Only articles published on or after this day (YYYY-MM-DD).")
    until: str | None = Field(None, description="Only articles published on or before this day (YYYY-MM-DD).")
    sources: list[str] = Field(default_factory=list, description="Only these outlets.")
    categories: list[str] = Field(default_factory=list, description="Only these categories.")


class ArticleIn(BaseModel):
    """One article: the fields of a `.jsonl` line."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=1000)
    text: str = Field(min_length=1)
    title: str | None = None
    url: str | None = None
    date: str | None = Field(None, description="Normalized to ISO 8601 like any input's date.")
    source: str | None = Field(None, description="The outlet.")
    author: str | None = None
    category: str | None = None


class ArticlesIn(BaseModel):
    """Articles to add or update (an article whose id exists is replaced)."""

    model_config = ConfigDict(extra="forbid")

    articles: list[ArticleIn] = Field(min_length=1)


# ---------------------------------------------------------------------------- errors


def _refuse(status: int, message: str, headers: dict[str, str] | None = None) -> HTTPException:
    return HTTPException(status_code=status, detail=message, headers=headers)


def _one_line(text: Any) -> str:
    return " ".join(str(text).split())


def _validation_message(errors: list[dict[str, Any]]) -> str:
    first = errors[0] if errors else {}
    if first.get("type") == "json_invalid":
        return "the body is not valid JSON"
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "request"
    return _one_line(f"{where}: {first.get('msg', 'invalid')}")


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    return JSONResponse({"error": _one_line(exc.detail)}, status_code=exc.status_code, headers=getattr(exc, "headers", None))


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    return JSONResponse({"error": _validation_message(list(exc.errors()))}, status_code=400)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("%s %s failed", request.method, request.url.path)
    return JSONResponse({"error": "internal error; the index is unchanged unless the response said otherwise"}, status_code=500)


class Guardrails:
    """ASGI middleware: caps the REST API's request bodies (413, counted as they stream, so a missing
    or false Content-Length does not get past it) and refuses Gradio's file upload on the readers'
    chat, which has no file input (an anonymous way to fill the disk otherwise)."""

    def __init__(self, app: Any, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        if path.rstrip("/") == "/gradio_api/upload":
            return await _send_json(send, 403, "the readers' chat takes no files; editors upload at /editor/")
        if not path.startswith(API_PREFIX + "/"):
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length", b"").decode("latin-1")
        limit = self.max_body_bytes
        if declared.isdigit() and int(declared) > limit:
            return await _send_json(send, 413, f"the request has {int(declared):,} bytes; the limit is {limit:,}")
        seen = 0
        exceeded = False
        started = False

        async def counted() -> dict:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    exceeded = True
                    raise _refuse(413, f"the request is over the limit of {limit:,} bytes")
            return message

        async def guarded_send(message: dict) -> None:
            nonlocal started
            if exceeded and message["type"] == "http.response.start" and not started:
                started = True
                await _send_json(send, 413, f"the request is over the limit of {limit:,} bytes")
                return
            if exceeded and started:
                return
            await send(message)

        try:
            await self.app(scope, counted, guarded_send)
        except Exception:
            if not exceeded:
                raise
            if not started:
                await _send_json(send, 413, f"the request is over the limit of {limit:,} bytes")


async def _send_json(send: Any, status: int, message: str) -> None:
    import json

    body = json.dumps({"error": message}, ensure_ascii=False).encode("utf-8")
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


# ---------------------------------------------------------------------------- who is calling


@dataclass(frozen=True)
class Caller:
    """Who sent a request: the key's user (None: anonymous) and the client address."""

    user: User | None
    address: str

    @property
    def client(self) -> str:
        """Whose rate limit a question spends: the key's user, else the address."""
        return f"user:{self.user.name}" if self.user else f"address:{self.address}"

    @property
    def name(self) -> str:
        return self.user.name if self.user else "anonymous"


bearer = HTTPBearer(auto_error=False, description="An API key printed by `qa user add NAME --editors FILE`.")


# ---------------------------------------------------------------------------- the app


def build_app(index: Index, assistant: Assistant, policy: Policy, *, examples: list[str] | None = None) -> FastAPI:
    """The server's FastAPI app: the REST API, the editors' chat (when `policy` has editors) and the
    readers' chat, on one open index and assistant.

    Args:
        index: The open index.
        assistant: Answers questions on `index`.
        policy: Users, whether readers log in, and the limits (`qa.faces.auth.Policy`).
        examples: Example questions of the chats (default: from the index).

    Returns:
        The app; run it with uvicorn (as `serve` does).
    """
    limits = policy.limits
    rate = RateLimiter(limits.asks_per_minute)
    asks = AskQueue(limits.workers, limits.waiting)
    desk = Desk(index, max_files=limits.max_files, max_file_bytes=limits.max_file_bytes, max_articles=limits.max_articles)
    retrievers = {mode: Retriever(index, mode=mode) for mode in ("hybrid", "dense", "lexical")}
    examples = example_questions(index) if examples is None else examples

    def caller(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Caller:
        address = request.client.host if request.client else "unknown"
        if credentials is None:
            if request.headers.get("authorization"):
                raise _refuse(401, "send the API key as 'Authorization: Bearer KEY'", {"WWW-Authenticate": "Bearer"})
            if policy.readers_login:
                raise _refuse(401, "this server needs an API key: send 'Authorization: Bearer KEY'", {"WWW-Authenticate": "Bearer"})
            return Caller(None, address)
        user = policy.users.by_key(credentials.credentials) if policy.users else None
        if user is None:
            raise _refuse(401, "unknown API key", {"WWW-Authenticate": "Bearer"})
        return Caller(user, address)

    def reader(who: Annotated[Caller, Depends(caller)]) -> Caller:
        wait = rate.take(who.client)
        if wait:
            raise _refuse(
                429,
                f"too many questions from {who.name if who.user else who.address}: "
                f"{limits.asks_per_minute} a minute; try again in {math.ceil(wait)} s",
                {"Retry-After": str(math.ceil(wait))},
            )
        return who

    def editor(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Caller:
        if not policy.editors:  # whatever the key: there is no one it could belong to
            raise _refuse(403, "this server takes no articles: it was started without editors (--editors FILE)")
        who = caller(request, credentials)
        if who.user is None:
            raise _refuse(401, "adding and deleting articles needs an editor's API key: 'Authorization: Bearer KEY'", {"WWW-Authenticate": "Bearer"})
        if not who.user.editor:
            raise _refuse(403, f"{who.user.name} is a reader; adding and deleting articles needs an editor's key")
        return who

    async def in_queue(fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await asks.run(fn, *args, **kwargs)
        except Busy:
            raise _refuse(429, f"the server is busy ({asks.inflight} questions in hand); try again in a few seconds", {"Retry-After": "2"}) from None
        except InputError as exc:
            raise _refuse(400, str(exc)) from None

    router = APIRouter()
    reading = ["read (anonymous, or any key with --readers-login)"]
    writing = ["write (an editor's key)"]

    @router.post("/ask", tags=reading, summary="Answer a question with verbatim quotes and their sources")
    async def ask(body: AskIn, who: Annotated[Caller, Depends(reader)]) -> dict[str, Any]:
        """`Answer.to_dict()`: the quotes (text, doc_id, title, start, end, citation, ...), the
        numbered citations (outlet, date, URL), `abstained`, `confidence`, `related`. Pass the
        previous turn's question and answer to ask a follow-up."""
        if not body.question.strip():
            raise _refuse(400, "the question is empty; type a question")

        def answer() -> dict[str, Any]:
            index.refresh()
            filters = filters_from(body.since, body.until, body.sources, body.categories)
            try:
                turn = ask_in_context(assistant, body.question.strip(), body.previous_question or None, body.previous_answer, filters=filters)
            except (TypeError, KeyError, AttributeError, ValueError) as exc:
                if body.previous_answer is None:
                    raise
                raise InputError("previous_answer is not an answer of this API; send the previous response's JSON as it came") from exc
            return turn.answer.to_dict()

        return await in_queue(answer)

    @router.get("/search", tags=reading, summary="The passages that best match a query, best first")
    async def search(
        who: Annotated[Caller, Depends(reader)],
        q: Annotated[str, Query(min_length=1, max_length=MAX_QUESTION_CHARS, description="The query.")],
        k: Annotated[int, Query(ge=1, le=100)] = 5,
        mode: Literal["hybrid", "dense", "lexical"] = "hybrid",
        since: str | None = None,
        until: str | None = None,
        source: Annotated[list[str], Query(description="An outlet (repeatable).")] = [],  # noqa: B006
        category: Annotated[list[str], Query(description="A category (repeatable).")] = [],  # noqa: B006
    ) -> dict[str, Any]:
        """`{"hits": [...]}`: each hit's doc_id, title, text, start, end, score, and its article's
        outlet (`source`), date and URL."""

        def hits() -> dict[str, Any]:
            index.refresh()
            found = retrievers[mode].search(q, k=k, filters=filters_from(since, until, source, category))
            out = []
            for hit in found:
                article = index.article(hit.doc_id)
                out.append({**hit.to_dict(), "source": article.source, "date": article.date, "url": article.url})
            return {"hits": out}

        return await in_queue(hits)

    @router.get("/stats", tags=reading, summary="Counts, model, and the collection at a glance")
    def stats(who: Annotated[Caller, Depends(caller)]) -> dict[str, Any]:
        """`Index.stats()`: documents, chunks, model, size, last update, articles per outlet and
        category, the date range and articles per month."""
        index.refresh()
        return index.stats()

    @router.get("/documents/{doc_id:path}", tags=reading, summary="One article, as stored")
    def document(doc_id: str, who: Annotated[Caller, Depends(caller)]) -> dict[str, Any]:
        """The article whose quotes cite it: id, text (offsets of quotes point into it), title, url,
        date, source, author, category."""
        index.refresh()
        if doc_id not in set(index.document_ids):
            raise _refuse(404, f"no such document: {doc_id}")
        return index.article(doc_id).to_dict()

    @router.post(
        "/documents",
        tags=writing,
        summary="Add or update articles: files (multipart) or JSON articles",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": ArticlesIn.model_json_schema(ref_template="#/components/schemas/{model}")},
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"}}},
                            "required": ["files"],
                        }
                    },
                },
            }
        },
    )
    async def add_documents(request: Request, who: Annotated[Caller, Depends(editor)]) -> dict[str, Any]:
        """Files (.txt .md .html .jsonl, RSS/Atom feeds) as multipart `files`, or JSON
        `{"articles": [{"id", "text", "title", "url", "date", "source", "category"}]}`. Returns the
        update report (`added`, `updated`, `unchanged`, `deleted` counts, `warnings`), the ids
        changed and, for files, those accepted and refused. A refused request changes nothing."""
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind == "multipart/form-data":
            return await _add_files(request, who)
        if kind == "application/json":
            try:
                body = ArticlesIn.model_validate_json(await request.body())
            except ValidationError as exc:
                raise _refuse(400, _validation_message(exc.errors())) from None
            records = [a.model_dump(exclude_none=True) for a in body.articles]
            report = await _write(desk.add_articles, records, user=who.name, via="api", client=who.address)
            return _written(report)
        raise _refuse(400, "send files as multipart/form-data, or JSON {\"articles\": [...]}")

    async def _add_files(request: Request, who: Caller) -> dict[str, Any]:
        try:
            form = await request.form(max_files=limits.max_files + 1, max_fields=10)
        except (StarletteHTTPException, HTTPException):
            raise
        except Exception as exc:  # a malformed multipart body
            raise _refuse(400, f"the multipart body cannot be read: {exc}") from None
        try:
            files = [value for _, value in form.multi_items() if isinstance(value, UploadFile)]
            if not files:
                raise _refuse(400, "no file in the request; send them as multipart 'files'")
            if len(files) > limits.max_files:
                raise _refuse(413, f"{len(files)} files in one request; send at most {limits.max_files}")
            for upload in files:
                if (upload.size or 0) > limits.max_file_bytes:
                    raise _refuse(413, f"{upload.filename}: {upload.size:,} bytes, over the limit of {limits.max_file_bytes:,} per file")
            with tempfile.TemporaryDirectory(prefix="qa-api-") as folder:
                paths = []
                for number, upload in enumerate(files):
                    place = Path(folder) / str(number)
                    place.mkdir()
                    path = place / safe_filename(upload.filename or "upload")
                    with path.open("wb") as out:
                        while chunk := await upload.read(1024 * 1024):
                            out.write(chunk)
                    paths.append(path)
                result = await _write(desk.add_files, paths, user=who.name, via="api", client=who.address)
        finally:
            await form.close()
        if result.report is None:
            raise _refuse(400, "; ".join(result.rejected) or "no usable article")
        return {**_written(result.report), "accepted": result.accepted, "rejected": result.rejected}

    @router.delete("/documents/{doc_id:path}", tags=writing, summary="Delete an article and all its chunks")
    async def delete_document(doc_id: str, who: Annotated[Caller, Depends(editor)]) -> dict[str, Any]:
        """The update report (`deleted`: 1) and the ids deleted; 404 when the index holds no such id."""
        return _written(await _write(desk.delete, [doc_id], user=who.name, via="api", client=who.address))

    async def _write(fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await anyio.to_thread.run_sync(lambda: fn(*args, **kwargs))
        except TooLarge as exc:
            raise _refuse(413, str(exc)) from None
        except NotFound as exc:
            raise _refuse(404, str(exc)) from None
        except IndexLockedError as exc:
            raise _refuse(409, str(exc)) from None
        except QAError as exc:
            raise _refuse(400, str(exc)) from None

    def _written(report: Any) -> dict[str, Any]:
        ids = {"added": report.added, "updated": report.updated, "unchanged": report.unchanged, "deleted": report.deleted}
        return {"report": report.to_dict(), "ids": ids, "stats": index.stats()}

    app = FastAPI(
        title="qa: answers quoted from the news",
        summary="Ask, search and read as a reader; add and delete articles with an editor's key.",
        version="1",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        openapi_url=f"{API_PREFIX}/openapi.json",
    )
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
    app.add_middleware(Guardrails, max_body_bytes=limits.max_body_bytes)
    app.include_router(router, prefix=API_PREFIX)

    def admit(request: gr.Request | None) -> str | None:
        if request is None:
            return None
        who = f"user:{request.username}" if getattr(request, "username", None) else f"address:{request.client.host if request.client else 'unknown'}"
        wait = rate.take(who)
        return f"too many questions: {limits.asks_per_minute} a minute; try again in {math.ceil(wait)} s" if wait else None

    mount = dict(css=CSS, ssr_mode=False, max_file_size=limits.max_file_bytes, show_error=True, footer_links=["api", "gradio"])
    if policy.editors:
        def upload(files: list[str] | str | None, request: gr.Request, progress=gr.Progress(track_tqdm=True)) -> tuple[str, str]:
            """Index uploaded files as the logged-in editor (checked again here: the login is Gradio's)."""
            name = getattr(request, "username", None)
            index.refresh()
            status = status_markdown(index.stats())
            if not policy.is_editor(name):
                return "❌ only editors can add articles; log in at /editor/", status
            if not files:
                return "No file received.", status
            files = [files] if isinstance(files, (str, os.PathLike)) else files
            client = request.client.host if request.client else None
            try:
                result = desk.add_files(files, user=name, via="chat", client=client, progress=True)
            except QAError as exc:
                return f"❌ {safe_text(str(exc))} (the index is unchanged)", status
            return result.message(), status_markdown(index.stats())

        banner = (
            '<div class="qa-status" dir="auto">مكتب التحرير: المقالات المرفوعة تفهرس فورا وتسجل باسمك · '
            "Editors' desk: uploads are indexed at once and logged with your name · "
            '<a href="logout">log out · خروج</a></div>'
        )
        editor_demo = build_demo(assistant, index, examples=examples, upload=upload, banner=banner, admit=admit)
        gr.mount_gradio_app(
            app,
            editor_demo,
            EDITOR_PATH,
            auth=policy.editor_login,
            auth_message="Editors: log in with the name and password of `qa user add` · المحررون: سجلوا الدخول",
            **mount,
        )
    reader_banner = (
        f'<div class="qa-status" dir="auto"><a href="{EDITOR_PATH}/">المحررون: الدخول لإضافة مقالات · Editors: log in to add articles</a></div>'
        if policy.editors
        else ""
    )
    reader_demo = build_demo(assistant, index, examples=examples, banner=reader_banner, admit=admit)
    gr.mount_gradio_app(
        app,
        reader_demo,
        "/",
        auth=policy.login if policy.readers_login else None,
        auth_message="Log in with the name and password of `qa user add` · سجلوا الدخول" if policy.readers_login else None,
        **mount,
    )
    return app


# ---------------------------------------------------------------------------- serving


def serve(
    index_dir: str | os.PathLike,
    source: str | os.PathLike | None = None,
    host: str = "127.0.0.1",
    port: int = 7860,
    share: bool = False,
    cluster: str | None = None,
    shards: int | None = None,
    editors: str | os.PathLike | None = None,
    readers_login: bool = False,
    limits: Limits | None = None,
) -> None:
    """Open the index once (building it from `source` if absent), load the model, and serve the
    chats and the REST API until stopped; with `cluster`, searches run on that Ray cluster's
    `shards` shard actors (`Index.load`).

    Args:
        editors: The users file (`qa user add`); without it nobody can add or delete articles.
        readers_login: Everyone logs in (chat) or sends a key (API), readers too.
        limits: Rate, queue and size limits (`qa.faces.auth.Limits`).

    Raises:
        QAError: the users file, the index, the model or the cluster cannot be used.
    """
    import uvicorn

    policy = Policy(users=Users.load(editors) if editors else None, readers_login=readers_login, limits=limits or Limits())
    index = open_index(index_dir, source, cluster=cluster, shards=shards)
    assistant = Assistant(Retriever(index))
    index.embed_query("warm up")  # load the model now, not on the first question
    if assistant.verifier is not None:  # and the verifier's graph (1.5 s), not on the first English question
        assistant.verifier.scores("warm up", ["warm up"])
    app = build_app(index, assistant, policy)
    stats = index.stats()
    print(f"{stats['documents']} documents, {stats['chunks']} chunks in {stats['index_dir']}; model {stats['model']}", flush=True)
    shown = f"[{host}]" if ":" in host else host
    base = f"http://{shown}:{port}"
    doors = f"Chat: {base}/ · API: {base}{API_PREFIX}/docs"
    if policy.editors:
        doors += f" · editors: {base}{EDITOR_PATH}/"
    print(doors, flush=True)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5))
    if not share:
        if not is_loopback(host):
            print(policy.who_can_do_what(f"on {host}:{port}, reachable from other machines"), flush=True)
        server.run()
        return
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        time.sleep(0.1)
    url = _share_link(host, port)
    where = f"at {url}, a public link anyone can open" if url else f"on {host}:{port}"
    print(policy.who_can_do_what(where), flush=True)
    try:
        thread.join()
    except KeyboardInterrupt:
        server.should_exit = True
        thread.join(timeout=10)


def _share_link(host: str, port: int) -> str | None:
    """A public link through Gradio's share servers (what `launch(share=True)` makes), or None with a
    line saying why not."""
    import secrets

    from gradio import networking

    try:
        url = networking.setup_tunnel("127.0.0.1" if host in ("0.0.0.0", "::") else host, port, secrets.token_urlsafe(32), None, None)
    except Exception as exc:  # no network, a blocked binary: serve locally, say so
        print(f"Could not create a share link ({_one_line(exc)}); serving on {host}:{port} only.", flush=True)
        return None
    return "https://" + url.split("://", 1)[-1]
