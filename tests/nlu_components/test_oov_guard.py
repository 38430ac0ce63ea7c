"""The out-of-vocabulary guard: gibberish falls back, short real messages do not."""

from __future__ import annotations

from typing import List

import pytest
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu_components.emergency import EMERGENCY_TERMS_KEY
from nlu_components.oov_guard import OOV_SHARE_KEY, OutOfVocabularyGuard, Vocabulary

TRAINING = {
    "greet": ["halo", "p", "tes", "punten", "sampurasun"],
    "affirm": ["y", "ok", "siap"],
    "minta_sktm": ["mau bikin sktm", "sktm"],
    "inform": ["nama saya Made Sukerta"],
}


@pytest.fixture(scope="module")
def trained_guard(run_pipeline, model_storage, execution_context) -> OutOfVocabularyGuard:
    examples: List[Message] = []
    for intent, texts in TRAINING.items():
        for message in run_pipeline(texts):
            message.set(INTENT, intent)
            examples.append(message)
    resource = Resource("oov_guard")
    guard = OutOfVocabularyGuard.create(
        OutOfVocabularyGuard.get_default_config(), model_storage, resource, execution_context
    )
    guard.train(TrainingData(examples))
    # What the model server gets: the persisted vocabulary, loaded again.
    return OutOfVocabularyGuard.load(
        OutOfVocabularyGuard.get_default_config(), model_storage, resource, execution_context
    )


def classified(run_pipeline, text: str, intent: str = "greet", confidence: float = 0.55) -> Message:
    (message,) = run_pipeline([text])
    message.set(INTENT, {"name": intent, "confidence": confidence})
    message.set(
        INTENT_RANKING_KEY,
        [
            {"name": intent, "confidence": confidence},
            {"name": "affirm", "confidence": (1 - confidence) * 0.6},
            {"name": "inform", "confidence": (1 - confidence) * 0.4},
        ],
    )
    return message


def test_registered_as_trainable_intent_classifier() -> None:
    registered = DefaultV1Recipe._from_registry("nlu_components.oov_guard.OutOfVocabularyGuard")
    assert DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER in registered.types
    assert registered.is_trainable is True


@pytest.mark.parametrize(
    "text", ["qwrtp zxcvb mnbvc", "asdfghjkl", "asdf", "Qwerty zxcv bnmm", "jkhsdf kjhsdf lkjsdf ok"]
)
def test_gibberish_is_lowered_below_the_fallback_threshold(run_pipeline, trained_guard, text) -> None:
    message = classified(run_pipeline, text)
    trained_guard.process([message])
    intent = message.get(INTENT)
    assert intent["name"] == "greet"  # the ranking keeps its order
    assert intent["confidence"] <= 0.1 < 0.3
    ranking = message.get(INTENT_RANKING_KEY)
    assert [r["name"] for r in ranking] == ["greet", "affirm", "inform"]
    assert ranking[0]["confidence"] == pytest.approx(intent["confidence"])
    assert all(a["confidence"] >= b["confidence"] for a, b in zip(ranking, ranking[1:]))
    assert message.get(OOV_SHARE_KEY) >= 0.75


@pytest.mark.parametrize(
    "text",
    [
        # short replies: in training, one letter, emoji, numbers only
        "y",
        "ok",
        "p",
        "tes",
        "sktm",
        "👍",
        "🙏🙏",
        "3507124506850003",
        "ADU-2026-00042",
        "5",
        # real words the training data never saw: the lexicon and Sastrawi know them
        "kelurahan",
        "lampu jalan padam",
        "kebakaran di pasar",
        "wilujeng enjing",
        "nyuwun pirsa",
        "matur nuwun sanget",
        # typos of known words
        "tolomg kelurhan",
        "sampahh numpukk",
        # one unknown name among known words
        "nama sy Yohanes Sitorus",
        "sktm atas nama Sukerta",
    ],
)
def test_real_messages_are_left_alone(run_pipeline, trained_guard, text) -> None:
    message = classified(run_pipeline, text, "affirm", 0.8)
    trained_guard.process([message])
    assert message.get(INTENT) == {"name": "affirm", "confidence": 0.8}
    assert message.get(OOV_SHARE_KEY) is None


def test_training_vocabulary_is_known(run_pipeline, trained_guard) -> None:
    # "Made Sukerta" appears in training, so a later answer with that name is not gibberish.
    message = classified(run_pipeline, "Made Sukerta", "inform", 0.6)
    trained_guard.process([message])
    assert message.get(INTENT)["confidence"] == 0.6


def test_emergency_messages_are_never_lowered(run_pipeline, trained_guard) -> None:
    message = classified(run_pipeline, "qwrtp zxcvb", "darurat", 0.9)
    message.set(EMERGENCY_TERMS_KEY, ["kebakaran"])
    trained_guard.process([message])
    assert message.get(INTENT)["confidence"] == 0.9


def test_low_confidence_stays_as_it_is(run_pipeline, trained_guard) -> None:
    message = classified(run_pipeline, "qwrtp zxcvb", "greet", 0.05)
    trained_guard.process([message])
    assert message.get(INTENT)["confidence"] == 0.05
    assert message.get(OOV_SHARE_KEY) == 1.0


def test_untrained_guard_uses_the_lexicon(run_pipeline, model_storage, execution_context) -> None:
    guard = OutOfVocabularyGuard.load(
        OutOfVocabularyGuard.get_default_config(),
        model_storage,
        Resource("never_trained"),
        execution_context,
    )
    gibberish = classified(run_pipeline, "qwrtp zxcvb mnbvc")
    real = classified(run_pipeline, "jalan rusak parah")
    guard.process([gibberish, real])
    assert gibberish.get(INTENT)["confidence"] <= 0.1
    assert real.get(INTENT)["confidence"] == 0.55


def test_vocabulary_fuzzy_lookup() -> None:
    vocabulary = Vocabulary(["tolong", "kelurahan", "ya", "asda"], fuzzy_min_length=5)
    assert vocabulary.near("tolong")
    assert vocabulary.near("tolomg")  # substitution
    assert vocabulary.near("tolng")  # deletion
    assert vocabulary.near("toloong")  # insertion
    assert vocabulary.near("kelurhan")
    assert not vocabulary.near("yy")  # too short for fuzzy matching
    assert not vocabulary.near("asdf")  # one edit from "asda", but only four letters
    assert not vocabulary.near("zxcvb")
