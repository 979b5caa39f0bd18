"""`QARetriever`: the collection as a LangChain retriever, for apps built on LangChain.

A real `langchain_core.retrievers.BaseRetriever` (a `Runnable`): `invoke`, `ainvoke`, `batch` and
LCEL pipes (`retriever | format_docs | prompt`) work as with any retriever. It searches with
`qa.Retriever` (hybrid by default: dense e5 and BM25 on normalized Arabic), so filters apply inside
the search and k documents come back whenever k passages pass them. Each `Document` is one passage,
its text verbatim, and its metadata says where it comes from:

    doc_id, title, outlet, date, url, category, start, end (offsets into the article's text:
    `index.article(doc_id).text[start:end] == page_content`), chunk_id, score

The outlet is `outlet`, not `source` (qa's own name for it): LangChain's loaders use `source` for the
file or URL a document came from, and splitters and chains read it that way.

    from qa.integrations.langchain import QARetriever
    retriever = QARetriever("index", k=3, filters=Filters(sources=["Jawhara FM"]))
    docs = retriever.invoke("كيف ستكون حالة الطقس؟")

`langchain-core` is installed with `langchain-text-splitters`, which ingestion already uses.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from qa.errors import InputError
from qa.filters import Filters
from qa.index import Index
from qa.retrieve import Retriever

__all__ = ["QARetriever"]


class QARetriever(BaseRetriever):
    """Passages of a `qa` index as LangChain `Document`s, best first.

    Args:
        index_or_dir: An open `qa.Index`, or the folder of one (loaded once, here).
        k: Passages per query.
        filters: A `qa.Filters` (dates, outlets, categories) applied to every query; None for all.
        mode: "hybrid" (default), "dense" or "lexical".

    Raises:
        InputError: k is not positive or the mode is unknown.
        IndexNotFoundError, IndexCorruptError, IndexMismatchError: the folder holds no usable index.

    Example:
        >>> retriever = QARetriever("index", k=2)                      # doctest: +SKIP
        >>> [d.metadata["doc_id"] for d in retriever.invoke("من هو نايثن سايلس؟")]   # doctest: +SKIP
        ['000_9744522dcfbc0ba7.txt', '000_9744522dcfbc0ba7.txt']
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index: Any = Field(exclude=True, description="The open qa.Index.")
    k: int = 4
    filters: Filters | None = None
    mode: str = "hybrid"

    def __init__(self, index_or_dir: Index | str | os.PathLike, **kwargs: Any) -> None:
        index = index_or_dir if isinstance(index_or_dir, Index) else Index.load(index_or_dir)
        super().__init__(index=index, **kwargs)
        if self.k < 1:
            raise InputError(f"k must be positive, got {self.k}")
        self._retriever = Retriever(index, mode=self.mode)  # checks the mode

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        index: Index = self.index
        index.refresh()  # articles another process added since
        documents = []
        for hit in self._retriever.search(query, k=self.k, filters=self.filters):
            article = index.article(hit.doc_id)
            metadata = {
                "doc_id": hit.doc_id,
                "title": hit.title,
                "outlet": article.source,
                "date": article.date,
                "url": article.url,
                "category": article.category,
                "start": hit.start,
                "end": hit.end,
                "chunk_id": hit.chunk_id,
                "score": hit.score,
            }
            documents.append(Document(page_content=hit.text, metadata=metadata, id=f"{hit.doc_id}:{hit.start}-{hit.end}"))
        return documents

    async def _aget_relevant_documents(self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun) -> list[Document]:
        """The search in a worker thread: it is CPU work (ONNX, FAISS, BM25), so the event loop keeps serving."""
        return await asyncio.to_thread(self._get_relevant_documents, query, run_manager=run_manager.get_sync())
