"""Any JSON value in any field of any message: the whole class the fuzz test samples, enumerated.

For every message and status of the 43 sample bodies, every field (at any depth, and the fields a
type documents even where the sample leaves them out) is replaced in turn by each kind of JSON
value. Parsing and translation never raise, and what they hand on has the documented type: text
is a string or nothing, a pin's coordinates are finite numbers or nothing, a media id is a string
or nothing. A sample of the same mutations then goes through the real webhook and processor: 200,
nothing logged as an error but the Graph API refusing a media id that does not exist, and whatever reaches the assistant is text.

Found by CI's random fuzz test: ``"contacts": true`` in a contacts message raised TypeError.
"""

from __future__ import annotations

import copy
import json
import logging
import math
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest

from connectors.whatsapp_parse import decode_body, parse_body
from connectors.whatsapp_rasa import MediaRef, translate
from wa_support import FakeGraph, RunningChannel, make_settings, payload, payload_names, register_sample_media

Path_ = Tuple[Any, ...]

HOSTILE: List[Any] = [
    None,
    True,
    False,
    0,
    -1,
    2**70,
    1.5,
    1e308,
    float("inf"),
    float("nan"),
    "",
    " ",
    "x",
    "\ud800",
    [],
    [1],
    [None, {}],
    {},
    {"a": 1},
    {"id": {"id": []}},
    [[{"contacts": True}]],
]

# Fields each message type documents, so a sample that omits one still has it mutated.
DOCUMENTED: Dict[str, List[str]] = {
    "text": ["body"],
    "image": ["id", "mime_type", "sha256", "caption", "url"],
    "document": ["id", "mime_type", "sha256", "caption", "filename", "url"],
    "video": ["id", "mime_type", "sha256", "caption", "url"],
    "audio": ["id", "mime_type", "voice"],
    "location": ["latitude", "longitude", "name", "address", "url"],
    "interactive": ["type", "button_reply", "list_reply"],
    "button": ["payload", "text"],
    "reaction": ["message_id", "emoji"],
    "system": ["type", "wa_id", "new_wa_id", "body"],
    "unsupported": ["type"],
}


def _paths(value: Any, prefix: Path_ = ()) -> Iterator[Path_]:
    """Every path into ``value`` (dict keys and list indexes), parents before children."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield prefix + (key,)
            yield from _paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield prefix + (index,)
            yield from _paths(item, prefix + (index,))


def _set(root: Any, path: Path_, value: Any) -> None:
    target = root
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value


def _message_paths(message: Dict[str, Any]) -> List[Path_]:
    paths = list(_paths(message))
    kind = message.get("type")
    body = message.get(kind) if isinstance(message.get(kind), dict) else None
    for name in DOCUMENTED.get(kind, []):
        if body is not None and name not in body:
            paths.append((kind, name))
    for top in ("context", "referral", "identity", "contacts", "errors", kind):
        if top not in message:
            paths.append((top,))
    return paths


def _mutants() -> Iterator[Tuple[str, Dict[str, Any]]]:
    """(label, body) for every message/status/contact field of every sample × every hostile value."""
    for name in payload_names():
        body = payload(name)
        for e, entry in enumerate(body["entry"]):
            for c, change in enumerate(entry["changes"]):
                value = change["value"]
                places: List[Tuple[Path_, List[Path_]]] = []
                for m, message in enumerate(value.get("messages") or []):
                    places.append((("messages", m), _message_paths(message)))
                for s, status in enumerate(value.get("statuses") or []):
                    places.append((("statuses", s), list(_paths(status)) + [("errors",)]))
                places.append(
                    (
                        (),
                        [("contacts",), ("metadata",), ("errors",)]
                        + [("contacts",) + p for p in _paths(value.get("contacts") or [])],
                    )
                )
                for where, paths in places:
                    for path in paths:
                        for hostile in HOSTILE:
                            mutant = copy.deepcopy(body)
                            target = mutant["entry"][e]["changes"][c]["value"]
                            for step in where:
                                target = target[step]
                            _set(target, path, copy.deepcopy(hostile))
                            yield f"{name}:{where}{path}={hostile!r}", mutant


def _check_translation(label: str, raw: bytes) -> None:
    batch = parse_body(decode_body(raw))
    for message in batch.messages:
        assert isinstance(message.id, str) and isinstance(message.type, str), label
        translation = translate(message)
        text, meta = translation.text, translation.metadata
        assert text is None or (isinstance(text, str) and "\ud800" not in text), label
        json.dumps(meta)
        pin = meta.get("location")
        if pin is not None:
            for key in ("latitude", "longitude"):
                assert pin[key] is None or (isinstance(pin[key], float) and math.isfinite(pin[key])), label
            for key in ("name", "address", "url"):
                assert pin[key] is None or isinstance(pin[key], str), label
        for choice in (meta.get("interactive"), meta.get("button")):
            for key, item in (choice or {}).items():
                assert item is None or isinstance(item, str), (label, key)
        for contact in meta.get("contacts") or []:
            assert isinstance(contact["name"], str) and all(isinstance(p, str) for p in contact["phones"]), (
                label
            )
        if translation.media is not None:
            assert isinstance(translation.media, MediaRef)
            for key in ("media_id", "mime_type", "sha256", "filename", "caption", "url"):
                item = getattr(translation.media, key)
                assert item is None or isinstance(item, str), (label, key)
    for status in batch.statuses:
        assert isinstance(status.id, str) and isinstance(status.status, str), label
        for error in status.errors:
            assert error.code is None or isinstance(error.code, int), label


def test_every_field_of_every_sample_may_hold_any_json_value() -> None:
    count = 0
    for label, body in _mutants():
        _check_translation(label, json.dumps(body).encode("utf-8"))
        count += 1
    assert count > 10_000  # the enumeration really covers the corpus


def test_a_lone_surrogate_is_cleaned_once_where_the_body_is_parsed() -> None:
    """``\\ud800`` is valid JSON; left in, it crashed spaCy and the staff log's write."""
    body = payload("text")
    raw = json.dumps(body).replace("Does it come", "\\ud800 Does \\udfff it come \\ud83d\\ude00").encode()
    message = parse_body(decode_body(raw)).messages[0]
    text = translate(message).text
    assert text == "\ufffd Does \ufffd it come \U0001f600 in another color?"
    text.encode("utf-8")  # nothing left that UTF-8 cannot hold


# Through the webhook, the processor and its database: the hostile kinds that reach furthest.
PROCESSED = [True, {"a": 1}, [1], "\ud800", 2**70]


def _processed_mutants() -> List[Tuple[str, Dict[str, Any]]]:
    """Every message field of every sample once, with the hostile kinds of ``PROCESSED`` taken
    in turn (the parse-level test above gives every field every kind)."""
    chosen: List[Tuple[str, Dict[str, Any]]] = []
    kinds = [repr(v) for v in PROCESSED]
    paths: Dict[str, int] = {}
    for index, (label, body) in enumerate(_mutants()):
        value = body["entry"][0]["changes"][0]["value"]
        if not value.get("messages") or "=" not in label:
            continue
        path, hostile = label.rsplit("=", 1)
        turn = paths.setdefault(path, len(paths))
        if hostile == kinds[turn % len(kinds)]:
            for m, message in enumerate(value["messages"]):
                if not isinstance(message, dict):
                    continue
                if "('id',)" not in label:
                    message["id"] = f"wamid.hostile.{index}.{m}"
                media = message.get(message.get("type")) if isinstance(message.get("type"), str) else None
                if isinstance(media, dict) and str(media.get("url", "")).startswith("http"):
                    del media["url"]  # a sample's real lookaside address: tests never reach the internet
            chosen.append((label, body))
    return chosen


async def test_the_processor_takes_any_json_value_in_any_message_field(
    sqlite_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    mutants = _processed_mutants()
    assert len(mutants) > 100
    async with FakeGraph() as graph:
        register_sample_media(graph)
        async with RunningChannel(make_settings(graph.url, tmp_path, sqlite_url, replay_interval=5)) as rc:
            for label, body in mutants:
                response = await rc.post(json.dumps(body).encode("utf-8"))
                assert response.status in (200, 400), label
            await rc.join(timeout=120)
    assert all(isinstance(m.text, str) for m in rc.received)
    # A media id the Graph API does not know is refused by it and logged, as in production.
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert [e for e in errors if "failed: InvalidRequestError: HTTP 400, code 100" not in e] == []
