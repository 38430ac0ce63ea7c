"""The tracker Rasa posts to the action server, encoded by orjson instead of ``json.dumps``.

For every custom action Rasa 3.6 posts the whole session (every event with its parse data and
WhatsApp metadata) to the action server, and aiohttp encodes it with the standard library's
``json.dumps``. Late in a long conversation that encoding alone was 13-15 % of the event loop
(py-spy, ``scripts/benchmark_load.py --profile-long``); orjson does the same in a fraction of
the time. The body is the same JSON document (compact, UTF-8 instead of ``\\uXXXX`` escapes);
what orjson cannot encode (a key that is not a string, an unknown type) goes through
``json.dumps`` as before.

``install()`` wraps ``rasa.utils.endpoints.EndpointConfig.request``: a ``json=`` body becomes
``data=`` bytes; everything else reaches Rasa's method unchanged.
"""
from __future__ import annotations

import functools
import json
from typing import Any, Callable, Optional

import orjson
from rasa.utils.endpoints import EndpointConfig

_ORJSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY
_original: Optional[Callable[..., Any]] = None


def encode(body: Any) -> bytes:
    """``body`` as JSON bytes (orjson; the standard library for what orjson refuses)."""
    try:
        return orjson.dumps(body, option=_ORJSON_OPTIONS)
    except TypeError:
        return json.dumps(body).encode("utf-8")


def install() -> None:
    """Encode ``EndpointConfig.request(json=...)`` bodies with orjson (idempotent)."""
    global _original
    if _original is not None:
        return
    _original = original_request = EndpointConfig.request

    @functools.wraps(original_request)
    async def request(self: EndpointConfig, *args: Any, **kwargs: Any) -> Any:
        content_type = kwargs.get("content_type", args[2] if len(args) > 2 else "application/json")
        if "json" in kwargs and "data" not in kwargs and content_type:
            kwargs["data"] = encode(kwargs.pop("json"))
        return await original_request(self, *args, **kwargs)

    EndpointConfig.request = request  # type: ignore[assignment]
