"""`python -m qa.train`'s bookkeeping over collection sizes: which rows a fit reads, and the per-size report."""

from __future__ import annotations

import numpy as np

from qa.answer.model import AnswerModel, Logistic
from qa.train.answer_model import rows_in, report_by_size
from tests.conftest import SEEDS


def _rows() -> dict[str, np.ndarray]:
    """Six candidate rows of four asked questions, in the order `collect` writes them."""
    return {
        "features": np.arange(12, dtype=np.float32).reshape(6, 2),
        "label": np.array([1, 0, 0, 1, 0, 0]),
        "question": np.array([0, 0, 1, 2, 2, 3]),
        "tier": np.array(["full", "full", "30", "small", "small", "30"]),
        "asked": np.array(["q0", "q1", "q2", "q3"]),
    }


def test_a_fit_on_some_collections_reads_their_rows_in_order_and_keeps_per_question_columns() -> None:
    kept = rows_in(_rows(), ["full", "small"])
    assert kept["question"].tolist() == [0, 0, 2, 2]
    assert kept["label"].tolist() == [1, 0, 1, 0]
    assert kept["features"][:, 0].tolist() == [0.0, 2.0, 6.0, 8.0]
    assert kept["asked"].tolist() == ["q0", "q1", "q2", "q3"]  # one per asked question, not per row


def test_features_collected_before_sizes_existed_are_read_whole() -> None:
    older = {k: v for k, v in _rows().items() if k != "tier"}
    assert rows_in(older, ["full", "small"]) is older


def test_the_report_gives_each_set_its_figures_in_each_collection() -> None:
    # The question model's probability is the first feature: 0.9, 0.8 present; 0.1, 0.2 absent.
    question = Logistic(np.zeros(1, np.float32), np.ones(1, np.float32), np.ones(1, np.float32), 0.0)
    model = AnswerModel(question, question, threshold=0.5, extra_quote_gap=0.3, neighbour_gap=0.6, meta={})
    logit = lambda p: np.log(p / (1 - p))  # noqa: E731
    asked = {
        "features": logit(np.array([[0.9], [0.1], [0.8], [0.6]])),
        "present": np.array([1, 0, 1, 0]),
        "right": np.array([True, False, False, False]),
        "set": np.array(["arcd"] * 4),
        "split": np.array(["heldout"] * 4),
        "tier": np.array(["full", "full", "30", "30"]),
    }
    by_size = report_by_size(asked, model, "heldout")
    assert by_size["arcd"]["full"]["abstain_when_absent"] == 1.0
    assert by_size["arcd"]["full"]["best_sentence_right"] == 1.0
    assert by_size["arcd"]["30"]["abstain_when_absent"] == 0.0  # 0.6 is above the threshold
    assert by_size["arcd"]["30"]["best_sentence_right"] == 0.0
    assert report_by_size(asked, model, "train") == {}


def test_a_verifier_run_stopped_and_resumed_from_its_checkpoint_ends_on_the_same_weights(tmp_path) -> None:
    """Two real steps of the verifier's training on the seeds' sentences, once straight through and
    once stopped after the first and started again: the same batches and dropout masks give the same
    trained tensors, so a run killed midway loses nothing but the steps since its last checkpoint."""
    import torch

    from qa.model.store import materialize_default_model
    from qa.text.sentences import split_sentences
    from qa.train.verifier import GROUPS, TOP, changed_tensors, part_of, train

    texts = [path.read_text(encoding="utf-8") for path in sorted(SEEDS.glob("*.txt"))]
    sentences = [text[a:b] for text in texts for a, b in split_sentences(text)] * 2
    articles = [a for a in (f"seed-{i}" for i in range(100)) if part_of(a) == "verifier"][:GROUPS]
    rows = [
        dict(split="train", art=article, q="من هو نايثن سايلس؟", sents=sentences[i * TOP : (i + 1) * TOP],
             label=np.eye(TOP, dtype=int)[i] if i % 2 else np.zeros(TOP, dtype=int))
        for i, article in enumerate(articles)
    ]
    folder = materialize_default_model()
    straight = train(rows, folder, steps=2, log=lambda _: None, checkpoint=tmp_path / "a.pt", checkpoint_every=1)
    train(rows, folder, steps=1, log=lambda _: None, checkpoint=tmp_path / "b.pt", checkpoint_every=1)
    said: list[str] = []
    resumed = train(rows, folder, steps=2, log=said.append, checkpoint=tmp_path / "b.pt", checkpoint_every=1)
    assert said == [f"resumed from {tmp_path / 'b.pt'} at step 1"]
    assert torch.load(tmp_path / "b.pt", weights_only=False)["step"] == 2
    said.clear()
    train(rows[1:] + rows[:1], folder, steps=2, log=said.append, checkpoint=tmp_path / "b.pt", checkpoint_every=1)
    assert said and "other rows" in said[0]  # another run's checkpoint is never resumed
    a, b = straight.state_dict(), resumed.state_dict()
    changed = changed_tensors(a, 6)
    untrained = _untrained(folder)
    assert any(not torch.equal(a[k], untrained[k]) for k in changed if k.startswith("encoder."))
    for name in changed:
        assert torch.equal(a[name], b[name]), name


def _untrained(folder) -> dict:
    """e5's own weights, as the cross-encoder names them, to show that two steps changed something."""
    from transformers import AutoModel

    from qa.model.verifier import cross_encoder

    return cross_encoder(AutoModel.from_pretrained(str(folder), local_files_only=True)).state_dict()


def test_the_presence_report_fits_on_the_fit_part_and_measures_on_held_out_rows() -> None:
    """A verifier that scores answerable questions high and hard-absent ones low separates them where
    the question model cannot; the report says so, per view, at a threshold chosen on the fit part."""
    from qa.train.verifier import presence_report

    rng = np.random.default_rng(0)

    def rows(n: int) -> list[dict]:
        out = []
        for view, conf, verified in (("present", 0.7, 3.0), ("absent", 0.2, -3.0), ("hard", 0.7, -3.0)):
            for _ in range(n):
                out.append(dict(set="arcd", view=view, present=int(view == "present"),
                                conf=float(np.clip(conf + rng.normal(0, 0.05), 0.01, 0.99)),
                                verified=np.array([verified + rng.normal(0, 0.5), -5.0])))
        return out

    report = presence_report(rows(60), rows(40))["arcd"]
    assert report["asked"] == {"present": 40, "absent": 40, "hard": 40}
    assert report["question_model"]["auc_present_vs_absent"] == 1.0
    assert 0.3 < report["question_model"]["auc_present_vs_hard"] < 0.7
    assert report["verifier"]["auc_present_vs_hard"] == report["both"]["auc_present_vs_hard"] == 1.0
    assert report["both"]["refused_hard"] == 1.0 and report["both"]["refused_present"] <= 0.1
    assert report["question_model"]["refused_hard"] < 0.2
