"""Adapters that let other frameworks use `qa`; nothing in the library imports them.

In: the public doors (`Index`, `Retriever`, `Filters`). Out: the other framework's types:
`langchain.QARetriever`, a LangChain `BaseRetriever` whose `Document`s carry the article's id, title,
outlet, date, URL and the quoted span's offsets. Each adapter imports its framework itself, so
`import qa` never needs it.
"""
