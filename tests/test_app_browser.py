"""End to end in a real Chromium: `python app.py` in a subprocess on 127.0.0.1, driven by Playwright.

Needs Debian's `chromium` (and `fonts-noto-core` for Arabic shaping in the screenshot): `make
browser-deps`. Playwright's own browser download cannot work here, so the system binary is used.
The screenshots of answered chats are saved to tests/artifacts/ (not committed; docs/screenshot.png
is a copy of news-chat.png).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chat_corpus import (
    MONTHS,
    OTHER_OUTLET,
    OUTLET,
    UPLOADED_OUTLET,
    UPLOADED_QUESTION,
    WEATHER_QUESTION,
    collection_articles,
    news_records,
    uploaded_record,
)
from tests.conftest import stop_server

pytestmark = pytest.mark.slow

sync_api = pytest.importorskip("playwright.sync_api")

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("QA_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
ARTIFACTS = REPO / "tests" / "artifacts"
SEED = (REPO / "seeds" / "000_9744522dcfbc0ba7.txt").read_text(encoding="utf-8")
SEED_TITLE = SEED.splitlines()[0].strip()
INITIATIVES = "ما هي المبادرات الثلاث التي يشرف عليها المغرب في المنتدى العالمي لمكافحة الإرهاب؟"
ENGLISH = "How do Morocco and the United States cooperate against terrorism?"
ABSENT = "ما هي عاصمة اليابان؟"
ANSWER_TIMEOUT_MS = 60_000

if not CHROMIUM.exists():
    pytest.skip(f"no Chromium at {CHROMIUM}; run `make browser-deps`", allow_module_level=True)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url: str, proc: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"app exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"app did not answer at {url} within {timeout}s:\n{log.read_text(errors='replace')[-3000:]}")


EDITOR, PASSWORD = "amina", "correct horse battery"
"""The editor of both apps' users file: uploads happen in the editors' chat, after Gradio's login."""


def _serve(root: Path, index_dir: Path) -> Iterator[str]:
    """`python app.py --editors FILE` on `index_dir`, on a free loopback port, until the generator is
    closed; the users file holds `EDITOR`."""
    from qa.faces.auth import add_user

    add_user(root / "editors.json", EDITOR, PASSWORD)
    port = _free_port()
    log = root / "app.log"
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(REPO / "app.py"), "--index-dir", str(index_dir), "--port", str(port), "--editors", str(root / "editors.json")],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_for(url, proc, log)
        yield url
    finally:
        stop_server(proc)


@pytest.fixture(scope="module")
def app_root(tmp_path_factory: pytest.TempPathFactory, seeds_index) -> Path:
    root = tmp_path_factory.mktemp("app")
    shutil.copytree(seeds_index.index_dir, root / "index")
    return root


@pytest.fixture(scope="module")
def app_url(app_root: Path) -> Iterator[str]:
    """`python app.py` on a private copy of the seeds index (in `app_root`)."""
    yield from _serve(app_root, app_root / "index")


@pytest.fixture(scope="module")
def news_app_url(tmp_path_factory: pytest.TempPathFactory, real_embedder) -> Iterator[str]:
    """`python app.py` on the small real news collection of tests/chat_corpus.py (two outlets, six months)."""
    from qa.index import Index

    root = tmp_path_factory.mktemp("news-app")
    Index.build(collection_articles(), root / "index", embedder=real_embedder, progress=False)
    yield from _serve(root, root / "index")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class Chat:
    """A fresh browser tab on the app, with the actions a user takes and a record of dialogs."""

    def __init__(self, page, url: str) -> None:
        self.page = page
        self.dialogs: list[str] = []
        page.on("dialog", self._dialog)
        page.goto(url)
        page.wait_for_selector("#qa-input textarea", timeout=ANSWER_TIMEOUT_MS)

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def ask(self, question: str):
        """Type `question`, send it, and return the locator of the new answer."""
        answers = self.page.locator(".qa-answer")
        before = answers.count()
        self.page.fill("#qa-input textarea", question)
        self.page.click("#qa-send")
        self.page.wait_for_function(
            "n => document.querySelectorAll('.qa-answer').length > n", arg=before, timeout=ANSWER_TIMEOUT_MS
        )
        return answers.nth(before)

    def upload(self, path: Path) -> str:
        """Upload one file through the upload button; the result message once indexing is done."""
        result = self.page.locator("#qa-upload-result")
        self.page.locator("input[type=file]").set_input_files(str(path))
        self.page.wait_for_function(
            "() => /added|updated|unchanged|❌/.test(document.querySelector('#qa-upload-result').innerText)",
            timeout=ANSWER_TIMEOUT_MS * 2,
        )
        return result.inner_text()

    def pwned(self) -> object:
        return self.page.evaluate("() => window.__pwned ?? null")


def log_in(page, app_url: str, password: str = PASSWORD) -> str:
    """Open the editors' chat (the link on the readers' chat) and log in with Gradio's form; the
    page's text after the attempt."""
    page.goto(app_url)
    link = page.locator("#qa-banner a")
    link.wait_for(timeout=ANSWER_TIMEOUT_MS)
    assert page.locator("#qa-upload").count() == 0  # readers have no upload button
    page.goto(app_url.rstrip("/") + link.get_attribute("href"))
    page.wait_for_selector("input[type=password]", timeout=ANSWER_TIMEOUT_MS)
    page.fill("input[type=text]", EDITOR)
    page.fill("input[type=password]", password)
    page.press("input[type=password]", "Enter")  # the button's label follows the browser's language
    page.wait_for_function(
        "() => document.querySelector('#qa-upload') || /Incorrect/i.test(document.body.innerText)", timeout=ANSWER_TIMEOUT_MS
    )
    return page.evaluate("() => document.body.innerText")


@pytest.fixture
def chat(browser, app_url: str) -> Iterator[Chat]:
    context = browser.new_context(viewport={"width": 1100, "height": 1300}, locale="ar")
    page = context.new_page()
    try:
        yield Chat(page, app_url)
    finally:
        context.close()


@pytest.fixture
def editor_chat(browser, app_url: str) -> Iterator[Chat]:
    """The editors' chat, logged in as `EDITOR`."""
    context = browser.new_context(viewport={"width": 1100, "height": 1300}, locale="ar")
    page = context.new_page()
    try:
        log_in(page, app_url)
        yield Chat(page, app_url + "editor/")
    finally:
        context.close()


@pytest.mark.quality
def test_arabic_question_gets_a_verbatim_quote_and_its_source_opens_at_the_quote(chat: Chat) -> None:
    answer = chat.ask(INITIATIVES)
    quote = answer.locator(".qa-quote-text").first
    text = quote.inner_text().strip().strip("«»…")
    assert "ثلاث مبادرات" in text
    assert " ".join(text.split()) in " ".join(SEED.split())  # verbatim from the right article
    assert answer.locator(".qa-quote .qa-cite").first.inner_text().strip("\u2066\u2069 ") == "[1]"

    source = answer.locator("details.qa-source").first
    assert SEED_TITLE in source.locator("summary").inner_text()
    mark = source.locator("mark.qa-mark").first
    assert not mark.is_visible()  # collapsed until the reader opens it
    source.locator("summary").click()
    mark.wait_for(state="visible")
    marked = " ".join(mark.inner_text().split())
    assert marked and marked in " ".join(SEED.split())
    assert "ثلاث مبادرات" in " ".join(source.locator(".qa-passage").inner_text().split())

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    chat.page.set_viewport_size({"width": 1100, "height": 1900})  # the chat is 70vh: room for it all
    chat.page.locator(".qa-question").last.evaluate("e => e.scrollIntoView({block: 'start'})")
    chat.page.evaluate("() => window.scrollTo(0, 0)")
    chat.page.wait_for_timeout(300)
    chat.page.screenshot(path=str(ARTIFACTS / "chat.png"))


@pytest.mark.quality
def test_english_question_gets_an_arabic_quote(chat: Chat) -> None:
    answer = chat.ask(ENGLISH)
    assert answer.locator(".qa-abstain").count() == 0
    text = answer.locator(".qa-quote-text").first.inner_text().strip().strip("«»…")
    from qa.text.normalize import is_arabic

    assert is_arabic(text) and " ".join(text.split()) in " ".join(SEED.split())
    assert "Sources:" in answer.inner_text()
    assert chat.page.locator(".qa-question").last.evaluate("e => getComputedStyle(e).direction") == "ltr"
    assert answer.locator(".qa-quote").first.evaluate("e => getComputedStyle(e).direction") == "rtl"


TENTATIVE_CANDIDATES = (
    "ما هي التهديدات الإرهابية في منطقة الساحل؟",
    "What does Morocco do about terrorist threats in the Sahel?",
    "ما هو المنتدى العالمي لمكافحة الإرهاب؟",
    "من هو روبير غرينواي؟",
    "متى اعترف المغرب باستقلال الولايات المتحدة؟",
    "How do Morocco and the United States cooperate against terrorism?",
)


@pytest.mark.quality
def test_a_medium_answer_is_prefaced_as_tentative_before_its_quote(chat: Chat, seeds_index) -> None:
    """Which seeds question the model answers "medium" depends on the model, so it is read off the
    library first (the app answers on a copy of the same index with the same model)."""
    from qa.answer.assistant import Assistant
    from qa.answer.text import LABELS
    from qa.retrieve import Retriever

    assistant = Assistant(Retriever(seeds_index))
    medium = [q for q in TENTATIVE_CANDIDATES if assistant.ask(q).confidence == "medium"]
    assert medium, "none of the candidate questions is answered with medium confidence"
    question = medium[0]
    answer = chat.ask(question)
    language = "en" if question.isascii() else "ar"
    preface = answer.locator(".qa-tentative")
    assert preface.inner_text().strip() == LABELS[language]["tentative"]
    before_quote = "a => !!(a.querySelector('.qa-tentative').compareDocumentPosition(a.querySelector('.qa-quote')) & Node.DOCUMENT_POSITION_FOLLOWING)"
    assert answer.evaluate(before_quote)  # the preface comes before the quote
    assert answer.locator(".qa-quote").count() >= 1
    assert LABELS[language]["medium"] in answer.locator(".qa-confidence").inner_text()


@pytest.mark.quality
def test_absent_topic_shows_the_abstention_and_related_passages(chat: Chat) -> None:
    answer = chat.ask(ABSENT)
    assert answer.locator(".qa-abstain").inner_text().strip() == "لم أجد في المقالات ما يجيب عن هذا السؤال."
    related = answer.locator(".qa-related")
    assert related.count() >= 1
    assert "ذو صلة" in related.first.inner_text()
    assert related.first.evaluate("e => getComputedStyle(e).borderTopStyle") == "dashed"
    assert answer.locator(".qa-quote").count() == 0


@pytest.mark.quality
def test_follow_up_is_read_in_the_context_of_the_previous_turn(chat: Chat) -> None:
    chat.ask(INITIATIVES)
    answer = chat.ask("ومتى سيتم إطلاقها؟")
    assert "27 شتنبر" in answer.locator(".qa-quote-text").first.inner_text()
    assert answer.locator(".qa-context").count() == 1  # the reply says how the follow-up was read


def test_readers_cannot_upload_and_a_wrong_password_opens_nothing(browser, app_url: str, app_root: Path) -> None:
    context = browser.new_context(locale="en")
    page = context.new_page()
    try:
        shown = log_in(page, app_url, password="not the password")
        assert "Incorrect" in shown and page.locator("#qa-upload").count() == 0
    finally:
        context.close()
    gradio_client = pytest.importorskip("gradio_client")
    client = gradio_client.Client(app_url, verbose=False)
    assert "/add_files" not in client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    with pytest.raises(Exception):
        gradio_client.Client(app_url + "editor/", verbose=False)  # the editors' chat needs the login
    assert not (app_root / "index" / "uploads").exists()


@pytest.mark.quality
def test_uploaded_article_becomes_answerable(editor_chat: Chat, tmp_path: Path, app_root: Path) -> None:
    chat = editor_chat
    article = tmp_path / "desalination.txt"
    article.write_text(
        "افتتاح محطة تحلية مياه البحر في الداخلة\n\n"
        "افتتحت السلطات المغربية محطة جديدة لتحلية مياه البحر في مدينة الداخلة بطاقة ثلاثين ألف متر مكعب يوميا.\n"
        "وتهدف المحطة إلى تأمين مياه الشرب وري الأراضي الفلاحية في المنطقة.",
        encoding="utf-8",
    )
    message = chat.upload(article)
    assert "1 added" in message and "desalination.txt" in message
    assert "articles" in chat.page.locator("#qa-status").inner_text()
    assert "3 articles" in chat.page.locator("#qa-status").inner_text()
    answer = chat.ask("ما هي طاقة محطة تحلية مياه البحر في الداخلة؟")
    assert "ثلاثين ألف متر مكعب" in answer.locator(".qa-quote-text").first.inner_text()
    assert "افتتاح محطة تحلية" in answer.locator("details.qa-source summary").first.inner_text()

    # A file of another type is refused with a message naming it (Gradio checks the type in the
    # browser first; the server checks again for API callers, see test_ui.py).
    rejected = tmp_path / "notes.pdf"
    rejected.write_bytes(b"%PDF-1.4")
    chat.page.locator("input[type=file]").set_input_files(str(rejected))
    chat.page.wait_for_function("() => document.body.innerText.includes('notes.pdf')", timeout=ANSWER_TIMEOUT_MS)
    page_text = chat.page.evaluate("() => document.body.innerText")
    assert "Invalid file type: notes.pdf" in page_text or "notes.pdf: unsupported file type" in page_text
    assert "3 articles" in chat.page.locator("#qa-status").inner_text()

    from qa.faces.audit import read_log

    [entry] = [e for e in read_log(app_root / "index") if e["documents"][0]["id"] == "uploads/desalination.txt"]
    assert (entry["user"], entry["via"], entry["action"], entry["client"]) == (EDITOR, "chat", "add", "127.0.0.1")


def test_hostile_article_runs_no_script(chat: Chat, editor_chat: Chat, tmp_path: Path) -> None:
    hostile = tmp_path / "hostile.md"
    hostile.write_text(
        "# مهرجان الفنون <script>window.__pwned = 'title'; alert('title')</script>\n\n"
        "أعلنت مدينة شفشاون عن مهرجان الفنون الجبلية <script>window.__pwned = 'script'; alert(1)</script> "
        'الذي يقام في الصيف <img src=x onerror="window.__pwned = \'img\'; alert(2)"> بمشاركة فرق محلية.\n'
        "للتسجيل [اضغط هنا](javascript:window.__pwned='link') أو ![صورة](javascript:window.__pwned='image') "
        '<a href="javascript:window.__pwned=\'a\'">رابط</a> '
        '<details open ontoggle="window.__pwned = \'details\'">تفاصيل</details> <svg onload="window.__pwned=\'svg\'">\n'
        "وستستمر فعاليات مهرجان الفنون الجبلية في شفشاون ثلاثة أيام.",
        encoding="utf-8",
    )
    assert "1 added" in editor_chat.upload(hostile)
    answer = chat.ask("متى يقام مهرجان الفنون الجبلية في شفشاون؟")  # a reader's chat shows it
    assert "مهرجان الفنون" in answer.locator("details.qa-source summary").first.inner_text()
    for summary in answer.locator("details.qa-source summary").all():
        summary.click()
    for link in answer.locator("a").all():  # only http(s) links may exist; none here
        assert link.get_attribute("href", timeout=1000).startswith(("http://", "https://"))
    chat.page.wait_for_timeout(500)
    shown = answer.inner_text()
    assert "<script>" in shown or "<img" in shown  # the payload is visible as text
    assert answer.locator("img, script, svg, iframe").count() == 0
    assert chat.pwned() is None
    assert chat.dialogs == []


# ---------------------------------------------------------------------------- filters, outlet · date, the plot


class NewsChat(Chat):
    """The chat on the news collection, with the sidebar's filter controls."""

    def set_dates(self, since: str = "", until: str = "") -> None:
        self.page.fill("#qa-since input", since)
        self.page.fill("#qa-until input", until)

    def choose(self, dropdown: str, name: str) -> None:
        """Pick `name` in the multiselect `dropdown` ("#qa-sources" or "#qa-categories")."""
        self.page.click(f"{dropdown} input")
        self.page.locator(f'{dropdown} [role=option][aria-label="{name}"]').click()
        self.page.keyboard.press("Escape")
        self.page.wait_for_function(
            "([d, n]) => [...document.querySelectorAll(d + ' .token')].some(t => t.innerText.trim() === n)",
            arg=[dropdown, name],
        )

    def clear_filters(self) -> None:
        self.page.click("#qa-clear-filters")
        self.page.wait_for_function("() => document.querySelectorAll('#qa-sources .token').length === 0")

    def sources(self, answer) -> list[tuple[str | None, str]]:
        """(doc id, summary line) of each source of `answer`. The chat's sanitizer drops `data-`
        attributes, so the id is found from the headline and the day shown (weather bulletins share
        headlines); None when no article has both."""
        found = []
        for source in answer.locator("details.qa-source").all():
            summary = source.locator("summary").inner_text()
            title = " ".join(source.locator(".qa-source-title").inner_text().split())
            ids = [
                r["id"]
                for r in [*RECORDS.values(), uploaded_record()]
                if " ".join(r["title"].split()) == title and r["date"] in summary
            ]
            found.append((ids[0] if len(ids) == 1 else None, summary))
        return found

    def bars(self) -> list[str]:
        """The per-month plot's bars, as Vega labels them ("month: 2017-01; articles: 6")."""
        bars = self.page.locator("#qa-per-month g.mark-rect path")
        return [bars.nth(i).get_attribute("aria-label") for i in range(bars.count())]


@pytest.fixture
def news_chat(browser, news_app_url: str) -> Iterator[NewsChat]:
    context = browser.new_context(viewport={"width": 1400, "height": 1300}, locale="ar")
    page = context.new_page()
    try:
        yield NewsChat(page, news_app_url)
    finally:
        context.close()


RECORDS = {r["id"]: r for r in news_records()}


def _check_sources(chat: NewsChat, answer, outlet: str, month: str) -> None:
    """Every source of `answer` is an article of `outlet` from `month`, and its summary says so."""
    sources = chat.sources(answer)
    assert sources, answer.inner_text()
    for doc_id, summary in sources:
        assert doc_id in RECORDS, summary
        record = RECORDS[doc_id]
        assert (record["source"], record["date"][:7]) == (outlet, month), doc_id
        assert f"{outlet} · {record['date']}" in summary and record["title"].strip()[:20] in summary


def test_date_range_and_outlet_filter_every_answer_follow_ups_included(news_chat: NewsChat) -> None:
    news_chat.set_dates("2017-05-01", "2017-05-31")
    news_chat.choose("#qa-sources", OUTLET)
    answer = news_chat.ask(WEATHER_QUESTION)
    assert answer.locator(".qa-abstain").count() == 0
    note = answer.locator(".qa-filters").inner_text()
    assert "2017-05-01" in note and "2017-05-31" in note and OUTLET in note
    _check_sources(news_chat, answer, OUTLET, "2017-05")
    for meta in answer.locator(".qa-quote .qa-cite-meta").all_inner_texts():  # and after each quote
        assert meta.startswith(f"{OUTLET} · 2017-05-")

    follow = news_chat.ask("وماذا عن الأمطار؟")  # still filtered
    assert OUTLET in follow.locator(".qa-filters").inner_text()
    if follow.locator(".qa-abstain").count() == 0:
        _check_sources(news_chat, follow, OUTLET, "2017-05")

    # The other outlet, the same month: only its articles answer.
    news_chat.clear_filters()
    news_chat.set_dates("2017-05-01", "2017-05-31")
    news_chat.choose("#qa-sources", OTHER_OUTLET)
    other = news_chat.ask(WEATHER_QUESTION)
    _check_sources(news_chat, other, OTHER_OUTLET, "2017-05")


def test_a_bad_date_gets_one_polite_line(news_chat: NewsChat) -> None:
    news_chat.set_dates("2017-13-01", "")
    answer = news_chat.ask(WEATHER_QUESTION)
    text = answer.inner_text().strip()
    assert "since must be a date as YYYY-MM-DD" in text and "Traceback" not in text
    assert len(text.splitlines()) == 1 and answer.locator(".qa-quote").count() == 0


def test_collection_at_a_glance_and_the_per_month_plot(news_chat: NewsChat) -> None:
    news_chat.page.wait_for_function("() => document.querySelectorAll('#qa-per-month g.mark-rect path').length > 0")
    counts = {m: sum(r["date"].startswith(m) for r in RECORDS.values()) for m in MONTHS}
    assert sorted(news_chat.bars()) == [f"month: {m}; articles: {n}" for m, n in counts.items()]
    summary = news_chat.page.locator("#qa-collection-summary").inner_text()
    for outlet in (OUTLET, OTHER_OUTLET):
        assert f"{outlet}: {sum(r['source'] == outlet for r in RECORDS.values())}" in summary
    dates = sorted(r["date"] for r in RECORDS.values())
    assert f"{dates[0]} → {dates[-1]}" in summary


def test_screenshot_of_a_filtered_answer_with_outlet_and_date(news_chat: NewsChat) -> None:
    news_chat.set_dates("2017-02-01", "2017-06-30")
    news_chat.choose("#qa-sources", OUTLET)
    answer = news_chat.ask(WEATHER_QUESTION)
    summary = answer.locator("details.qa-source summary").first
    assert summary.inner_text().replace("\u2066", "").replace("\u2069", "").startswith("[1] Jawhara FM · 2017-")
    summary.click()
    answer.locator("mark.qa-mark").first.wait_for(state="visible")
    assert "Jawhara FM" in answer.locator(".qa-source .qa-meta").first.inner_text()
    news_chat.page.wait_for_function("() => document.querySelectorAll('#qa-per-month g.mark-rect path').length > 0")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    news_chat.page.evaluate("() => window.scrollTo(0, 0)")
    news_chat.page.wait_for_timeout(500)
    news_chat.page.screenshot(path=str(ARTIFACTS / "news-chat.png"))


@pytest.fixture
def news_editor_chat(browser, news_app_url: str) -> Iterator[NewsChat]:
    context = browser.new_context(viewport={"width": 1400, "height": 1300}, locale="ar")
    page = context.new_page()
    try:
        log_in(page, news_app_url)
        yield NewsChat(page, news_app_url + "editor/")
    finally:
        context.close()


def test_an_upload_refreshes_outlets_and_the_plot(news_editor_chat: NewsChat, tmp_path: Path) -> None:
    import json

    news_chat = news_editor_chat

    upload = tmp_path / "december.jsonl"
    upload.write_text(json.dumps(uploaded_record(), ensure_ascii=False) + "\n", encoding="utf-8")
    assert "1 added" in news_chat.upload(upload)
    news_chat.page.wait_for_function(
        "() => document.querySelector('#qa-collection-summary').innerText.includes('Upload Wire')", timeout=ANSWER_TIMEOUT_MS
    )
    news_chat.page.wait_for_function("() => document.querySelectorAll('#qa-per-month g.mark-rect path').length === 7")
    assert "month: 2016-12; articles: 1" in news_chat.bars()
    news_chat.choose("#qa-sources", UPLOADED_OUTLET)  # the new outlet can be chosen at once
    answer = news_chat.ask(UPLOADED_QUESTION)
    ((doc_id, summary),) = news_chat.sources(answer)
    assert doc_id == uploaded_record()["id"] and f"{UPLOADED_OUTLET} · 2016-12-05" in summary


# ---------------------------------------------------------------------------- outlets that disagree


@pytest.fixture(scope="module")
def disagree_app_url(tmp_path_factory: pytest.TempPathFactory, real_embedder) -> Iterator[str]:
    """`python app.py` on two cases of tests/data/disagreement_cases.json and 48 real news articles."""
    from qa.index import Index
    from tests.disagreement_corpus import case_articles

    root = tmp_path_factory.mktemp("disagree-app")
    Index.build(case_articles("arbin-school", "lombok-earthquake"), root / "index", embedder=real_embedder, progress=False)
    yield from _serve(root, root / "index")


@pytest.fixture
def disagree_chat(browser, disagree_app_url: str) -> Iterator[Chat]:
    context = browser.new_context(viewport={"width": 1100, "height": 1300}, locale="ar")
    page = context.new_page()
    try:
        yield Chat(page, disagree_app_url)
    finally:
        context.close()


@pytest.mark.quality
def test_outlets_that_differ_get_a_note_whose_values_open_their_sentences(disagree_chat: Chat) -> None:
    from tests.disagreement_corpus import CASES

    answer = disagree_chat.ask(CASES["arbin-school"]["question"])
    note = answer.locator(".qa-disagreement")
    note.wait_for(state="visible")
    assert note.inner_text().strip().startswith("تختلف المصادر:")
    values = [v.strip() for v in note.locator(".qa-report-value").all_inner_texts()]
    assert "15" in values and "16" in values, values
    assert answer.locator(".qa-quote").count() >= 1  # the answer's own quotes stay beside the note

    report = note.locator("details.qa-report").filter(has=disagree_chat.page.locator(".qa-report-value", has_text="16")).first
    assert "france24" in report.locator("summary").inner_text()
    mark = report.locator("mark.qa-mark")
    assert not mark.is_visible()  # each value opens its own highlighted sentence
    report.locator("summary").click()
    mark.wait_for(state="visible")
    assert "16 طفلا" in mark.inner_text()

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    disagree_chat.page.set_viewport_size({"width": 1100, "height": 1900})
    disagree_chat.page.locator(".qa-question").last.evaluate("e => e.scrollIntoView({block: 'start'})")
    disagree_chat.page.wait_for_timeout(300)
    disagree_chat.page.screenshot(path=str(ARTIFACTS / "disagreement.png"))


@pytest.mark.quality
def test_a_toll_that_rose_says_so(disagree_chat: Chat) -> None:
    from tests.disagreement_corpus import CASES

    answer = disagree_chat.ask(CASES["lombok-earthquake"]["question"])
    note = answer.locator(".qa-disagreement")
    note.wait_for(state="visible")
    text = note.inner_text()
    assert text.strip().startswith("ارتفعت الحصيلة من") and "إلى" in text
