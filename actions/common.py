"""Helpers shared by the action modules: message metadata, intents, blocking calls."""

from __future__ import annotations

import asyncio
import functools
import re
from typing import Any, Callable, Dict, List, Optional, Text, Tuple, TypeVar

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet

from nlu_components.text_normalizer import NOT_PATTERN

T = TypeVar("T")

# Intents that always leave a form: the citizen cancels, asks for the menu, has an emergency or
# wants a human officer. Form validators never take these messages as answers.
HARD_EXITS = frozenset({"batal", "bantuan", "darurat", "minta_petugas"})
LETTER_REQUEST_INTENTS = frozenset({"minta_sktm", "izin_usaha", "surat_domisili"})
# Below this confidence an intent is not trusted to interrupt a form: the text is an answer.
INTERRUPT_CONFIDENCE = 0.85
# Words that cancel for certain. Without one of them a message classified as `batal` inside a
# form ("ga usah", "tidak perlu") is an answer to the question asked, not a cancellation.
_EXPLICIT_CANCEL = re.compile(
    rf"\b(batal\w*|cancel|stop|berhenti|keluar|udahan|({NOT_PATTERN})\s*(jadi|jd))\b"
)


def is_explicit_cancel(message_text: Text) -> bool:
    return message_text.strip() == "/batal" or bool(_EXPLICIT_CANCEL.search(message_text.lower()))


async def run_sync(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run blocking work (database, files) off the action server's event loop."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, functools.partial(fn, *args, **kwargs))


def metadata(tracker: Tracker) -> Dict[Text, Any]:
    """The channel metadata of the latest message (WhatsApp ids, media, location)."""
    value = (tracker.latest_message or {}).get("metadata")
    return value if isinstance(value, dict) else {}


def intent(tracker: Tracker) -> Tuple[Optional[Text], float]:
    data = (tracker.latest_message or {}).get("intent") or {}
    return data.get("name"), float(data.get("confidence") or 0.0)


def text(tracker: Tracker) -> Text:
    return ((tracker.latest_message or {}).get("text") or "").strip()


def is_payload(message_text: Text) -> bool:
    return message_text.startswith("/")


def is_external(tracker: Tracker) -> bool:
    """Whether the latest "message" came from Rasa's trigger_intent API, not from the citizen:
    Rasa writes ``EXTERNAL: <intent>`` as its text, which must never become an answer."""
    return text(tracker).startswith("EXTERNAL: ")


def entity(tracker: Tracker, name: Text) -> Optional[Text]:
    values = [
        v
        for v in tracker.get_latest_entity_values(name)
        if isinstance(v, (str, int, float)) and not isinstance(v, bool)
    ]
    return str(values[0]) if values else None


def profile_name(tracker: Tracker) -> Optional[Text]:
    """The citizen's WhatsApp profile name, from the latest message that carried one."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            name = (event.get("metadata") or {}).get("profile_name")
            if name:
                return str(name)
    return None


def media_id(tracker: Tracker) -> Optional[int]:
    """The stored media row of the latest message, if it carried an accepted photo/document."""
    media = metadata(tracker).get("media")
    value = media.get("media_db_id") if isinstance(media, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return None
    try:
        return int(value)
    except ValueError:
        return None


def location(tracker: Tracker) -> Optional[Dict[Text, Any]]:
    """A WhatsApp location pin in the latest message: latitude, longitude, name, address."""
    pin = metadata(tracker).get("location")
    if not isinstance(pin, dict):
        return None
    try:
        lat, lon = float(pin["latitude"]), float(pin["longitude"])
    except (KeyError, TypeError, ValueError, OverflowError):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return {"latitude": lat, "longitude": lon, "name": pin.get("name"), "address": pin.get("address")}


def describe_pin(pin: Dict[Text, Any]) -> Text:
    """How a pin reads in a summary: its name/address, else its coordinates."""
    parts = [p for p in (pin.get("name"), pin.get("address")) if p]
    label = ", ".join(parts) if parts else "Titik lokasi dari WhatsApp"
    return f"{label} ({pin['latitude']:.6f}, {pin['longitude']:.6f})"


def reset(slots: List[Text]) -> List[EventType]:
    """Events clearing ``slots``, so the next flow starts empty."""
    return [SlotSet(slot, None) for slot in slots]
