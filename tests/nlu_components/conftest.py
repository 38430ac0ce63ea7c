"""Fixtures running the real Rasa components: SpacyNLP on a saved blank ``id`` model,
SpacyTokenizer, then the normaliser, each built with ``create(...)`` like the graph does."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, List

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from rasa.engine.graph import ExecutionContext, GraphSchema  # noqa: E402
from rasa.engine.storage.local_model_storage import LocalModelStorage  # noqa: E402
from rasa.engine.storage.resource import Resource  # noqa: E402
from rasa.nlu.tokenizers.spacy_tokenizer import SpacyTokenizer  # noqa: E402
from rasa.nlu.utils.spacy_utils import SpacyNLP  # noqa: E402
from rasa.shared.nlu.training_data.message import Message  # noqa: E402

from nlu_components.normalizer import IndonesianTokenNormalizer  # noqa: E402
from nlu_components.spacy_model import ensure_blank_model  # noqa: E402


@pytest.fixture(scope="session")
def spacy_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("spacy") / "spacy-id"
    assert ensure_blank_model(path) is True
    return path


@pytest.fixture(scope="session")
def model_storage(tmp_path_factory: pytest.TempPathFactory) -> LocalModelStorage:
    return LocalModelStorage(tmp_path_factory.mktemp("model_storage"))


@pytest.fixture(scope="session")
def execution_context() -> ExecutionContext:
    return ExecutionContext(GraphSchema({}), "test-normalizer")


@pytest.fixture(scope="session")
def spacy_nlp(spacy_model_dir, model_storage, execution_context) -> SpacyNLP:
    return SpacyNLP.create(
        {**SpacyNLP.get_default_config(), "model": str(spacy_model_dir)},
        model_storage,
        Resource("spacy_nlp"),
        execution_context,
    )


@pytest.fixture(scope="session")
def tokenizer(model_storage, execution_context) -> SpacyTokenizer:
    return SpacyTokenizer.create(
        SpacyTokenizer.get_default_config(),
        model_storage,
        Resource("spacy_tokenizer"),
        execution_context,
    )


@pytest.fixture(scope="session")
def normalizer(model_storage, execution_context) -> IndonesianTokenNormalizer:
    return IndonesianTokenNormalizer.create(
        IndonesianTokenNormalizer.get_default_config(),
        model_storage,
        Resource("normalizer"),
        execution_context,
    )


@pytest.fixture(scope="session")
def run_pipeline(spacy_nlp, tokenizer, normalizer) -> Callable[[List[str]], List[Message]]:
    """Texts -> messages after SpacyNLP, SpacyTokenizer and the normaliser (inference path)."""

    def run(texts: List[str], normalize: bool = True) -> List[Message]:
        messages = [Message.build(text=text) for text in texts]
        spacy_nlp.process(messages, spacy_nlp.provide())
        tokenizer.process(messages)
        if normalize:
            normalizer.process(messages)
        return messages

    return run
