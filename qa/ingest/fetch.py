"""Download one news page or feed for `qa index URL`: bounded in time and size, one-line errors.

`httpx` (already installed with the chat app) because it has separate connect and read timeouts:
a dead host fails in seconds while a slow but live server may take longer to send a big page.
The body is streamed and abandoned past `max_bytes`, so a wrong URL (a video, an archive) cannot
fill memory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.errors import InputError

CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 30.0
MAX_BYTES = 10_000_000
"""A news page is rarely over 2 MB of HTML, a feed rarely over 1 MB; 10 MB leaves room for both."""
USER_AGENT = "qa-news-indexer/0.1"
_URL = re.compile(r"^https?://", re.I)


@dataclass(frozen=True)
class Fetched:
    """A downloaded document: the final URL (after redirects), its declared type and its bytes."""

    url: str
    content_type: str
    data: bytes


def is_url(source: object) -> bool:
    """Whether `source` is an http(s) URL rather than a path."""
    return isinstance(source, str) and bool(_URL.match(source.strip()))


def fetch(
    url: str,
    *,
    connect_timeout: float | None = None,
    read_timeout: float | None = None,
    max_bytes: int | None = None,
) -> Fetched:
    """GET `url`, following redirects; limits default to the module's CONNECT_TIMEOUT, READ_TIMEOUT
    (seconds) and MAX_BYTES.

    Raises:
        InputError: unreachable host, timeout, an HTTP error status, or a body over `max_bytes`;
            the message is one line that names the URL and the next step.
    """
    import httpx

    connect_timeout = CONNECT_TIMEOUT if connect_timeout is None else connect_timeout
    read_timeout = READ_TIMEOUT if read_timeout is None else read_timeout
    max_bytes = MAX_BYTES if max_bytes is None else max_bytes
    timeout = httpx.Timeout(read_timeout, connect=connect_timeout)
    headers = {"User-Agent": USER_AGENT, "Accept": "text/html,application/xhtml+xml,application/rss+xml,application/atom+xml,application/xml;q=0.9,*/*;q=0.5"}
    try:
        with httpx.Client(timeout=timeout, follow_redirects=True, headers=headers) as client:
            with client.stream("GET", url) as response:
                if response.status_code >= 400:
                    raise InputError(f"{url}: the server answered {response.status_code} {response.reason_phrase}; check the address")
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > max_bytes:
                    raise InputError(_too_large(url, max_bytes))
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise InputError(_too_large(url, max_bytes))
                    chunks.append(chunk)
                return Fetched(str(response.url), response.headers.get("content-type", ""), b"".join(chunks))
    except httpx.TimeoutException as exc:
        kind = "connect" if isinstance(exc, httpx.ConnectTimeout) else "read"
        limit = connect_timeout if kind == "connect" else read_timeout
        raise InputError(f"cannot reach URL: {url} (no answer within {limit:g}s); check the address or your connection") from None
    except httpx.InvalidURL as exc:
        raise InputError(f"{url}: not a valid URL ({exc})") from None
    except httpx.HTTPError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"cannot reach URL: {url} ({reason}); check the address or your connection") from None


def _too_large(url: str, max_bytes: int) -> str:
    return f"{url}: the response is over {max_bytes / 1e6:g} MB, too large for a news page or feed; save what you need and index the file"
