"""Reading what ``rasa test nlu`` writes into its ``--out`` folder, in one place: the CI gate
(``scripts/evaluate_nlu.py``), the NLU benchmark (``scripts/benchmark_nlu.py``) and the dashboard's
retraining (``layanwarga.retrain``) all read the held-out evaluation through this module.

- ``intent_report.json``: per intent precision, recall, F1 and support, plus summary rows
  (``accuracy``, ``macro avg``, ...) and intents the model knows without held-out examples
  (support 0); ``per_intent_scores`` keeps the real held-out intents.
- ``intent_errors.json`` (always) and ``intent_successes.json`` (with ``--successes``): one row per
  held-out message, ``{"text", "intent", "intent_prediction": {"name", "confidence"}}``. The text
  is the plain text (entity annotations removed); the prediction is the classifier's top intent
  (Rasa reverts FallbackClassifier predictions before scoring).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

REPORT_FILE = "intent_report.json"
ERRORS_FILE = "intent_errors.json"
SUCCESSES_FILE = "intent_successes.json"
SUMMARY_ROWS = frozenset({"accuracy", "macro avg", "weighted avg", "micro avg"})

# The project's NLU targets on the held-out set, for the CI gate and for publishing a model.
MIN_MACRO_F1 = 0.95
MIN_INTENT_F1 = 0.85
MIN_DARURAT_RECALL = 1.0  # an emergency must never be missed


def per_intent_scores(report: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    """Rows of Rasa's intent_report.json that are real held-out intents (support > 0)."""
    return {
        name: row
        for name, row in report.items()
        if name not in SUMMARY_ROWS and isinstance(row, dict) and row.get("support", 0) > 0
    }


def read_report(out_dir: Path) -> Dict[str, Any]:
    """The intent report of ``out_dir`` (FileNotFoundError when ``rasa test nlu`` wrote none)."""
    report: Dict[str, Any] = json.loads((out_dir / REPORT_FILE).read_text(encoding="utf-8"))
    return report


@dataclass(frozen=True)
class Prediction:
    """One held-out message: its labelled intent, what the model predicted, and how sure it was."""

    text: str
    intent: str
    predicted: str
    confidence: Optional[float]

    @property
    def correct(self) -> bool:
        return self.intent == self.predicted

    def as_dict(self) -> Dict[str, Any]:
        return {
            "text": self.text,
            "intent": self.intent,
            "predicted": self.predicted,
            "confidence": self.confidence,
        }

    @classmethod
    def from_dict(cls, value: Dict[str, Any]) -> "Prediction":
        confidence = value.get("confidence")
        return cls(
            str(value["text"]),
            str(value["intent"]),
            str(value.get("predicted") or ""),
            None if confidence is None else float(confidence),
        )


def predictions(out_dir: Path) -> List[Prediction]:
    """Every held-out message ``rasa test nlu`` wrote to ``out_dir``, the right ones (when it ran
    with ``--successes``) then the wrong ones, each in Rasa's order."""
    found: List[Prediction] = []
    for name in (SUCCESSES_FILE, ERRORS_FILE):
        path = out_dir / name
        if not path.exists():
            continue  # Rasa writes no file when there is nothing to write
        for row in json.loads(path.read_text(encoding="utf-8")):
            predicted = row.get("intent_prediction") or {}
            confidence = predicted.get("confidence")
            found.append(
                Prediction(
                    str(row.get("text") or ""),
                    str(row.get("intent") or ""),
                    str(predicted.get("name") or ""),
                    None if confidence is None else float(confidence),
                )
            )
    return found
