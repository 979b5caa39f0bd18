"""The app's rendering, escaping and upload handling, on the real seeds index where behaviour matters.

The browser itself is exercised in test_app_browser.py; here every check is a function call (plus
one in-process launch for the API's JSON), so these run in seconds.
"""

from __future__ import annotations

import html
import json
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from qa.answer.assistant import Assistant
from qa.faces.render_html import (
    answer_html,
    passage_html,
    question_html,
    safe_text,
    safe_url,
    status_markdown,
)
from qa.filters import Filters
from qa.index import Index
from qa.records import Answer, Article, Citation, Quote
from qa.retrieve import Retriever

gr = pytest.importorskip("gradio")
from qa.faces.ui import SEED_EXAMPLES, build_demo, example_questions  # noqa: E402
from qa.faces.uploads import UPLOADS_DIR, add_uploads, safe_filename  # noqa: E402

PAYLOADS = [
    "<script>window.__pwned = 1</script>",
    '<img src=x onerror="window.__pwned = 2">',
    '<a href="javascript:window.__pwned = 3">click</a>',
    "[click me](javascript:window.__pwned=4)",
    "![tracker](https://evil.example/pixel.png)",
    '<details open ontoggle="window.__pwned = 5">x</details>',
    "<svg onload=alert(1)>",
    "$$\\href{javascript:alert(1)}{x}$$",
]
ALLOWED_TAGS = {"div", "p", "blockquote", "span", "sup", "details", "summary", "mark", "a", "br", "code"}
INITIATIVES = SEED_EXAMPLES[0]


class _Tags(HTMLParser):
    """Every start tag with its attributes, for checking rendered HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(markup: str) -> _Tags:
    parser = _Tags()
    parser.feed(markup)
    parser.close()
    return parser


def assert_inert(markup: str) -> None:
    """Only the renderer's own tags, no event handler, links only to http(s)."""
    for tag, attrs in parse(markup).tags:
        assert tag in ALLOWED_TAGS, f"unexpected <{tag}> in {markup[:200]}"
        for name, value in attrs.items():
            assert not name.startswith("on"), f"event handler {name} in <{tag}>"
            if name in ("href", "src"):
                assert value and value.startswith(("http://", "https://")), f"{name}={value!r}"


# ---------------------------------------------------------------------------- escaping


@pytest.mark.parametrize("payload", PAYLOADS)
def test_safe_text_shows_payloads_as_text(payload: str) -> None:
    escaped = safe_text(payload)
    assert "<" not in escaped and ">" not in escaped and "](" not in escaped and "$" not in escaped
    assert html.unescape(escaped) == payload  # what the reader sees is exactly the article's text
    assert_inert(escaped)


def test_safe_text_escapes_each_character_once() -> None:
    assert safe_text("[1] a#b & c") == "&#91;1&#93; a&#35;b &amp; c"
    assert safe_text("line one\nline two\r\nthree") == "line one<br>line two<br>three"


def test_markdown_cannot_reinterpret_escaped_text() -> None:
    markdown_it = pytest.importorskip("markdown_it")
    md = markdown_it.MarkdownIt("commonmark", {"html": True})
    for payload in PAYLOADS:
        rendered = md.render(f'<div dir="auto">{safe_text(payload)}</div>')
        assert "<img" not in rendered and "<script" not in rendered and "<a " not in rendered
        assert_inert(rendered)


@pytest.mark.parametrize(
    ("url", "linked"),
    [
        ("https://example.com/news?id=1&x=2", True),
        ("http://example.com/a", True),
        ("javascript:alert(1)", False),
        ("JaVaScRiPt:alert(1)", False),
        (" java\tscript:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ('https://example.com/"onmouseover="alert(1)', False),
        ("/relative/path", False),
        ("", False),
        (None, False),
    ],
)
def test_only_http_urls_become_links(url: str | None, linked: bool) -> None:
    assert (safe_url(url) is not None) == linked


def test_question_html_is_escaped() -> None:
    markup = question_html('<img src=x onerror="alert(1)"> who?')
    assert_inert(markup)
    assert "".join(parse(markup).text) == '<img src=x onerror="alert(1)"> who?'


# ---------------------------------------------------------------------------- rendering answers


def _evil_article() -> Article:
    text = (
        "عنوان <script>window.__pwned=1</script>\n\n"
        'قال المتحدث <img src=x onerror="window.__pwned=2"> إن الاجتماع سيعقد في مراكش يوم الاثنين.\n'
        "راجع [الرابط](javascript:window.__pwned=3) و ![صورة](https://evil.example/x.png)."
    )
    return Article(
        id="evil.txt",
        text=text,
        title='<b onmouseover="x">عنوان</b>',
        url="javascript:alert(1)",
        date="<i>2024</i>",
        source="[src](javascript:alert(1))",
    )


def test_answer_with_hostile_article_renders_inert() -> None:
    article = _evil_article()
    start = article.text.index("قال المتحدث")
    end = article.text.index("الاثنين.") + len("الاثنين.")
    quote = Quote(text=article.text[start:end], doc_id=article.id, title=article.title, start=start, end=end, score=1.0, citation=1)
    citation = Citation(1, article.id, article.title, article.url, article.date, article.source)
    answer = Answer(question="أين سيعقد الاجتماع؟", text="", quotes=(quote,), citations=(citation,))
    markup = answer_html(answer, {article.id: article}, context="<script>x</script>")
    assert_inert(markup)
    shown = "".join(parse(markup).text)
    assert "<script>window.__pwned=1</script>" in shown  # shown as text, in the passage
    assert '<img src=x onerror="window.__pwned=2">' in shown
    assert "javascript:alert(1)" in shown and not any(t == "a" for t, _ in parse(markup).tags)


@pytest.mark.quality
def test_seed_answer_shows_quote_markers_and_marked_passage(seeds_index: Index) -> None:
    answer = Assistant(Retriever(seeds_index)).ask(INITIATIVES)
    assert not answer.abstained
    markup = answer_html(answer, seeds_index.article)
    assert_inert(markup)
    tags = parse(markup).tags
    first = answer.quotes[0]
    assert safe_text(first.text) in markup  # the verbatim quote
    assert "ثلاث مبادرات" in first.text
    assert sum(1 for t, a in tags if t == "details" and a.get("data-citation") == "1") == 1
    marked = markup.split('<mark class="qa-mark">', 1)[1].split("</mark>", 1)[0]
    assert html.unescape(marked.replace("<br>", "\n")) in {q.text for q in answer.quotes}
    assert any(t == "blockquote" and a.get("dir") == "rtl" for t, a in tags)
    assert "المصادر" in markup and "[1]" in html.unescape(markup)


@pytest.mark.quality
def test_english_question_gets_arabic_quote_with_english_labels(seeds_index: Index) -> None:
    answer = Assistant(Retriever(seeds_index)).ask(SEED_EXAMPLES[3])
    assert not answer.abstained and answer.language == "en"
    markup = answer_html(answer, seeds_index.article)
    assert "Sources:" in markup
    assert '<blockquote class="qa-quote" dir="rtl"' in markup


@pytest.mark.quality
def test_abstention_shows_related_passages_marked_related(seeds_index: Index) -> None:
    answer = Assistant(Retriever(seeds_index)).ask("ما هي عاصمة اليابان؟")
    assert answer.abstained and answer.related
    markup = answer_html(answer, seeds_index.article)
    assert_inert(markup)
    assert "لم أجد في المقالات" in markup
    assert markup.count('class="qa-related"') == len(answer.related)
    assert "qa-quote" not in markup and "<details" not in markup
    assert "ذو صلة" in markup


def test_follow_up_context_is_shown_escaped() -> None:
    answer = Answer(question="and?", text="", abstained=True, language="en")
    markup = answer_html(answer, {}, context="Bourita <b>met</b>")
    assert "Context used" in markup and "Bourita &lt;b&gt;met&lt;/b&gt;" in markup


def test_passage_marks_every_quote_and_cuts_at_spaces() -> None:
    text = ("كلمة " * 200) + "الاقتباس الأول هنا. " + ("حشو " * 10) + "الاقتباس الثاني." + (" ذيل" * 200)
    article = Article(id="a", text=text)
    first = (text.index("الاقتباس الأول"), text.index("هنا.") + 4)
    second = (text.index("الاقتباس الثاني"), text.index("الثاني.") + 7)
    markup = passage_html(article, [second, first], context=50)
    assert markup.count("<mark") == 2
    assert markup.count("…") == 2  # one window (the quotes are close), cut at both ends
    inner = html.unescape(markup.split(">", 1)[1].rsplit("</div>", 1)[0].replace('<mark class="qa-mark">', "").replace("</mark>", ""))
    assert inner.strip("…").strip() in text  # whole words, in order, verbatim
    far = passage_html(article, [first, second], context=10)
    assert far.count("…") == 4 and far.count("<br>") == 1  # two windows when the quotes are far apart


def test_a_quote_that_no_longer_matches_its_article_is_shown_alone() -> None:
    article = Article(id="a", text="نص جديد مختلف تماما.")
    quote = Quote(text="نص قديم", doc_id="a", title="t", start=0, end=7, score=1.0, citation=1)
    answer = Answer(question="س؟", text="", quotes=(quote,), citations=(Citation(1, "a", "t"),))
    markup = answer_html(answer, {"a": article})
    assert '<mark class="qa-mark">نص قديم</mark>' in markup and "مختلف" not in markup


def test_status_line_counts_and_model(seeds_index: Index) -> None:
    line = status_markdown(seeds_index.stats())
    assert "2 articles" in line and f"{seeds_index.stats()['chunks']} chunks" in line
    assert "multilingual" in line


# ---------------------------------------------------------------------------- examples


@pytest.mark.quality
def test_seed_examples_are_answered_from_the_seeds(seeds_index: Index) -> None:
    assert example_questions(seeds_index) == SEED_EXAMPLES
    assistant = Assistant(Retriever(seeds_index))
    for question in SEED_EXAMPLES:
        answer = assistant.ask(question)
        assert not answer.abstained, question
        assert answer.quotes[0].doc_id.startswith("000_"), question


def test_examples_for_other_collections_come_from_titles(tmp_path: Path, fake_embedder) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("أمطار غزيرة في الرباط\n\nهطلت أمطار غزيرة.", encoding="utf-8")
    (folder / "b.md").write_text("# Elections in Tunisia\n\nVoters went to the polls.", encoding="utf-8")
    index = Index.build(folder, tmp_path / "index", embedder=fake_embedder, progress=False)
    assert example_questions(index) == [
        "ماذا جاء عن «أمطار غزيرة في الرباط»؟",
        "What do the articles say about “Elections in Tunisia”?",
    ]


# ---------------------------------------------------------------------------- uploads


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("..\\..\\windows\\evil.md", "evil.md"),
        ("/abs/path/news.HTML", "news.html"),
        (".hidden.txt", "hidden.txt"),
        ("..", "upload"),
        ("", "upload"),
        ("خبر عاجل!.md", "خبر_عاجل.md"),
        ("a\x00b.txt", "ab.txt"),
        ("x" * 300 + ".jsonl", "x" * 100 + ".jsonl"),
        ("report.tar.gz", "report.tar.gz"),
        ("no_suffix", "no_suffix"),
    ],
)
def test_safe_filename(name: str, safe: str) -> None:
    assert safe_filename(name) == safe


@pytest.fixture
def index_copy(tmp_path: Path, seeds_index: Index, real_embedder) -> Index:
    """A writable copy of the seeds index."""
    target = tmp_path / "index"
    shutil.copytree(seeds_index.index_dir, target)
    return Index.load(target, embedder=real_embedder)


def _write(folder: Path, name: str, data: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def test_bad_uploads_are_refused_and_leave_the_index_intact(tmp_path: Path, index_copy: Index) -> None:
    incoming = tmp_path / "incoming"
    before = index_copy.stats()
    manifest = (index_copy.index_dir / "manifest.json").read_bytes()
    files = [
        _write(incoming, "virus.exe", "MZ"),
        _write(incoming, "binary.txt", b"\x00\x01\x02 binary"),
        _write(incoming, "latin1.txt", "café".encode("latin-1")),
        _write(incoming, "empty.md", "   \n"),
        _write(incoming, "broken.jsonl", '{"id": 1, "text": \n{"no": "text"}\n[1, 2]\n'),
        _write(incoming, "big.txt", "كلمة " * 400),
    ]
    result = add_uploads(index_copy, files, max_bytes=1000)
    assert result.report is None and result.accepted == []
    reasons = "\n".join(result.rejected)
    assert "virus.exe: unsupported file type" in reasons
    assert "binary.txt: binary file" in reasons
    assert "latin1.txt: not UTF-8" in reasons
    assert "empty.md: empty document" in reasons
    assert "broken.jsonl:" in reasons
    assert "big.txt:" in reasons and "over the limit" in reasons
    assert index_copy.stats()["documents"] == before["documents"]
    assert (index_copy.index_dir / "manifest.json").read_bytes() == manifest
    assert not (index_copy.index_dir / UPLOADS_DIR).exists()  # nothing kept: uploads/ is made only for kept files
    assert not list(index_copy.index_dir.glob(".incoming-*"))  # and the staging folder is removed
    assert_inert(result.message())


def test_too_many_files_are_refused(tmp_path: Path, index_copy: Index) -> None:
    files = [_write(tmp_path / "in", f"f{i}.exe", "x") for i in range(3)]
    result = add_uploads(index_copy, files, max_files=1)
    assert sum("too many files" in r for r in result.rejected) == 2


@pytest.mark.quality
def test_upload_lands_inside_the_index_folder_and_becomes_answerable(tmp_path: Path, index_copy: Index) -> None:
    article = (
        "افتتاح محطة تحلية مياه البحر في الداخلة\n\n"
        "افتتحت السلطات المغربية محطة جديدة لتحلية مياه البحر في مدينة الداخلة بطاقة ثلاثين ألف متر مكعب يوميا.\n"
        "وتهدف المحطة إلى تأمين مياه الشرب وري الأراضي الفلاحية في المنطقة."
    )
    # Backslashes are legal in a Linux file name; a browser on Windows may send one. It must not
    # climb out of uploads/.
    upload = _write(tmp_path / "in", "..\\..\\desalination.txt", article)
    result = add_uploads(index_copy, [upload])
    assert result.accepted == ["desalination.txt"] and result.rejected == []
    assert_inert(result.message())
    kept = sorted(p.relative_to(index_copy.index_dir).as_posix() for p in (index_copy.index_dir / UPLOADS_DIR).rglob("*"))
    assert kept == ["uploads/desalination.txt"]
    assert not (tmp_path / "desalination.txt").exists() and not (index_copy.index_dir.parent / "desalination.txt").exists()
    assert "uploads/desalination.txt" in index_copy.document_ids
    assert index_copy.stats()["documents"] == 3
    answer = Assistant(Retriever(index_copy)).ask("ما هي طاقة محطة تحلية مياه البحر في الداخلة؟")
    assert not answer.abstained
    assert answer.quotes[0].doc_id == "uploads/desalination.txt"
    assert "ثلاثين ألف متر مكعب" in " ".join(q.text for q in answer.quotes)


def test_a_saved_news_page_and_a_feed_uploaded_in_the_chat_keep_outlet_and_date(tmp_path: Path, index_copy: Index) -> None:
    """Real material (tests/data/pages, tests/data/feeds): the page's outlet and day, and the feed's
    entries with theirs, reach the index through the chat's upload, and a filter on the outlet
    answers from the page alone."""
    data = Path(__file__).parent / "data"
    page = shutil.copy(data / "pages" / "assabah.com.tn.article.html", tmp_path / "assabah.html")
    feed = shutil.copy(data / "feeds" / "AtomFeedWithSpacesAroundEquals.xml", tmp_path / "alerts.xml")
    result = add_uploads(index_copy, [str(page), str(feed)])
    assert result.accepted == ["assabah.html", "alerts.xml"] and result.rejected == []
    stats = index_copy.stats()
    assert stats["sources"]["Assabah News"] == 1
    assert index_copy.article("uploads/assabah.html").date.startswith("2019-02-08")
    entries = [d for d in index_copy.document_ids if "alerts.weather.gov" in d]
    assert entries, index_copy.document_ids
    assert all(index_copy.article(d).date.startswith("2012-11-07") for d in entries)
    answer = Assistant(Retriever(index_copy)).ask("من هو خالد عبد الكريم ماسا؟", filters=Filters(sources=["Assabah News"]))
    assert {c.source for c in answer.citations} <= {"Assabah News"}


def test_jsonl_uploads_keep_their_ids_and_skip_bad_lines(tmp_path: Path, index_copy: Index) -> None:
    lines = [
        json.dumps({"id": "wire-1", "text": "أعلنت وزارة الصحة حملة تلقيح وطنية.", "title": "حملة تلقيح", "url": "https://example.com/1"}, ensure_ascii=False),
        "not json",
    ]
    result = add_uploads(index_copy, [_write(tmp_path / "in", "wire.jsonl", "\n".join(lines))])
    assert result.report is not None and result.report.added == ["wire-1"]
    assert any("wire.jsonl" in r and "not valid JSON" in r for r in result.rejected)
    assert index_copy.article("wire-1").url == "https://example.com/1"


def test_reuploading_a_file_replaces_it(tmp_path: Path, index_copy: Index) -> None:
    first = _write(tmp_path / "a", "note.md", "# ملاحظة\n\nالنسخة الأولى من الملاحظة عن مهرجان الموسيقى.")
    second = _write(tmp_path / "b", "note.md", "# ملاحظة\n\nالنسخة الثانية من الملاحظة عن مهرجان الموسيقى.")
    add_uploads(index_copy, [first])
    result = add_uploads(index_copy, [second])
    assert result.report is not None and result.report.updated == ["uploads/note.md"]
    assert "الثانية" in index_copy.article("uploads/note.md").text
    assert "الثانية" in (index_copy.index_dir / UPLOADS_DIR / "note.md").read_text(encoding="utf-8")


# ---------------------------------------------------------------------------- the app's API


@pytest.mark.quality
def test_api_endpoints_are_named_and_ask_returns_the_structured_answer(seeds_index: Index) -> None:
    gradio_client = pytest.importorskip("gradio_client")
    assistant = Assistant(Retriever(seeds_index))
    demo = build_demo(assistant, seeds_index, examples=SEED_EXAMPLES)
    demo.launch(server_name="127.0.0.1", server_port=None, prevent_thread_lock=True, ssr_mode=False, quiet=True)
    try:
        client = gradio_client.Client(demo.local_url, verbose=False)
        endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
        assert {"/ask", "/chat", "/stats"} <= set(endpoints)
        assert "/add_files" not in endpoints  # only the editors' chat, built with `upload`, has it
        data = client.predict(INITIATIVES, api_name="/ask")
        expected = assistant.ask(INITIATIVES).to_dict()
        assert json.loads(json.dumps(data)) == json.loads(json.dumps(expected))
        assert data["quotes"][0]["citation"] == 1 and data["citations"][0]["number"] == 1
        follow = client.predict("ومتى سيتم إطلاقها؟", INITIATIVES, data, api_name="/ask")
        assert "27 شتنبر" in follow["quotes"][0]["text"]
        history, cleared = client.predict("<img src=x onerror=alert(1)> ما هو قرار مجلس الأمن رقم 2396؟", [], api_name="/chat")
        assert cleared == ""
        reply = history[-1]["content"][0]["text"] if isinstance(history[-1]["content"], list) else history[-1]["content"]
        assert_inert(history[0]["content"][0]["text"])
        assert_inert(reply) and "2396" in reply
        stats = client.predict(api_name="/stats")
        assert stats["documents"] == 2
    finally:
        demo.close()


# ---------------------------------------------------------------------------- filters, outlet · date, the collection

from qa.errors import InputError  # noqa: E402
from qa.faces.handlers import filters_from, per_month_frame  # noqa: E402
from qa.faces.render_html import citation_meta, collection_html, filters_html  # noqa: E402
from tests.chat_corpus import (  # noqa: E402
    MONTHS,
    OTHER_OUTLET,
    OUTLET,
    WEATHER_QUESTION,
    collection_articles,
    news_records,
)


@pytest.fixture(scope="session")
def news_index(tmp_path_factory: pytest.TempPathFactory, real_embedder) -> Index:
    """The seeds plus 31 real Jawhara FM articles over six months and two outlets (tests/chat_corpus.py),
    with the real model; read-only."""
    root = tmp_path_factory.mktemp("news")
    return Index.build(collection_articles(), root / "index", embedder=real_embedder, progress=False)


def test_filters_from_controls() -> None:
    assert filters_from() is None and filters_from("", " ", [], None) is None
    f = filters_from("2017-05-01 00:00:00", "2017-05-31", ["Jawhara FM"], None)
    assert f == Filters(since="2017-05-01", until="2017-05-31", sources=("Jawhara FM",))
    for since, until, wrong in [("2017-13-01", None, "since"), ("yesterday", None, "since"), (None, "31/05/2017", "until")]:
        with pytest.raises(InputError) as info:
            filters_from(since, until)
        assert wrong in str(info.value) and "YYYY-MM-DD" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(InputError, match="after"):
        filters_from("2017-06-01", "2017-05-01")


def test_per_month_frame_counts_every_month_gaps_included() -> None:
    frame = per_month_frame({"per_month": {"2017-03": 2, "2016-11": 5, "2017-01": 1, "bad": 9}})
    assert list(frame["month"]) == ["2016-11", "2016-12", "2017-01", "2017-02", "2017-03"]
    assert list(frame["articles"]) == [5, 0, 1, 0, 2]
    assert per_month_frame({}).empty and list(per_month_frame({}).columns) == ["month", "articles"]


def test_outlet_and_date_show_in_citations_escaped() -> None:
    assert citation_meta(Citation(1, "a", "t", None, "2018-06-30T21:35:43+04:00", "France 24")) == "France 24 · 2018-06-30"
    assert citation_meta(Citation(1, "a", "t", None, "Sun, 18 Feb 2018", None)) == "Sun, 18 Feb 2018"  # kept as given
    assert citation_meta(Citation(1, "a", "t")) == ""
    article = _evil_article()
    quote = Quote(text=article.text[:5], doc_id=article.id, title=article.title, start=0, end=5, score=1.0, citation=1)
    citation = Citation(1, article.id, article.title, article.url, "2018-06-30", '<img src=x onerror="alert(1)">')
    markup = answer_html(Answer(question="س؟", text="", quotes=(quote,), citations=(citation,)), {article.id: article})
    assert_inert(markup)
    summary = _summaries(markup)[0]
    assert summary.startswith("\u2066[1]\u2069 ")
    assert '<img src=x onerror="alert(1)"> · 2018-06-30' in summary  # outlet · date, then the headline
    assert summary.index("2018-06-30") < summary.index("عنوان")
    quote_line = "".join(parse(markup.split("</blockquote>", 1)[0]).text)
    assert quote_line.endswith('<img src=x onerror="alert(1)"> · 2018-06-30')  # and after each quote


def test_collection_summary_and_filter_note_are_escaped() -> None:
    stats = {
        "documents": 4,
        "sources": {"Jawhara FM": 3, "<script>alert(1)</script>": 1},
        "dates": {"first": "2017-01-09", "last": "2017-06-11", "undated": 1},
    }
    markup = collection_html(stats)
    assert_inert(markup)
    text = "".join(parse(markup).text)
    assert "Jawhara FM: 3" in text and "<script>alert(1)</script>: 1" in text
    assert "2017-01-09 → 2017-06-11" in text and "دون تاريخ: 1" in text
    note = filters_html(Filters(since="2017-05-01", sources=("<b>x</b>",)), "en")
    assert_inert(note) and "since 2017-05-01" in "".join(parse(note).text) and "<b>x</b>" in "".join(parse(note).text)


def _summaries(markup: str) -> list[str]:
    """The visible text of each source's `<summary>` line."""
    return ["".join(parse("<summary" + part.split("</summary>", 1)[0]).text) for part in markup.split("<summary")[1:]]


def _allowed(index: Index, answer: dict, filters: Filters) -> None:
    """Every quote and citation of `answer` comes from an article `filters` allows, and says its outlet and date."""
    assert answer["citations"], answer["text"]
    for item in [*answer["quotes"], *answer["citations"]]:
        assert filters.allows(index.article(item["doc_id"])), item["doc_id"]
    for citation in answer["citations"]:
        article = index.article(citation["doc_id"])
        assert (citation["source"], citation["date"][:10]) == (article.source, article.date[:10])


def test_collection_stats_feed_the_sidebar(news_index: Index) -> None:
    from qa.faces.handlers import Handlers

    records = news_records()
    status, summary, frame, outlets, categories = Handlers(Assistant(Retriever(news_index)), news_index).collection(
        ["Test Wire", "gone outlet"], None
    )
    assert "33 articles" in status
    assert outlets.choices == [(OUTLET, OUTLET), (OTHER_OUTLET, OTHER_OUTLET)] and outlets.value == [OTHER_OUTLET]
    assert {c for c, _ in categories.choices} == {r["category"] for r in records}
    assert list(frame["month"]) == MONTHS
    assert list(frame["articles"]) == [sum(r["date"][:7] == m for r in records) for m in MONTHS]
    text = "".join(parse(summary).text)
    for outlet in (OUTLET, OTHER_OUTLET):
        assert f"{outlet}: {sum(r['source'] == outlet for r in records)}" in text
    dates = sorted(r["date"] for r in records)
    assert f"{dates[0]} → {dates[-1]}" in text and "دون تاريخ: 2" in text  # the two seeds carry no date


@pytest.fixture(scope="module")
def news_client(news_index: Index):
    gradio_client = pytest.importorskip("gradio_client")
    demo = build_demo(Assistant(Retriever(news_index)), news_index, examples=[WEATHER_QUESTION])
    demo.launch(server_name="127.0.0.1", server_port=None, prevent_thread_lock=True, ssr_mode=False, quiet=True)
    try:
        yield gradio_client.Client(demo.local_url, verbose=False)
    finally:
        demo.close()


FILTER_CASES = [
    dict(since="2017-02-01", until="2017-03-31"),
    dict(since="2017-05-01", until="2017-05-31", sources=[OUTLET]),
    dict(until="2017-04-30", sources=[OTHER_OUTLET]),
    dict(categories=["localNews"], since="2017-06-01"),
]


@pytest.mark.parametrize("case", FILTER_CASES, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
def test_api_answers_only_from_articles_the_filters_allow(news_client, news_index: Index, case: dict) -> None:
    filters = Filters(**case)
    unfiltered = news_client.predict(WEATHER_QUESTION, api_name="/ask")
    assert not unfiltered["abstained"]
    answer = news_client.predict(WEATHER_QUESTION, api_name="/ask", **case)
    assert not answer["abstained"], answer["text"]
    _allowed(news_index, answer, filters)
    first = answer["quotes"][0]
    # Still a weather bulletin: the quote speaks of the weather or the heat, its article of degrees.
    assert ("طقس" in first["text"] or "الحرارة" in first["text"]) and "درجة" in news_index.article(first["doc_id"]).text
    # A follow-up stays inside the same filters.
    follow = news_client.predict("وماذا عن الأمطار؟", WEATHER_QUESTION, answer, api_name="/ask", **case)
    if not follow["abstained"]:
        _allowed(news_index, follow, filters)
    else:
        assert all(filters.allows(news_index.article(h["doc_id"])) for h in follow["related"])


def test_filters_change_the_answer_and_bad_dates_get_one_line(news_client, news_index: Index) -> None:
    gradio_client = pytest.importorskip("gradio_client")
    unfiltered = news_client.predict(WEATHER_QUESTION, api_name="/ask")
    march = news_client.predict(WEATHER_QUESTION, since="2017-03-01", until="2017-03-31", api_name="/ask")
    assert {c["date"][:7] for c in march["citations"]} == {"2017-03"}
    assert {c["date"][:7] for c in unfiltered["citations"]} != {"2017-03"}  # the filter changed which article answers
    with pytest.raises(gradio_client.exceptions.AppError, match="since must be a date as YYYY-MM-DD"):
        news_client.predict(WEATHER_QUESTION, since="30/05/2017", api_name="/ask")
    history, cleared = news_client.predict(WEATHER_QUESTION, [], until="2017-13-40", api_name="/chat")
    reply = history[-1]["content"][0]["text"] if isinstance(history[-1]["content"], list) else history[-1]["content"]
    assert cleared == "" and "qa-error" in reply and "until must be a date" in reply and "Traceback" not in reply


def test_chat_endpoint_shows_outlet_and_date_within_the_filters(news_client, news_index: Index) -> None:
    history, _ = news_client.predict(WEATHER_QUESTION, [], since="2017-05-01", until="2017-05-31", sources=[OUTLET], api_name="/chat")
    reply = history[-1]["content"][0]["text"] if isinstance(history[-1]["content"], list) else history[-1]["content"]
    assert_inert(reply)
    summaries = _summaries(reply)
    assert summaries
    for summary in summaries:
        assert f"{OUTLET} · 2017-05-" in summary
    assert 'class="qa-filters"' in reply and "2017-05-01" in html.unescape(reply)
