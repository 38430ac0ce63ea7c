"""One spaCy pipeline per process, however many graph nodes ask for it.

Rasa 3.6 builds two nodes from the pipeline's ``SpacyNLP`` entry (``provide_SpacyNLP0``, whose
pipeline the tokenizer and ``SpacyNLP.process`` use, and ``run_SpacyNLP0``) and each calls
``SpacyNLP.create``, which ``spacy.load``s the model again. The second copy is never used, yet
the blank Indonesian pipeline (16,000 tokenizer exceptions) costs 70-120 MB each time: that
was the biggest piece of the model's memory after TensorFlow (``scripts/benchmark_load.py``
reads Rasa's memory after start).

``SharedSpacyNLP`` is Rasa's ``SpacyNLP`` whose ``load_model`` gives the same loaded pipeline
for the same model name while its files are unchanged: a model directory rewritten on disk (a
new ``var/spacy-id``) is loaded again. The pipeline is only read after loading (tokenizing), so
sharing it changes no answer. config.yml names it in place of ``SpacyNLP``:

    pipeline:
      - name: rasa_extensions.spacy_model.SharedSpacyNLP
        model: var/spacy-id
      - name: SpacyTokenizer

The components that need ``SpacyNLP`` accept it (Rasa checks them with ``issubclass``), and its
run node gets its pipeline from its own provider node as ``SpacyNLP``'s does (``model_from``
names this class). While the patches are not switched on (``rasa_extensions.patches``) every
node loads its own copy, as ``SpacyNLP`` does.

Loading it once also costs less: ``spacy.load`` builds the tokenizer from the language's
defaults and then replaces it with the saved one, adding the 16,000 exceptions three times in
all (7.4 s of a ``rasa run`` start on this project's machine). When the saved tokenizer is
byte for byte the one the defaults build (``nlu_components.spacy_model`` saves a blank
pipeline), it is not read again: 2.9 s. A tokenizer saved with any change of its own (another
exception, another pattern) differs in its bytes and is loaded from disk as Rasa does.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Dict, Optional, Text, Tuple

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.utils.spacy_utils import SpacyModel, SpacyNLP

from rasa_extensions import patches

logger = logging.getLogger(__name__)

# model name -> (its files' fingerprint, the loaded pipeline)
_loaded: Dict[Text, Tuple[Tuple[int, ...], SpacyModel]] = {}
_lock = threading.Lock()


def _fingerprint(name: Text) -> Tuple[int, ...]:
    """When the model's files last changed (nothing for a package name, which pip replaces)."""
    path = Path(name)
    files = [path / "meta.json", path / "config.cfg"] if path.is_dir() else []
    return tuple(f.stat().st_mtime_ns for f in files if f.is_file())


def _load_with_default_tokenizer(spacy_model_name: Text) -> Optional[SpacyModel]:
    """The saved pipeline without reading its tokenizer again, when the tokenizer the
    language's defaults build is the saved one; None when it is not (or not a directory)."""
    import spacy

    saved = Path(spacy_model_name) / "tokenizer"
    if not saved.is_file():
        return None
    try:
        language = spacy.load(spacy_model_name, disable=["parser"], exclude=["tokenizer"])
    except OSError:
        return None
    if language.tokenizer.to_bytes(exclude=["vocab"]) != saved.read_bytes():
        logger.info("spaCy model %r has a tokenizer of its own: loaded from disk.", spacy_model_name)
        return None
    # Rasa's own check of the model's spaCy version (SpacyNLP.load_model).
    required = (spacy.info(spacy_model_name) or {}).get("spacy_version") or ""
    if not spacy.util.is_compatible_version(spacy.about.__version__, required):
        return None
    return SpacyModel(model=language, model_name=spacy_model_name)


def load_model(spacy_model_name: Text) -> SpacyModel:
    """Rasa's ``SpacyNLP.load_model``, loading each unchanged model once per process."""
    fingerprint = _fingerprint(spacy_model_name)
    with _lock:
        known = _loaded.get(spacy_model_name)
        if known is not None and known[0] == fingerprint:
            logger.debug("spaCy model %r already loaded; shared.", spacy_model_name)
            return known[1]
        model = _load_with_default_tokenizer(spacy_model_name) or SpacyNLP.load_model(spacy_model_name)
        _loaded[spacy_model_name] = (fingerprint, model)
    return model


def clear() -> None:
    """Forget the loaded pipelines (tests)."""
    with _lock:
        _loaded.clear()


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.MODEL_LOADER, DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER],
    is_trainable=False,
    model_from="SharedSpacyNLP",
)
class SharedSpacyNLP(SpacyNLP):
    """Rasa's ``SpacyNLP``, sharing one loaded pipeline between its graph nodes."""

    @staticmethod
    def load_model(spacy_model_name: Text) -> SpacyModel:
        if not patches.switched_on():
            return SpacyNLP.load_model(spacy_model_name)
        return load_model(spacy_model_name)
