"""``tanya_syarat``: requirements and process of each letter type, from configuration."""
from __future__ import annotations

from typing import Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from layanwarga.config import get_institution
from layanwarga.unit_views import letter_for

from . import common, general, units

# The intent a citizen uses to request each letter type (the intent contract in DESIGN.md).
REQUEST_INTENT_BY_LETTER: Dict[Text, Text] = {
    "sktm": "minta_sktm",
    "sku": "izin_usaha",
    "domisili": "surat_domisili",
}
LETTER_BY_REQUEST_INTENT = {intent: code for code, intent in REQUEST_INTENT_BY_LETTER.items()}


def letter_code(value: Optional[Text]) -> Optional[Text]:
    """A configured letter code from an entity value or a letter number prefix."""
    if not value:
        return None
    inst = get_institution()
    value = value.strip().lower()
    if value in inst.letters:
        return value
    letter = inst.letter_by_prefix(value)
    return letter.code if letter else None


def say_requirements(dispatcher: CollectingDispatcher, code: Text, unit_code: Optional[Text] = None) -> None:
    """The letter type as the citizen's unit issues it (``unit_code`` in a city)."""
    letter = letter_for(get_institution(), code, unit_code) or get_institution().letters[code]
    processing = (
        "selesai di hari yang sama" if letter.processing_days == 0 else f"{letter.processing_days} hari kerja"
    )
    dispatcher.utter_message(
        response="utter_syarat_surat",
        letter_name=letter.name,
        requirements="\n".join(f"{i}. {item}" for i, item in enumerate(letter.requirements, 1)),
        purposes=", ".join(letter.purposes),
        processing=processing,
        fee=letter.fee,
        pickup=letter.pickup,
        request_intent=REQUEST_INTENT_BY_LETTER.get(code, "mau_urus_surat"),
    )


class ActionTellRequirements(Action):
    """Requirements of the letter the citizen names, or a list to choose from."""

    def name(self) -> Text:
        return "action_tell_requirements"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        code = letter_code(common.entity(tracker, "layanan"))
        inst = get_institution()
        if code:
            # In a city: the citizen's kelurahan's requirements, or the list asks which one.
            return await general.for_citizen_unit(
                dispatcher, tracker, f"{units.REQUIREMENTS_QUESTION}{code}",
                lambda unit_code: say_requirements(dispatcher, code, unit_code=unit_code),
            )
        dispatcher.utter_message(
            response="utter_pilih_syarat",
            buttons=[
                {"title": letter.short_name, "payload": f'/tanya_syarat{{"layanan": "{letter.code}"}}'}
                for letter in inst.letters.values()
            ],
        )
        return []
