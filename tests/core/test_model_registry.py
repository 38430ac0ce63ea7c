"""The gate between a retrained model and the assistant (issue 27, item 3): a candidate is
published only when it meets the held-out targets and is not worse overall than the published
model; a candidate that misses an emergency is refused; intents that got worse are named, with
the held-out messages that flipped and the taught examples likely to blame; a failed run
publishes nothing; rollback brings the previous model back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import pytest

from layanwarga import model_registry
from layanwarga.model_registry import Flip, RegistryError, Scores, TaughtExample

INTENTS = ("darurat", "greet", "lapor_banjir", "lapor_jalan_rusak")


def report(**f1: float) -> Dict[str, object]:
    """An ``intent_report.json`` as ``rasa test nlu`` writes it; ``darurat_recall`` sets that."""
    recall = f1.pop("darurat_recall", 1.0)
    rows: Dict[str, object] = {
        name: {
            "precision": 1.0,
            "recall": recall if name == "darurat" else 1.0,
            "f1-score": f1.get(name, 1.0),
            "support": 10,
        }
        for name in INTENTS
    }
    rows.update(
        {
            "accuracy": 0.97,
            "macro avg": {"f1-score": 0.0, "support": 40},
            "weighted avg": {"f1-score": 0.0, "support": 40},
            "nlu_fallback": {"precision": 0.0, "recall": 0.0, "f1-score": 0.0, "support": 0},
        }
    )
    return rows


@pytest.fixture(autouse=True)
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(model_registry.STORE_ENV_VAR, str(tmp_path / "store"))
    return tmp_path / "store"


def model_file(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.tar.gz"
    path.write_bytes(name.encode() * 100)
    return path


def test_scores_read_rasas_report_like_the_evaluation_script() -> None:
    scores = Scores.from_intent_report(report(greet=0.9))
    assert set(scores.intents) == set(INTENTS)  # summary rows and intents without support left out
    assert scores.macro_f1 == pytest.approx((0.9 + 3) / 4)


def test_a_candidate_that_misses_an_emergency_is_refused_whatever_else(tmp_path: Path) -> None:
    candidate = model_registry.register(
        "20261207-100000",
        model_file(tmp_path, "a"),
        Scores.from_intent_report(report(darurat_recall=0.9)),
        "staf:konten",
    )
    assert not candidate.verdict.publishable
    assert any("recall darurat" in reason for reason in candidate.verdict.reasons)
    with pytest.raises(RegistryError, match="recall darurat"):
        model_registry.publish(candidate.id, "staf:konten")
    assert model_registry.published() is None


def test_targets_and_the_published_model_decide_and_worse_intents_are_named(tmp_path: Path) -> None:
    first = model_registry.register(
        "20261207-100000",
        model_file(tmp_path, "a"),
        Scores.from_intent_report(report(greet=0.96)),
        "staf:konten",
    )
    assert first.verdict.publishable and first.verdict.worse == []
    model_registry.publish(first.id, "staf:konten")
    low = model_registry.register(
        "20261207-110000",
        model_file(tmp_path, "b"),
        Scores.from_intent_report(report(lapor_banjir=0.8)),
        "staf:konten",
    )
    assert not low.verdict.publishable
    assert [(w.intent, w.before, w.after) for w in low.verdict.worse] == [("lapor_banjir", 1.0, 0.8)]
    assert any("lapor_banjir" in reason for reason in low.verdict.reasons)
    # Every target met, one intent a little worse, overall not worse: publishable, the drop shown.
    mixed = model_registry.register(
        "20261207-120000",
        model_file(tmp_path, "c"),
        Scores.from_intent_report(report(greet=1.0, lapor_banjir=0.97)),
        "staf:konten",
    )
    assert mixed.verdict.publishable and [w.intent for w in mixed.verdict.worse] == ["lapor_banjir"]
    # Overall worse than the published model: refused even above the targets.
    lower = model_registry.register(
        "20261207-130000",
        model_file(tmp_path, "d"),
        Scores.from_intent_report(report(greet=0.9)),
        "staf:konten",
    )
    assert not lower.verdict.publishable and any("macro-F1 turun" in r for r in lower.verdict.reasons)


def test_a_failed_run_publishes_nothing_and_says_why(tmp_path: Path) -> None:
    good = model_registry.register(
        "20261207-100000", model_file(tmp_path, "a"), Scores.from_intent_report(report()), "x"
    )
    model_registry.publish(good.id, "x")
    failed = model_registry.register("20261207-110000", None, None, "x", error="Pelatihan gagal:\nYAML rusak")
    assert failed.error and "YAML rusak" in failed.error
    with pytest.raises(RegistryError, match="gagal"):
        model_registry.publish(failed.id, "x")
    assert model_registry.published().id == good.id


def test_rollback_brings_the_previous_model_back(tmp_path: Path) -> None:
    with pytest.raises(RegistryError):
        model_registry.rollback("x")
    first = model_registry.register(
        "20261207-100000", model_file(tmp_path, "a"), Scores.from_intent_report(report()), "x"
    )
    model_registry.publish(first.id, "x")
    second = model_registry.register(
        "20261207-110000", model_file(tmp_path, "b"), Scores.from_intent_report(report()), "x"
    )
    model_registry.publish(second.id, "x")
    assert first.etag != second.etag
    assert model_registry.rollback("staf:admin").id == first.id
    assert model_registry.published().id == first.id
    assert [h["action"] for h in model_registry.state()["history"]] == ["terbit", "terbit", "kembali"]


def test_an_unknown_or_forged_model_id_is_refused() -> None:
    for forged in ("../../etc", "", "20261207-100000"):
        with pytest.raises(RegistryError):
            model_registry.publish(forged, "x")


# -- why an intent got worse ----------------------------------------------------------------------
# The held-out set of the tests below: ten messages per intent.
HELD_OUT = [
    (text, intent)
    for intent in INTENTS
    for text in (
        [f"{intent} pesan {i}" for i in range(8)]
        + {
            "darurat": ["rumah terbakar", "ada yang tenggelam"],
            "greet": ["halo pak", "pagi min"],
            "lapor_banjir": ["got mampet air naik", "selokan meluap"],
            "lapor_jalan_rusak": ["jalan berlubang dalam", "aspal amblas"],
        }[intent]
    )
]


def rasa_test_output(folder: Path, read_as: Dict[str, Tuple[str, float]]) -> Path:
    """What ``rasa test nlu --successes --out folder`` writes for a model that reads every held-out
    message right except those in ``read_as`` (text -> what it reads, confidence): Rasa's report
    is scikit-learn's classification report, and a message per row in the two prediction files."""
    from sklearn.metrics import classification_report

    rows = [(text, intent, *read_as.get(text, (intent, 0.9))) for text, intent in HELD_OUT]
    folder.mkdir(parents=True)
    report = classification_report(
        [row[1] for row in rows], [row[2] for row in rows], output_dict=True, zero_division=0
    )
    (folder / "intent_report.json").write_text(json.dumps(report), encoding="utf-8")
    for name, right in (("intent_successes.json", True), ("intent_errors.json", False)):
        chosen = [
            {
                "text": text,
                "intent": intent,
                "intent_prediction": {"name": predicted, "confidence": confidence},
            }
            for text, intent, predicted, confidence in rows
            if (intent == predicted) == right
        ]
        if chosen:  # Rasa writes no file when there is nothing to write
            (folder / name).write_text(json.dumps(chosen), encoding="utf-8")
    return folder


def registered(
    tmp_path: Path,
    candidate_id: str,
    read_as: Dict[str, Tuple[str, float]],
    taught: Optional[Sequence[TaughtExample]],
) -> model_registry.Candidate:
    scores = Scores.from_results(rasa_test_output(tmp_path / f"results-{candidate_id}", read_as))
    return model_registry.register(
        candidate_id, model_file(tmp_path, candidate_id), scores, "staf:konten", taught=taught
    )


OLD_TAUGHT = [TaughtExample("greet", "halo min", "staf:konten", "2026-12-01T09:00:00Z")]
NEW_GREETING = TaughtExample("greet", "air naik lagi ya min", "staf:konten", "2026-12-07T09:00:00Z")
ALREADY_WRONG = {"jalan berlubang dalam": ("lapor_banjir", 0.55)}


def published_and_refused(tmp_path: Path) -> Tuple[model_registry.Candidate, model_registry.Candidate]:
    """A published model, and a candidate trained after staff taught a greeting that sounds like a
    flood: it reads one held-out flood report as a greeting."""
    first = registered(tmp_path, "20261207-100000", ALREADY_WRONG, OLD_TAUGHT)
    assert first.verdict.publishable, first.verdict.reasons
    model_registry.publish(first.id, "staf:konten")
    taught: List[TaughtExample] = [
        *OLD_TAUGHT,
        NEW_GREETING,
        TaughtExample("lapor_sampah", "got penuh sampah", "staf:konten", "2026-12-07T09:05:00Z"),
    ]
    refused = registered(
        tmp_path, "20261207-110000", {**ALREADY_WRONG, "got mampet air naik": ("greet", 0.62)}, taught
    )
    return first, refused


def test_a_drop_lists_the_held_out_message_that_flipped_and_the_taught_example_to_blame(
    tmp_path: Path,
) -> None:
    # The published model's predictions and taught examples come back from its evaluation
    # record in the store (``register`` reads the published candidate with ``get``).
    _, candidate = published_and_refused(tmp_path)
    judged = candidate.verdict
    assert not judged.publishable and judged.explained
    worse = {w.intent: w for w in judged.worse}
    assert sorted(worse) == ["greet", "lapor_banjir"]  # recall lost, precision lost
    flipped = Flip("got mampet air naik", "lapor_banjir", "greet", 0.62)
    for intent in ("lapor_banjir", "greet"):
        # Only the message the published model read right: the one already wrong is no news.
        assert worse[intent].flips == [flipped]
        # The greeting taught since the published model, not the one it had, nor other intents'.
        assert worse[intent].suspects == {"greet": [NEW_GREETING]}


def test_a_drop_against_a_model_evaluated_before_predictions_were_kept_says_so(tmp_path: Path) -> None:
    first = model_registry.register(
        "20261207-100000", model_file(tmp_path, "a"), Scores.from_intent_report(report()), "x"
    )
    model_registry.publish(first.id, "x")
    candidate = registered(tmp_path, "20261207-110000", {"got mampet air naik": ("greet", 0.62)}, None)
    assert not candidate.verdict.explained
    assert [w.flips for w in candidate.verdict.worse] == [[], []]
