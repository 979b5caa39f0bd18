"""End to end in a real Chromium: `python app.py` in a subprocess on 127.0.0.1, driven by Playwright.

Needs Debian's `chromium` (and `fonts-noto-core` for Arabic shaping in the screenshot): `make
browser-deps`. Playwright's own browser download cannot work here, so the system binary is used.
The screenshot of an answered chat is saved to tests/artifacts/chat.png (not committed).
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


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory, seeds_index) -> Iterator[str]:
    """`python app.py` on a private copy of the seeds index, on a free loopback port."""
    root = tmp_path_factory.mktemp("app")
    index_dir = root / "index"
    shutil.copytree(seeds_index.index_dir, index_dir)
    port = _free_port()
    log = root / "app.log"
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(REPO / "app.py"), "--index-dir", str(index_dir), "--port", str(port)],
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
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


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


@pytest.fixture
def chat(browser, app_url: str) -> Iterator[Chat]:
    context = browser.new_context(viewport={"width": 1100, "height": 1300}, locale="ar")
    page = context.new_page()
    try:
        yield Chat(page, app_url)
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
    from qa.normalize import is_arabic

    assert is_arabic(text) and " ".join(text.split()) in " ".join(SEED.split())
    assert "Sources:" in answer.inner_text()
    assert chat.page.locator(".qa-question").last.evaluate("e => getComputedStyle(e).direction") == "ltr"
    assert answer.locator(".qa-quote").first.evaluate("e => getComputedStyle(e).direction") == "rtl"


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


@pytest.mark.quality
def test_uploaded_article_becomes_answerable(chat: Chat, tmp_path: Path) -> None:
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


def test_hostile_article_runs_no_script(chat: Chat, tmp_path: Path) -> None:
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
    assert "1 added" in chat.upload(hostile)
    answer = chat.ask("متى يقام مهرجان الفنون الجبلية في شفشاون؟")
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
