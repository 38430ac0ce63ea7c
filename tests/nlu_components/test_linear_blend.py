"""The linear blender: trains on real sparse features, persists, loads, blends rankings."""

from __future__ import annotations

import numpy as np
import pytest
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import (
    CountVectorsFeaturizer,
)
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu_components.linear_blend import LinearIntentBlender

EXAMPLES = {
    "lapor_jalan_rusak": ["jalan rusak parah", "jln bolong2", "aspal hancur", "jalan berlubang"],
    "lapor_lampu_padam": ["lampu jalan mati", "pju padam", "lampu gelap", "lampu kedip2"],
    "thanks": ["makasih", "terima kasih", "trims min", "suwun"],
}


def tokenized_examples(spacy_nlp, tokenizer, normalizer) -> TrainingData:  # type: ignore[no-untyped-def]
    """EXAMPLES tokenized and normalised, ready for featurizers."""
    training_data = TrainingData(
        [Message.build(text=text, intent=intent) for intent, texts in EXAMPLES.items() for text in texts]
    )
    spacy_nlp.process_training_data(training_data, spacy_nlp.provide())
    tokenizer.process_training_data(training_data)
    normalizer.process_training_data(training_data)
    return training_data


@pytest.fixture(scope="module")
def featurized(spacy_nlp, tokenizer, normalizer, model_storage, execution_context):
    featurizer = CountVectorsFeaturizer.create(
        CountVectorsFeaturizer.get_default_config(),
        model_storage,
        Resource("cvf_blend"),
        execution_context,
    )
    training_data = tokenized_examples(spacy_nlp, tokenizer, normalizer)
    featurizer.train(training_data)
    featurizer.process_training_data(training_data)

    def featurize(text: str) -> Message:
        message = Message.build(text=text)
        spacy_nlp.process([message], spacy_nlp.provide())
        tokenizer.process([message])
        normalizer.process([message])
        featurizer.process([message])
        return message

    return training_data, featurize


def trained(training_data, name, model_storage, execution_context, **config) -> LinearIntentBlender:  # type: ignore[no-untyped-def]
    """A blender created with the default configuration plus ``config``, trained."""
    component = LinearIntentBlender.create(
        {**LinearIntentBlender.get_default_config(), **config},
        model_storage,
        Resource(name),
        execution_context,
    )
    component.train(training_data)
    return component


def assert_same_sparse(actual, expected) -> None:  # type: ignore[no-untyped-def]
    """Same shape, same stored columns and values, to the last bit."""
    actual, expected = actual.tocsr(), expected.tocsr()
    assert actual.shape == expected.shape
    assert np.array_equal(actual.indptr, expected.indptr)
    assert np.array_equal(actual.indices, expected.indices)
    assert np.array_equal(actual.data, expected.data)


def test_registered_as_trainable_intent_classifier() -> None:
    registered = DefaultV1Recipe._from_registry("nlu_components.linear_blend.LinearIntentBlender")
    assert DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER in registered.types
    assert registered.is_trainable is True


def test_train_persist_load(featurized, model_storage, execution_context) -> None:
    """The loaded model ranks a message exactly as the model it was saved from."""
    training_data, featurize = featurized
    resource = Resource("linear_blend")
    config = LinearIntentBlender.get_default_config()
    fresh = LinearIntentBlender.create(config, model_storage, resource, execution_context)
    fresh.train(training_data)
    loaded = LinearIntentBlender.load(config, model_storage, resource, execution_context)

    before, after = featurize("lampu jln mati total"), featurize("lampu jln mati total")
    fresh.process([before])
    loaded.process([after])

    ranking = after.get(INTENT_RANKING_KEY)
    assert after.get(INTENT)["name"] == "lapor_lampu_padam"
    assert ranking[0] == after.get(INTENT)
    assert ranking == before.get(INTENT_RANKING_KEY)
    assert sum(r["confidence"] for r in ranking) == pytest.approx(1.0, abs=1e-6)
    assert {r["name"] for r in ranking} == set(EXAMPLES)


def test_an_earlier_ranking_is_replaced_not_blended(featurized, model_storage, execution_context) -> None:
    """The pipeline has no other classifier: whatever a message carried before, the ranking is
    the linear model's alone."""
    training_data, featurize = featurized
    component = trained(training_data, "linear_blend_replace", model_storage, execution_context)
    plain, carried = featurize("makasih ya"), featurize("makasih ya")
    earlier = [{"name": "lapor_lampu_padam", "confidence": 0.9}, {"name": "thanks", "confidence": 0.1}]
    carried.set(INTENT, earlier[0])
    carried.set(INTENT_RANKING_KEY, earlier)
    component.process([plain, carried])
    assert carried.get(INTENT)["name"] == "thanks"
    assert carried.get(INTENT_RANKING_KEY) == plain.get(INTENT_RANKING_KEY)


def test_untrained_model_passes_through(model_storage, execution_context) -> None:
    component = LinearIntentBlender.load(
        LinearIntentBlender.get_default_config(),
        model_storage,
        Resource("never_trained"),
        execution_context,
    )
    message = Message.build(text="halo")
    message.set(INTENT, {"name": "greet", "confidence": 0.8})
    component.process([message])
    assert message.get(INTENT) == {"name": "greet", "confidence": 0.8}


def test_blocks_are_weighted_and_normalised_separately(
    spacy_nlp, tokenizer, normalizer, model_storage, execution_context
) -> None:
    """Word and character featurizers are two blocks, each with unit length after idf."""
    from rasa.engine.graph import ExecutionContext, GraphSchema

    featurizers = []
    for name, config in (
        ("words", {}),
        ("chars", {"analyzer": "char_wb", "min_ngram": 3, "max_ngram": 5, "use_lemma": False}),
    ):
        context = ExecutionContext(GraphSchema({}), "test-blend", node_name=name)
        featurizers.append(
            CountVectorsFeaturizer.create(
                {**CountVectorsFeaturizer.get_default_config(), **config},
                model_storage,
                Resource(f"cvf_blocks_{name}"),
                context,
            )
        )
    training_data = tokenized_examples(spacy_nlp, tokenizer, normalizer)
    for featurizer in featurizers:
        featurizer.train(training_data)
        featurizer.process_training_data(training_data)

    resource = Resource("linear_blend_blocks")
    config = LinearIntentBlender.get_default_config()
    component = LinearIntentBlender.create(config, model_storage, resource, execution_context)
    component.train(training_data)
    layout = component._model["layout"]
    assert layout["origins"] == ["chars", "words"]
    assert set(layout["idf"]) == {"chars", "words"}

    rows = [LinearIntentBlender._blocks(m) for m in training_data.intent_examples[:3]]
    matrix = component._matrix(rows, layout)
    chars_width = layout["widths"][0]
    for row in range(matrix.shape[0]):
        chars = matrix[row, :chars_width].toarray().ravel()
        words = matrix[row, chars_width:].toarray().ravel()
        assert np.linalg.norm(chars) == pytest.approx(1.0)
        assert np.linalg.norm(words) == pytest.approx(1.0)
        # Each count times its column's idf, then scaled to unit length.
        weighted = rows[row]["chars"].toarray().ravel() * layout["idf"]["chars"]
        assert chars == pytest.approx(weighted / np.linalg.norm(weighted))

    # One message's row, as process() builds it, is the stacked matrix's row exactly.
    for normalise in (True, False):
        single = {**layout, "normalise_blocks": normalise}
        for example in training_data.intent_examples:
            blocks = LinearIntentBlender._blocks(example)
            for kept in (blocks, {"words": blocks["words"]}):  # also with a block missing
                assert_same_sparse(LinearIntentBlender._row(kept, single), component._matrix([kept], single))

    # A message without one of the blocks still gets a prediction (zeros for the block).
    message = Message.build(text="lampu jalan padam")
    spacy_nlp.process([message], spacy_nlp.provide())
    tokenizer.process([message])
    normalizer.process([message])
    featurizers[1].process([message])
    loaded = LinearIntentBlender.load(config, model_storage, resource, execution_context)
    loaded.process([message])
    assert message.get(INTENT)["name"] in EXAMPLES


def test_model_of_an_older_format_passes_through(model_storage, execution_context) -> None:
    import pickle

    from sklearn.linear_model import LogisticRegression

    resource = Resource("linear_blend_old_format")
    with model_storage.write_to(resource) as directory:
        with (directory / "linear_blend.pkl").open("wb") as handle:
            pickle.dump(LogisticRegression(), handle)
    component = LinearIntentBlender.load(
        LinearIntentBlender.get_default_config(), model_storage, resource, execution_context
    )
    message = Message.build(text="halo")
    message.set(INTENT, {"name": "greet", "confidence": 0.8})
    component.process([message])
    assert message.get(INTENT) == {"name": "greet", "confidence": 0.8}


def test_without_an_earlier_ranking_the_linear_model_decides(
    featurized, model_storage, execution_context
) -> None:
    training_data, featurize = featurized
    component = trained(training_data, "linear_blend_alone", model_storage, execution_context)
    message = featurize("pju padam")
    component.process([message])
    ranking = message.get(INTENT_RANKING_KEY)
    assert message.get(INTENT)["name"] == "lapor_lampu_padam"
    assert sum(r["confidence"] for r in ranking) == pytest.approx(1.0, abs=1e-6)
