"""Answers about any service of the published catalogue (``tanya_syarat``).

1. Find the service: the one named by the ``layanan`` entity (a list choice sends the service's
   code; NLU sends a letter code such as ``sktm``: the service describing that letter for the
   citizen's unit, or none, and the letter's configuration answers), else a search of the
   citizen's text over the published catalogue (``layanwarga.service_search``, read from the
   database on each question, so an office's edit is answered at once). In a city whose
   citizen's unit is known, only the services of that unit, the units above it and the city's
   OPD are considered: another kelurahan's service is not this citizen's.
2. One clear match: its requirements, fee, time, place and link in one message that fits
   WhatsApp's interactive body (details dropped in a fixed order until it fits), with the letter
   request's button when the assistant takes that letter over WhatsApp.
3. Several: a WhatsApp list (each row names its office) plus a row for an officer.
4. None: say so and offer an officer and the menu.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import AbstractSet, Any, Dict, List, Optional, Sequence, Text, Tuple

from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from layanwarga import db, service_search, services
from layanwarga.config import get_institution
from layanwarga.service_search import NONE, ONE, Match
from layanwarga.services import PublishedService
from whatsapp.messages import INTERACTIVE_BODY_LIMIT, ROW_DESCRIPTION_LIMIT, TEXT_LIMIT, clip, truncate, units

logger = logging.getLogger(__name__)

ANSWER_RESPONSE = "utter_layanan_info"
CHOICE_RESPONSE = "utter_layanan_pilih"
NOT_FOUND_RESPONSE = "utter_layanan_tidak_ditemukan"
OFFICER_BUTTON = {"title": "Tanya petugas", "payload": "/minta_petugas"}
MENU_BUTTON = {"title": "Lihat menu", "payload": "/bantuan"}
APPLY_TITLE = "Ajukan sekarang"
OFFICER_ROW = {
    "title": "Tidak ada di daftar",
    "payload": "/minta_petugas",
    "description": "Tanyakan kepada petugas",
}
# Optional details of an answer, in the order they are dropped when the answer is too long.
DROP_ORDER = ("legal_basis", "steps", "contact", "purpose", "hours")
FIELD_LIMIT = 400


@dataclass(frozen=True)
class Lookup:
    """What the catalogue says about a question: ``outcome`` ONE with ``service``, SEVERAL with
    ``matches``, NONE; ``empty`` when nothing is published at all; ``asked`` whether the text
    named anything the catalogue could hold."""

    outcome: str
    service: Optional[PublishedService] = None
    matches: Tuple[Match, ...] = ()
    empty: bool = False
    asked: bool = True


def lookup(
    code: Optional[Text], text: Text, *, record: bool = True, units: Optional[AbstractSet[str]] = None
) -> Lookup:
    """Blocking (database): the service named by ``code`` or found from ``text``, among those that
    serve a citizen of ``units`` (``layanwarga.services.unit_chain``; None: every service); with
    ``record``, counted for the offices' statistics (``record=False`` for a message that may not
    be a question about a service at all, until it is answered as one: ``record_answer``)."""
    index = service_search.published_index()
    if not index.services:
        return Lookup(NONE, empty=True)
    found = _find(index, code, text, units)
    if record:
        record_answer(found, text)
    return found


def letter_service(letter: Text, units: Optional[AbstractSet[str]] = None) -> Optional[PublishedService]:
    """Blocking (database): the published service describing letter type ``letter`` for a citizen
    of ``units``, or None (the letter's configuration then answers)."""
    return service_search.published_index().for_letter(letter, units)


def _find(
    index: service_search.ServiceIndex, code: Optional[Text], text: Text, units: Optional[AbstractSet[str]]
) -> Lookup:
    if code and code.lower() in get_institution().letters:
        described = index.for_letter(code.lower(), units)
        # A letter the catalogue does not describe for this citizen: its configuration answers.
        return Lookup(ONE, service=described) if described is not None else Lookup(NONE, asked=False)
    if code:
        service = index.get(code)
        if service is not None:
            return Lookup(ONE, service=service)
    if text.startswith("/"):
        return Lookup(NONE, asked=False)
    result = index.search(text, units=units)
    if result.outcome == ONE:
        return Lookup(ONE, service=result.matches[0].service)
    return Lookup(result.outcome, matches=result.candidates, asked=bool(index.terms(text)))


def record_answer(found: Lookup, text: Text) -> None:
    """Blocking (database): count the question for the statistics; a failure to count is logged
    and never costs the citizen the answer."""
    if found.empty or not found.asked:
        return
    try:
        with db.session_scope() as session:
            services.record_question(
                session, found.outcome, found.service.code if found.service else None, text
            )
    except SQLAlchemyError:
        logger.exception("could not count a catalogue question (outcome %s)", found.outcome)


def choice_payload(code: Text) -> Text:
    return "/tanya_syarat" + json.dumps({"layanan": code})


def _numbered(items: Sequence[str]) -> str:
    return "\n".join(f"{number}. {item}" for number, item in enumerate(items, 1))


def _details(service: PublishedService) -> Dict[str, str]:
    content = service.content
    return {
        "purpose": f"\n{clip(content.purpose, FIELD_LIMIT)}\n" if content.purpose else "",
        "hours": f"\n🕗 Jam layanan: {content.hours}" if content.hours else "",
        "contact": f"\n📞 Kontak: {content.contact}" if content.contact else "",
        "steps": f"\n\n*Langkah:*\n{clip(_numbered(content.steps), FIELD_LIMIT)}" if content.steps else "",
        "legal_basis": f"\n\nDasar hukum: {clip(content.legal_basis, FIELD_LIMIT)}"
        if content.legal_basis
        else "",
    }


def answer_fields(service: PublishedService, template: str) -> Dict[str, str]:
    """The response's fields, details dropped in ``DROP_ORDER`` until the whole answer fits one
    interactive message (it then carries its buttons); the essentials are never dropped."""
    content = service.content
    fields = {
        "name": content.name,
        "office": service.office,
        "requirements": clip(_numbered(content.requirements), TEXT_LIMIT // 2),
        "fee": content.fee_text,
        "processing": content.processing_time,
        "place": content.place,
        "online": f"\n🌐 Daring: {content.online_url}" if content.online_url else "",
        **_details(service),
    }
    for key in DROP_ORDER:
        if units(template.format(**fields)) <= INTERACTIVE_BODY_LIMIT:
            break
        fields[key] = ""
    return fields


def _template(domain: DomainDict, name: str) -> str:
    return str(domain["responses"][name][0]["text"])


def say_service(
    dispatcher: CollectingDispatcher,
    domain: DomainDict,
    service: PublishedService,
    request_intent: Optional[str],
) -> None:
    buttons: List[Dict[str, Any]] = []
    if request_intent:
        buttons.append({"title": APPLY_TITLE, "payload": f"/{request_intent}"})
    else:
        buttons.append(OFFICER_BUTTON)
    buttons.append(MENU_BUTTON)
    dispatcher.utter_message(
        response=ANSWER_RESPONSE,
        buttons=buttons,
        **answer_fields(service, _template(domain, ANSWER_RESPONSE)),
    )


def say_choices(dispatcher: CollectingDispatcher, matches: Sequence[Match]) -> None:
    """A WhatsApp list: every row has a description (its office and unit), which makes it a list
    even for two or three choices, and the last row leads to an officer."""
    rows = [
        {
            "title": match.service.content.name,
            "payload": choice_payload(match.service.code),
            "description": truncate(match.service.office_short, ROW_DESCRIPTION_LIMIT),
        }
        for match in matches[: service_search.MAX_CANDIDATES - 1]
    ]
    dispatcher.utter_message(response=CHOICE_RESPONSE, buttons=[*rows, OFFICER_ROW])


def say_not_found(dispatcher: CollectingDispatcher) -> None:
    dispatcher.utter_message(response=NOT_FOUND_RESPONSE, buttons=[OFFICER_BUTTON, MENU_BUTTON])
