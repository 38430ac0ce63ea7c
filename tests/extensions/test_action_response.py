"""Custom action responses are checked exactly as Rasa checks them, with the schema compiled
once (rasa_extensions.action_response): the same responses pass, the same fail, with Rasa's
message."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Tuple

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActiveLoop, BotUttered, Event, SlotSet, UserUttered

from rasa_extensions import action_response

VALID = [
    {"events": [], "responses": []},
    {},
    {
        "events": [
            SlotSet("lokasi", "Gang Mawar RT 02").as_dict(),
            ActiveLoop("form_lapor_jalan_rusak").as_dict(),
            BotUttered(
                "Silakan kirim foto", {"buttons": [{"title": "Lewati", "payload": "/lewati"}]}
            ).as_dict(),
            UserUttered("halo", {"name": "greet", "confidence": 0.9}).as_dict(),
        ],
        "responses": [{"text": "Terima kasih", "buttons": [{"title": "Menu", "payload": "/menu"}]}],
    },
]
INVALID = [
    {"events": [{"event": "slot"}]},  # a slot event without its name
    {"events": [{"event": "no_such_event"}]},
    {"events": {"event": "slot", "name": "x"}},  # not a list
    {"responses": ["just text"]},
    {"events": [{"event": "slot", "name": 5, "value": "x"}]},
]


def original_outcome(result: Dict[str, Any]) -> str:
    """What Rasa 3.6's own method decides (``jsonschema.validate`` on the response schema):
    'ok' or the error's message."""
    try:
        jsonschema.validate(result, RemoteAction.action_response_format_spec())
        return "ok"
    except jsonschema.ValidationError as error:
        return error.message


def test_the_package_installs_the_compiled_check() -> None:
    assert RemoteAction._validate_action_result is action_response._validate_action_result


@pytest.mark.parametrize("result", VALID)
def test_valid_responses_pass_as_before(result: Dict[str, Any]) -> None:
    assert original_outcome(result) == "ok"
    assert RemoteAction("action_test", None)._validate_action_result(result) is True


@pytest.mark.parametrize("result", INVALID)
def test_invalid_responses_fail_with_rasas_message(result: Dict[str, Any]) -> None:
    expected = original_outcome(result)
    assert expected != "ok"
    with pytest.raises(jsonschema.ValidationError) as caught:
        RemoteAction("action_test", None)._validate_action_result(result)
    assert caught.value.message.startswith(expected + ". Failed to validate Action server response")
    assert "Failed to validate Action server response" in caught.value.message


def mutations(event: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The event with each key removed, or set to values of other types, or renamed as
    another kind of event."""
    out: List[Dict[str, Any]] = []
    for key in event:
        out.append({k: v for k, v in event.items() if k != key})
        for wrong in (None, 7, 0.5, "x", [], {}, True):
            out.append({**event, key: wrong})
    for name in (
        "user",
        "bot",
        "slot",
        "action",
        "active_loop",
        "reminder",
        "followup",
        "rewind",
        "restart",
        "no_such_event",
    ):
        out.append({**event, "event": name})
    return out


def test_the_shortcut_never_accepts_what_the_schema_refuses(
    project: Tuple[Domain, List[List[Event]]],
) -> None:
    """Every kind of event in the project's stories and rules, and thousands of broken variants:
    the shortcut accepts the events the full schema accepts (so it is taken) and never one it
    refuses (those go through the full check, which words the error)."""
    _, stories = project
    full = action_response._validator()
    events = {json.dumps(e.as_dict(), sort_keys=True): e.as_dict() for story in stories for e in story}
    events.update({json.dumps(e, sort_keys=True): e for e in VALID[2]["events"]})
    kinds = {event["event"] for event in events.values()}
    assert {"user", "action", "slot", "active_loop", "bot"} <= kinds
    checked = 0
    for event in events.values():
        response = {"events": [event], "responses": []}
        assert full.is_valid(response)
        assert action_response.valid(response)
        for broken in mutations(event):
            response = {"events": [SlotSet("x", 1).as_dict(), broken]}
            if action_response.valid(response):
                assert full.is_valid(response), broken
            checked += 1
    assert checked > 1000
    for result in INVALID:
        assert not action_response.valid(result)
