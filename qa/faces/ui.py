"""The Gradio chat app: ask in Arabic or English, read quoted answers right to left, open each source.

Built on the library only: `Assistant.ask` answers, `qa.answer.followup` reads follow-ups in the light of
the previous turn, `qa.faces.render_html` turns answers into escaped HTML, `Index.add` indexes uploads.
The engine (index and model) is opened once, in `serve`, and shared by every session.

This module is the layout (`build_demo`: which controls, where, wired to which handler and endpoint) and
`open_index`. What each event does is `qa.faces.handlers`; checking and indexing uploaded files is
`qa.faces.uploads`; who may upload, and the server that mounts the readers' and the editors' chats
beside the REST API, is `qa.faces.server`. The upload button and `/add_files` exist only in a chat
built with an `upload` function (the editors' chat, behind a login).

Endpoints (for `gradio_client`, see docs/app-api.md):
    /ask        question, previous_question, previous_answer, since, until, sources, categories
                -> the answer as JSON (`Answer.to_dict()`)
    /chat       message, history, since, until, sources, categories
                -> the chat history with the rendered answer appended
    /add_files  files -> a message about what was indexed, and the new status line (editors' chat only)
    /stats      -> `Index.stats()`

The filters (`since`/`until` as YYYY-MM-DD, outlets, categories) are optional everywhere; in the
chat they stay set for every question, follow-ups included, until cleared. The sidebar shows the
collection at a glance (articles per outlet, date range, a bar plot of articles per month),
refreshed after each upload.

    from qa.faces.server import serve
    serve("index")                     # builds the seeds' index first if the folder holds none
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402

from qa.answer.assistant import Assistant  # noqa: E402
from qa.errors import IndexNotFoundError, InputError  # noqa: E402
from qa.faces.handlers import (  # noqa: E402
    MAX_QUESTION_CHARS,
    Handlers,
    dropdown_choices,
    per_month_frame,
)
from qa.faces.render_html import collection_html, safe_text, status_markdown  # noqa: E402
from qa.faces.uploads import MAX_UPLOAD_BYTES, MAX_UPLOAD_FILES  # noqa: E402
from qa.index import Index  # noqa: E402
from qa.ingest.files import SUPPORTED_SUFFIXES  # noqa: E402
from qa.retrieve import Retriever  # noqa: E402
from qa.text.normalize import is_arabic  # noqa: E402

__all__ = ["CSS", "build_demo", "example_questions", "open_index"]

CONCURRENCY = 4
"""Questions answered at once; more only queue behind the CPU. Uploads run one at a time."""
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
.qa-tentative { font-style: italic; color: #92400e; margin: 0.2em 0; }
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
.qa-disagreement { margin: 0.5em 0; padding: 0.3em 0.6em; border-inline-start: 4px solid #d97706;
  background: rgba(217, 119, 6, 0.08); border-radius: 4px; }
.qa-disagreement-label { font-weight: 700; }
.qa-report { display: inline-block; vertical-align: top; margin-inline-end: 0.3em; }
.qa-report[open] { display: block; margin: 0.3em 0; }
.qa-report summary { cursor: pointer; display: inline; }
.qa-report-value { font-weight: 700; text-decoration: underline dotted; }
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



# ---------------------------------------------------------------------------- the app


def build_demo(
    assistant: Assistant,
    index: Index,
    *,
    examples: list[str],
    upload: Callable[..., tuple[str, str]] | None = None,
    banner: str = "",
    admit: Callable[[gr.Request], str | None] | None = None,
) -> gr.Blocks:
    """The chat app on an open index; mount it with `qa.faces.server` (or `demo.launch(css=CSS, ...)`).

    Args:
        assistant: Answers the questions (on `index`).
        index: The index shown in the status line.
        examples: Example questions shown under the input.
        upload: What the upload button calls (`(files, request) -> (message, status line)`, with a
            `gr.Request` parameter so it knows the logged-in user); None for a chat without the
            button and without the `/add_files` endpoint (the readers' chat).
        banner: Markdown shown under the title (the editors' login link, or who is logged in).
        admit: Called with each chat question's request; a message refuses the question (the
            per-client rate limit), None lets it through.

    Returns:
        The `gr.Blocks` app, its queue configured; nothing is launched.
    """
    h = Handlers(assistant, index)
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
        if banner:
            gr.Markdown(banner, elem_id="qa-banner")
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
                        choices=dropdown_choices(stats.get("sources")),
                        value=[],
                        multiselect=True,
                        label="المصادر · Outlets",
                        elem_id="qa-sources",
                    )
                    categories = gr.Dropdown(
                        choices=dropdown_choices(stats.get("categories")),
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
                if upload is not None:
                    with gr.Accordion("إضافة مقالات · Add articles", open=True):
                        upload_button = gr.UploadButton(
                            "رفع ملفات · Upload files",
                            file_count="multiple",
                            file_types=list(SUPPORTED_SUFFIXES),
                            elem_id="qa-upload",
                        )
                        gr.Markdown(f"<small>{safe_text(limits)}</small>")
                        upload_result = gr.Markdown(elem_id="qa-upload-result", label="upload result")

        chat = h.chat if admit is None else _admitted(h, admit)
        filter_inputs = [since, until, sources, categories]
        chat_io = dict(inputs=[message, chatbot, last, *filter_inputs], outputs=[chatbot, message, last])
        send.click(chat, **chat_io, api_name="chat", concurrency_limit=CONCURRENCY, concurrency_id="qa")
        message.submit(chat, **chat_io, api_visibility="private", concurrency_limit=CONCURRENCY, concurrency_id="qa")
        new_chat.click(lambda: ([], "", None), None, [chatbot, message, last], api_visibility="private", queue=False)
        clear_filters.click(lambda: (None, None, [], []), None, filter_inputs, api_visibility="private", queue=False)
        refreshed = [status, collection, per_month, sources, categories]
        if upload is not None:
            upload_button.upload(upload, upload_button, [upload_result, status], api_name="add_files", concurrency_limit=1).then(
                h.collection, [sources, categories], refreshed, api_visibility="private", queue=False
            )
        demo.load(h.collection, [sources, categories], refreshed, api_visibility="private", queue=False)
        gr.api(h.ask if admit is None else _admitted_api(h, admit), api_name="ask", concurrency_limit=CONCURRENCY, concurrency_id="qa")
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


def _admitted(h: Handlers, admit: Callable[[gr.Request], str | None]) -> Callable[..., Any]:
    """`h.chat`, refusing a question (with a one-line reply) when `admit` says so."""

    def chat(
        message: str,
        history: list[dict[str, Any]] | None,
        last: dict[str, Any] | None,
        since: str | None = None,
        until: str | None = None,
        sources: list[str] | None = None,
        categories: list[str] | None = None,
        request: gr.Request = None,
    ) -> tuple[list[dict[str, Any]], str, dict[str, Any] | None]:
        refusal = admit(request) if (message or "").strip() else None
        if refusal:
            return h.refuse(message, history, last, refusal)
        return h.chat(message, history, last, since, until, sources, categories)

    return chat


def _admitted_api(h: Handlers, admit: Callable[[gr.Request], str | None]) -> Callable[..., dict]:
    """`h.ask` for programs, raising the refusal of `admit` as the endpoint's error."""

    def ask(
        question: str,
        previous_question: str = "",
        previous_answer: dict | None = None,
        since: str | None = None,
        until: str | None = None,
        sources: list[str] | None = None,
        categories: list[str] | None = None,
        request: gr.Request = None,
    ) -> dict:
        refusal = admit(request)
        if refusal:
            raise gr.Error(refusal)
        return h.ask(question, previous_question, previous_answer, since, until, sources, categories)

    ask.__doc__ = h.ask.__doc__
    return ask
