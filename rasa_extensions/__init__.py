"""Rasa plug-ins that are not channels: LayanWarga's tracker store and event broker.

Importing the package (Rasa does, to load the tracker store named in endpoints.yml) also
makes the tracker posted to the action server be encoded by orjson
(``rasa_extensions.action_request``), the action server's answers be checked with a schema
compiled once (``rasa_extensions.action_response``), the policies' dialogue states be
replayed only for new events (``rasa_extensions.dialogue_states``) and only the recent ones
be handed to the policies (``rasa_extensions.prediction_states``), trackers be copied
without replaying the conversation (``rasa_extensions.tracker_copy``) and the spaCy pipeline
be loaded once, not once per graph node (``rasa_extensions.spacy_model``), and TED not be
asked when a rule or memorised story is already certain (``rasa_extensions.certain_predictions``),
and the model's graph be run in a fixed order instead of through dask's scheduler
(``rasa_extensions.graph_runner``).

``LAYANWARGA_RASA_PATCHES=off`` leaves Rasa's own code as it is: for measuring Rasa
unchanged (``scripts/benchmark_load.py``'s stock baseline) and as a way back if a Rasa update
ever disagrees with a patch. The answers are the same either way (``tests/extensions``).
"""
from __future__ import annotations

import logging
import os

from rasa_extensions import (
    action_request,
    action_response,
    certain_predictions,
    dialogue_states,
    graph_runner,
    prediction_states,
    spacy_model,
    tracker_copy,
)

logger = logging.getLogger(__name__)

PATCHES_SETTING = "LAYANWARGA_RASA_PATCHES"
_OFF = {"off", "0", "false", "no"}
_ON = {"", "on", "1", "true", "yes"}


def patches_enabled() -> bool:
    """Whether ``LAYANWARGA_RASA_PATCHES`` asks for the patches (on unless it says off)."""
    value = os.environ.get(PATCHES_SETTING, "").strip().lower()
    if value in _OFF:
        return False
    if value not in _ON:
        logger.warning("%s=%r is neither 'on' nor 'off'; the patches stay on.", PATCHES_SETTING, value)
    return True


if patches_enabled():
    action_request.install()
    action_response.install()
    certain_predictions.install()
    dialogue_states.install()
    graph_runner.install()
    prediction_states.install()
    spacy_model.install()
    tracker_copy.install()
else:
    logger.info("%s=off: Rasa runs without LayanWarga's performance patches.", PATCHES_SETTING)
