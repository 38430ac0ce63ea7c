"""What Rasa posts to the action server: the recent part of the session, encoded by orjson.

For every custom action Rasa 3.6 posts the whole session (every event with its parse data and
WhatsApp metadata) to the action server. At turn 200 of one session that is 1,100 events and
650 KB: 1.3 ms of Rasa's event loop to serialise and encode, and 6 ms for the action server
to parse, two to three times a turn; that cost grew with every message (py-spy,
``scripts/benchmark_load.py --profile-long``). Two changes:

- ``action_call_format`` sends the events from the citizen's ``RECENT_MESSAGES``-th last
  message on; the rest of the tracker state (slots, latest message, active loop, latest
  action, paused, follow-up action, latest event time and input channel) is Rasa's own,
  computed from the whole session as before. The project's actions look back at most a few
  messages (``actions.general`` counts fallbacks in a row, at most three matter;
  ``actions.common.profile_name`` takes the latest message's name; rasa-sdk's forms read only
  the events after the latest action); the session start carries slots over from the slots,
  not from the events. A new action that must look further back reads the ticket database,
  which holds what the citizen submitted, not the chat. The action tests build their trackers
  with the same cut (``recent_events`` on event dicts, ``tests/action_server/conftest.py``), so
  an action that looks further back fails its test instead of misbehaving in production.
- the body is encoded by orjson instead of ``json.dumps`` (``install`` wraps
  ``EndpointConfig.request``: a ``json=`` body becomes ``data=`` bytes). The same JSON document
  (compact, UTF-8 instead of ``\\uXXXX`` escapes); what orjson cannot encode (a key that is
  not a string, an unknown type) goes through ``json.dumps`` as before.
"""

from __future__ import annotations

import functools
import itertools
import json
from typing import Any, Callable, Dict, List, Optional, Sequence, Text, TypeVar

import orjson
import rasa
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
from rasa.utils.endpoints import EndpointConfig

# The citizen's last messages whose events (with everything after them) reach the action server.
RECENT_MESSAGES = 10

_ORJSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY
_original_request: Optional[Callable[..., Any]] = None
_original_call_format: Optional[Callable[..., Dict[Text, Any]]] = None


def encode(body: Any) -> bytes:
    """``body`` as JSON bytes (orjson; the standard library for what orjson refuses)."""
    try:
        return orjson.dumps(body, option=_ORJSON_OPTIONS)
    except TypeError:
        return json.dumps(body).encode("utf-8")


# Rasa's events, or their dicts as the action server receives them.
AnyEvent = TypeVar("AnyEvent", Event, Dict[Text, Any])


def is_message(event: Any) -> bool:
    """A citizen's message: a ``UserUttered``, or its dict (``"event": "user"``)."""
    if isinstance(event, dict):
        return event.get("event") == UserUttered.type_name
    return isinstance(event, UserUttered)


def recent_events(events: Sequence[AnyEvent], messages: int = RECENT_MESSAGES) -> List[AnyEvent]:
    """The events from the ``messages``-th last citizen message on (all of them if fewer)."""
    seen = 0
    for back, event in enumerate(reversed(events), start=1):
        if is_message(event):
            seen += 1
            if seen == messages:
                return list(itertools.islice(events, len(events) - back, None))
    return list(events)


def action_call_format(self: RemoteAction, tracker: DialogueStateTracker, domain: Domain) -> Dict[Text, Any]:
    """Rasa's ``RemoteAction._action_call_format`` with only the recent events."""
    tracker_state = tracker.current_state(EventVerbosity.NONE)
    tracker_state["events"] = [event.as_dict() for event in recent_events(tracker.events)]
    result: Dict[Text, Any] = {
        "next_action": self._name,
        "sender_id": tracker.sender_id,
        "tracker": tracker_state,
        "version": rasa.__version__,
    }
    if not self._is_selective_domain_enabled() or domain.does_custom_action_explicitly_need_domain(
        self.name()
    ):
        result["domain"] = domain.as_dict()
    return result


def original_call_format(
    action: RemoteAction, tracker: DialogueStateTracker, domain: Domain
) -> Dict[Text, Any]:
    """Rasa's own request body, the whole session (the reference the tests compare with)."""
    call_format = _original_call_format or RemoteAction._action_call_format
    return call_format(action, tracker, domain)


def install() -> None:
    """Send recent events only, encoded by orjson (idempotent)."""
    global _original_request, _original_call_format
    if _original_request is not None:
        return
    _original_call_format = RemoteAction._action_call_format
    RemoteAction._action_call_format = action_call_format  # type: ignore[assignment]
    _original_request = original_request = EndpointConfig.request

    @functools.wraps(original_request)
    async def request(self: EndpointConfig, *args: Any, **kwargs: Any) -> Any:
        content_type = kwargs.get("content_type", args[2] if len(args) > 2 else "application/json")
        if "json" in kwargs and "data" not in kwargs and content_type:
            kwargs["data"] = encode(kwargs.pop("json"))
        return await original_request(self, *args, **kwargs)

    EndpointConfig.request = request  # type: ignore[assignment]
