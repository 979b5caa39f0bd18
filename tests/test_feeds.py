"""RSS and Atom feeds: one article per entry, full content where present, summary otherwise, on
real feeds saved from their publishers (tests/data/feeds, see its README)."""

from __future__ import annotations

from pathlib import Path

from qa.ingest.feeds import html_to_text, looks_like_feed
from qa.ingest.files import read_path

FEEDS = Path(__file__).parent / "data" / "feeds"


def test_rss_with_full_content() -> None:
    result = read_path(FEEDS / "TechCrunch.xml")
    assert result.warnings == []
    assert len(result.articles) == 20
    first = result.articles[0]
    assert first.id == first.url == "http://feedproxy.google.com/~r/Techcrunch/~3/kTeeGj4FnwU/"
    assert first.title == "Angie’s List Sets Price Range IPO At $11 To $13 Per Share; Valued At Over $600M"
    assert (first.source, first.author, first.category) == ("TechCrunch", "Leena Rao", "TC")
    assert first.date == "2011-11-02T17:25:27+00:00"  # "Wed, 02 Nov 2011 17:25:27 +0000"
    # content:encoded (4,400 characters of HTML), not the 1,300-character description
    assert "The company will list on the Nasdaq under the symbol “ANGI.”" in first.text
    assert "Angie’s List launched in 1995 with a focus on local home, yard and car services" in first.text
    assert "<p>" not in first.text and "<a " not in first.text
    assert len({a.id for a in result.articles}) == 20


def test_rss_whose_content_is_only_a_caption_uses_the_description() -> None:
    [hijab, _] = read_path(FEEDS / "HuffPostCanada.xml").articles
    assert hijab.source == "HuffPost Canada - Athena2 - All Posts" and hijab.author == "Canadian Press"
    assert hijab.date == "2017-10-17T22:17:00+00:00"
    assert hijab.text.startswith("Winnipeg high school student Nusaybah Mohamed's basketball uniform will look a little different")
    assert "\n\n" in hijab.text  # paragraphs kept apart


def test_rss_without_content_uses_its_summary() -> None:
    articles = read_path(FEEDS / "RSSWithComments.xml").articles
    assert len(articles) == 30 and all(a.source == "Hacker News" for a in articles)
    first = articles[0]
    assert first.title == "AWS Lambda Function URLs: Built-In HTTPS Endpoints for Lambda"
    assert first.text == "Comments"  # the whole description: a link to the discussion
    assert first.date == "2022-04-06T21:07:47+00:00"


def test_atom_with_content_and_atom_with_summary_only() -> None:
    aws = read_path(FEEDS / "AmazonWebServicesBlog.xml").articles
    assert len(aws) == 10
    assert (aws[0].title, aws[0].source, aws[0].author) == ("AWS Job: Architect & Designer Position in Turkey", "Amazon Web Services Blog", "AWS Editor")
    assert aws[0].date == "2009-01-16T10:21:00-08:00"
    # source line wraps inside a paragraph become spaces, as a browser shows them
    assert "We talked about his plans to use AWS as part of his new social video portal startup." in aws[0].text

    [alert] = read_path(FEEDS / "AtomFeedWithSpacesAroundEquals.xml").articles
    assert alert.text.startswith("...WINTER WEATHER ADVISORY IN EFFECT FROM 7 PM THIS EVENING")
    assert alert.date == "2012-11-07T04:09:00-05:00"
    assert alert.source.startswith("Current Watches, Warnings and Advisories for Lincoln (MEC015) Maine")


def test_reingest_gives_the_same_ids_and_hashes() -> None:
    one, two = read_path(FEEDS), read_path(FEEDS)
    assert [(a.id, a.content_hash) for a in one.articles] == [(a.id, a.content_hash) for a in two.articles]
    assert len([a for a in one.articles if a.id != "README.md"]) == 20 + 2 + 30 + 10 + 1


def test_feeds_are_detected_by_content(tmp_path: Path) -> None:
    (tmp_path / "saved.html").write_bytes((FEEDS / "HuffPostCanada.xml").read_bytes())  # a feed saved as .html
    (tmp_path / "sitemap.xml").write_text('<?xml version="1.0"?><urlset><url><loc>https://x.org/</loc></url></urlset>', encoding="utf-8")
    result = read_path(tmp_path)
    assert [a.source for a in result.articles] == ["HuffPost Canada - Athena2 - All Posts"] * 2
    assert result.warnings == ["sitemap.xml: skipped: not an RSS or Atom feed"]
    assert looks_like_feed(b'\xef\xbb\xbf<?xml version="1.0"?>\n<!-- c -->\n<rdf:RDF xmlns:rdf="x">')
    assert not looks_like_feed(b"<!DOCTYPE html><html><body>rss</body></html>")


def test_html_to_text_keeps_paragraphs_and_drops_markup() -> None:
    assert html_to_text("<p>أول\n  فقرة</p><p>ثانية<br>سطر</p><script>x()</script><img alt='صورة'>") == "أول فقرة\n\nثانية\nسطر"
