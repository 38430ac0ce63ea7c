"""Check custom action responses against Rasa's schema compiled once, not on every call.

Rasa 3.6 validates each action server response with ``jsonschema.validate(result, spec)``
(``RemoteAction._validate_action_result``). That call checks the ~4 KB response schema against
the JSON Schema 2020-12 meta-schema and builds a new validator every time: about 21 ms of the
event loop per custom action call on this project's machine, the largest single cost of a turn
in the load benchmark's profile (BENCHMARKS.md, Load). The schema never changes, so
``install`` replaces the method with one that reuses a validator built once, of the same draft
``jsonschema.validate`` picks, reporting the same best-matching error with Rasa's own message:
the same responses pass and fail as before, in about 0.7 ms.
"""
from __future__ import annotations

import functools
from typing import Any, Dict, Text

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


def _validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
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
