"""One spaCy pipeline per process, however many graph nodes ask for it.

Rasa 3.6 builds two nodes from the pipeline's ``SpacyNLP`` entry (``provide_SpacyNLP0``, whose
pipeline the tokenizer and ``SpacyNLP.process`` use, and ``run_SpacyNLP0``) and each calls
``SpacyNLP.create``, which ``spacy.load``s the model again. The second copy is never used, yet
the blank Indonesian pipeline (16,000 tokenizer exceptions) costs 70-120 MB each time: that
was the biggest piece of the model's memory after TensorFlow (``scripts/benchmark_load.py``
reads Rasa's memory after start).

``install()`` wraps ``SpacyNLP.load_model`` so that the same model name gives the same loaded
pipeline while its files are unchanged: a model directory rewritten on disk (a new
``var/spacy-id``) is loaded again. The pipeline is only read after loading (tokenizing), so
sharing it changes no answer.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Callable, Dict, Optional, Text, Tuple

from rasa.nlu.utils.spacy_utils import SpacyModel, SpacyNLP

logger = logging.getLogger(__name__)

_original: Optional[Callable[[Text], SpacyModel]] = None
# model name -> (its files' fingerprint, the loaded pipeline)
_loaded: Dict[Text, Tuple[Tuple[int, ...], SpacyModel]] = {}
_lock = threading.Lock()


def _fingerprint(name: Text) -> Tuple[int, ...]:
    """When the model's files last changed (nothing for a package name, which pip replaces)."""
    path = Path(name)
    files = [path / "meta.json", path / "config.cfg"] if path.is_dir() else []
    return tuple(f.stat().st_mtime_ns for f in files if f.is_file())


def load_model(spacy_model_name: Text) -> SpacyModel:
    """Rasa's ``SpacyNLP.load_model``, loading each unchanged model once per process."""
    assert _original is not None
    fingerprint = _fingerprint(spacy_model_name)
    with _lock:
        known = _loaded.get(spacy_model_name)
        if known is not None and known[0] == fingerprint:
            logger.debug("spaCy model %r already loaded; shared.", spacy_model_name)
            return known[1]
        model = _original(spacy_model_name)
        _loaded[spacy_model_name] = (fingerprint, model)
    return model


def clear() -> None:
    """Forget the loaded pipelines (tests)."""
    with _lock:
        _loaded.clear()


def install() -> None:
    """Share loaded spaCy pipelines between ``SpacyNLP`` graph nodes (idempotent)."""
    global _original
    if _original is None:
        _original = SpacyNLP.load_model
        SpacyNLP.load_model = staticmethod(load_model)  # type: ignore[assignment]
