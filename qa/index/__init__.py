"""The index: articles in, a searchable snapshot out, kept on disk as segments.

In: `qa.records.Article` records and the embedder (`qa.model`). Out: an `Index` whose `Snapshot`
answers dense and BM25 searches over chunks and sentences, with filters and deletions applied.
`base` is the façade; `batches` plans and embeds what changed; `segment`, `storage` and `writer` put
one immutable segment on disk and commit it through the manifest; `reader` serves the live segments;
`faiss_backend` and `lexical` are the vector and BM25 stores of a segment; `selection` turns filters
into the chunks a search may return; `signatures` groups syndicated copies; `overview` sums up the
collection for `qa stats`; `cluster` spreads building and serving over Ray (the optional extra).
Storage never imports search or answering.
"""

from qa.index.base import Index, Snapshot, UpdateReport

__all__ = ["Index", "Snapshot", "UpdateReport"]
