"""``tanya_syarat``: requirements and process of any service, from the published catalogue
(``actions/service_answers.py``), and of each letter type from configuration when the catalogue
does not describe it (a deployment that has not imported one). A letter's requirements asked
anywhere (on their own, inside a letter form, once the citizen has named their kelurahan) come
from the same place: the catalogue's service for that letter and the citizen's unit, else the
configuration (``say_letter``). A letter request that names a service the catalogue describes
instead (``mau_urus_surat`` "surat keterangan ahli waris", a business letter read in "izin
lingkungan usaha") is answered from the catalogue too."""

from __future__ import annotations

import logging
from typing import AbstractSet, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from layanwarga.config import get_institution
from layanwarga.service_search import NONE, ONE, service_instead_of_letter
from layanwarga.services import unit_chain
from layanwarga.unit_views import letter_for

from . import common, general, service_answers, units

logger = logging.getLogger(__name__)

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


async def citizen_units(tracker: Tracker, unit_code: Optional[Text] = None) -> Optional[AbstractSet[str]]:
    """The units whose services serve this citizen: ``unit_code``'s (the unit a form is about), else
    the remembered unit's, and those above it; None in a single-unit deployment or while the
    citizen's unit is unknown (every service then serves them)."""
    inst = get_institution()
    if not units.is_city(inst):
        return None
    return unit_chain(inst.units, unit_code or await units.remembered(tracker))


async def say_letter(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    domain: DomainDict,
    code: Text,
    unit_code: Optional[Text] = None,
) -> None:
    """The requirements of letter type ``code`` for the citizen of ``unit_code`` (a city's
    kelurahan; None: the institution's): the published catalogue's service for that letter, so
    WhatsApp and the public page say the same, else the configuration (a deployment without that
    catalogue entry, or the catalogue unavailable)."""
    chain = unit_chain(get_institution().units, unit_code)
    try:
        service = await common.run_sync(service_answers.letter_service, code, chain)
    except SQLAlchemyError:
        logger.exception("service catalogue unavailable for letter %s; answering from configuration", code)
        service = None
    if service is None:
        say_requirements(dispatcher, code, unit_code=unit_code)
        return
    await common.run_sync(
        service_answers.record_answer, service_answers.Lookup(ONE, service=service), common.text(tracker)
    )
    service_answers.say_service(dispatcher, domain, service, REQUEST_INTENT_BY_LETTER.get(code))


async def answer_from_catalogue(
    dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict, *, several: bool
) -> bool:
    """For a message another intent could not place (NLU fallback, a free-text ``inform`` outside a
    form, a letter request without one of the letters this assistant takes): answer it from the
    catalogue when it clearly names a service (or, with ``several``, a few to choose from). False
    when it names none: the caller answers as before."""
    text = common.text(tracker)
    if not text or common.is_payload(text):
        return False
    try:
        chain = await citizen_units(tracker)
        found = await common.run_sync(service_answers.lookup, None, text, record=False, units=chain)
    except SQLAlchemyError:
        logger.exception(
            "service catalogue unavailable for %r; answering as before", common.intent(tracker)[0]
        )
        return False
    if found.outcome == ONE or (several and found.matches):
        await common.run_sync(service_answers.record_answer, found, text)
    if found.outcome == ONE and found.service is not None:
        request_intent = REQUEST_INTENT_BY_LETTER.get(found.service.letter_code or "")
        service_answers.say_service(dispatcher, domain, found.service, request_intent)
        return True
    if several and found.outcome != NONE and found.matches:
        service_answers.say_choices(dispatcher, found.matches)
        return True
    return False


async def answer_instead_of_letter(
    dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict, letter_code: Text
) -> bool:
    """For a message read as a request for the letter ``letter_code``: when it does not name the
    letter and the catalogue clearly places it on another service ("izin lingkungan usaha", "cara
    bikin nib"), answer that service and return True; the caller then starts no request. A
    button, a resubmission (a request number) or a catalogue that cannot be read: False."""
    text = common.text(tracker)
    if (
        not text
        or common.is_payload(text)
        or common.is_external(tracker)
        or common.entity(tracker, "nomor_tiket")
    ):
        return False
    try:
        chain = await citizen_units(tracker)
        found = await common.run_sync(service_answers.lookup, None, text, record=False, units=chain)
    except SQLAlchemyError:
        logger.exception("service catalogue unavailable for a %s request; starting it", letter_code)
        return False
    service = service_instead_of_letter(
        found.outcome, found.service, letter_code, common.entity(tracker, "layanan")
    )
    if service is None:
        return False
    await common.run_sync(service_answers.record_answer, found, text)
    request_intent = REQUEST_INTENT_BY_LETTER.get(service.letter_code or "")
    service_answers.say_service(dispatcher, domain, service, request_intent)
    return True


class ActionTellRequirements(Action):
    """The service the citizen asks about, from the catalogue (in a city, among the services of
    the citizen's unit and the city's): its answer, a list to choose from, or "not found" with an
    officer; a letter the catalogue does not describe for the citizen from configuration (in a
    city, as the citizen's kelurahan issues it, asking which one first when it is not known);
    the letters' own list when nothing was named."""

    def name(self) -> Text:
        return "action_tell_requirements"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        named = common.entity(tracker, "layanan")
        try:
            chain = await citizen_units(tracker)
            found = await common.run_sync(service_answers.lookup, named, common.text(tracker), units=chain)
        except SQLAlchemyError:
            # The configured letters can still be answered; other services need the database.
            logger.exception("service catalogue unavailable for %r; answering from configuration", named)
            found = service_answers.Lookup(NONE, empty=True)
        if found.outcome == ONE and found.service is not None:
            request_intent = REQUEST_INTENT_BY_LETTER.get(found.service.letter_code or "")
            service_answers.say_service(dispatcher, domain, found.service, request_intent)
            return []
        code = letter_code(named)
        if code:
            # In a city: the citizen's kelurahan's requirements, or the list asks which one.
            return await general.for_citizen_unit(
                dispatcher,
                tracker,
                f"{units.REQUIREMENTS_QUESTION}{code}",
                lambda unit_code: say_requirements(dispatcher, code, unit_code=unit_code),
            )
        if found.matches:
            service_answers.say_choices(dispatcher, found.matches)
        elif found.empty or not found.asked:
            self._offer_letters(dispatcher)
        else:
            service_answers.say_not_found(dispatcher)
        return []

    @staticmethod
    def _offer_letters(dispatcher: CollectingDispatcher) -> None:
        inst = get_institution()
        dispatcher.utter_message(
            response="utter_pilih_syarat",
            buttons=[
                {"title": letter.short_name, "payload": f'/tanya_syarat{{"layanan": "{letter.code}"}}'}
                for letter in inst.letters.values()
            ],
        )


class ActionOfferLetters(Action):
    """``mau_urus_surat``: a letter the catalogue clearly names ("mau urus surat keterangan ahli
    waris", a letter this assistant does not take) is answered from the catalogue; a request that
    names none ("mau urus surat", the menu's button) gets the letters this assistant takes."""

    def name(self) -> Text:
        return "action_offer_letters"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        if not await answer_from_catalogue(dispatcher, tracker, domain, several=False):
            dispatcher.utter_message(response="utter_pilih_surat")
        return []
