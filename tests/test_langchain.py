"""`qa.integrations.langchain.QARetriever`: a real LangChain retriever on the real model and index.

The seeds plus two dated articles from an outlet, so a filter visibly changes what comes back; the
retriever runs alone (sync and async) and inside a small LCEL chain that fills a prompt.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from langchain_core.documents import Document
from langchain_core.prompts import PromptTemplate
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableLambda, RunnablePassthrough

from qa.errors import InputError
from qa.filters import Filters
from qa.index import Index
from qa.integrations.langchain import QARetriever
from qa.records import Article

WIRE = [
    Article(
        id="wire-dakhla",
        title="افتتاح محطة تحلية مياه البحر في الداخلة",
        text="افتتحت السلطات المغربية محطة جديدة لتحلية مياه البحر في مدينة الداخلة بطاقة ثلاثين ألف متر مكعب يوميا.",
        url="https://wire.example/dakhla",
        date="2026-12-06",
        source="Test Wire",
        category="economy",
    ),
    Article(
        id="wire-tangier",
        title="أمطار غزيرة على طنجة",
        text="تتوقع مصالح الأرصاد الجوية أمطارا غزيرة على مدينة طنجة يوم الأحد مع رياح قوية.",
        url="https://wire.example/tangier",
        date="2026-12-05",
        source="Test Wire",
        category="weather",
    ),
]


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory, seeds_index, real_embedder) -> Index:
    folder = tmp_path_factory.mktemp("langchain") / "index"
    shutil.copytree(seeds_index.index_dir, folder)
    index = Index.load(folder, embedder=real_embedder)
    index.add(WIRE, progress=False)
    return index


@pytest.mark.quality
def test_invoke_returns_documents_with_their_source_and_offsets(index: Index) -> None:
    retriever = QARetriever(index, k=3)
    assert isinstance(retriever, BaseRetriever)
    docs = retriever.invoke("ما هي طاقة محطة تحلية مياه البحر في الداخلة؟")
    assert len(docs) == 3 and all(isinstance(d, Document) for d in docs)
    first = docs[0]
    assert first.metadata["doc_id"] == "wire-dakhla"
    assert {k: first.metadata[k] for k in ("title", "outlet", "date", "url", "category")} == {
        "title": WIRE[0].title,
        "outlet": "Test Wire",
        "date": "2026-12-06",
        "url": "https://wire.example/dakhla",
        "category": "economy",
    }
    for doc in docs:  # every passage is verbatim at its offsets
        assert index.article(doc.metadata["doc_id"]).text[doc.metadata["start"] : doc.metadata["end"]] == doc.page_content


@pytest.mark.quality
def test_filters_and_a_folder_and_async(index: Index) -> None:
    wire_only = QARetriever(str(index.index_dir), k=5, filters=Filters(sources=["Test Wire"], since="2026-12-06"))
    docs = wire_only.invoke("أمطار ورياح في طنجة")  # the Tangier story is a day too early
    assert [d.metadata["doc_id"] for d in docs] == ["wire-dakhla"]
    seeds = asyncio.run(QARetriever(index, k=2).ainvoke("من هو نايثن سايلس؟"))
    assert len(seeds) == 2 and all(d.metadata["doc_id"].startswith("000_") for d in seeds)
    assert any("نايثن سايلس" in d.page_content for d in seeds)


@pytest.mark.quality
def test_the_retriever_in_an_lcel_chain(index: Index) -> None:
    def join(docs: list[Document]) -> str:
        return "\n".join(f"[{d.metadata['outlet'] or d.metadata['title']}] {d.page_content}" for d in docs)

    prompt = PromptTemplate.from_template("Answer from the passages only.\n{context}\nQuestion: {question}")
    chain = {"context": QARetriever(index, k=2) | RunnableLambda(join), "question": RunnablePassthrough()} | prompt
    question = "ما هي طاقة محطة تحلية مياه البحر في الداخلة؟"
    text = chain.invoke(question).to_string()
    assert "[Test Wire] افتتحت السلطات المغربية محطة جديدة" in text and text.endswith(question)
    assert asyncio.run(chain.ainvoke(question)).to_string() == text


def test_bad_arguments_are_refused(index: Index, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="k must be positive"):
        QARetriever(index, k=0)
    with pytest.raises(InputError, match="mode"):
        QARetriever(index, mode="fuzzy")
    from qa.errors import IndexNotFoundError

    with pytest.raises(IndexNotFoundError):
        QARetriever(tmp_path / "nothing")
