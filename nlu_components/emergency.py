"""Emergency safety net: an emergency must never be classified as a routine complaint.

A statistical classifier trained on a few dozen ``darurat`` examples will sometimes rank an
unseen emergency ("ada bocah kelelep di empang") under a routine intent. For a service
desk that is the one error that must not happen, so this component runs after the intent
classifier and promotes ``darurat`` when the message names an emergency happening now.

- Evidence is matched on the message's normalised surface words (the normaliser's lexicon
  has already turned ``kelelep`` into ``tenggelam``, ``kobongan`` into ``kebakaran``), using
  the phrases of ``lexicon/emergency_terms.tsv``: *triggers* (kebakaran, tenggelam,
  kecelakaan, begal, evakuasi, ...) and *mitigators* that show the message is about risk,
  the past, prevention or aid rather than an emergency now (rawan, sering, kemarin,
  sebaiknya, belum dapat bantuan, ...).
- With a trigger and no mitigator, ``darurat`` becomes the top intent (confidence at least
  ``min_confidence``) and the matched phrases are recorded in ``message.data
  ["emergency_terms"]``; otherwise the classifier's result is left alone.

Deterministic, no training, nothing persisted.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Text, Tuple, Type

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from nlu_components.text_normalizer import DEFAULT_LEXICON_DIR, get_normalizer

logger = logging.getLogger(__name__)

TERMS_FILE = "emergency_terms.tsv"
EMERGENCY_TERMS_KEY = "emergency_terms"


def load_terms(path: Path) -> Tuple[List[Tuple[str, ...]], List[Tuple[str, ...]]]:
    """(triggers, mitigators) as word tuples from a ``kind<TAB>phrase`` file."""
    triggers: List[Tuple[str, ...]] = []
    mitigators: List[Tuple[str, ...]] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "\t" not in line:
            continue
        kind, phrase = line.split("\t", 1)
        words = tuple(phrase.lower().split())
        if not words:
            continue
        if kind.strip() == "trigger":
            triggers.append(words)
        elif kind.strip() == "mitigator":
            mitigators.append(words)
    return triggers, mitigators


def find_phrases(words: Sequence[str], phrases: Sequence[Tuple[str, ...]]) -> List[str]:
    """Phrases occurring contiguously in ``words``."""
    found = []
    for phrase in phrases:
        size = len(phrase)
        for start in range(len(words) - size + 1):
            if tuple(words[start : start + size]) == phrase:
                found.append(" ".join(phrase))
                break
    return found


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class EmergencySafetyNet(GraphComponent, IntentClassifier):
    """Promotes the emergency intent when a message names an emergency happening now."""

    @classmethod
    def required_components(cls) -> List[Type]:
        return [IntentClassifier]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "intent": "darurat",
            # None: lexicon/emergency_terms.tsv of the repository.
            "terms_file": None,
            # Same lexicon as the normaliser (for kelelep -> tenggelam etc.).
            "lexicon_dir": None,
            "min_confidence": 0.9,
        }

    def __init__(self, config: Dict[Text, Any]) -> None:
        self._config = config
        self._intent = config["intent"]
        self._min_confidence = float(config["min_confidence"])
        terms_file = config.get("terms_file")
        lexicon_dir = config.get("lexicon_dir")
        path = (
            Path(terms_file)
            if terms_file
            else (Path(lexicon_dir) if lexicon_dir else DEFAULT_LEXICON_DIR) / TERMS_FILE
        )
        self._triggers, self._mitigators = load_terms(path)
        self._normalizer = get_normalizer(lexicon_dir)

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> EmergencySafetyNet:
        return cls({**cls.get_default_config(), **config})

    def surface_words(self, message: Message) -> List[str]:
        tokens = message.get(TOKENS_NAMES[TEXT]) or []
        if tokens:
            texts = [token.text for token in tokens]
        else:
            texts = (message.get(TEXT) or "").split()
        words: List[str] = []
        for text in texts:
            words.extend(self._normalizer.normalize(text).split())
        return words

    def evidence(self, message: Message) -> Tuple[List[str], List[str]]:
        """(triggers found, mitigators found) in the message."""
        words = self.surface_words(message)
        return find_phrases(words, self._triggers), find_phrases(words, self._mitigators)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            if not message.get(TEXT):
                continue
            triggers, mitigators = self.evidence(message)
            if not triggers or mitigators:
                continue
            message.set(EMERGENCY_TERMS_KEY, triggers, add_to_output=True)
            self._promote(message)
        return messages

    def _promote(self, message: Message) -> None:
        intent: Optional[Dict[str, Any]] = message.get(INTENT)
        ranking: List[Dict[str, Any]] = list(message.get(INTENT_RANKING_KEY) or [])
        if intent and intent.get("name") == self._intent:
            return
        top_confidence = float((intent or {}).get("confidence") or 0.0)
        confidence = max(self._min_confidence, top_confidence)
        promoted = {"name": self._intent, "confidence": confidence}
        ranking = [promoted] + [r for r in ranking if r.get("name") != self._intent]
        message.set(INTENT, promoted, add_to_output=True)
        message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        logger.debug("Emergency safety net promoted '%s'", self._intent)
