"""Complaints (aduan): start, one form per category, confirmation, submission, emergencies.

A complaint form asks only for what is missing: a first message that already tells what
happened becomes the description, a photo or location pin sent at any step is kept, and the
citizen confirms a summary (Kirim / Ubah / Batal) before anything is stored.

Once the place is known, open reports of the same category near it (``layanwarga.nearby``) are
offered as a list; choosing one makes the rest of the form a follow of that report
(``layanwarga.supporters``): the photos, anonymity and confidentiality still asked, then kept.
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from layanwarga import (
    citizens,
    conversation_log,
    db,
    first_message,
    nearby,
    pending,
    supporters,
    tickets,
    unit_routing,
)
from layanwarga.config import get_institution
from layanwarga.formatting import format_date
from layanwarga.text import clip, content_words, describes_problem, read_place
from nlu_components.text_normalizer import NOT_PATTERN, NOT_WORDS

from . import common, submissions, units
from .feedback import answer_to_closing_question
from .flow import FlowFormValidation, incomplete, reset_flow, summary_lines

logger = logging.getLogger(__name__)

COMPLAINT_SLOTS = [
    "aduan_kategori",
    "aduan_deskripsi",
    "aduan_lokasi",
    "aduan_lat",
    "aduan_lon",
    "aduan_media",
    "aduan_foto",
    "aduan_anonim",
    "aduan_rahasia",
    "aduan_serupa",
    "aduan_ikuti",
    "aduan_mengubah",
    "aduan_ubah_bagian",
    "aduan_konfirmasi",
    units.SLOT_KELURAHAN,
    units.SLOT_KECAMATAN,
    units.SLOT_SUGGESTIONS,
]
# Which slots "Ubah" clears for each part the citizen picks.
EDITABLE_PARTS: Dict[Text, List[Text]] = {
    "deskripsi": ["aduan_deskripsi"],
    "lokasi": ["aduan_lokasi", "aduan_lat", "aduan_lon", "aduan_serupa", "aduan_ikuti"],
    "foto": ["aduan_foto", "aduan_media"],
    "anonim": ["aduan_anonim", "aduan_rahasia"],
    # An aspiration's kelurahan (a city): asked again with the lists.
    "kelurahan": [units.SLOT_KELURAHAN, units.SLOT_KECAMATAN],
}
# "ubah kelurahan": an aspiration's kelurahan; for a complaint, the place reported.
KELURAHAN_WORDS = frozenset({"kelurahan", "kelurahannya", "kel", "kecamatan", "wilayah", "wilayahnya"})
PART_KEYWORDS = {
    "deskripsi": ("deskripsi", "keterangan", "cerita", "isi", "masalah", "kejadian", "aspirasi"),
    "lokasi": ("lokasi", "alamat", "tempat", "lokasinya", "alamatnya"),
    "foto": ("foto", "gambar", "poto", "fotonya"),
    "anonim": ("anonim", "rahasia", "identitas", "nama"),
}
# "No more photos": done, skip, or a plain no.
DONE_WORDS = frozenset({"selesai", "sudah", "udah", "udh", "cukup", "lewati", "skip", "lanjut"}) | NOT_WORDS
SEND_WORDS = frozenset({"kirim", "kirimkan", "benar", "betul", "oke", "ok", "ya", "iya", "yes"})
ANONYMOUS_WORDS = ("anonim", "rahasia", "sembunyi")
# "no need" (to hide): a negation before usah/perlu, or asking to show the name.
PUBLIC_ANSWER = re.compile(rf"\b({NOT_PATTERN})\s+(usah|perlu|apa2|apa-apa)\b|\btampilkan\b|\bboleh\b")


ASPIRATION = "sampaikan_aspirasi"
# "Rahasia" answers: never public (yes), or public allowed.
CONFIDENTIAL_WORDS = ("rahasia", "jangan", "sembunyi", "privat", "pribadi")
PUBLIC_WORDS = ("boleh", "publik", "umum", "tampil")


def nearby_place(tracker: Tracker) -> nearby.Place:
    lat, lon = tracker.get_slot("aduan_lat"), tracker.get_slot("aduan_lon")
    place = read_place(tracker.get_slot("aduan_lokasi") or "")
    return nearby.Place(
        latitude=float(lat) if lat is not None else None,
        longitude=float(lon) if lon is not None else None,
        rt=place.rt,
        rw=place.rw,
        area=place.area,
    )


def _find_nearby(
    category: Text, place: nearby.Place, description: Text, sender: Text
) -> List[nearby.Candidate]:
    with db.session_scope() as session:
        citizen = citizens.find(session, sender)
        return nearby.find(
            session,
            get_institution(),
            category,
            place,
            description,
            exclude_citizen_id=citizen.id if citizen is not None else None,
        )


async def nearby_candidates(tracker: Tracker) -> List[nearby.Candidate]:
    """Open reports near the form's place. A failing search never stops a report: it is logged
    and the form goes on as if none were near."""
    category = tracker.get_slot("aduan_kategori") or ""
    config = get_institution().complaint_categories.get(category)
    if config is None or config.nearby_radius_m <= 0 or not tracker.get_slot("aduan_lokasi"):
        return []
    try:
        return await common.run_sync(
            _find_nearby,
            category,
            nearby_place(tracker),
            tracker.get_slot("aduan_deskripsi") or "",
            tracker.sender_id,
        )
    except Exception:
        logger.exception("Nearby search failed for conversation %s; going on without it", tracker.sender_id)
        return []


def _words(message: Text) -> set:
    return set(re.findall(r"[a-z]+", message.lower()))


def local_area_names() -> List[Text]:
    """The kelurahan names a citizen may give as a place: the institution's area (from its region
    code) and the areas its announcements target."""
    inst = get_institution()
    names = list(first_message.area_names(inst.region_code))
    if inst.subscriptions is not None:
        names += [area.name for area in inst.subscriptions.areas.values()]
    return names


class ActionStartComplaint(Action):
    """Start a complaint flow: fresh slots, the category, and whatever the first message says."""

    def name(self) -> Text:
        return "action_start_complaint"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        category, _ = common.intent(tracker)
        # "lampunya masih mati pak" right after "is it really resolved?" about a street light is
        # that complaint not being resolved, not a new report.
        answered = await answer_to_closing_question(dispatcher, tracker, complaint_category=category)
        if answered is not None:
            return answered
        flow_id = uuid.uuid4().hex
        await common.run_sync(
            conversation_log.start_flow,
            tracker.sender_id,
            flow_id,
            common.metadata(tracker).get("message_id"),
        )
        events: List[EventType] = [
            *common.reset(COMPLAINT_SLOTS),
            SlotSet("flow_id", flow_id),
            SlotSet("aduan_kategori", category),
        ]
        message = common.text(tracker)
        if describes_problem(message):
            events.append(SlotSet("aduan_deskripsi", message))
        pin = common.location(tracker) or tracker.get_slot("aduan_tertunda_lokasi")
        if pin:
            events += [
                SlotSet("aduan_lokasi", common.describe_pin(pin)),
                SlotSet("aduan_lat", pin["latitude"]),
                SlotSet("aduan_lon", pin["longitude"]),
            ]
        elif category != ASPIRATION and not common.is_payload(message):
            # "lampu jalan di gang mawar rt 3 mati": the place is said, the form need not ask it.
            place = first_message.complaint_place(message, local_area_names())
            if place:
                events.append(SlotSet("aduan_lokasi", place))
        if first_message.wants_anonymity(message):
            events.append(SlotSet("aduan_anonim", True))
        if category == ASPIRATION and units.is_city(get_institution()):
            # An aspiration goes to the citizen's kelurahan: the remembered one, else asked.
            remembered = await units.remembered(tracker)
            if remembered is not None:
                events.append(SlotSet(units.SLOT_KELURAHAN, remembered))
        media = list(tracker.get_slot("aduan_tertunda_media") or [])
        if common.media_id(tracker) is not None and common.media_id(tracker) not in media:
            media.append(common.media_id(tracker))
        if media:
            events.append(SlotSet("aduan_media", media))
        return events + common.reset(["aduan_tertunda_media", "aduan_tertunda_lokasi"])


class ActionHoldAttachment(Action):
    """A photo or pin sent before saying what it is about: keep it and ask for the category."""

    def name(self) -> Text:
        return "action_hold_attachment"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        events: List[EventType] = []
        media = common.media_id(tracker)
        pin = common.location(tracker)
        if media is not None:
            held = list(tracker.get_slot("aduan_tertunda_media") or [])
            events.append(SlotSet("aduan_tertunda_media", held + [media]))
            dispatcher.utter_message(response="utter_lampiran_diterima", what="📷 Foto")
        elif pin:
            events.append(SlotSet("aduan_tertunda_lokasi", pin))
            dispatcher.utter_message(response="utter_lampiran_diterima", what="📍 Lokasi")
        else:
            dispatcher.utter_message(response="utter_lampiran_diterima", what="Pesan Bapak/Ibu")
        dispatcher.utter_message(response="utter_pilih_aduan")
        return events


class ComplaintFormValidation(units.UnitQuestion, FlowFormValidation):
    """Extraction and validation shared by every complaint form."""

    exit_intents = common.LETTER_REQUEST_INTENTS

    async def required_slots(
        self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Text]:
        slots = list(domain_slots)
        if self.form_name() == f"{ASPIRATION}_form" and units.is_city(get_institution()):
            # A city: the citizen's kelurahan, to which the aspiration goes.
            slots.insert(slots.index("aduan_konfirmasi"), units.SLOT_KELURAHAN)
        if "aduan_lokasi" in slots and (
            tracker.get_slot("aduan_ikuti")
            or tracker.get_slot("aduan_serupa")
            or await nearby_candidates(tracker)
        ):
            # Offer the reports near the place right after it is known.
            slots.insert(slots.index("aduan_lokasi") + 1, "aduan_ikuti")
        if not tracker.get_slot("aduan_mengubah"):
            return slots
        slots = [s for s in slots if s != "aduan_konfirmasi"]
        return slots + ["aduan_ubah_bagian", "aduan_konfirmasi"]

    async def collect_attachments(
        self, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> List[EventType]:
        events: List[EventType] = []
        media = common.media_id(tracker)
        if media is not None:
            collected = list(tracker.get_slot("aduan_media") or [])
            if media not in collected:
                collected.append(media)
                events.append(SlotSet("aduan_media", collected))
                if not self.asked(tracker, "aduan_foto"):
                    dispatcher.utter_message(response="utter_foto_diterima")
        pin = common.location(tracker)
        if pin:
            events += [SlotSet("aduan_lat", pin["latitude"]), SlotSet("aduan_lon", pin["longitude"])]
            if self.asked(tracker, "aduan_lokasi") or not tracker.get_slot("aduan_lokasi"):
                events.append(SlotSet("aduan_lokasi", common.describe_pin(pin)))
        return events

    # -- description -------------------------------------------------------------------------
    async def extract_aduan_deskripsi(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if not self.asked(tracker, "aduan_deskripsi") or common.media_id(tracker) is not None:
            return {}
        message = common.text(tracker)
        return {"aduan_deskripsi": None if common.is_payload(message) else message}

    def validate_aduan_deskripsi(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if value is None:
            return {"aduan_deskripsi": None}
        description = str(value).strip()
        if len(content_words(description)) < 2 and len(description) < 15:
            dispatcher.utter_message(response="utter_aduan_deskripsi_kurang")
            return incomplete("aduan_deskripsi", description)
        return {"aduan_deskripsi": description}

    # -- location ----------------------------------------------------------------------------
    async def extract_aduan_lokasi(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if (
            not self.asked(tracker, "aduan_lokasi")
            or common.location(tracker)
            or common.media_id(tracker) is not None
        ):
            return {}
        message = common.text(tracker)
        return {"aduan_lokasi": None if common.is_payload(message) else message}

    def validate_aduan_lokasi(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if value is None:
            return {"aduan_lokasi": None}
        place = str(value).strip()
        has_pin = tracker.get_slot("aduan_lat") is not None
        if not has_pin and len(place) < 6 and not read_place(place).rt:
            dispatcher.utter_message(response="utter_aduan_lokasi_kurang")
            return incomplete("aduan_lokasi", place, ", ")
        return {"aduan_lokasi": place}

    # -- photos ------------------------------------------------------------------------------
    async def extract_aduan_foto(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if not self.asked(tracker, "aduan_foto") or common.media_id(tracker) is not None:
            return {}
        name, _ = common.intent(tracker)
        if name in ("lewati", "affirm", "deny", "thanks") or _words(common.text(tracker)) & DONE_WORDS:
            return {"aduan_foto": "selesai" if tracker.get_slot("aduan_media") else "dilewati"}
        dispatcher.utter_message(response="utter_aduan_foto_pilih")
        return {"aduan_foto": None}

    def validate_aduan_foto(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return {"aduan_foto": value}

    # -- anonymity ---------------------------------------------------------------------------
    async def extract_aduan_anonim(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if not self.asked(tracker, "aduan_anonim") or common.media_id(tracker) is not None:
            return {}
        name, _ = common.intent(tracker)
        message = common.text(tracker).lower()
        if "jangan tampil" in message:
            return {"aduan_anonim": True}
        if PUBLIC_ANSWER.search(message):
            return {"aduan_anonim": False}
        if name == "affirm" or any(w in message for w in ANONYMOUS_WORDS):
            return {"aduan_anonim": True}
        if name == "deny":
            return {"aduan_anonim": False}
        dispatcher.utter_message(response="utter_aduan_anonim_pilih")
        return {"aduan_anonim": None}

    def validate_aduan_anonim(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return {"aduan_anonim": value}

    # -- confidentiality (LAPOR!'s "rahasia": never public) --------------------------------------
    async def extract_aduan_rahasia(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if not self.asked(tracker, "aduan_rahasia") or common.media_id(tracker) is not None:
            return {}
        name, _ = common.intent(tracker)
        message = common.text(tracker).lower()
        if "jangan" in message and any(w in message for w in PUBLIC_WORDS):
            return {"aduan_rahasia": True}
        if PUBLIC_ANSWER.search(message) or any(w in message for w in PUBLIC_WORDS):
            return {"aduan_rahasia": False}
        if name == "affirm" or any(w in message for w in CONFIDENTIAL_WORDS):
            return {"aduan_rahasia": True}
        if name == "deny":
            return {"aduan_rahasia": False}
        dispatcher.utter_message(response="utter_aduan_rahasia_pilih")
        return {"aduan_rahasia": None}

    def validate_aduan_rahasia(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return {"aduan_rahasia": value}

    # -- the same problem already reported nearby ---------------------------------------------
    async def extract_aduan_ikuti(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if not self.asked(tracker, "aduan_ikuti") or common.media_id(tracker) is not None:
            return {}
        offered = [str(n) for n in tracker.get_slot("aduan_serupa") or []]
        picked = common.entity(tracker, "pilihan") or ""
        if picked.startswith(nearby.FOLLOW_PREFIX) and picked[len(nearby.FOLLOW_PREFIX) :] in offered:
            return {"aduan_ikuti": picked[len(nearby.FOLLOW_PREFIX) :]}
        if picked == nearby.NEW_REPORT_ID:
            return {"aduan_ikuti": nearby.NEW_REPORT_ID}
        name, _ = common.intent(tracker)
        message = common.text(tracker).lower()
        typed = re.findall(r"\b[1-3]\b", message)
        upper = message.upper()
        named = [
            n
            for n in offered
            if n in upper or n.rsplit("-", 1)[-1].lstrip("0") in re.findall(r"\d+", message)
        ]
        if len(named) == 1:
            return {"aduan_ikuti": named[0]}
        if len(typed) == 1 and int(typed[0]) <= len(offered):
            return {"aduan_ikuti": offered[int(typed[0]) - 1]}
        if name == "deny" or _words(message) & {"bukan", "beda", "berbeda", "baru", "lain"}:
            return {"aduan_ikuti": nearby.NEW_REPORT_ID}
        if (name == "affirm" or _words(message) & {"sama", "ikut", "ikuti", "itu"}) and len(offered) == 1:
            return {"aduan_ikuti": offered[0]}
        dispatcher.utter_message(response="utter_aduan_ikuti_pilih")
        return {"aduan_ikuti": None}

    def validate_aduan_ikuti(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return {"aduan_ikuti": value}

    # -- confirmation and corrections -----------------------------------------------------------
    async def extract_aduan_konfirmasi(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if not self.asked(tracker, "aduan_konfirmasi") or common.media_id(tracker) is not None:
            return {}
        name, _ = common.intent(tracker)
        words = _words(common.text(tracker))
        if name == "ubah" or name == "deny" or words & {"ubah", "ganti", "edit", "koreksi", "perbaiki"}:
            part = _picked_part(tracker)
            if part:
                return {**{slot: None for slot in EDITABLE_PARTS[part]}, "aduan_konfirmasi": None}
            return {"aduan_konfirmasi": None, "aduan_mengubah": True}
        if name == "affirm" or words & SEND_WORDS:
            return {"aduan_konfirmasi": "kirim"}
        dispatcher.utter_message(response="utter_aduan_konfirmasi_pilih")
        return {"aduan_konfirmasi": None}

    def validate_aduan_konfirmasi(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return {"aduan_konfirmasi": value}

    async def extract_aduan_ubah_bagian(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if not self.asked(tracker, "aduan_ubah_bagian"):
            return {}
        part = _picked_part(tracker)
        if part is None or (part in ("lokasi", "foto") and self.form_name() == "sampaikan_aspirasi_form"):
            dispatcher.utter_message(response="utter_ubah_bagian_pilih")
            return {"aduan_ubah_bagian": None}
        return {"aduan_ubah_bagian": part}

    def validate_aduan_ubah_bagian(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if value not in EDITABLE_PARTS:
            return {"aduan_ubah_bagian": None}
        cleared = {slot: None for slot in EDITABLE_PARTS[value]}
        return {**cleared, "aduan_mengubah": False, "aduan_ubah_bagian": None}


def _picked_part(tracker: Tracker) -> Optional[Text]:
    """The part of the complaint the citizen wants to change, from a button or a word."""
    picked = common.entity(tracker, "pilihan")
    if picked in EDITABLE_PARTS:
        return picked
    words = _words(common.text(tracker))
    if words & KELURAHAN_WORDS:
        return "kelurahan" if tracker.active_loop.get("name") == f"{ASPIRATION}_form" else "lokasi"
    for part, keywords in PART_KEYWORDS.items():
        if words & set(keywords):
            return part
    return None


# One validation action per complaint form; the forms differ only in their required slots.
class ValidateLaporJalanRusakForm(ComplaintFormValidation):
    def name(self) -> Text:
        return "validate_lapor_jalan_rusak_form"


class ValidateLaporLampuPadamForm(ComplaintFormValidation):
    def name(self) -> Text:
        return "validate_lapor_lampu_padam_form"


class ValidateLaporSampahForm(ComplaintFormValidation):
    def name(self) -> Text:
        return "validate_lapor_sampah_form"


class ValidateLaporBanjirForm(ComplaintFormValidation):
    def name(self) -> Text:
        return "validate_lapor_banjir_form"


class ValidateLaporPelayananForm(ComplaintFormValidation):
    def name(self) -> Text:
        return "validate_lapor_pelayanan_form"


class ValidateLaporKetertibanForm(ComplaintFormValidation):
    def name(self) -> Text:
        return "validate_lapor_ketertiban_form"


class ValidateLaporSosialForm(ComplaintFormValidation):
    def name(self) -> Text:
        return "validate_lapor_sosial_form"


class ValidateSampaikanAspirasiForm(ComplaintFormValidation):
    def name(self) -> Text:
        return "validate_sampaikan_aspirasi_form"


class ActionAskAduanFoto(Action):
    """Ask for photos, saying how many have arrived so far."""

    def name(self) -> Text:
        return "action_ask_aduan_foto"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        count = len(tracker.get_slot("aduan_media") or [])
        if count:
            dispatcher.utter_message(response="utter_ask_aduan_foto_lagi", count=count)
        else:
            dispatcher.utter_message(response="utter_ask_aduan_foto")
        return []


class ActionAskAduanIkuti(Action):
    """Offer the open reports near the place as one WhatsApp list: number, distance, age, state
    and what it says (nothing of an anonymous or confidential one), then "new report"."""

    def name(self) -> Text:
        return "action_ask_aduan_ikuti"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        candidates = await nearby_candidates(tracker)
        if not candidates:
            # Closed or gone since the form looked: nothing to follow, a new report it is.
            return [SlotSet("aduan_ikuti", nearby.NEW_REPORT_ID), SlotSet("aduan_serupa", [])]
        count = len(candidates)
        intro = "Ada 1 laporan" if count == 1 else f"Ada {count} laporan"
        dispatcher.utter_message(
            text=f"🔎 {intro} serupa yang masih ditangani di dekat lokasi tersebut. Apakah masalahnya sama? "
            "Bila sama, Bapak/Ibu cukup ikut mendukung laporan itu dan akan menerima setiap kabarnya.",
            buttons=nearby.buttons(candidates),
        )
        return [SlotSet("aduan_serupa", [c.number for c in candidates])]


class ActionAskAduanKonfirmasi(Action):
    """Show the summary of the complaint and ask Kirim / Ubah / Batal."""

    def name(self) -> Text:
        return "action_ask_aduan_konfirmasi"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        inst = get_institution()
        category = inst.complaint_categories.get(tracker.get_slot("aduan_kategori") or "")
        photos = len(tracker.get_slot("aduan_media") or [])
        is_aspiration = tracker.active_loop.get("name") == f"{ASPIRATION}_form"
        agency = inst.agency_for(category.intent).name if category else None
        area: Optional[Text] = None
        if units.is_city(inst) and is_aspiration:
            area = units.describe(inst.units, tracker.get_slot(units.SLOT_KELURAHAN))
        elif units.is_city(inst) and category is not None:
            placed = unit_routing.place_complaint(
                inst.units,
                inst.agencies.get(category.agency),
                latitude=tracker.get_slot("aduan_lat"),
                longitude=tracker.get_slot("aduan_lon"),
                location_text=tracker.get_slot("aduan_lokasi"),
            )
            area = units.describe(inst.units, placed.kelurahan_code or placed.unit.code) or (
                "belum diketahui, petugas kota akan meneruskannya"
            )
            if placed.upt is not None:
                agency = f"{agency} ({placed.upt.name})"
        following = following_number(tracker)
        summary = summary_lines(
            [
                ("Ikuti laporan", following),
                ("Jenis", category.label if category else None),
                ("Keterangan", clip(tracker.get_slot("aduan_deskripsi") or "", 500)),
                ("Lokasi", None if is_aspiration else tracker.get_slot("aduan_lokasi")),
                ("Kelurahan" if is_aspiration else "Wilayah", area),
                ("Lampiran", None if is_aspiration else (f"{photos} foto" if photos else "tidak ada")),
                (
                    "Identitas",
                    "dirahasiakan (anonim)" if tracker.get_slot("aduan_anonim") else "ditampilkan ke petugas",
                ),
                (
                    "Publik",
                    "tidak, laporan dirahasiakan"
                    if tracker.get_slot("aduan_rahasia")
                    else "boleh tampil tanpa identitas",
                ),
                ("Diteruskan ke", agency),
            ]
        )
        dispatcher.utter_message(response="utter_ask_aduan_konfirmasi", summary=summary)
        return []


def following_number(tracker: Tracker) -> Optional[Text]:
    """The report the citizen chose to follow, or None for a new report."""
    chosen = tracker.get_slot("aduan_ikuti")
    return chosen if chosen and chosen != nearby.NEW_REPORT_ID else None


class ActionSubmitComplaint(Action):
    """Store the confirmed complaint and tell the citizen its number, agency and due date."""

    def name(self) -> Text:
        return "action_submit_complaint"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        if tracker.get_slot("aduan_konfirmasi") != "kirim" or not tracker.get_slot("flow_id"):
            return reset_flow(domain)
        inst = get_institution()
        following = following_number(tracker)
        if following:
            followed = await self.follow(dispatcher, tracker, domain, following)
            if followed is not None:
                return followed
        location_text = tracker.get_slot("aduan_lokasi")
        place = read_place(location_text or "")
        draft = tickets.ComplaintDraft(
            category=tracker.get_slot("aduan_kategori"),
            description=tracker.get_slot("aduan_deskripsi"),
            sender=tracker.sender_id,
            idempotency_key=f"{tracker.sender_id}:{tracker.get_slot('flow_id')}",
            reporter_name=common.profile_name(tracker),
            location_text=location_text,
            latitude=tracker.get_slot("aduan_lat"),
            longitude=tracker.get_slot("aduan_lon"),
            rt=place.rt,
            rw=place.rw,
            area=place.area,
            media_ids=[int(m) for m in tracker.get_slot("aduan_media") or []],
            anonymous=bool(tracker.get_slot("aduan_anonim")),
            unit_code=tracker.get_slot(units.SLOT_KELURAHAN),
            confidential=bool(tracker.get_slot("aduan_rahasia")),
        )
        outcome = await submissions.store(
            pending.COMPLAINT, tickets.submit_complaint, draft, dispatcher, tracker.sender_id
        )
        if outcome.view is None:
            return reset_flow(domain) if outcome.waiting else []
        view = outcome.view
        dispatcher.utter_message(
            response="utter_aduan_terkirim",
            number=view.number,
            agency=f"{view.agency_name} ({view.upt_name})"
            if view.agency_name and view.upt_name
            else view.agency_name or "-",
            due_date=format_date(view.due_date) if view.due_date else "-",
            verification_days=inst.verification_days,
        )
        return reset_flow(domain)

    async def follow(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict, number: Text
    ) -> Optional[List[EventType]]:
        """Make the citizen a supporter of ``number``; None when it closed meanwhile (then the
        report is stored as a new one). A failure keeps the form's data to try again."""
        draft = supporters.FollowDraft(
            number=number,
            sender=tracker.sender_id,
            idempotency_key=f"{tracker.sender_id}:{tracker.get_slot('flow_id')}",
            note=tracker.get_slot("aduan_deskripsi"),
            reporter_name=common.profile_name(tracker),
            media_ids=[int(m) for m in tracker.get_slot("aduan_media") or []],
            anonymous=bool(tracker.get_slot("aduan_anonim")),
            confidential=bool(tracker.get_slot("aduan_rahasia")),
        )
        try:
            view = await common.run_sync(supporters.follow, get_institution(), draft)
        except supporters.NotFollowable:
            dispatcher.utter_message(response="utter_aduan_ikuti_tutup", number=number)
            return None
        except Exception:
            logger.exception("Following %s failed for conversation %s", number, tracker.sender_id)
            dispatcher.utter_message(response="utter_gagal_simpan")
            return []
        photos = len(draft.media_ids)
        dispatcher.utter_message(
            response="utter_aduan_diikuti",
            number=view.number,
            category=view.category_label,
            supporters=view.supporters,
            state=view.state_label,
            attachments=f" {photos} foto Bapak/Ibu sudah kami lampirkan." if photos else "",
        )
        return reset_flow(domain)


class ActionEmergency(Action):
    """An emergency never goes into a form: emergency numbers at once, then offer a report."""

    def name(self) -> Text:
        return "action_emergency"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        inst = get_institution()
        numbers = "\n".join(f"☎️ {n.name}: *{n.number}*" for n in inst.emergency_numbers)
        dispatcher.utter_message(response="utter_darurat", numbers=numbers)
        dispatcher.utter_message(response="utter_darurat_tawarkan_laporan")
        return reset_flow(domain)
