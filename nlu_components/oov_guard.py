"""Out-of-vocabulary guard: gibberish must fall back, not be guessed.

A classifier always puts *some* intent on top, and on a keyboard mash ("qwrtp zxcvb mnbvc")
the character n-grams that happen to match can give a confident wrong answer (``greet``
0.55). This component runs after the intent classifiers and before the
``FallbackClassifier``: when most word tokens of a message are unknown, it scales the whole
intent ranking down so the top confidence is at most ``max_confidence`` (below the fallback
threshold), and the assistant asks the citizen to rephrase instead of guessing.

A word token is *known* when any of these holds:

- its normalised lemma (``Token.lemma``, set by the normaliser) or its lower-cased text
  occurs in the training examples (the vocabulary is collected at training time and
  persisted with the model);
- the normaliser knows it: Sastrawi's ~29,000 Indonesian root words (or a word stemming to
  one), the domain and IndoCollex colloquial lexicons (keys and normal forms), protected
  words and stem exceptions;
- it has at least ``fuzzy_min_length`` letters and is one edit (deletion, insertion,
  substitution) away from a known word: a typo of a real word ("tolomg", "kelurhan") is not
  gibberish. Shorter strings must match exactly (most four-letter strings are one edit from
  *some* word).

Tokens without letters (numbers, NIKs, ticket numbers, emoji, punctuation), tokens with
digits, and one-letter tokens are neutral: they count neither way. A message with no
counted token (👍, "p", "3507…") is left alone, and so is one where the emergency safety
net found emergency terms. The guard fires only when the unknown share of counted tokens
is at least ``min_unknown_share`` *and* at least ``min_unknown_tokens`` tokens are unknown,
so one unknown name in a sentence changes nothing.

The ranking keeps its order (``rasa test nlu`` and the dialogue still see which intent was
closest); ``message.data["oov_share"]`` records the unknown share when the guard fired.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any, Dict, FrozenSet, Iterable, List, Optional, Set, Text, Type

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu_components.emergency import EMERGENCY_TERMS_KEY
from nlu_components.text_normalizer import IndonesianNormalizer, get_normalizer

logger = logging.getLogger(__name__)

VOCABULARY_FILE = "vocabulary.json"
OOV_SHARE_KEY = "oov_share"

_LETTERS_ONLY = re.compile(r"^[a-z\u00e0-\u024f'\-]+$")
_DIGIT = re.compile(r"\d")


def deletes(word: str) -> Set[str]:
    """All strings one deletion away from ``word``."""
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


class Vocabulary:
    """Known words with a one-edit fuzzy lookup (SymSpell-style deletion index)."""

    def __init__(self, words: Iterable[str], fuzzy_min_length: int = 5) -> None:
        self.words: FrozenSet[str] = frozenset(w for w in words if w)
        self.fuzzy_min_length = fuzzy_min_length
        # Typos of words one letter shorter than a fuzzy query are still typos.
        index_min = max(1, fuzzy_min_length - 1)
        self._long: FrozenSet[str] = frozenset(w for w in self.words if len(w) >= index_min)
        index: Set[str] = set()
        for word in self._long:
            index.update(deletes(word))
        self._deletes: FrozenSet[str] = frozenset(index)

    def __contains__(self, word: str) -> bool:
        return word in self.words

    def near(self, word: str) -> bool:
        """True if ``word`` is known, or (when at least ``fuzzy_min_length`` letters long)
        one deletion, insertion or substitution away from a known word."""
        if word in self.words:
            return True
        if len(word) < self.fuzzy_min_length:
            return False  # most short strings are one edit from *some* word
        if word in self._deletes:  # a letter missing from a known word
            return True
        for variant in deletes(word):
            # a letter too many (variant is the word) or one substituted (same deletion)
            if variant in self._long or variant in self._deletes:
                return True
        return False


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class OutOfVocabularyGuard(GraphComponent, IntentClassifier):
    """Lowers the intent confidence of messages made mostly of unknown words."""

    @classmethod
    def required_components(cls) -> List[Type]:
        # It needs tokens (and the normaliser's lemmas). It must also come after the intent
        # classifiers, but the train graph has no ordering between classifiers that Rasa
        # could check.
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            # Fire when at least this share of the counted word tokens is unknown ...
            "min_unknown_share": 0.75,
            # ... and at least this many tokens are unknown.
            "min_unknown_tokens": 1,
            # Top confidence after the guard fired (keep it below the FallbackClassifier
            # threshold).
            "max_confidence": 0.1,
            # Words this long (or longer) one edit away from a known word count as known
            # (typos); shorter ones must match exactly.
            "fuzzy_min_length": 5,
            # Folder of the normaliser's lexicon; None: the repository's lexicon/.
            "lexicon_dir": None,
        }

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        training_words: Optional[Iterable[str]] = None,
        normalizer: Optional[IndonesianNormalizer] = None,
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._normalizer = normalizer or get_normalizer(self._config.get("lexicon_dir"))
        self._training_words: Set[str] = set(training_words or ())
        self._vocabulary: Optional[Vocabulary] = None

    # ------------------------------------------------------------------ graph API
    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> OutOfVocabularyGuard:
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> OutOfVocabularyGuard:
        words: List[str] = []
        try:
            with model_storage.read_from(resource) as directory:
                words = json.loads((directory / VOCABULARY_FILE).read_text(encoding="utf-8"))
        except (ValueError, FileNotFoundError):
            logger.warning("OutOfVocabularyGuard: no training vocabulary; lexicon only.")
        guard = cls(config, model_storage, resource, words)
        _ = guard.vocabulary  # build the lookup now, not on the first message
        return guard

    def train(self, training_data: TrainingData) -> Resource:
        words: Set[str] = set()
        for example in training_data.training_examples:
            words.update(self.token_words(example))
        self._training_words = words
        self._vocabulary = None
        with self._model_storage.write_to(self._resource) as directory:
            (directory / VOCABULARY_FILE).write_text(
                json.dumps(sorted(words), ensure_ascii=False), encoding="utf-8"
            )
        return self._resource

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            if not message.get(TEXT) or message.get(EMERGENCY_TERMS_KEY):
                continue
            share = self.unknown_share(message)
            if share is None:
                continue
            unknown, counted = share
            if (
                counted
                and unknown >= int(self._config["min_unknown_tokens"])
                and unknown / counted >= float(self._config["min_unknown_share"])
            ):
                self._lower(message, unknown / counted)
        return messages

    # ------------------------------------------------------------------ internals
    @property
    def vocabulary(self) -> Vocabulary:
        if self._vocabulary is None:
            self._vocabulary = Vocabulary(
                set(self._normalizer.known_words) | self._training_words,
                fuzzy_min_length=int(self._config["fuzzy_min_length"]),
            )
        return self._vocabulary

    @staticmethod
    def _tokens(message: Message) -> List[Any]:
        return list(message.get(TOKENS_NAMES[TEXT]) or [])

    def token_words(self, message: Message) -> Set[str]:
        """Lower-cased text, normal form and lemma words of the message's tokens."""
        words: Set[str] = set()
        for token in self._tokens(message):
            text = (token.text or "").lower()
            words.add(text)
            words.update(self._normalizer.normalize(text).split())
            words.update((token.lemma or "").lower().split())
        return words

    def _counted(self, text: str) -> bool:
        """Tokens that can be judged: letters only (apostrophe/hyphen allowed), 2+ long."""
        return len(text) >= 2 and bool(_LETTERS_ONLY.match(text)) and not _DIGIT.search(text)

    def is_known(self, text: str, lemma: Optional[str] = None) -> bool:
        vocabulary = self.vocabulary
        text = text.lower()
        candidates = {text, text.strip("'-")}
        candidates.update(self._normalizer.normalize(text).split())
        if lemma:
            candidates.update(lemma.lower().split())
        if any(c in vocabulary for c in candidates if c):
            return True
        parts = [p for p in re.split(r"[-']", text) if p]
        if len(parts) > 1 and all(self.is_known(p) for p in parts):
            return True
        return vocabulary.near(text)

    def unknown_share(self, message: Message) -> Optional[tuple]:
        """(unknown tokens, counted tokens) of the message, or None without tokens."""
        tokens = self._tokens(message)
        if not tokens:
            return None
        unknown = counted = 0
        for token in tokens:
            text = (token.text or "").lower()
            if not self._counted(text):
                continue
            counted += 1
            if not self.is_known(text, token.lemma):
                unknown += 1
        return unknown, counted

    def _lower(self, message: Message, share: float) -> None:
        intent: Optional[Dict[str, Any]] = message.get(INTENT)
        ranking: List[Dict[str, Any]] = list(message.get(INTENT_RANKING_KEY) or [])
        top = float((intent or {}).get("confidence") or 0.0)
        cap = float(self._config["max_confidence"])
        message.set(OOV_SHARE_KEY, round(share, 3), add_to_output=True)
        if top <= cap:
            return
        factor = cap / top
        ranking = [{**row, "confidence": float(row.get("confidence") or 0.0) * factor} for row in ranking]
        if intent:
            message.set(INTENT, {**intent, "confidence": top * factor}, add_to_output=True)
        message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        logger.debug("OOV guard: %.0f%% unknown words, confidence capped", share * 100)
