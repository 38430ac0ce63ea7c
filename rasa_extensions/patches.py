"""LayanWarga's performance patches to Rasa, switched on by what starts Rasa, never by an import.

Each patch replaces one of Rasa 3.6's methods with one that gives the same answer for less CPU
or memory (BENCHMARKS.md, Load, lists what each saves; ``tests/extensions`` compares each with
Rasa's own code):

- ``action_request``: the action server gets the session's recent events, encoded by orjson;
- ``action_response``: its answers are checked with a schema compiled once;
- ``dialogue_states``: the policies' dialogue states are replayed only for new events;
- ``tracker_copy``: trackers are copied without replaying the conversation;
- ``graph_runner``: the model's graph runs in a fixed order instead of through dask's scheduler.

Three more shortcuts are Rasa's documented extension points instead, named in config.yml, and
follow the same switch (each behaves as its Rasa parent while the patches are not switched on):
the policies of ``rasa_extensions.policies`` get only their recent states
(``prediction_states``) and spare TED where a rule or memorised story is certain
(``certain_predictions``), and ``rasa_extensions.spacy_model.SharedSpacyNLP`` loads the spaCy
pipeline once, not once per graph node. Rasa's own patched methods could not be reached from
a subclass in the other five: they belong to the domain, the tracker, the action and the graph
runner, which config.yml does not name.

``switch_on()`` installs the patches, once, before Rasa loads a model: ``python -m rasa_extensions``
(Rasa's command line with the patches) calls it, and everything that starts ``rasa run`` or
``rasa test`` for the project goes through that entry (``scripts/run.sh``, ``scripts/test.sh``,
``deploy/Dockerfile.rasa``, ``simulator.stack``). Plain ``rasa run`` runs Rasa unpatched: the
same answers, more CPU and memory per message.

It patches nothing when

- ``LAYANWARGA_RASA_PATCHES=off`` (Rasa unchanged: the load benchmark's stock baseline, and a
  way back if a patch ever disagrees with Rasa), or
- the installed Rasa is not one the patches were tested with (``TESTED_RASA_VERSIONS``): they
  replace private methods whose behaviour a Rasa release may change, so an untested Rasa runs
  unpatched, with one log line saying so. To allow a new version, run ``tests/extensions`` and
  the test stories on it and add it here.

``action_failures`` is not one of these: it changes what a failed custom action does to a
WhatsApp turn, and the WhatsApp connector installs it itself (``connectors.whatsapp``).
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from typing import FrozenSet, Tuple

import rasa

logger = logging.getLogger(__name__)

PATCHES_SETTING = "LAYANWARGA_RASA_PATCHES"
_OFF = {"off", "0", "false", "no"}
_ON = {"", "on", "1", "true", "yes"}

# The Rasa releases tests/extensions and the test stories passed on with the patches.
TESTED_RASA_VERSIONS: FrozenSet[str] = frozenset({"3.6.21"})

# Modules of this package whose ``install()`` is a patch, in the order they are installed.
PATCHES: Tuple[str, ...] = (
    "action_request",
    "action_response",
    "dialogue_states",
    "graph_runner",
    "tracker_copy",
)

_lock = threading.Lock()
_switched_on = False


def patches_enabled() -> bool:
    """Whether ``LAYANWARGA_RASA_PATCHES`` asks for the patches (on unless it says off)."""
    value = os.environ.get(PATCHES_SETTING, "").strip().lower()
    if value in _OFF:
        return False
    if value not in _ON:
        logger.warning("%s=%r is neither 'on' nor 'off'; the patches stay on.", PATCHES_SETTING, value)
    return True


def switched_on() -> bool:
    """Whether this process runs Rasa with the patches (the config.yml components ask)."""
    return _switched_on


def switch_on() -> bool:
    """Install every patch unless the setting or the Rasa version says no; True when installed.

    Call it before Rasa loads a model: the model's graph keeps the policies' methods it was
    built with. Calling it again changes nothing.
    """
    global _switched_on
    with _lock:
        if _switched_on:
            return True
        if not patches_enabled():
            logger.info("%s=off: Rasa runs without LayanWarga's performance patches.", PATCHES_SETTING)
            return False
        if rasa.__version__ not in TESTED_RASA_VERSIONS:
            logger.warning(
                "LayanWarga's performance patches were tested with Rasa %s, not the installed %s: "
                "Rasa runs without them (same answers, more CPU and memory per message; "
                "rasa_extensions/patches.py says how to allow a new version).",
                ", ".join(sorted(TESTED_RASA_VERSIONS)),
                rasa.__version__,
            )
            return False
        # Imported only now: the patch modules import private names of Rasa that an untested
        # release may not have.
        for name in PATCHES:
            importlib.import_module(f"{__package__}.{name}").install()
        _switched_on = True
        logger.info("LayanWarga's performance patches are on (Rasa %s).", rasa.__version__)
        return True
