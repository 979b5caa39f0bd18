"""What each event of the chat app does: a chat turn, the API's ask, an upload, a refresh of the sidebar.

`Handlers` holds the one assistant and index every session shares and turns the controls' values into
library calls: the filters' values into `Filters` (`filters_from`), the index's statistics into the
sidebar's data (`per_month_frame`, the outlet and category choices). The per-session state is the
chat's `last` turn (question and structured answer), passed in and returned by `Handlers.chat` so
that follow-ups read the previous turn. The layout that wires these to buttons is `qa.faces.ui`; the
handlers are plain methods, so tests call them without a browser.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402

from qa.answer.assistant import Assistant  # noqa: E402
from qa.answer.followup import ask_in_context  # noqa: E402
from qa.errors import InputError, QAError  # noqa: E402
from qa.faces.render_html import (  # noqa: E402
    answer_html,
    collection_html,
    error_html,
    question_html,
    safe_text,
    status_markdown,
)
from qa.faces.uploads import add_uploads  # noqa: E402
from qa.filters import Filters  # noqa: E402
from qa.index import Index  # noqa: E402
from qa.text.normalize import is_arabic  # noqa: E402

__all__ = ["MAX_QUESTION_CHARS", "Handlers", "dropdown_choices", "filters_from", "per_month_frame"]

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 1000


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


def dropdown_choices(counts: dict[str, Any] | None) -> list[str]:
    """Dropdown choices: the names with most articles first (unnamed ones cannot be chosen)."""
    items = [(str(k), int(v)) for k, v in (counts or {}).items() if str(k).strip()]
    return [name for name, _ in sorted(items, key=lambda kv: (-kv[1], kv[0]))]


# ---------------------------------------------------------------------------- the app


class Handlers:
    """The app's event handlers, sharing one assistant and one index.

    Example:
        >>> h = Handlers(Assistant(Retriever(index)), index)
        >>> history, _, last = h.chat("من هو وزير الخارجية المغربي؟", [], None)
        >>> history, _, last = h.chat("ومتى زار واشنطن؟", history, last)  # a follow-up, read with the last turn
    """

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

    def refuse(
        self, message: str, history: list[dict[str, Any]] | None, last: dict[str, Any] | None, reason: str
    ) -> tuple[list[dict[str, Any]], str, dict[str, Any] | None]:
        """A chat turn that is not answered (the server's rate limit): the question and a one-line
        reply saying why; the question stays in the input box to send again."""
        history = list(history or [])
        history.append({"role": "user", "content": question_html(message.strip())})
        history.append({"role": "assistant", "content": error_html(reason, "ar" if is_arabic(message) else "en")})
        return history, message, last

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
        outlets, kinds = dropdown_choices(stats.get("sources")), dropdown_choices(stats.get("categories"))
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
