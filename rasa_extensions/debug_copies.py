"""Rasa's debug-log copies are made only when debug lines are logged.

Rasa 3.6 hands deep copies of a turn's events, parse data and dialogue states to its structlog
debug lines, for example ``structlogger.debug("processor.actions.log",
rasa_events=copy.deepcopy(events))`` after every action, the RulePolicy's and
MemoizationPolicy's states on every prediction and a form's slot candidates on every form
turn. Python evaluates the arguments before structlog's filtering logger drops a debug line,
so the copies are made at every log level. (They exist
because Rasa's ``_anonymizer`` processor may rewrite the values it logs.)

This patch gives those modules a ``copy`` whose ``deepcopy`` copies as before when structlog
would log at debug level, and otherwise returns the object itself: a dropped line never reaches
a processor, so nothing reads or changes it. Every ``copy.deepcopy`` in the patched modules is
an argument of a ``structlogger.debug`` call; ``tests/extensions/test_debug_copies.py`` reads
their source to make sure, so a Rasa update that copies for another purpose fails the test
instead of losing a copy.
"""
from __future__ import annotations

import copy
import logging
import types
from typing import Any, FrozenSet, Optional, Tuple

import structlog
from rasa.core import processor
from rasa.core.actions import forms
from rasa.core.policies import memoization, rule_policy

# The modules whose ``copy.deepcopy`` calls all feed debug lines.
PATCHED_MODULES: Tuple[types.ModuleType, ...] = (processor, rule_policy, memoization, forms)

# structlog's filtering loggers that drop debug lines (one class per minimum level).
_QUIET_LOGGERS: FrozenSet[type] = frozenset(
    structlog.make_filtering_bound_logger(level) for level in (logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL)
)


def debug_lines_dropped() -> bool:
    """Whether structlog, as configured now, drops debug lines before any processor sees them."""
    return structlog.get_config()["wrapper_class"] in _QUIET_LOGGERS


def deepcopy_if_logged(value: Any, memo: Optional[dict] = None) -> Any:
    """``copy.deepcopy`` for a value that only a structlog debug line will read."""
    if debug_lines_dropped():
        return value
    return copy.deepcopy(value, memo)


def _copy_module() -> types.ModuleType:
    """The ``copy`` module with ``deepcopy`` replaced; everything else is the real module's."""
    module = types.ModuleType("copy", copy.__doc__)
    module.__dict__.update({name: getattr(copy, name) for name in dir(copy) if not name.startswith("__")})
    module.deepcopy = deepcopy_if_logged  # type: ignore[attr-defined]
    return module


def install() -> None:
    """Point the patched modules' ``copy`` at the logging-aware one (idempotent)."""
    replacement = _copy_module()
    for module in PATCHED_MODULES:
        if getattr(module.copy, "deepcopy", None) is not deepcopy_if_logged:
            module.copy = replacement  # type: ignore[attr-defined]
