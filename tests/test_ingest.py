"""Ingest: every supported format, verbatim text, and bad input skipped with a message naming it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.errors import InputError
from qa.ingest.files import MAX_DOCUMENT_CHARS, iter_path, read_path
from tests.conftest import SEEDS


def test_seeds_keep_their_file_names_as_ids_and_first_line_as_title() -> None:
    result = read_path(SEEDS)
    assert [a.id for a in result.articles] == ["000_9744522dcfbc0ba7.txt", "002_4c5868944a25ee9c.txt"]
    assert result.articles[0].title == "التزام مغربي أميركي ثابت بمكافحة الإرهاب"
    assert result.articles[0].text == (SEEDS / "000_9744522dcfbc0ba7.txt").read_text(encoding="utf-8")
    assert result.warnings == []


def test_folder_is_read_recursively_with_relative_ids(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "x.md").write_text("# عنوان\n\nنص المقال.", encoding="utf-8")
    (tmp_path / "top.txt").write_text("\n\nالعنوان\r\nالنص\r\n", encoding="utf-8", newline="")
    (tmp_path / ".hidden.txt").write_text("سر", encoding="utf-8")
    (tmp_path / "notes.pdf").write_bytes(b"%PDF")
    articles = {a.id: a for a in read_path(tmp_path).articles}
    assert set(articles) == {"a/b/x.md", "top.txt"}
    assert articles["a/b/x.md"].title == "عنوان"
    assert articles["top.txt"].title == "العنوان"
    assert articles["top.txt"].text == "\n\nالعنوان\r\nالنص\r\n"  # Windows line ends kept verbatim


def test_html_keeps_main_text_only(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(
        "<html><head><title>خبر</title><style>p{}</style></head><body><nav><a href='/'>الرئيسية</a></nav>"
        "<article><h1>عنوان</h1><p>الفقرة الأولى من الخبر تروي ما جرى في المدينة صباح اليوم.</p>"
        "<script>alert(1)</script><p>الفقرة الثانية تنقل تصريح المسؤول كما جاء.</p></article></body></html>",
        encoding="utf-8",
    )
    [article] = read_path(page).articles
    assert article.title == "عنوان"  # the headline (h1), as trafilatura prefers it to <title>
    assert "الفقرة الأولى من الخبر تروي ما جرى في المدينة صباح اليوم." in article.text
    assert "الفقرة الثانية تنقل تصريح المسؤول كما جاء." in article.text
    assert "alert" not in article.text and "p{}" not in article.text


def test_jsonl_fields_and_bad_lines_named_by_line_number(tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": "a1", "text": "نص أول", "title": "أول", "url": "https://example.org/a1", "date": "2020-01-01", "source": "وكالة"}),
        "{not json",
        json.dumps({"id": "a2"}),
        json.dumps({"id": "a3", "text": 42}),
        json.dumps({"id": "a4", "text": "نص", "title": ["x"]}),
        json.dumps({"id": 7, "text": "رقم كمعرف"}),
        json.dumps({"id": "a1", "text": "نص مختلف"}),
        json.dumps({"id": "empty", "text": "   "}),
    ]
    (tmp_path / "c.jsonl").write_text("\n".join(lines), encoding="utf-8")
    result = read_path(tmp_path / "c.jsonl")
    assert [a.id for a in result.articles] == ["a1", "7"]
    assert result.articles[0].url == "https://example.org/a1" and result.articles[0].source == "وكالة"
    assert result.articles[0].text == "نص أول"
    joined = "\n".join(result.warnings)
    for line, reason in [(2, "not valid JSON"), (3, "missing required field 'text'"), (4, "field 'text' must be a string"),
                         (5, "field 'title' must be a string"), (7, "duplicate id 'a1'"), (8, "empty document")]:
        assert f"c.jsonl:{line}: skipped: {reason}" in joined
    assert all("\n" not in w for w in result.warnings)


def test_bad_files_are_skipped_and_the_rest_read(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text("عنوان\nنص جيد", encoding="utf-8")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    (tmp_path / "binary.txt").write_bytes(b"abc\x00def")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "utf16.txt").write_bytes("عنوان\nنص".encode("utf-16"))
    (tmp_path / "huge.txt").write_text("ا " * (MAX_DOCUMENT_CHARS // 2 + 1), encoding="utf-8")
    result = read_path(tmp_path)
    assert sorted(a.id for a in result.articles) == ["good.txt", "utf16.txt"]
    warnings = " | ".join(result.warnings)
    assert "latin1.txt: skipped: not UTF-8" in warnings
    assert "binary.txt: skipped: binary file" in warnings
    assert "empty.txt: skipped: empty document" in warnings
    assert "huge.txt: skipped: document has" in warnings


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing", "no such file or folder"),
        (lambda p: p, "no .txt"),
        (lambda p: (p / "x.pdf").write_bytes(b"%PDF") and p / "x.pdf", "unsupported file type"),
    ],
)
def test_unusable_paths_raise_one_line(tmp_path: Path, make, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        read_path(make(tmp_path))
    assert "\n" not in str(info.value)


def test_jsonl_keeps_author_and_category_and_normalizes_dates(tmp_path: Path) -> None:
    lines = [
        {"id": "a", "text": "نص", "date": "2018-06-30", "source": "France 24", "author": "مراسل", "category": "اقتصاد"},
        {"id": "b", "text": "نص", "date": "Sun, 18 Feb 2018 21:35:43 +0400"},
        {"id": "c", "text": "نص", "date": "الخميس ١٨ جانفي ٢٠١٨"},
        {"id": "d", "text": "نص", "date": "منتصف الأسبوع الماضي"},
        {"id": "e", "text": "نص", "author": 5},
    ]
    (tmp_path / "n.jsonl").write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines), encoding="utf-8")
    result = read_path(tmp_path)
    by_id = {a.id: a for a in result.articles}
    assert (by_id["a"].date, by_id["a"].author, by_id["a"].category) == ("2018-06-30", "مراسل", "اقتصاد")
    assert by_id["b"].date == "2018-02-18T21:35:43+04:00"
    assert by_id["c"].date == "2018-01-18"
    assert by_id["d"].date == "منتصف الأسبوع الماضي"  # kept exactly as given, never invented
    assert sorted(result.warnings) == [
        "n.jsonl:4: date 'منتصف الأسبوع الماضي' not understood; kept as given (date filters will skip it)",
        "n.jsonl:5: skipped: field 'author' must be a string",
    ]


def test_content_hash_is_unchanged_for_articles_without_the_new_fields() -> None:
    from qa.records import Article

    article = Article(id="x", text="نص", title="عنوان", url="https://e.org/x", date="2018-06-30", source="وكالة")
    # the value every index written before author/category existed has stored for this article
    assert article.content_hash == _old_hash(article)
    assert Article(**{**article.to_dict(), "author": "مراسل"}).content_hash != article.content_hash
    assert Article(**{**article.to_dict(), "category": "اقتصاد"}).content_hash != article.content_hash


def _old_hash(article) -> str:
    """The formula of the previous release, restated, so a change to it cannot pass unnoticed."""
    import hashlib

    payload = "\x1f".join([article.text, article.title, article.url or "", article.date or "", article.source or ""])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def test_index_round_trips_author_and_category_and_loads_old_docs(tmp_path: Path) -> None:
    from qa.index import Index
    from qa.records import Article
    from tests.conftest import HashEmbedder

    articles = [
        Article(id="new", text="خبر جديد عن الاقتصاد.", title="جديد", date="2018-06-30", source="France 24", author="مراسل", category="اقتصاد"),
        Article(id="old", text="خبر قديم بلا مؤلف.", title="قديم", date="2017-01-01", source="وكالة"),
    ]
    Index.build(articles, tmp_path / "index", embedder=HashEmbedder(), progress=False)
    [generation] = [p for p in (tmp_path / "index").iterdir() if p.name.startswith("seg-")]
    lines = [json.loads(line) for line in (generation / "docs.jsonl").read_text(encoding="utf-8").splitlines()]
    assert "author" not in lines[1] and "category" not in lines[1]  # written as before the fields existed
    loaded = Index.load(tmp_path / "index", embedder=HashEmbedder())
    assert loaded.article("new") == articles[0] and loaded.article("old") == articles[1]
    report = loaded.add(articles, progress=False)
    assert sorted(report.unchanged) == ["new", "old"] and report.chunks_embedded == 0


def test_iter_path_reads_each_file_only_when_its_articles_are_asked_for(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("خبر أول.", encoding="utf-8")
    (tmp_path / "b.txt").write_text("خبر ثان.", encoding="utf-8")
    warnings: list[str] = []
    articles = iter_path(tmp_path, warnings)
    assert next(articles).id == "a.txt"
    (tmp_path / "b.txt").unlink()  # listed, not read yet
    assert list(articles) == [] and len(warnings) == 1 and warnings[0].startswith("b.txt: skipped:")
    with pytest.raises(InputError, match="no such file or folder"):  # a bad path fails at once, not on first use
        iter_path(tmp_path / "missing", [])
