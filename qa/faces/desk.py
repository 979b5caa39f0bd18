"""The editors' desk: every write the server makes, one at a time, checked for size and audited.

The REST routes and the editors' chat both write through a `Desk`, after `qa.faces.auth` has said the
caller is an editor: uploaded files (`add_files`, through `qa.faces.uploads`), articles given as JSON
(`add_articles`) and deletions (`delete`). Each write is one `Index.add` or `Index.delete`, so one
commit: a write refused here (too many articles, nothing usable, an unknown id) or failing midway
leaves the index folder as it was, and only a committed change is appended to the audit log with the
editor's name and the articles' content hashes.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from typing import Any

from qa.errors import InputError
from qa.faces.audit import record_report
from qa.faces.uploads import UploadResult, add_uploads
from qa.index import Index, UpdateReport
from qa.ingest.files import checked, parse_jsonl

__all__ = ["Desk", "NotFound", "TooLarge"]


class TooLarge(InputError):
    """A write over the server's limits (files, articles): refused whole."""


class NotFound(InputError):
    """A deletion of ids the index does not hold."""


class Desk:
    """Writes to `index`, one at a time, each audited as `user` through `via` ("api", "chat").

    Args:
        index: The open index the server answers from.
        max_files: Files per upload.
        max_file_bytes: Bytes per uploaded file.
        max_articles: Articles per write; kept at or below the index's checkpoint, so each write is
            a single commit.
    """

    def __init__(self, index: Index, *, max_files: int, max_file_bytes: int, max_articles: int) -> None:
        self.index = index
        self.max_files = max_files
        self.max_file_bytes = max_file_bytes
        self.max_articles = min(max_articles, index.settings.checkpoint_every)
        self._lock = threading.Lock()

    def add_files(
        self, files: Sequence[str | os.PathLike], *, user: str, via: str, client: str | None = None, progress: bool = False
    ) -> UploadResult:
        """Index uploaded files (`qa.faces.uploads.add_uploads`: each checked, refused files named
        with a reason); the result, its report None when nothing was indexed. `progress` shows the
        embedding bar (the chat tracks it)."""
        with self._lock:
            self.index.refresh()
            result = add_uploads(self.index, files, max_files=self.max_files, max_bytes=self.max_file_bytes, progress=progress)
            if result.report is not None:
                self._audit(result.report, user=user, via=via, client=client)
            return result

    def add_articles(self, records: Sequence[dict[str, Any]], *, user: str, via: str, client: str | None = None) -> UpdateReport:
        """Upsert articles given as JSONL-style records (`id`, `text`, optional `title`, `url`,
        `date`, `source`, `author`, `category`); dates are normalized as on ingest.

        Raises:
            TooLarge: more than `max_articles`.
            InputError: no usable article (each problem is named).
        """
        if len(records) > self.max_articles:
            raise TooLarge(f"{len(records)} articles in one request; send at most {self.max_articles}")
        warnings: list[str] = []
        raw = "\n".join(json.dumps(r, ensure_ascii=False) for r in records)  # read exactly as a .jsonl line is
        articles = list(checked(parse_jsonl(raw, "articles", warnings), warnings))
        if not articles:
            raise InputError("no usable article" + (f": {warnings[0]}" if warnings else ""))
        with self._lock:
            self.index.refresh()
            report = self.index.add(articles, progress=False)
            report.warnings[:0] = warnings
            self._audit(report, user=user, via=via, client=client)
            return report

    def delete(self, doc_ids: Sequence[str], *, user: str, via: str, client: str | None = None) -> UpdateReport:
        """Delete articles by id.

        Raises:
            NotFound: none of the ids is in the index (nothing is changed).
        """
        with self._lock:
            self.index.refresh()
            known = set(self.index.document_ids)
            hashes = {d: self.index.article(d).content_hash for d in dict.fromkeys(doc_ids) if d in known}
            if not hashes:
                raise NotFound(f"no such document: {', '.join(doc_ids)}")
            report = self.index.delete(list(hashes))
            record_report(self.index, report, user=user, via=via, client=client, deleted_hashes=hashes)
            return report

    def _audit(self, report: UpdateReport, *, user: str, via: str, client: str | None) -> None:
        record_report(self.index, report, user=user, via=via, client=client)
