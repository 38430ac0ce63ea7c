"""Check custom action responses against Rasa's schema compiled once, not on every call.

Rasa 3.6 validates each action server response with ``jsonschema.validate(result, spec)``
(``RemoteAction._validate_action_result``). That call checks the ~4 KB response schema against
the JSON Schema 2020-12 meta-schema and builds a new validator every time: about 21 ms of the
event loop per custom action call on this project's machine, the largest single cost of a turn
in the load benchmark's profile (BENCHMARKS.md, Load). The schema never changes, so
``install`` replaces the method with one that reuses a validator built once, of the same draft
``jsonschema.validate`` picks, reporting the same best-matching error with Rasa's own message:
the same responses pass and fail as before, in about 0.7 ms.

Most of what remained was the events: the schema allows each event through ``oneOf`` some
two dozen event schemas, and ``oneOf`` must try every one of them to be sure exactly one
matches. Each of those schemas requires its own ``event`` name (``const``), and the names differ,
so an event can only match the one schema named like it. ``valid`` checks a response that way:
the response without its events' ``oneOf``, then each event against the shared part and the
one schema of its name. A response it accepts is one jsonschema accepts; anything else goes
through the full check, which decides and words the error as Rasa does. If a Rasa update ever
changed the schema's shape, the shortcut turns itself off (``_event_checks`` returns None).
A response with three events: 1.7 ms with the full check, 0.17 ms with the shortcut.
"""

from __future__ import annotations

import copy
import functools
from typing import Any, Dict, Optional, Text, Tuple

from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL


@functools.lru_cache(maxsize=1)
def _validator() -> Any:
    spec = RemoteAction.action_response_format_spec()
    cls = validator_for(spec)
    cls.check_schema(spec)
    return cls(spec)


EventChecks = Tuple[Any, Any, Dict[str, Any]]


@functools.lru_cache(maxsize=1)
def _event_checks() -> Optional[EventChecks]:
    """Validators for (the response without its events' ``oneOf``, an event's shared part, each
    event schema by its ``event`` name), or None if the schema is not shaped as described."""
    spec = RemoteAction.action_response_format_spec()
    cls = validator_for(spec)
    try:
        events = spec["properties"]["events"]
        item = events["items"]
        branches = item["oneOf"]
        names = [branch["properties"]["event"]["const"] for branch in branches]
    except (KeyError, TypeError):
        return None
    if (
        "event" not in item.get("required", [])
        or len(set(names)) != len(names)
        or not all(isinstance(n, str) for n in names)
    ):
        return None
    outer = copy.deepcopy(spec)
    outer["properties"]["events"] = {key: value for key, value in events.items() if key != "items"}
    shared = {key: value for key, value in item.items() if key != "oneOf"}
    return cls(outer), cls(shared), {name: cls(branch) for name, branch in zip(names, branches)}


def valid(result: Any) -> bool:
    """True only for responses the full schema accepts (see the module docstring); False means
    "ask the full check", not necessarily invalid."""
    checks = _event_checks()
    if checks is None:
        return False
    outer, shared, by_name = checks
    if not outer.is_valid(result):  # also: the response is an object
        return False
    for event in result.get("events") or []:
        if not shared.is_valid(event):
            return False
        branch = by_name.get(event["event"])
        if branch is None or not branch.is_valid(event):
            return False
    return True


def _validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
    if valid(result):
        return True
    error = best_match(_validator().iter_errors(result))
    if error is not None:
        error.message += (
            f". Failed to validate Action server response from API, "
            f"make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise error
    return True


def install() -> None:
    """Make every ``RemoteAction`` in this process use the compiled validator (idempotent)."""
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]


__all__ = ["install"]
