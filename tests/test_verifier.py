"""The verifier: the committed weights are the recorded ones, the ONNX graph queries run is the
trained model, and it reads a question with a sentence the way it was trained to."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qa.answer.assistant import Assistant
from qa.model.store import materialize_default_model
from qa.model.verifier import (
    COMBINATION_FILE,
    MAX_LENGTH,
    WEIGHTS_FILE,
    Verifier,
    load_weights,
    weights_digest,
)
from qa.retrieve import Retriever

ENGLISH_QUESTION = "When will the initiative on returning foreign terrorist fighters be launched?"
QUESTION = "متى سيتم إطلاق المبادرة الخاصة بعودة المقاتلين الإرهابيين الأجانب؟"
ANSWER = (
    "وتهدف هذه المبادرة الأخيرة ، التي من المقرر إطلاقها في 27 شتنبر بنيويورك، إلى المساهمة في تنفيذ قرار "
    "مجلس الأمن رقم 2396 بشأن عودة وإعادة انتشار المقاتلين الإرهابيين الأجانب."
)
OTHERS = [
    "وأشاد بما وصفه بعلاقات الصداقة \"الممتازة\" القائمة بين المغرب والولايات المتحدة.",
    "ارتفعت درجات الحرارة في تونس العاصمة إلى 40 درجة يوم الأحد.",
    "استقبل المدير العام للأمن الوطني عبد اللطيف حموشي المنسق الأميركي لمكافحة الإرهاب.",
]


@pytest.fixture(scope="module")
def verifier() -> Verifier:
    return Verifier(materialize_default_model())


def test_weights_are_the_recorded_final_ones() -> None:
    recorded = json.loads(COMBINATION_FILE.read_text(encoding="utf-8"))
    assert weights_digest() == recorded["weights_sha256"]
    assert WEIGHTS_FILE.stat().st_size <= 25 * 2**20
    sample = recorded["meta"]["heldout_sample"]
    assert set(sample) >= {"xquad-ar", "arcd", "xquad-en"}
    for figures in sample.values():
        assert figures["pick_with_verifier"] > figures["pick_model"]


def test_onnx_graph_scores_like_the_trained_model(verifier: Verifier) -> None:
    """The graph queries run is e5 with the committed weights merged in; torch computes the same
    model from the same files here, so any difference is the graph's: its 8-bit activations, scaled
    per run, move scores by 0.12 at the median and 0.7 at the 99th percentile (800 held-out pairs),
    and differently on CPUs whose 8-bit kernels differ. A graph of other weights (or none) misses by
    units: the answering sentence here scores about 6 above the others."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from qa.model.verifier import cross_encoder

    folder = materialize_default_model()
    model = cross_encoder(AutoModel.from_pretrained(str(folder), local_files_only=True))
    model.load_state_dict({k: torch.from_numpy(v) for k, v in load_weights().items()}, strict=False)
    tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    sentences = [ANSWER, *OTHERS]
    encoded = tokenizer(
        ["query: " + QUESTION] * len(sentences), ["passage: " + s for s in sentences],
        truncation="only_second", max_length=MAX_LENGTH, padding=True, return_tensors="pt",
    )
    with torch.inference_mode():
        expected = (model.eval()(encoded["input_ids"], encoded["attention_mask"]) - model.null).numpy()
    got = verifier.scores(QUESTION, sentences)
    print(f"\nverifier torch {np.round(expected, 3)} onnx {np.round(got, 3)}")
    np.testing.assert_allclose(got, expected, atol=0.7)  # measured here: 0.05 at most on AMD Zen 4 (2026-12-06)
    assert np.argsort(got)[-1] == np.argsort(expected)[-1] == 0


def test_pairs_are_tokenized_as_in_training(verifier: Verifier) -> None:
    """Training tokenized with transformers' pair encoding, queries with `tokenizers`: same ids,
    and a sentence too long for `MAX_LENGTH` is cut while the question is kept whole."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(materialize_default_model()), local_files_only=True)
    verifier.scores(QUESTION, [ANSWER])  # loads the tokenizer
    long = " ".join([ANSWER] * 8)
    for sentence in (ANSWER, long):
        expected = tokenizer("query: " + QUESTION, "passage: " + sentence, truncation="only_second", max_length=MAX_LENGTH)
        got = verifier._tokenizer.encode("query: " + QUESTION, "passage: " + sentence)
        assert got.ids == expected["input_ids"]
    assert len(got.ids) == MAX_LENGTH


def test_the_sentence_that_answers_scores_far_above_the_rest(verifier: Verifier) -> None:
    scores = verifier.scores(QUESTION, [ANSWER, *OTHERS])
    assert scores[0] > scores[1:].max() + 2.0, scores


def test_the_assistant_reads_the_verifier_only_across_languages(seeds_index) -> None:
    with_verifier = Assistant(Retriever(seeds_index))
    without = Assistant(Retriever(seeds_index), verify=False)
    assert with_verifier.verifier is not None and without.verifier is None
    arabic = with_verifier.deliberate(QUESTION), without.deliberate(QUESTION)
    np.testing.assert_array_equal(arabic[0].probabilities, arabic[1].probabilities)
    english = with_verifier.deliberate(ENGLISH_QUESTION), without.deliberate(ENGLISH_QUESTION)
    assert english[0].confidence == english[1].confidence  # abstention stays with the answer model
    assert not np.allclose(english[0].probabilities, english[1].probabilities)
    answer = with_verifier.ask(ENGLISH_QUESTION)
    assert not answer.abstained and "27 شتنبر" in answer.quotes[0].text
