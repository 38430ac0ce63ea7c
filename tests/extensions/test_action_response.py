"""Custom action responses are checked exactly as Rasa checks them, with the schema compiled
once (rasa_extensions.action_response): the same responses pass, the same fail, with Rasa's
message."""
from __future__ import annotations

from typing import Any, Dict

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import ActiveLoop, BotUttered, SlotSet, UserUttered

import rasa_extensions  # noqa: F401 - importing the package installs the compiled check
from rasa_extensions import action_response

VALID = [
    {"events": [], "responses": []},
    {},
    {
        "events": [
            SlotSet("lokasi", "Gang Mawar RT 02").as_dict(),
            ActiveLoop("form_lapor_jalan_rusak").as_dict(),
            BotUttered("Silakan kirim foto", {"buttons": [{"title": "Lewati", "payload": "/lewati"}]}).as_dict(),
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
