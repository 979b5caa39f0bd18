"""Questions about "the latest", "today", "this week": recent evidence first.

A news collection holds the same subject at many dates (a price, a score, a standing), and a
question that asks for the latest state wants the newest report, not the one that happens to use
the question's words best. The rule, applied to the retriever's fused ranking (after filters and
after syndicated copies are folded, so it reorders stories):

- the question asks for recency when it contains one of `qa.question.RECENT_WORDS` or
  `RECENT_PHRASES` (matched on normalized words, so آخر/اخر and الأسبوع/الاسبوع are one);
- the words that say *when* are left out of the search query (`qa.question.topic_of`): they say
  nothing about *what*, and kept in they pulled up daily digests ("أبرز أخبار اليوم") over the
  subject asked about;
- then, among the `POOL_FACTOR * k` most relevant candidates (at least `MIN_POOL`), those scoring at
  least `RELEVANT_SHARE` of the best score are reordered newest first (undated ones last, relevance
  breaking ties); everything else follows in its relevance order.

Relevance still decides *which* reports are eligible; recency only decides their order among the
relevant ones. A pure date sort would answer "آخر أخبار الترجي" with whatever was published last,
on any subject; a decay added to the score would need a half-life tuned to one collection's pace.
"Today" means the newest the collection knows: an archive has no relation to the reader's clock,
and the answer shows the date of each source it quotes, so the reader sees how recent "latest" is.
"""

from __future__ import annotations

from qa.index import Snapshot
from qa.index.selection import UNDATED, day_number

POOL_FACTOR = 2
MIN_POOL = 10
"""With the assistant's 5 passages, the 10 most relevant stories compete on date."""
RELEVANT_SHARE = 0.75
"""Fused scores of a subject's own reports sit close to the best one and fall off a cliff after
them: on 333 Jawhara FM articles, "حالة الطقس" scored 0.92, 0.90, 0.90, 0.88 (four weather reports)
then 0.40; "أخبار النجم الساحلي" 0.87, 0.77, 0.64 then 0.34. Three quarters of the best keeps the
reports and drops the cliff (at 0.7, "أخبار الطقس" let an off-topic story at 0.73 of the best in)."""


def newest_first(snapshot: Snapshot, ranked: list, k: int) -> list:
    """`ranked` (best first) with its relevant head reordered by article date, newest first: the
    items among the first `max(MIN_POOL, POOL_FACTOR * k)` scoring at least `RELEVANT_SHARE` of the
    best. Relevance order breaks ties and orders the rest."""
    if not ranked:
        return []
    pool = max(MIN_POOL, POOL_FACTOR * k)
    floor = ranked[0].score * RELEVANT_SHARE if ranked[0].score > 0 else float("-inf")
    size = next((i for i, item in enumerate(ranked[:pool]) if item.score < floor), min(pool, len(ranked)))
    head, tail = ranked[:size], ranked[size:]

    def day(item) -> int:
        return day_number(snapshot.articles[snapshot.chunks[item.chunk_id].doc_id].date)

    order = sorted(range(len(head)), key=lambda i: (day(head[i]) == UNDATED, -day(head[i]), i))
    return [head[i] for i in order] + tail
