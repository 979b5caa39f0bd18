"""Training and evaluation, offline only: no query path imports this package.

In: the shared question sets (XQuAD, ARCD) and news distractors (`datasets`), split by article, and
the unanswerable views made from them (`hard`: the article minus its answer sentences, near misses).
Out: the answer model's parameters (`answer_model`, writing `qa/answer/answer_model.json`), the
verifier's (`verifier`, writing `qa/model/verifier.npz`), and the JSON figures of `evaluate`
(`python -m qa.eval`).
"""
