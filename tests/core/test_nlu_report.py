"""One reader of what ``rasa test nlu`` writes (``layanwarga.nlu_report``): the CI gate
(scripts/evaluate_nlu.py) and the dashboard's retraining read the same files the same way, every
held-out message with its prediction and confidence."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from layanwarga import nlu_report
from layanwarga.model_registry import Scores
from scripts import evaluate_nlu
from tests.core.test_model_registry import HELD_OUT, rasa_test_output


def test_the_gate_and_the_registry_read_the_same_predictions(tmp_path: Path) -> None:
    folder = rasa_test_output(
        tmp_path / "results", {"got mampet air naik": ("greet", 0.62), "halo pak": ("greet", 0.2)}
    )
    found = nlu_report.predictions(folder)
    assert len(found) == len(HELD_OUT)
    assert [p for p in found if not p.correct] == [
        nlu_report.Prediction("got mampet air naik", "lapor_banjir", "greet", 0.62)
    ]
    assert Scores.from_results(folder).predictions == tuple(found)
    assert evaluate_nlu.confusions(folder) == Counter({("lapor_banjir", "greet"): 1})
    assert evaluate_nlu.count_below(folder, 0.3) == 1  # "halo pak", right but unsure
    assert set(evaluate_nlu.per_intent_scores(nlu_report.read_report(folder))) == set(
        Scores.from_results(folder).intents
    )


def test_a_run_without_successes_reads_only_the_errors(tmp_path: Path) -> None:
    folder = rasa_test_output(tmp_path / "results", {"got mampet air naik": ("greet", 0.62)})
    (folder / nlu_report.SUCCESSES_FILE).unlink()
    assert [p.text for p in nlu_report.predictions(folder)] == ["got mampet air naik"]
