"""The answer's confidence as a word, for readers who act on it: "high", "medium" or "low".

The word is read off the answer model's question probability (`Answer.extra["evidence"]`: the
probability that the articles answer the question, a logistic model fitted on the training half of
the development sets). The bands are round probabilities, not cut-offs fitted to any evaluation set,
so what each word means is measured, not tuned: `python -m qa.eval` reports, per word, the share of
answers that hold the answer (docs/answers.md gives the held-out figures).

- "high": the probability is at least the model's `high` band (`HIGH` for a model without one), and
  the first quote meets the question's distinctive constraints (`qa.text.constraints`: its year,
  number, name, rarest word): a quote that misses one is capped at "medium", however strong the rest
  of the evidence. Paraphrases exist, so the cap lowers the word; it refuses nothing.
- "medium": between the model's own abstention threshold and the high band, or capped. Every face
  shows it as tentative, before the quote (`qa.answer.text.LABELS["tentative"]`).
- "low": below the model's threshold; only seen when an app lowers `Assistant(threshold=...)`.
"""

from __future__ import annotations

from typing import Literal

Confidence = Literal["high", "medium", "low"]
WORDS: tuple[Confidence, ...] = ("high", "medium", "low")
HIGH = 0.75
"""Three to one that the articles answer: a round figure, set before it was measured."""


def confidence_word(evidence: float, model_threshold: float, *, high: float = HIGH, capped: bool = False) -> Confidence:
    """The word for an answer given with `evidence`, against the model's own `model_threshold` and
    `high` band; `capped`: the first quote misses a distinctive constraint of the question."""
    if evidence >= high and not capped:
        return "high"
    return "medium" if evidence >= model_threshold else "low"
