"""Rasa graph component writing normalised Indonesian words into ``Token.lemma``.

Place it right after the tokenizer::

    - name: SpacyNLP
      model: var/spacy-id
    - name: SpacyTokenizer
    - name: nlu_components.normalizer.IndonesianTokenNormalizer
    - name: CountVectorsFeaturizer      # use_lemma: true (default) -> sees normalised words

Only ``Token.lemma`` changes. ``Token.text``, ``start`` and ``end`` stay as the tokenizer
set them, so entity offsets, the regex featurizer, the lexical-syntactic featurizer and a
``char_wb`` CountVectorsFeaturizer with ``use_lemma: false`` still work on what the
citizen actually typed.

Registered as a MESSAGE_TOKENIZER: it post-processes the tokens of every message (training
examples in ``process_training_data``, incoming messages in ``process``), adds no features,
and must run before every featurizer. It is deliberately *not* a ``Tokenizer`` subclass:
Rasa allows only one tokenizer per pipeline. Nothing is persisted in the model; the
lexicon files are read when the component is created.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text, Type

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import ACTION_TEXT, RESPONSE, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu_components.text_normalizer import (
    IndonesianNormalizer,
    get_normalizer,
    lexicon_fingerprint,
)

logger = logging.getLogger(__name__)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class IndonesianTokenNormalizer(GraphComponent):
    """Sets ``Token.lemma`` to the normalised, stemmed form of informal Indonesian."""

    @classmethod
    def required_components(cls) -> List[Type]:
        """Tokens must exist before they can be normalised."""
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        """The component's default config."""
        return {
            # Folder with domain_overrides.tsv, protected_words.txt, stem_exceptions.tsv
            # and indocollex/; None means the repository's lexicon/ folder.
            "lexicon_dir": None,
            # Use the general IndoCollex colloquial lexicon under the domain overrides.
            "use_general_lexicon": True,
            # Stem with Sastrawi (protected words and exceptions excepted).
            "use_stemmer": True,
            # Message attributes whose tokens get normalised lemmas.
            "attributes": [TEXT, RESPONSE, ACTION_TEXT],
        }

    def __init__(self, config: Dict[Text, Any], normalizer: IndonesianNormalizer) -> None:
        self._config = config
        self._normalizer = normalizer
        self._attributes: List[Text] = list(config.get("attributes") or [TEXT])

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> IndonesianTokenNormalizer:
        """Creates the component and loads its lexicons (shared within the process)."""
        config = {**cls.get_default_config(), **config}
        normalizer = get_normalizer(
            config.get("lexicon_dir"),
            use_general_lexicon=bool(config.get("use_general_lexicon", True)),
            use_stemmer=bool(config.get("use_stemmer", True)),
        )
        return cls(config, normalizer)

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        """Lexicon files and normaliser code are inputs Rasa's cache must see change."""
        lexicon_dir = (config or {}).get("lexicon_dir")
        try:
            from importlib.metadata import version

            sastrawi_version = version("PySastrawi")
        except Exception:  # pragma: no cover - metadata missing in odd installs
            sastrawi_version = "unknown"
        return f"{lexicon_fingerprint(lexicon_dir)}|sastrawi={sastrawi_version}"

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Normalises the tokens of all training examples in place."""
        self.process(training_data.training_examples)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        """Normalises the tokens of the incoming messages in place."""
        lemma = self._normalizer.lemma
        for message in messages:
            for attribute in self._attributes:
                tokens = message.get(TOKENS_NAMES[attribute])
                if not tokens:
                    continue
                for token in tokens:
                    normal = lemma(token.text)
                    # An empty lemma would make Token fall back to nothing useful.
                    token.lemma = normal or token.text
        return messages
