"""The emergency safety net after the intent classifier."""

from __future__ import annotations

from pathlib import Path
from typing import List

import pytest
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.message import Message

from nlu_components.emergency import EMERGENCY_TERMS_KEY, EmergencySafetyNet

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def safety_net(model_storage, execution_context) -> EmergencySafetyNet:
    return EmergencySafetyNet.create(
        EmergencySafetyNet.get_default_config(),
        model_storage,
        Resource("emergency"),
        execution_context,
    )


def classified(run_pipeline, text: str, intent: str, confidence: float) -> Message:
    """A message as the intent classifier left it (tokens, lemmas, intent, ranking)."""
    (message,) = run_pipeline([text])
    message.set(INTENT, {"name": intent, "confidence": confidence})
    message.set(
        INTENT_RANKING_KEY,
        [
            {"name": intent, "confidence": confidence},
            {"name": "darurat", "confidence": 1 - confidence},
        ],
    )
    return message


def test_registered_as_intent_classifier() -> None:
    registered = DefaultV1Recipe._from_registry("nlu_components.emergency.EmergencySafetyNet")
    assert DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER in registered.types
    assert registered.is_trainable is False


@pytest.mark.parametrize(
    "text,predicted",
    [
        ("ada bocah kelelep di empang", "lapor_banjir"),  # Javanese: kelelep = tenggelam
        ("tulung ono kobongan neng pasar", "lapor_sampah"),  # kobongan = kebakaran
        ("air udah sampai leher, warga terjebak di lantai 2", "lapor_banjir"),
        ("tolong ada begal di jembatan", "lapor_ketertiban"),
        ("pohon tumbang nimpa orang di jl. ijen", "lapor_jalan_rusak"),
    ],
)
def test_emergency_now_is_promoted(run_pipeline, safety_net, text: str, predicted: str) -> None:
    message = classified(run_pipeline, text, predicted, 0.7)
    safety_net.process([message])
    assert message.get(INTENT)["name"] == "darurat"
    assert message.get(INTENT)["confidence"] >= 0.9
    ranking: List[dict] = message.get(INTENT_RANKING_KEY)
    assert ranking[0]["name"] == "darurat"
    assert [r["name"] for r in ranking].count("darurat") == 1
    assert message.get(EMERGENCY_TERMS_KEY)


@pytest.mark.parametrize(
    "text,predicted",
    [
        ("lampu jalan mati bikin rawan maling", "lapor_lampu_padam"),
        ("jalan rusak sering kecelakaan", "lapor_jalan_rusak"),
        ("korban kebakaran kemarin belum dapat bantuan", "lapor_sosial"),
        ("sebaiknya ada hidran di tiap rw buat kebakaran", "sampaikan_aspirasi"),
        ("damkar datangnya lama bgt", "lapor_pelayanan"),
        ("selokan mampet, banjir sebetis", "lapor_banjir"),
    ],
)
def test_risk_past_and_routine_messages_are_left_alone(
    run_pipeline, safety_net, text: str, predicted: str
) -> None:
    message = classified(run_pipeline, text, predicted, 0.6)
    safety_net.process([message])
    assert message.get(INTENT)["name"] == predicted
    assert message.get(EMERGENCY_TERMS_KEY) is None


def test_already_darurat_keeps_its_confidence(run_pipeline, safety_net) -> None:
    message = classified(run_pipeline, "kebakaran di gang 3", "darurat", 0.97)
    safety_net.process([message])
    assert message.get(INTENT) == {"name": "darurat", "confidence": 0.97}


def test_training_data_agreement(run_pipeline, safety_net) -> None:
    """On the project's own training data the net fires for emergencies and little else."""
    data = load_data(str(ROOT / "data" / "nlu"))
    examples = data.intent_examples
    messages = run_pipeline([m.get("text") for m in examples])
    fired = [bool(safety_net.evidence(m)[0]) and not safety_net.evidence(m)[1] for m in messages]
    emergencies = [f for f, m in zip(fired, examples) if m.get(INTENT) == "darurat"]
    others = [f for f, m in zip(fired, examples) if m.get(INTENT) != "darurat"]
    assert emergencies and others
    assert sum(emergencies) / len(emergencies) >= 0.9
    assert sum(others) / len(others) <= 0.02
