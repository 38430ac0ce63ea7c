"""General conversation: session start, office hours, office location."""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from layanwarga import calendar
from layanwarga.config import get_institution
from layanwarga.formatting import format_time, format_when, office_hours_lines
from layanwarga.unit_views import institution_for

from . import units


class ActionSessionStart(Action):
    """Start a session with the institution's names in slots, keeping earlier slots."""

    def name(self) -> Text:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        inst = get_institution()
        events: List[EventType] = [SessionStarted()]
        if domain.get("session_config", {}).get("carry_over_slots_to_new_session", True):
            # From the slots, not the events: the action server gets only the recent events
            # (rasa_extensions.action_request). No slot has an initial value, so an unset one
            # needs no event.
            events.extend(
                SlotSet(name, value)
                for name, value in tracker.slots.items()
                if value is not None and name not in ("service_name", "institution_name")
            )
        events.extend(
            [
                SlotSet("service_name", inst.service_name),
                SlotSet("institution_name", inst.name),
                ActionExecuted("action_listen"),
            ]
        )
        return events


def say_office_hours(
    dispatcher: CollectingDispatcher, now: Optional[dt.datetime] = None, unit_code: Optional[Text] = None
) -> None:
    """Office hours from configuration, and whether the office is open ``now`` (default: now);
    of unit ``unit_code`` in a city (its own hours and closures)."""
    inst = institution_for(get_institution(), unit_code)
    status = calendar.office_status(inst, now)
    if status.is_open and status.closes_at is not None:
        now_text = f"✅ Saat ini kantor BUKA, sampai pukul {format_time(status.closes_at.time())}."
    else:
        reason = f" ({status.holiday})" if status.holiday else ""
        now_text = f"⛔ Saat ini kantor TUTUP{reason}."
        if status.next_opening is not None:
            now_text += f" Buka kembali {format_when(status.next_opening, status.local_time)}."
    now_text += " Laporan dan permohonan lewat WhatsApp tetap kami terima 24 jam."
    dispatcher.utter_message(
        response="utter_jam_layanan",
        office_name=inst.name,
        hours="\n".join(office_hours_lines(inst)),
        status=now_text,
    )


def say_office_location(dispatcher: CollectingDispatcher, unit_code: Optional[Text] = None) -> None:
    """Office address and map link, plus a WhatsApp location pin when coordinates are known;
    of unit ``unit_code`` in a city."""
    inst = institution_for(get_institution(), unit_code)
    dispatcher.utter_message(
        response="utter_lokasi_kantor", office_name=inst.name, address=inst.address, map_url=inst.map_url
    )
    if inst.latitude is not None and inst.longitude is not None:
        dispatcher.utter_message(
            json_message={
                "type": "location",
                "location": {
                    "latitude": inst.latitude,
                    "longitude": inst.longitude,
                    "name": inst.name,
                    "address": inst.address,
                },
            }
        )


async def for_citizen_unit(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    question: Text,
    answer: Callable[[Optional[Text]], None],
) -> List[EventType]:
    """Answer ``question`` for the citizen's own unit: the institution's in a single-unit
    deployment; the remembered kelurahan's in a city, else ask which one (a list; the tap is
    answered by ``action_choose_unit``)."""
    inst = get_institution()
    if not units.is_city(inst):
        answer(None)
        return []
    code = await units.remembered(tracker)
    if code is not None:
        answer(code)
        dispatcher.utter_message(
            response="utter_wilayah_bukan", unit=units.describe(inst.units, code) or code
        )
        return []
    units.ask_unit(dispatcher, inst.units, typing=False)
    return [SlotSet(units.SLOT_QUESTION, question)]


class ActionOfficeHours(Action):
    def name(self) -> Text:
        return "action_office_hours"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        return await for_citizen_unit(
            dispatcher, tracker, "jam_layanan", lambda code: say_office_hours(dispatcher, unit_code=code)
        )


class ActionOfficeLocation(Action):
    def name(self) -> Text:
        return "action_office_location"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        return await for_citizen_unit(
            dispatcher, tracker, "lokasi_kantor", lambda code: say_office_location(dispatcher, unit_code=code)
        )
