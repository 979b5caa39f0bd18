"""Search helpers for `qa.retrieve.Retriever` (which stays at `qa/retrieve.py`, where the design puts it).

In: a parsed `qa.question.Question` and an index `Snapshot`. Out: the ranking reordered by what the
question and the collection say beyond relevance: one passage per syndicated story
(`syndication`), the newest relevant reports first for "latest" questions (`recency`).
"""
