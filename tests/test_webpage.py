"""News pages: main text without boilerplate, with title, date, author, outlet and canonical URL,
on real pages saved from the outlets (tests/data/pages, see its README)."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.ingest.files import read_path
from qa.ingest.webpage import parse_page

PAGES = Path(__file__).parent / "data" / "pages"


@pytest.fixture(scope="module")
def pages() -> dict:
    result = read_path(PAGES)
    assert result.warnings == []
    return {a.id: a for a in result.articles}


def test_arabic_page_main_text_metadata_and_no_boilerplate(pages: dict) -> None:
    article = pages["assabah.com.tn.article.html"]
    assert article.title == "الناشط الحقوقي السوداني خالد عبد الكريم ماسا لـ«الصباح»: كل الشروط متوفرة لثورة سودانية ولا حاجة لنستورد شيئا"
    assert article.source == "Assabah News"
    assert article.url.startswith("http://www.assabah.com.tn/article/164913/")
    # The day printed on the page (الجمعة 8 فيفري 2019), from its dc:date markup; trafilatura's own
    # default search returns 2020-02-19, the day the page was saved.
    assert article.date[:10] == "2019-02-08"
    assert "مالذي يحدث في السودان؟ والى أين يتجه البلد الذي يقوده الرئيس عمر البشير منذ ثلاثين عاما؟" in article.text
    assert article.text.rstrip().endswith("والدفع الى اعادة التفكير في العلاقة بين الخرطوم وتل ابيب.")
    for boilerplate in ("تجاوز إلى المحتوى الرئيسي", "قضايا المجتمع", "جريدة الصباح بتاريخ", "الأحوال الجوية",
                        "غائم جزئيا", "جميع الحقوق", "حماية الخصوصية", "إضافة تعليق جديد", "فاكس التحرير"):
        assert boilerplate not in article.text, boilerplate


def test_english_pages_keep_the_article_and_drop_menus_cookies_related_links_and_footers(pages: dict) -> None:
    dw = pages["dw.com.colonial.html"]
    assert dw.title.startswith("Berlin confronts Germany's colonial past with new initiative")
    assert (dw.source, dw.author, dw.date) == ("DW.COM", "Deutsche Welle", "2020-01-19")
    assert dw.url == "https://www.dw.com/en/berlin-confronts-germanys-colonial-past-with-new-initiative/a-52060881"
    assert "The German capital has launched a five-year project to mark its part in European colonialism." in dw.text
    assert "Chancellor Otto von Bismarck hosted the infamous Berlin Conference" in dw.text
    for boilerplate in ("We use cookies", "Choose from 30 Languages", "Privacy Policy", "Legal notice", "Who we are"):
        assert boilerplate not in dw.text, boilerplate

    salon = pages["salon.com.emissions.html"]
    assert (salon.title, salon.source, salon.author, salon.category) == (
        "Despite everything, U.S. emissions dipped in 2019", "Salon.com", "Nathanael Johnson", "Science & Health")
    assert salon.date == "2020-01-10T09:00:04"
    assert "Perhaps surprisingly, total emissions fell 2 percent compared with the year before" in salon.text
    for boilerplate in ("Up Next", "Clinton urges voters to take out Trump", "Ad Free Access", "Log Out", "Advertisement:"):
        assert boilerplate not in salon.text, boilerplate


def test_published_date_wins_over_modified(pages: dict) -> None:
    goats = pages["nationalgeographic.co.uk.goats.html"]
    assert goats.date == "2020-01-03T09:48:24+00:00"  # article:published_time; modified is 2020-01-06
    assert (goats.author, goats.source) == ("Michael Hingston", "National Geographic")


def test_text_is_what_gets_quoted(pages: dict) -> None:
    """Offsets point into Article.text: it is exactly the extractor's output, stripped, nothing else."""
    raw = (PAGES / "dw.com.colonial.html").read_bytes()
    again = parse_page(raw, "x").article
    assert again.text == pages["dw.com.colonial.html"].text == again.text.strip()


def test_page_without_main_text_is_skipped_with_a_warning_and_the_batch_goes_on(tmp_path: Path) -> None:
    (tmp_path / "good.html").write_bytes((PAGES / "salon.com.emissions.html").read_bytes())
    (tmp_path / "menu.html").write_text(
        "<html><head><title>Section</title></head><body><nav><ul><li><a href='/a'>Politics</a></li>"
        "<li><a href='/b'>Sport</a></li></ul></nav><div class='cookie'>We use cookies.</div>"
        "<footer>© 2020 Site</footer></body></html>",
        encoding="utf-8",
    )
    result = read_path(tmp_path)
    assert [a.id for a in result.articles] == ["good.html"]
    assert result.warnings == ["menu.html: skipped: no main text found (menus, links or footers only)"]
