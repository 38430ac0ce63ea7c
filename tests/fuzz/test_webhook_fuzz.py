"""Hostile input against the webhook parser: thousands of generated bodies, never a crash.

Bodies are generated around Meta's real shapes (every message type, statuses, errors, BSUID
contacts) with any JSON value in any field, plus arbitrary bytes. The parser may refuse a body
(``MalformedBody`` → 4xx) but never raises anything else, and whatever reaches the assistant is a
text (or nothing) with JSON-serialisable metadata.
"""

from __future__ import annotations

import json
from typing import Any, Dict

import pytest
from hypothesis import given, strategies as st

from connectors.whatsapp_parse import MalformedBody, decode_body, parse_body
from connectors.whatsapp_rasa import translate

MESSAGE_TYPES = [
    "text",
    "image",
    "audio",
    "video",
    "document",
    "sticker",
    "location",
    "contacts",
    "interactive",
    "button",
    "reaction",
    "order",
    "system",
    "unsupported",
    "revoke",
    "ephemeral",
    "request_welcome",
]

json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.text(alphabet="0123456789", min_size=1, max_size=20),
)
json_value = st.recursive(
    json_leaf,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=6,
)


def maybe(strategy: st.SearchStrategy) -> st.SearchStrategy:
    """The field as Meta sends it, or any JSON value in its place."""
    return st.one_of(strategy, json_value)


bodies_of_types = {
    "text": st.fixed_dictionaries({"body": maybe(st.text(max_size=300))}),
    "image": st.fixed_dictionaries(
        {
            "id": maybe(st.text(max_size=20)),
            "mime_type": maybe(st.sampled_from(["image/jpeg", "image/png", "x/y"])),
            "caption": maybe(st.text(max_size=50)),
        }
    ),
    "location": st.fixed_dictionaries(
        {
            "latitude": maybe(st.floats(-90, 90)),
            "longitude": maybe(st.floats(-180, 180)),
            "name": maybe(st.text(max_size=20)),
            "address": maybe(st.text(max_size=30)),
        }
    ),
    "interactive": st.fixed_dictionaries(
        {
            "type": maybe(st.sampled_from(["button_reply", "list_reply", "nfm_reply"])),
            "button_reply": maybe(
                st.fixed_dictionaries(
                    {"id": maybe(st.text(max_size=30)), "title": maybe(st.text(max_size=20))}
                )
            ),
            "list_reply": maybe(
                st.fixed_dictionaries(
                    {"id": maybe(st.text(max_size=30)), "title": maybe(st.text(max_size=24))}
                )
            ),
        }
    ),
    "button": st.fixed_dictionaries(
        {"payload": maybe(st.text(max_size=30)), "text": maybe(st.text(max_size=20))}
    ),
    "reaction": st.fixed_dictionaries(
        {"message_id": maybe(st.text(max_size=20)), "emoji": maybe(st.text(max_size=2))}
    ),
    "contacts": st.lists(json_value, max_size=3),
    "system": st.fixed_dictionaries(
        {
            "type": maybe(st.sampled_from(["user_changed_number", "customer_identity_changed"])),
            "wa_id": maybe(st.text(alphabet="0123456789", max_size=15)),
        }
    ),
}


@st.composite
def message(draw: st.DrawFn) -> Dict[str, Any]:
    kind = draw(st.sampled_from(MESSAGE_TYPES) | st.text(max_size=10))
    item: Dict[str, Any] = {"type": kind}
    for key, strategy in (
        ("from", st.text(alphabet="0123456789", min_size=8, max_size=15)),
        ("from_user_id", st.text(min_size=1, max_size=30)),
        ("id", st.text(min_size=1, max_size=40)),
        ("timestamp", st.integers(0, 2**33).map(str)),
        ("context", st.dictionaries(st.sampled_from(["from", "id", "forwarded"]), json_value, max_size=3)),
    ):
        if draw(st.booleans()):
            item[key] = draw(maybe(strategy))
    if kind in bodies_of_types and draw(st.booleans()):
        item[kind] = draw(bodies_of_types[kind])
    elif draw(st.booleans()):
        item[kind] = draw(json_value)
    return item


status = st.fixed_dictionaries(
    {
        "id": maybe(st.text(max_size=30)),
        "status": maybe(st.sampled_from(["sent", "delivered", "read", "failed", "played"])),
        "recipient_id": maybe(st.text(max_size=15)),
        "timestamp": maybe(st.text(max_size=12)),
        "errors": maybe(
            st.lists(
                st.fixed_dictionaries({"code": maybe(st.integers()), "title": maybe(st.text(max_size=20))}),
                max_size=2,
            )
        ),
    }
)
contact = st.fixed_dictionaries(
    {
        "wa_id": maybe(st.text(max_size=15)),
        "user_id": maybe(st.text(max_size=25)),
        "profile": maybe(st.fixed_dictionaries({"name": maybe(st.text(max_size=30))})),
    }
)
value = st.fixed_dictionaries(
    {},
    optional={
        "messaging_product": maybe(st.just("whatsapp")),
        "metadata": maybe(st.fixed_dictionaries({"phone_number_id": maybe(st.text(max_size=15))})),
        "contacts": maybe(st.lists(contact, max_size=3)),
        "messages": maybe(st.lists(message(), max_size=5)),
        "statuses": maybe(st.lists(status, max_size=3)),
        "errors": maybe(st.lists(json_value, max_size=2)),
    },
)
body = st.fixed_dictionaries(
    {
        "object": maybe(st.just("whatsapp_business_account")),
        "entry": maybe(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "id": maybe(st.text(max_size=10)),
                        "changes": maybe(
                            st.lists(
                                st.fixed_dictionaries(
                                    {"field": maybe(st.just("messages")), "value": maybe(value)}
                                ),
                                max_size=3,
                            )
                        ),
                    }
                ),
                max_size=3,
            )
        ),
    }
)


def check(raw: bytes) -> None:
    try:
        data = decode_body(raw)
    except MalformedBody:
        return
    batch = parse_body(data)
    for item in batch.messages:
        translation = translate(item)
        assert translation.text is None or isinstance(translation.text, str)
        json.dumps(translation.metadata)


@given(body)
def test_generated_webhook_bodies_never_crash_the_parser(data: Dict[str, Any]) -> None:
    check(json.dumps(data).encode("utf-8"))


@given(st.binary(max_size=2000) | json_value.map(lambda v: json.dumps(v).encode()))
def test_arbitrary_bytes_are_refused_or_parsed_never_crash(raw: bytes) -> None:
    check(raw)


@pytest.mark.parametrize("code", [float("inf"), float("-inf"), float("nan"), "131026x", [131026], {}])
def test_a_status_error_code_that_is_no_integer_is_dropped_not_raised(code: Any) -> None:
    """Found by the generated bodies (2026-12-06): Python's json reads ``Infinity``, and
    ``int(inf)`` raises OverflowError, which the parser did not expect. The status and the
    error's title are kept; only the code is unknown."""
    raw = json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "1",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {
                                    "display_phone_number": "6281100000000",
                                    "phone_number_id": "1069",
                                },
                                "statuses": [
                                    {
                                        "id": "wamid.X",
                                        "status": "failed",
                                        "timestamp": "1767225600",
                                        "recipient_id": "6281234567890",
                                        "errors": [{"code": code, "title": "Message undeliverable"}],
                                    }
                                ],
                            },
                        }
                    ],
                }
            ],
        }
    ).encode("utf-8")
    [update] = parse_body(decode_body(raw)).statuses
    assert (update.status, update.errors[0].code, update.errors[0].title) == (
        "failed",
        None,
        "Message undeliverable",
    )
