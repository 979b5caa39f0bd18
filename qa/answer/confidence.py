"""The answer's confidence as a word, for readers who act on it: "high", "medium" or "low".

The word is read off the answer model's question probability (`Answer.extra["evidence"]`: the
probability that the articles answer the question, a logistic model fitted on the training half of
the development sets). The bands are round probabilities, not cut-offs fitted to any evaluation set,
so what each word means is measured, not tuned: `python -m qa.eval` reports, per word, the share of
answers that hold the answer (docs/answers.md gives the held-out figures).

- "high": the probability is at least `HIGH`.
- "medium": between the model's own abstention threshold and `HIGH`.
- "low": below the model's threshold; only seen when an app lowers `Assistant(threshold=...)`.
"""

from __future__ import annotations

from typing import Literal

Confidence = Literal["high", "medium", "low"]
WORDS: tuple[Confidence, ...] = ("high", "medium", "low")
HIGH = 0.75
"""Three to one that the articles answer: a round figure, set before it was measured."""


def confidence_word(evidence: float, model_threshold: float) -> Confidence:
    """The word for an answer given with `evidence`, against the model's own `model_threshold`."""
    if evidence >= HIGH:
        return "high"
    return "medium" if evidence >= model_threshold else "low"
