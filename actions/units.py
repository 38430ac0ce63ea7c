"""The citizen's unit in a city's tree: asked once, remembered, changeable.

A city deployment (``instansi.yml`` with ``units``) needs to know the applicant's kelurahan for
a letter request and the citizen's for an aspiration, and answers office hours and location for
the citizen's own kelurahan. The unit is known from the address on the request, the unit
remembered for the citizen, or by asking once: a WhatsApp list of kecamatan, then of its
kelurahan; typing a name searches (``layanwarga.unit_address``, misspellings matched); a name
that is not recognised is asked again with the closest names as choices. Every choice is a
payload ``/pilih_unit{"kode_unit": ...}``, so a tap never goes through the NLU.

A single-unit deployment never asks any of this.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from layanwarga import citizen_units, unit_routing
from layanwarga.config import Institution, get_institution
from layanwarga.unit_address import match_address
from layanwarga.units import KECAMATAN_LEVEL, VILLAGE_LEVEL, Unit, UnitTree

from . import common

logger = logging.getLogger(__name__)

SLOT_KELURAHAN = "wilayah_kelurahan"  # the code of the kelurahan the answer named
SLOT_KECAMATAN = "wilayah_kecamatan"  # the kecamatan picked from the list, while asking
SLOT_SUGGESTIONS = "wilayah_saran"  # {"teks": what was typed, "kode": [codes]} after a miss
SLOT_QUESTION = (
    "wilayah_pertanyaan"  # the question waiting for the unit (jam_layanan, lokasi_kantor, syarat:<letter>)
)
REQUIREMENTS_QUESTION = "syarat:"
CHOOSE_INTENT = "pilih_unit"
CODE_ENTITY = "kode_unit"
# The connector turns a list row's id into the message text; WhatsApp allows 200 characters.
_NAME_LIMIT = 24


def is_city(inst: Institution) -> bool:
    return not inst.units.single


def choice(unit: Unit, title: Optional[Text] = None) -> Dict[Text, Text]:
    """A list row choosing ``unit``."""
    return {"title": title or unit.name, "payload": f'/{CHOOSE_INTENT}{{"{CODE_ENTITY}": "{unit.code}"}}'}


def first_choices(tree: UnitTree) -> Tuple[Unit, ...]:
    """What the first list offers: the kecamatan, or the kelurahan/desa when the tree has no
    kecamatan level (a kecamatan's own deployment)."""
    kecamatan = tree.at_level(KECAMATAN_LEVEL)
    if kecamatan and tree.root.level < KECAMATAN_LEVEL:
        return kecamatan
    return tree.at_level(VILLAGE_LEVEL)


def ask_unit(
    dispatcher: CollectingDispatcher,
    tree: UnitTree,
    *,
    kecamatan: Optional[Text] = None,
    missed: Optional[Dict[Text, Any]] = None,
    whose: Text = "Bapak/Ibu",
    typing: bool = True,
) -> None:
    """Ask which kelurahan: suggestions after a miss, the kelurahan of a picked kecamatan, or
    the kecamatan. Always with a way on: another list, or (``typing``: inside a form, which
    reads a typed name) typing the name."""
    typed_too = ", atau ketik nama kelurahannya" if typing else ""
    area = tree.get(kecamatan) if kecamatan else None
    if missed:
        suggested = [tree[code] for code in missed.get("kode") or [] if code in tree]
        typed = str(missed.get("teks") or "").strip()
        intro = (
            f"Mohon maaf, kelurahan *{typed}* belum kami kenali."
            if typed
            else "Mohon maaf, kelurahan itu belum kami kenali."
        )
        if suggested:
            dispatcher.utter_message(
                text=f"{intro} Maksud Bapak/Ibu salah satu ini? Atau ketik lagi nama kelurahannya.",
                buttons=[choice(unit, unit.name[:_NAME_LIMIT]) for unit in suggested]
                + [choice(tree.root, "Pilih dari daftar")],
            )
            return
        dispatcher.utter_message(text=f"{intro} Silakan pilih dari daftar berikut.")
    if area is not None and area.level == KECAMATAN_LEVEL:
        dispatcher.utter_message(
            text=f"Pilih kelurahan di {area.title}{typed_too}:",
            buttons=[choice(unit) for unit in tree.children(area.code)]
            + [choice(tree.root, "Kecamatan lain")],
        )
        return
    options = first_choices(tree)
    level = "kecamatan" if options and options[0].level == KECAMATAN_LEVEL else "kelurahan/desa"
    dispatcher.utter_message(
        text=f"Di kelurahan mana tempat tinggal {whose}? Silakan pilih {level}nya{typed_too}.",
        buttons=[choice(unit) for unit in options],
    )


def read_answer(tree: UnitTree, tracker: Tracker) -> Dict[Text, Any]:
    """The slots an answer to "which kelurahan?" fills: the kelurahan when named; the kecamatan
    (the next list) when a kecamatan was named; suggestions when nothing was recognised."""
    code = common.entity(tracker, CODE_ENTITY)
    if code is not None:
        unit = tree.get(code)
        if unit is None:
            logger.warning("Unit choice %r is not in the tree", code)
            return {SLOT_KELURAHAN: None, SLOT_KECAMATAN: None, SLOT_SUGGESTIONS: None}
        return _slots_for(unit)
    typed = common.text(tracker)
    if common.is_payload(typed) or not typed:
        return {SLOT_KELURAHAN: None, SLOT_SUGGESTIONS: None}
    found = match_address(tree, typed, asked=True)
    if found.unit is not None:
        return _slots_for(found.unit)
    return {
        SLOT_KELURAHAN: None,
        SLOT_SUGGESTIONS: {"teks": typed[:60], "kode": [unit.code for unit in found.suggestions]},
    }


def _slots_for(unit: Unit) -> Dict[Text, Any]:
    if unit.level >= VILLAGE_LEVEL:
        return {SLOT_KELURAHAN: unit.code, SLOT_KECAMATAN: None, SLOT_SUGGESTIONS: None}
    # A kecamatan: its kelurahan next; the city ("another kecamatan"): the first list again.
    return {
        SLOT_KELURAHAN: None,
        SLOT_KECAMATAN: unit.code if unit.level == KECAMATAN_LEVEL else None,
        SLOT_SUGGESTIONS: None,
    }


def describe(tree: UnitTree, code: Optional[Text]) -> Optional[Text]:
    """ "Kelurahan Menteng, Kecamatan Jekan Raya" for a summary; None when unknown."""
    unit = unit_routing.known_unit(tree, code)
    if unit is None:
        return None
    kecamatan = tree.kecamatan_of(unit.code)
    if kecamatan is None or kecamatan.code == unit.code:
        return unit.title
    return f"{unit.title}, {kecamatan.title}"


async def remembered(tracker: Tracker) -> Optional[Text]:
    """The unit remembered for the sender, when it is still in the tree."""
    code = await common.run_sync(citizen_units.remembered_unit, tracker.sender_id)
    unit = unit_routing.known_unit(get_institution().units, code)
    return unit.code if unit is not None else None


class UnitQuestion:
    """Asking "which kelurahan?" inside a form (letters, aspirations, the change of unit):
    mixed into a ``FlowFormValidation``."""

    async def extract_wilayah_kelurahan(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if tracker.get_slot("requested_slot") != SLOT_KELURAHAN or common.media_id(tracker) is not None:
            return {}
        return read_answer(get_institution().units, tracker)

    def validate_wilayah_kelurahan(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        unit = unit_routing.known_unit(get_institution().units, value) if value else None
        return {SLOT_KELURAHAN: unit.code if unit is not None and unit.level >= VILLAGE_LEVEL else None}


class ActionAskWilayahKelurahan(Action):
    """The form question "which kelurahan?" (a list, or suggestions after a miss)."""

    def name(self) -> Text:
        return "action_ask_wilayah_kelurahan"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        whose = "pemohon" if tracker.get_slot("surat_untuk") == "keluarga" else "Bapak/Ibu"
        ask_unit(
            dispatcher,
            get_institution().units,
            kecamatan=tracker.get_slot(SLOT_KECAMATAN),
            missed=tracker.get_slot(SLOT_SUGGESTIONS),
            whose=whose,
        )
        return [SlotSet(SLOT_SUGGESTIONS, None)]


def say_saved(dispatcher: CollectingDispatcher, tree: UnitTree, code: Text) -> None:
    dispatcher.utter_message(response="utter_wilayah_tersimpan", unit=describe(tree, code) or code)


async def answer_pending(
    dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict, code: Text
) -> None:
    """The question that waited for the unit, answered for it."""
    from . import general, requirements  # they answer for a unit, and ask with this module

    question = str(tracker.get_slot(SLOT_QUESTION) or "")
    if question == "jam_layanan":
        general.say_office_hours(dispatcher, unit_code=code)
    elif question == "lokasi_kantor":
        general.say_office_location(dispatcher, unit_code=code)
    elif question.startswith(REQUIREMENTS_QUESTION):
        letter = requirements.letter_code(question.removeprefix(REQUIREMENTS_QUESTION))
        if letter is not None:
            await requirements.say_letter(dispatcher, tracker, domain, letter, unit_code=code)


class ActionChangeUnit(Action):
    """ "saya sudah pindah ke kelurahan X": the kelurahan named in the message fills the
    question of ``wilayah_form`` (which then only confirms); otherwise the form asks."""

    def name(self) -> Text:
        return "action_change_unit"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        inst = get_institution()
        events: List[EventType] = common.reset([SLOT_KELURAHAN, SLOT_KECAMATAN, SLOT_SUGGESTIONS])
        if not is_city(inst):
            # One office: nothing to choose; the form completes at once and says so.
            return events + [SlotSet(SLOT_KELURAHAN, inst.units.root.code or "-")]
        found = match_address(inst.units, common.text(tracker)).unit
        if found is not None and found.level >= VILLAGE_LEVEL:
            events.append(SlotSet(SLOT_KELURAHAN, found.code))
        elif found is not None and found.level == KECAMATAN_LEVEL:
            events.append(SlotSet(SLOT_KECAMATAN, found.code))
        return events


class ActionSaveUnit(Action):
    """After ``wilayah_form``: remember the unit, confirm it, answer the question that waited."""

    def name(self) -> Text:
        return "action_save_unit"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        inst = get_institution()
        code = tracker.get_slot(SLOT_KELURAHAN)
        done = common.reset([SLOT_KELURAHAN, SLOT_KECAMATAN, SLOT_SUGGESTIONS, SLOT_QUESTION])
        if not is_city(inst):
            dispatcher.utter_message(response="utter_wilayah_satu_kantor", institution_name=inst.name)
            return done
        unit = unit_routing.known_unit(inst.units, code)
        if unit is None:
            return done
        await common.run_sync(
            citizen_units.set_unit, tracker.sender_id, unit.code, unit_routing.SOURCE_CHOSEN
        )
        say_saved(dispatcher, inst.units, unit.code)
        await answer_pending(dispatcher, tracker, domain, unit.code)
        return done


class ActionChooseUnit(Action):
    """A tap on a unit list outside any form (after "jam buka?" or "di mana kantornya?"):
    a kecamatan shows its kelurahan; a kelurahan is remembered and the waiting question answered."""

    def name(self) -> Text:
        return "action_choose_unit"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        inst = get_institution()
        if not is_city(inst):
            dispatcher.utter_message(response="utter_wilayah_satu_kantor", institution_name=inst.name)
            return []
        tree = inst.units
        slots = read_answer(tree, tracker)
        code = slots.get(SLOT_KELURAHAN)
        if code is None:
            ask_unit(
                dispatcher,
                tree,
                kecamatan=slots.get(SLOT_KECAMATAN),
                missed=slots.get(SLOT_SUGGESTIONS),
                typing=False,
            )
            return [SlotSet(SLOT_KECAMATAN, slots.get(SLOT_KECAMATAN))]
        await common.run_sync(citizen_units.set_unit, tracker.sender_id, code, unit_routing.SOURCE_CHOSEN)
        say_saved(dispatcher, tree, code)
        await answer_pending(dispatcher, tracker, domain, code)
        return common.reset([SLOT_KECAMATAN, SLOT_SUGGESTIONS, SLOT_QUESTION])
