"""`qa index URL`: a page and a feed served from 127.0.0.1, and the offline, timeout, error-status
and too-large cases, each a one-line error that names the URL."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from qa.errors import InputError
from qa.faces.cli import main
from qa.index import Index
from qa.ingest import fetch as fetch_module
from qa.ingest.files import read_path
from tests.conftest import HashEmbedder

DATA = Path(__file__).parent / "data"
PAGE = (DATA / "pages" / "assabah.com.tn.article.html").read_bytes()
FEED = (DATA / "feeds" / "HuffPostCanada.xml").read_bytes()


class _Handler(BaseHTTPRequestHandler):
    routes = {
        "/article": ("text/html; charset=utf-8", PAGE),
        "/feed": ("application/rss+xml", FEED),
        "/feed-as-text": ("text/plain", FEED),  # misconfigured server: chosen by content
        "/image": ("image/png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
        "/json": ("application/json", b'{"not": "news"}'),
    }

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        if self.path in self.routes:
            kind, body = self.routes[self.path]
            self._send(200, kind, body)
        elif self.path == "/moved":
            self.send_response(301)
            self.send_header("Location", "/article")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/huge-declared":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(50_000_000))
            self.end_headers()
        elif self.path == "/huge-streamed":  # no Content-Length: the limit must hold while reading
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            try:
                for _ in range(200):
                    self.wfile.write(b"<p>" + b"x" * 8192 + b"</p>")
            except (BrokenPipeError, ConnectionResetError):
                pass
        elif self.path == "/slow":
            time.sleep(2)
            self._send(200, "text/html", PAGE)
        else:
            self._send(404, "text/html", b"<h1>Not Found</h1>")

    def _send(self, status: int, kind: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_page_url_becomes_one_article_with_canonical_url(server: str) -> None:
    result = read_path(f"{server}/moved")  # redirected to /article
    [article] = result.articles
    assert article.id == article.url and article.url.startswith("http://www.assabah.com.tn/article/164913/")
    assert article.source == "Assabah News" and article.date[:10] == "2019-02-08"
    assert "قضايا المجتمع" not in article.text and "عمر البشير" in article.text


@pytest.mark.parametrize("path", ["/feed", "/feed-as-text"])
def test_feed_url_becomes_one_article_per_entry(server: str, path: str) -> None:
    articles = read_path(f"{server}{path}").articles
    assert [a.title for a in articles] == [
        "Winnipeg High School Orders Custom Hijabs For Muslim Athletes",
        "The Once-In-A-Lifetime Thrill Of Opening For Tom Petty",
    ]
    assert all(a.source == "HuffPost Canada - Athena2 - All Posts" for a in articles)
    assert articles[0].id == "http://www.huffingtonpost.ca/2017/10/17/winnipeg-high-school-orders-custom-hijabs-for-muslim-athletes_a_23246627/"


def test_index_add_url_then_again_is_an_upsert(server: str, tmp_path: Path) -> None:
    index = Index.build(f"{server}/feed", tmp_path / "index", embedder=HashEmbedder(), progress=False)
    assert len(index.document_ids) == 2
    report = index.add(f"{server}/feed", progress=False)
    assert len(report.unchanged) == 2 and not report.added and report.chunks_embedded == 0
    report = index.add(f"{server}/article", progress=False)
    assert len(report.added) == 1 and len(index.document_ids) == 3


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/missing", "the server answered 404 Not Found; check the address"),
        ("/huge-declared", "the response is over 1 MB, too large for a news page or feed"),
        ("/huge-streamed", "the response is over 1 MB, too large for a news page or feed"),
        ("/image", "neither a web page nor an RSS/Atom feed (content type image/png)"),
        ("/json", "neither a web page nor an RSS/Atom feed (content type application/json)"),
        ("/slow", "cannot reach URL: {url} (no answer within 0.5s); check the address or your connection"),
    ],
)
def test_bad_urls_fail_with_one_line(server: str, path: str, message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fetch_module, "MAX_BYTES", 1_000_000)
    monkeypatch.setattr(fetch_module, "READ_TIMEOUT", 0.5)
    url = f"{server}{path}"
    with pytest.raises(InputError) as info:
        read_path(url)
    assert message.format(url=url) in str(info.value)
    assert url in str(info.value) and "\n" not in str(info.value)


def test_offline_is_one_clear_line_from_the_cli(tmp_path: Path) -> None:
    """Outside hosts are unreachable here (the conftest blocks them), as they are offline."""
    runner = CliRunner()
    result = runner.invoke(main, ["index", "https://www.example.org/news/rss.xml", "--index-dir", str(tmp_path / "i"), "--quiet"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: cannot reach URL: https://www.example.org/news/rss.xml (")
    assert result.output.rstrip().endswith("; check the address or your connection")
    assert result.output.count("\n") == 1 and "Traceback" not in result.output


def test_closed_port_and_sync_with_url(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(InputError, match=rf"^cannot reach URL: http://127.0.0.1:{port}/ \(.*\); check the address or your connection$"):
        read_path(f"http://127.0.0.1:{port}/")
    result = CliRunner().invoke(main, ["index", f"http://127.0.0.1:{port}/", "--sync", "--index-dir", str(tmp_path / "i")])
    assert result.exit_code == 2 and "--sync mirrors a folder; it cannot be used with a URL" in result.output
