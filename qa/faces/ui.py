"""The Gradio chat app: ask in Arabic or English, read quoted answers right to left, open each source.

Built on the library only: `Assistant.ask` answers, `qa.answer.followup` reads follow-ups in the light of
the previous turn, `qa.faces.render_html` turns answers into escaped HTML, `Index.add` indexes uploads.
The engine (index and model) is opened once, in `serve`, and shared by every session.

Endpoints (for `gradio_client`, see docs/app-api.md):
    /ask        question, previous_question, previous_answer, since, until, sources, categories
                -> the answer as JSON (`Answer.to_dict()`)
    /chat       message, history, since, until, sources, categories
                -> the chat history with the rendered answer appended
    /add_files  files -> a message about what was indexed, and the new status line
    /stats      -> `Index.stats()`

The filters (`since`/`until` as YYYY-MM-DD, outlets, categories) are optional everywhere; in the
chat they stay set for every question, follow-ups included, until cleared. The sidebar shows the
collection at a glance (articles per outlet, date range, a bar plot of articles per month),
refreshed after each upload.

    from qa.faces.ui import serve
    serve("index")                     # builds the seeds' index first if the folder holds none
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402

from qa.answer.assistant import Assistant  # noqa: E402
from qa.answer.followup import ask_in_context  # noqa: E402
from qa.errors import IndexNotFoundError, InputError, QAError  # noqa: E402
from qa.faces.render_html import (  # noqa: E402
    answer_html,
    collection_html,
    error_html,
    question_html,
    safe_text,
    status_markdown,
)
from qa.filters import Filters  # noqa: E402
from qa.index import Index, UpdateReport  # noqa: E402
from qa.ingest.files import FEED_SUFFIXES, SUPPORTED_SUFFIXES, read_path  # noqa: E402
from qa.records import Article  # noqa: E402
from qa.retrieve import Retriever  # noqa: E402
from qa.text.normalize import is_arabic  # noqa: E402

__all__ = [
    "MAX_UPLOAD_BYTES",
    "MAX_UPLOAD_FILES",
    "UPLOADS_DIR",
    "UploadResult",
    "add_uploads",
    "build_demo",
    "example_questions",
    "filters_from",
    "per_month_frame",
    "safe_filename",
    "serve",
]

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
"""Per file: a news article is a few kilobytes; a JSONL of a few thousand articles still fits."""
MAX_UPLOAD_FILES = 20
UPLOADS_DIR = "uploads"
"""Uploaded files are kept in this folder inside the index folder (and nowhere else)."""
CONCURRENCY = 4
"""Questions answered at once; more only queue behind the CPU. Uploads run one at a time."""
MAX_QUESTION_CHARS = 1000
SEEDS = Path(__file__).resolve().parents[2] / "seeds"

SEED_EXAMPLES = [
    "ما هي المبادرات الثلاث التي يشرف عليها المغرب في المنتدى العالمي لمكافحة الإرهاب؟",
    "مع من التقى وزير الخارجية المغربي ناصر بوريطة؟",
    "ما هو قرار مجلس الأمن رقم 2396؟",
    "How do Morocco and the United States cooperate against terrorism?",
]
_SEED_MARKERS = ("بوريطة", "2396")

CSS = """
.qa-status { font-size: 0.9em; opacity: 0.85; }
#qa-input textarea { unicode-bidi: plaintext; text-align: start; }
.qa-question { unicode-bidi: plaintext; }
.qa-question, .qa-answer, .qa-answer div, .qa-answer p, .qa-answer blockquote, .qa-answer summary { text-align: start; }
.qa-answer { line-height: 1.7; }
.qa-quote { margin: 0.4em 0; padding: 0.3em 0.8em; border-inline-start: 4px solid #2563eb;
  background: rgba(37, 99, 235, 0.06); }
.qa-cite { color: #2563eb; font-weight: 600; }
.qa-label { font-weight: 600; margin-top: 0.6em; }
.qa-source { margin: 0.3em 0; border: 1px solid rgba(128, 128, 128, 0.35); border-radius: 6px; padding: 0.2em 0.6em; }
.qa-source summary { cursor: pointer; }
.qa-meta { font-size: 0.85em; opacity: 0.8; }
.qa-passage { margin-top: 0.3em; white-space: normal; }
.qa-mark { background: #fde68a; color: inherit; padding: 0 2px; }
.qa-context { font-size: 0.85em; opacity: 0.8; font-style: italic; margin-bottom: 0.4em; }
.qa-abstain { font-weight: 600; }
.qa-related { margin: 0.4em 0; padding: 0.3em 0.6em; border: 1px dashed #9ca3af; border-radius: 6px;
  color: #6b7280; background: rgba(156, 163, 175, 0.08); }
.qa-badge { display: inline-block; font-size: 0.75em; text-transform: uppercase; letter-spacing: 0.04em;
  border: 1px solid #9ca3af; border-radius: 999px; padding: 0 0.5em; margin-inline-end: 0.4em; }
.qa-error { color: #b91c1c; }
.qa-cite-meta { font-size: 0.85em; font-weight: 600; color: #1e40af; margin-inline-end: 0.3em; }
.qa-quote .qa-cite-meta { font-weight: 400; opacity: 0.85; }
.qa-filters { font-size: 0.85em; margin-bottom: 0.4em; padding: 0.1em 0.5em; border-radius: 4px;
  background: rgba(16, 185, 129, 0.10); border-inline-start: 3px solid #10b981; }
.qa-collection { font-size: 0.9em; line-height: 1.6; }
.qa-outlet { display: inline-block; margin-inline-end: 0.6em; }
"""


# ---------------------------------------------------------------------------- examples


def example_questions(index: Index, limit: int = 4) -> list[str]:
    """Example questions for the chat.

    For the seeds: Arabic questions about the three initiatives Morocco oversees in the Global
    Counterterrorism Forum, whom Bourita met and UN resolution 2396, plus one in English. For
    other collections: one question per article title, for the first `limit` articles.
    """
    articles = [index.article(doc_id) for doc_id in index.document_ids]
    if any(all(marker in a.text for marker in _SEED_MARKERS) for a in articles):
        return list(SEED_EXAMPLES)
    questions = []
    for article in articles:
        title = " ".join(article.title.split()[:12]).strip(" ?؟.:")
        if not title:
            continue
        questions.append(f"ماذا جاء عن «{title}»؟" if is_arabic(title) else f"What do the articles say about “{title}”?")
        if len(questions) == limit:
            break
    return questions


# ---------------------------------------------------------------------------- uploads


@dataclass
class UploadResult:
    """What an upload did: files kept (their safe names), files refused (one reason each), and the
    index's report (None when nothing was indexed)."""

    accepted: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    report: UpdateReport | None = None

    def message(self) -> str:
        """Markdown for the app; every file name and reason escaped."""
        lines = []
        if self.report is not None:
            r = self.report
            lines.append(
                f"✅ {len(r.added)} added · {len(r.updated)} updated · {len(r.unchanged)} unchanged "
                f"({r.chunks_embedded} chunks in {r.seconds:.1f}s): "
                + ", ".join(safe_text(name) for name in self.accepted)
            )
            lines += [f"⚠️ {safe_text(w)}" for w in r.warnings]
        lines += [f"❌ {safe_text(reason)}" for reason in self.rejected]
        return "<br>".join(lines) or "No file received."


def safe_filename(name: str) -> str:
    """A file name that cannot leave its folder: the last path component only (either slash),
    letters (Arabic included), digits, `-`, `_` and `.` kept, other runs turned into `_`, no leading
    dot, at most 100 characters before the suffix; "upload" when nothing is left.

    Example:
        >>> safe_filename("../../etc/passwd.txt"), safe_filename("..\\\\x\\\\خبر عاجل!.md")
        ('passwd.txt', 'خبر_عاجل.md')
    """
    name = unicodedata.normalize("NFC", str(name)).replace("\x00", "")
    name = re.split(r"[\\/]", name)[-1]
    stem, dot, suffix = name.rpartition(".")
    if not dot or not re.fullmatch(r"[A-Za-z0-9]{1,10}", suffix):
        stem, suffix = name, ""
    stem = re.sub(r"[^\w.-]+", "_", stem).strip("._-")[:100].strip("._-") or "upload"
    return f"{stem}.{suffix.lower()}" if suffix else stem


def _size_text(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB" if size >= 1024 * 1024 else f"{size / 1024:.1f} KB"


_WARNING = re.compile(r"^.*?(?::(\d+))?: skipped: (.*)$", re.DOTALL)


def _reason(warning: str) -> str:
    """An ingest warning ("f.jsonl:3: skipped: not valid JSON") without the staging file's name."""
    match = _WARNING.match(warning)
    if not match:
        return warning
    line, reason = match.groups()
    return f"line {line}: {reason}" if line else reason


def add_uploads(
    index: Index,
    files: Sequence[str | os.PathLike],
    *,
    max_files: int = MAX_UPLOAD_FILES,
    max_bytes: int = MAX_UPLOAD_BYTES,
    progress: bool = False,
) -> UploadResult:
    """Check, read and index uploaded files; keep them in `<index_dir>/uploads/`.

    Each file must have a supported suffix, be at most `max_bytes` and hold at least one usable
    article; others are refused with a reason and never touch the index. Files are read from a
    private staging folder inside the index folder, the readable ones are indexed in one
    `Index.add` (an atomic commit), and only then moved into `uploads/` under their safe names.
    Article ids are `uploads/<name>` (JSONL records keep their own ids), so re-uploading a file
    replaces its earlier version and never a seed article.

    Args:
        index: The open index (its folder receives the files).
        files: Paths of the uploaded files; their names are what the user chose.
        max_files: Files accepted per upload; the rest are refused.
        max_bytes: Size limit per file.
        progress: Show the embedding progress bar (the app tracks it).

    Returns:
        The `UploadResult`.

    Raises:
        IndexLockedError: another process is writing to the index.
    """
    result = UploadResult()
    files = list(files or [])
    if len(files) > max_files:
        extra = files[max_files:]
        files = files[:max_files]
        result.rejected += [f"{Path(f).name}: too many files (at most {max_files} per upload)" for f in extra]
    uploads = index.index_dir / UPLOADS_DIR
    uploads.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=uploads))
    allowed = ", ".join(SUPPORTED_SUFFIXES)
    try:
        articles: list[Article] = []
        staged: list[str] = []
        for file in files:
            source = Path(file)
            shown = source.name
            name = safe_filename(shown)
            suffix = Path(name).suffix.lower()
            if suffix not in SUPPORTED_SUFFIXES:
                result.rejected.append(f"{shown}: unsupported file type; use {allowed}")
                continue
            try:
                size = source.stat().st_size
            except OSError:
                result.rejected.append(f"{shown}: the upload could not be read; try again")
                continue
            if size > max_bytes:
                result.rejected.append(f"{shown}: {_size_text(size)} is over the limit of {_size_text(max_bytes)} per file")
                continue
            if name in staged:
                result.rejected.append(f"{shown}: another file in this upload has the same name")
                continue
            target = staging / name
            if target.resolve().parent != staging.resolve():  # cannot happen after safe_filename; belt and braces
                result.rejected.append(f"{shown}: invalid file name")
                continue
            shutil.copyfile(source, target)
            try:
                read = read_path(target)
            except InputError as exc:
                result.rejected.append(f"{shown}: {exc}")
                continue
            if not read.articles:
                reason = _reason(read.warnings[0]) if read.warnings else "no usable article"
                result.rejected.append(f"{shown}: {reason}")
                continue
            if suffix != ".jsonl" and suffix not in FEED_SUFFIXES:  # a JSONL line or feed entry keeps its own id
                read.articles = [replace(a, id=f"{UPLOADS_DIR}/{name}") for a in read.articles]
            result.rejected += [f"{shown}: {_reason(w)}" for w in read.warnings]
            articles += read.articles
            staged.append(name)
        if not articles:
            return result
        result.report = index.add(articles, progress=progress)
        for name in staged:
            os.replace(staging / name, uploads / name)
        result.accepted = staged
        return result
    finally:
        shutil.rmtree(staging, ignore_errors=True)


# ---------------------------------------------------------------------------- filters and the collection


def filters_from(
    since: str | None = None,
    until: str | None = None,
    sources: Sequence[str] | str | None = None,
    categories: Sequence[str] | str | None = None,
) -> Filters | None:
    """The `Filters` for the chat's controls or the API's parameters; None when nothing is set.

    Dates are days as YYYY-MM-DD (the date picker's "YYYY-MM-DD HH:MM:SS" is cut to its day).

    Raises:
        InputError: a date is not a day or the range is reversed (one line, for the user).
    """
    filters = Filters(since=_blank(since), until=_blank(until), sources=sources or (), categories=categories or ())
    return None if filters.empty else filters


def _blank(value: Any) -> Any:
    return None if value is None or (isinstance(value, str) and not value.strip()) else value


def per_month_frame(stats: dict[str, Any]) -> Any:
    """Articles per month from `Index.stats()["per_month"]`, as the DataFrame the bar plot draws:
    columns `month` ("YYYY-MM") and `articles`, one row per month from the first to the last,
    months without articles included as 0 so that gaps in the collection show as gaps."""
    import pandas as pd

    counts = {str(m): int(n) for m, n in (stats.get("per_month") or {}).items() if re.fullmatch(r"\d{4}-\d{2}", str(m))}
    if not counts:
        return pd.DataFrame({"month": pd.Series([], dtype=str), "articles": pd.Series([], dtype=int)})
    first, last = min(counts), max(counts)
    year, month = int(first[:4]), int(first[5:])
    months = []
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return pd.DataFrame({"month": months, "articles": [counts.get(m, 0) for m in months]})


def _names(counts: dict[str, Any] | None) -> list[str]:
    """Dropdown choices: the names with most articles first (unnamed ones cannot be chosen)."""
    items = [(str(k), int(v)) for k, v in (counts or {}).items() if str(k).strip()]
    return [name for name, _ in sorted(items, key=lambda kv: (-kv[1], kv[0]))]


# ---------------------------------------------------------------------------- the app


class _Handlers:
    """The app's event handlers, sharing one assistant and one index."""

    def __init__(self, assistant: Assistant, index: Index) -> None:
        self.assistant = assistant
        self.index = index

    def ask(
        self,
        question: str,
        previous_question: str = "",
        previous_answer: dict | None = None,
        since: str | None = None,
        until: str | None = None,
        sources: list[str] | None = None,
        categories: list[str] | None = None,
    ) -> dict:
        """Answer `question` with verbatim quotes and numbered citations; the structured answer.

        Pass the previous turn's question and answer (this endpoint's own output) to ask a
        follow-up such as "ومتى سيتم إطلاقها؟"; the answer's `context` shows what was added.
        `since`/`until` (YYYY-MM-DD, inclusive), `sources` (outlets) and `categories` restrict the
        articles searched; leave them out for no filter.
        Returns `Answer.to_dict()`: question, text, abstained, language, context, quotes
        (text, doc_id, title, start, end, score, citation, url, also_cited, truncated),
        citations (number, doc_id, title, url, date, source), related, evidence.
        """
        if not isinstance(previous_answer, dict):
            previous_answer = None
        try:
            filters = filters_from(since, until, sources, categories)
            turn = ask_in_context(self.assistant, _checked(question), previous_question or None, previous_answer, filters=filters)
        except QAError as exc:
            raise gr.Error(str(exc)) from None
        return turn.answer.to_dict()

    def chat(
        self,
        message: str,
        history: list[dict[str, Any]] | None,
        last: dict[str, Any] | None,
        since: str | None = None,
        until: str | None = None,
        sources: list[str] | None = None,
        categories: list[str] | None = None,
    ) -> tuple[list[dict[str, Any]], str, dict[str, Any] | None]:
        """One chat turn: the question and its rendered answer appended to the history, searched
        within the filters set (a bad date gets a one-line reply, not an answer)."""
        history = list(history or [])
        message = (message or "").strip()
        if not message:
            return history, "", last
        last = last or {}
        history.append({"role": "user", "content": question_html(message)})
        filters = None
        try:
            filters = filters_from(since, until, sources, categories)
            turn = ask_in_context(self.assistant, _checked(message), last.get("question"), last.get("answer"), filters=filters)
        except QAError as exc:
            reply = error_html(str(exc), "ar" if is_arabic(message) else "en")
            history.append({"role": "assistant", "content": reply})
            return history, "", last or None
        except Exception:  # the library failed unexpectedly: reply politely, keep the details in the log
            log.exception("answering %r failed", message)
            history.append({"role": "assistant", "content": error_html("an internal error occurred; please try again", "en")})
            return history, "", last or None
        follow_up_of = last.get("question") if turn.follow_up and not turn.context else None
        reply = answer_html(turn.answer, self.index.article, context=turn.context, follow_up_of=follow_up_of, filters=filters)
        history.append({"role": "assistant", "content": reply})
        return history, "", {"question": turn.thread, "answer": turn.answer.to_dict()}

    def add_files(self, files: list[str] | str | None, progress=gr.Progress(track_tqdm=True)) -> tuple[str, str]:
        """Index uploaded .txt .md .html .jsonl files; a message and the new status line."""
        if not files:
            return "No file received.", self.status()
        if isinstance(files, (str, os.PathLike)):
            files = [files]
        progress(0, desc="Reading files")
        try:
            result = add_uploads(self.index, files, progress=True)
        except QAError as exc:
            return f"❌ {safe_text(str(exc))} (the index is unchanged)", self.status()
        return result.message(), self.status()

    def status(self) -> str:
        self.index.refresh()
        return status_markdown(self.index.stats())

    def collection(self, sources: list[str] | None = None, categories: list[str] | None = None) -> tuple:
        """The status line, the collection summary, the per-month plot's data and the outlet and
        category choices (keeping what is still selectable), from one fresh `Index.stats()`."""
        self.index.refresh()
        stats = self.index.stats()
        outlets, kinds = _names(stats.get("sources")), _names(stats.get("categories"))
        return (
            status_markdown(stats),
            collection_html(stats),
            per_month_frame(stats),
            gr.Dropdown(choices=outlets, value=[s for s in (sources or []) if s in outlets], multiselect=True),
            gr.Dropdown(choices=kinds, value=[c for c in (categories or []) if c in kinds], multiselect=True),
        )

    def stats(self) -> dict:
        """`Index.stats()`: documents, chunks, model, size, last update, and the collection at a
        glance (`sources`, `categories`, `dates`, `per_month`)."""
        self.index.refresh()
        return self.index.stats()


def _checked(question: str) -> str:
    if not isinstance(question, str) or not question.strip():
        raise InputError("the question is empty; type a question")
    if len(question) > MAX_QUESTION_CHARS:
        raise InputError(f"the question has {len(question)} characters; keep it under {MAX_QUESTION_CHARS}")
    return question.strip()


def build_demo(assistant: Assistant, index: Index, *, examples: list[str]) -> gr.Blocks:
    """The chat app on an open index; launch it with `demo.launch(css=CSS, ...)` (as `serve` does).

    Args:
        assistant: Answers the questions (on `index`).
        index: The index shown in the status line and receiving uploads.
        examples: Example questions shown under the input.

    Returns:
        The `gr.Blocks` app, its queue configured; nothing is launched.
    """
    h = _Handlers(assistant, index)
    limits = f"{', '.join(SUPPORTED_SUFFIXES)} · ≤ {MAX_UPLOAD_BYTES // (1024 * 1024)} MB per file · ≤ {MAX_UPLOAD_FILES} files"
    stats = index.stats()
    with gr.Blocks(title="Ask the news · اسأل الأخبار") as demo:
        gr.Markdown(
            "## اسأل الأخبار · Ask the news\n"
            '<div dir="rtl">اكتب سؤالك بالعربية أو بالإنجليزية: كل إجابة اقتباس حرفي من المقالات مع رقم مصدره؛ '
            "افتح المصدر لترى الاقتباس في موضعه.</div>"
            '<div dir="ltr">Ask in Arabic or English: every answer is a verbatim quote with its numbered source; '
            "open a source to read the quote in place.</div>"
        )
        status = gr.Markdown(status_markdown(stats), elem_id="qa-status", label="status")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=480):
                chatbot = gr.Chatbot(
                    elem_id="qa-chat",
                    rtl=True,
                    height="70vh",
                    latex_delimiters=[],
                    sanitize_html=True,
                    buttons=["copy"],
                    feedback_options=None,
                    show_label=False,
                    placeholder="اسأل عن المقالات المفهرسة · Ask about the indexed articles",
                )
                last = gr.State(None)
                with gr.Row():
                    message = gr.Textbox(
                        elem_id="qa-input",
                        show_label=False,
                        placeholder="اكتب سؤالك هنا… · Type your question…",
                        max_length=MAX_QUESTION_CHARS,
                        scale=5,
                        autofocus=True,
                    )
                    send = gr.Button("اسأل · Ask", variant="primary", elem_id="qa-send", scale=1)
                    new_chat = gr.Button("محادثة جديدة · New chat", elem_id="qa-clear", scale=1)
                if examples:
                    gr.Examples([[q] for q in examples], inputs=[message], label="أمثلة · Examples")
            with gr.Column(scale=2, min_width=320):
                with gr.Accordion("تصفية · Filters", open=True, elem_id="qa-filters"):
                    since = gr.DateTime(
                        include_time=False,
                        type="string",
                        label="من تاريخ · Since (YYYY-MM-DD)",
                        elem_id="qa-since",
                    )
                    until = gr.DateTime(
                        include_time=False,
                        type="string",
                        label="إلى تاريخ · Until (YYYY-MM-DD)",
                        elem_id="qa-until",
                    )
                    sources = gr.Dropdown(
                        choices=_names(stats.get("sources")),
                        value=[],
                        multiselect=True,
                        label="المصادر · Outlets",
                        elem_id="qa-sources",
                    )
                    categories = gr.Dropdown(
                        choices=_names(stats.get("categories")),
                        value=[],
                        multiselect=True,
                        label="الأقسام · Categories",
                        elem_id="qa-categories",
                    )
                    clear_filters = gr.Button("إلغاء التصفية · Clear filters", size="sm", elem_id="qa-clear-filters")
                with gr.Accordion("المجموعة · The collection", open=True, elem_id="qa-collection"):
                    collection = gr.HTML(collection_html(stats), elem_id="qa-collection-summary")
                    per_month = gr.BarPlot(
                        per_month_frame(stats),
                        x="month",
                        y="articles",
                        sort="x",
                        title="المقالات في كل شهر · Articles per month",
                        x_title="month",
                        y_title="articles",
                        x_label_angle=-45,
                        y_lim=[0, None],  # bars start at zero, or a month with the fewest articles shows none
                        height=260,
                        elem_id="qa-per-month",
                    )
                with gr.Accordion("إضافة مقالات · Add articles", open=True):
                    upload = gr.UploadButton(
                        "رفع ملفات · Upload files",
                        file_count="multiple",
                        file_types=list(SUPPORTED_SUFFIXES),
                        elem_id="qa-upload",
                    )
                    gr.Markdown(f"<small>{safe_text(limits)}</small>")
                    upload_result = gr.Markdown(elem_id="qa-upload-result", label="upload result")

        filter_inputs = [since, until, sources, categories]
        chat_io = dict(inputs=[message, chatbot, last, *filter_inputs], outputs=[chatbot, message, last])
        send.click(h.chat, **chat_io, api_name="chat", concurrency_limit=CONCURRENCY, concurrency_id="qa")
        message.submit(h.chat, **chat_io, api_visibility="private", concurrency_limit=CONCURRENCY, concurrency_id="qa")
        new_chat.click(lambda: ([], "", None), None, [chatbot, message, last], api_visibility="private", queue=False)
        clear_filters.click(lambda: (None, None, [], []), None, filter_inputs, api_visibility="private", queue=False)
        refreshed = [status, collection, per_month, sources, categories]
        upload.upload(h.add_files, upload, [upload_result, status], api_name="add_files", concurrency_limit=1).then(
            h.collection, [sources, categories], refreshed, api_visibility="private", queue=False
        )
        demo.load(h.collection, [sources, categories], refreshed, api_visibility="private", queue=False)
        gr.api(h.ask, api_name="ask", concurrency_limit=CONCURRENCY, concurrency_id="qa")
        gr.api(h.stats, api_name="stats", queue=False)
    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=256)
    return demo


def open_index(
    index_dir: str | os.PathLike, source: str | os.PathLike | None = None, *, cluster: str | None = None, shards: int | None = None
) -> Index:
    """Load the index in `index_dir`, or build it from `source` (default: the repo's seeds/) with a
    progress bar when the folder holds none; searched (and built) by the Ray cluster at `cluster`
    when given, over `shards` shards.

    Raises:
        InputError: the index is absent and the source is missing or empty.
        IndexCorruptError, IndexMismatchError: the index exists but cannot be used.
        ClusterError: the cluster cannot be used.
    """
    try:
        return Index.load(index_dir, cluster=cluster, shards=shards)
    except IndexNotFoundError:
        source = Path(source) if source else SEEDS
        if not source.exists():
            raise InputError(f"no index in {index_dir} and no source {source} to build one; pass --source FOLDER") from None
        print(f"No index in {index_dir}: indexing {source} first…", flush=True)
        return Index.build(source, index_dir, progress=True, cluster=cluster, shards=shards)


def serve(
    index_dir: str | os.PathLike,
    source: str | os.PathLike | None = None,
    host: str = "127.0.0.1",
    port: int = 7860,
    share: bool = False,
    cluster: str | None = None,
    shards: int | None = None,
) -> None:
    """Open the index once (building it from `source` if absent), load the model, and serve the app;
    with `cluster`, searches run on that Ray cluster's `shards` shard actors (`Index.load`).

    Blocks until the server stops.

    Raises:
        QAError: the index cannot be opened or built, the model cannot be loaded, or the cluster used.
    """
    index = open_index(index_dir, source, cluster=cluster, shards=shards)
    assistant = Assistant(Retriever(index))
    index.embed_query("warm up")  # load the model now, not on the first question
    if assistant.verifier is not None:  # and the verifier's graph (1.5 s), not on the first English question
        assistant.verifier.scores("warm up", ["warm up"])
    demo = build_demo(assistant, index, examples=example_questions(index))
    stats = index.stats()
    print(f"{stats['documents']} documents, {stats['chunks']} chunks in {stats['index_dir']}; model {stats['model']}", flush=True)
    demo.launch(
        server_name=host,
        server_port=port,
        share=share,
        css=CSS,
        ssr_mode=False,
        max_file_size=MAX_UPLOAD_BYTES,
        show_error=True,
    )
