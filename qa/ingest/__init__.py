"""Ingestion: what a user points at becomes `Article` records, and articles become chunks.

In: files and folders (.txt, .md, .json, .jsonl, .html), web pages and feeds by URL (`files`,
`fetch`, `webpage`, `feeds`), with dates read in Arabic and English (`dates`).
Out: `qa.records.Article` (text kept verbatim, so every quote's offsets point into it) and, from
`chunking`, the chunk spans the index embeds.
"""
