"""Blend DIET's intent ranking with a linear model on the same sparse features.

With a few dozen examples per intent, DIET's held-out accuracy swings by several points
with the random seed. A logistic regression on the message-level sparse features (word
n-grams of the normalised lemmas, character n-grams of the raw text, regex hits) makes
different, steadier errors. This component trains one (seconds) and, at inference,
averages its probabilities with the ranking DIET already put on the message:

    p(intent) = diet_weight * p_DIET(intent) + (1 - diet_weight) * p_linear(intent)

Place it right after ``DIETClassifier`` (and before the emergency safety net and the
FallbackClassifier, which then see the blended confidence). Persists only the fitted
scikit-learn model (coefficients: intents x features floats).
"""
from __future__ import annotations

import logging
import pickle
from typing import Any, Dict, List, Optional, Text, Type

import numpy as np
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.featurizers.featurizer import Featurizer
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

logger = logging.getLogger(__name__)

MODEL_FILE = "linear_blend.pkl"


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True
)
class LinearIntentBlender(GraphComponent, IntentClassifier):
    """Logistic regression on sparse sentence features, averaged with DIET's ranking."""

    @classmethod
    def required_components(cls) -> List[Type]:
        # DIET must come earlier in the pipeline too, but the train graph has no ordering
        # between classifiers that Rasa could check.
        return [Featurizer]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "diet_weight": 0.5,
            "C": 10.0,
            "max_iter": 1000,
            "class_weight": "balanced",
            "ranking_length": 10,
            "random_state": 42,
        }

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: Optional[Any] = None,
    ) -> None:
        self._config = config
        self._model_storage = model_storage
        self._resource = resource
        self._model = model

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LinearIntentBlender:
        return cls({**cls.get_default_config(), **config}, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> LinearIntentBlender:
        model = None
        try:
            with model_storage.read_from(resource) as directory:
                with (directory / MODEL_FILE).open("rb") as handle:
                    model = pickle.load(handle)
        except (ValueError, FileNotFoundError):
            logger.warning("LinearIntentBlender: no trained model found; passing through.")
        return cls({**cls.get_default_config(), **config}, model_storage, resource, model)

    @staticmethod
    def _features(message: Message) -> Optional[scipy.sparse.csr_matrix]:
        _, sentence = message.get_sparse_features(TEXT)
        if sentence is None:
            return None
        return scipy.sparse.csr_matrix(sentence.features).astype(np.float64)

    @staticmethod
    def _normalise(matrix: scipy.sparse.csr_matrix) -> scipy.sparse.csr_matrix:
        from sklearn.preprocessing import normalize

        return normalize(matrix, norm="l2", axis=1)

    def train(self, training_data: TrainingData) -> Resource:
        from sklearn.linear_model import LogisticRegression

        rows, labels = [], []
        for example in training_data.intent_examples:
            features = self._features(example)
            if features is not None:
                rows.append(features)
                labels.append(example.get(INTENT))
        if len(set(labels)) < 2:
            logger.warning("LinearIntentBlender: fewer than two intents; not trained.")
            return self._resource
        matrix = self._normalise(scipy.sparse.vstack(rows).tocsr())
        model = LogisticRegression(
            C=self._config["C"],
            max_iter=self._config["max_iter"],
            class_weight=self._config["class_weight"],
            random_state=self._config["random_state"],
        )
        model.fit(matrix, labels)
        self._model = model
        with self._model_storage.write_to(self._resource) as directory:
            with (directory / MODEL_FILE).open("wb") as handle:
                pickle.dump(model, handle)
        return self._resource

    def process(self, messages: List[Message]) -> List[Message]:
        if self._model is None:
            return messages
        weight = float(self._config["diet_weight"])
        classes = list(self._model.classes_)
        for message in messages:
            features = self._features(message)
            if features is None or not message.get(TEXT):
                continue
            linear = self._model.predict_proba(self._normalise(features))[0]
            blended = {name: (1 - weight) * float(p) for name, p in zip(classes, linear)}
            for row in message.get(INTENT_RANKING_KEY) or []:
                name = row.get("name")
                blended[name] = blended.get(name, 0.0) + weight * float(row.get("confidence") or 0)
            ranking = sorted(
                ({"name": n, "confidence": c} for n, c in blended.items()),
                key=lambda r: r["confidence"],
                reverse=True,
            )[: int(self._config["ranking_length"])]
            if ranking:
                message.set(INTENT, ranking[0], add_to_output=True)
                message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages
