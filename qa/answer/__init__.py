"""Answering: retrieved chunks become an `Answer` of verbatim quotes with citations, or an abstention.

In: a `qa.question.Question` and the `Retriever`. Out: `qa.records.Answer`.
`assistant` runs the steps; `quote` lists and trims candidate sentences; `model` is the answer
model that scores them and decides abstention; `followup` reads a dependent question in the light of
the previous turn; `disagreement` finds outlets that report a different figure or day for what was
asked; `text` writes the answer's plain-text form in the question's language.
"""
