"""Letter requests (SKTM, SKU, Surat Domisili): start, one form per letter, submission.

Each form asks what its letter needs, checks the NIK beyond its length (region code and date
of birth), takes the required documents one photo at a time, and shows a summary with the NIK
masked before anything is stored.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from layanwarga import (
    conversation_log,
    crypto,
    first_message,
    nik as nik_rules,
    pending,
    phones,
    resubmission,
    tickets,
)
from layanwarga.catalogue import LetterType
from layanwarga.config import get_institution
from layanwarga.formatting import format_date, join_words, photo_of
from layanwarga.text import clip, read_place
from layanwarga.unit_address import match_address
from layanwarga.unit_views import letter_for
from layanwarga.units import KECAMATAN_LEVEL, VILLAGE_LEVEL

from . import common, submissions, units
from .flow import FlowFormValidation, incomplete, reset_flow, summary_lines
from .requirements import LETTER_BY_REQUEST_INTENT, answer_instead_of_letter

logger = logging.getLogger(__name__)

LETTER_SLOTS = [
    "surat_jenis",
    "surat_untuk",
    "surat_hubungan",
    "surat_nama",
    "surat_nik",
    "surat_nik_cek",
    "surat_nik_gagal",
    "surat_alamat",
    "surat_telepon",
    "surat_keperluan",
    "surat_usaha_nama",
    "surat_usaha_jenis",
    "surat_usaha_alamat",
    "surat_usaha_sejak",
    "surat_domisili_sejak",
    "surat_dokumen_media",
    "surat_dokumen",
    "surat_mengubah",
    "surat_ubah_bagian",
    "surat_konfirmasi",
    units.SLOT_KELURAHAN,
    units.SLOT_KECAMATAN,
    units.SLOT_SUGGESTIONS,
]
NIK_ATTEMPTS_BEFORE_OFFERING_OFFICER = 3
# Parts a citizen can correct from the summary, with the slots each clears, per letter type.
EDITABLE_PARTS: Dict[Text, Dict[Text, Any]] = {
    "pemohon": {"title": "Nama / untuk siapa", "slots": ["surat_untuk", "surat_hubungan", "surat_nama"]},
    "nik": {"title": "NIK", "slots": ["surat_nik", "surat_nik_cek", "surat_nik_gagal"]},
    # The kelurahan comes from the address: a new address finds (or asks) it again.
    "alamat": {"title": "Alamat", "slots": ["surat_alamat", units.SLOT_KELURAHAN, units.SLOT_KECAMATAN]},
    "telepon": {"title": "Nomor HP", "slots": ["surat_telepon"]},
    "keperluan": {"title": "Keperluan", "slots": ["surat_keperluan"]},
    "usaha": {
        "title": "Data usaha",
        "slots": ["surat_usaha_nama", "surat_usaha_jenis", "surat_usaha_alamat", "surat_usaha_sejak"],
        "letters": ["sku"],
    },
    "sejak": {"title": "Tinggal sejak", "slots": ["surat_domisili_sejak"], "letters": ["domisili"]},
    "dokumen": {"title": "Foto dokumen", "slots": ["surat_dokumen", "surat_dokumen_media"]},
}
# What a rejection's reason can ask to correct (layanwarga.resubmission): the same parts, except
# that a wrong name asks only the name, not again for whom the letter is.
CORRECTED_PARTS: Dict[Text, Dict[Text, Any]] = {
    **EDITABLE_PARTS,
    "pemohon": {"title": "Nama pemohon", "slots": ["surat_nama"]},
}
# The "Permohonan baru" button of a resubmission: start empty instead.
NEW_REQUEST = "baru"
PART_KEYWORDS = {
    "pemohon": ("nama", "pemohon"),
    "nik": ("nik",),
    "alamat": ("alamat", "rt", "rw", "kelurahan", "kelurahannya", "kel", "kecamatan", "wilayah"),
    "telepon": ("hp", "telepon", "nomor", "telp", "wa"),
    "keperluan": ("keperluan", "tujuan", "untuk"),
    "usaha": ("usaha", "toko", "warung"),
    "sejak": ("sejak", "tahun"),
    "dokumen": ("foto", "dokumen", "ktp", "kk", "pengantar"),
}
FAMILY_WORDS = (
    "keluarga",
    "anak",
    "orang tua",
    "ortu",
    "bapak",
    "ibu",
    "suami",
    "istri",
    "adik",
    "kakak",
    "saudara",
    "mertua",
    "nenek",
    "kakek",
)
SELF_WORDS = ("sendiri", "saya", "aku", "sy", "diri")
SAME_WORDS = frozenset({"sama", "sama saja", "idem", "sama dengan alamat rumah"})
SEND_WORDS = frozenset({"kirim", "benar", "betul", "ok", "oke", "ya", "iya", "sudah"})
_YEAR = re.compile(r"\b(19\d{2}|20\d{2})\b")
_NAME = re.compile(r"^[A-Za-z][A-Za-z.'\- ]{2,99}$")


def _nik(tracker: Tracker) -> Optional[Text]:
    """The applicant's NIK in clear text. The slot holds it encrypted, so the conversation store
    (the tracker) never keeps a NIK in clear text."""
    return crypto.decrypt(tracker.get_slot("surat_nik"))


def _letter(tracker: Tracker) -> LetterType:
    """The letter type as the applicant's kelurahan issues it (requirements, pick-up place),
    once known in a city; the configured one otherwise."""
    inst = get_institution()
    code = tracker.get_slot("surat_jenis")
    return letter_for(inst, code, tracker.get_slot(units.SLOT_KELURAHAN)) or inst.letters[code]


def _words(message: Text) -> set:
    return set(re.findall(r"[a-z0-9]+", message.lower()))


class ActionStartLetter(Action):
    """Start a letter request: fresh slots, the letter type, and a short note on what to prepare.

    A citizen whose last request for this letter was rejected (or who gives its number) resubmits
    it: what was accepted is filled in again and only what the clerk's reason is about is asked
    ("Foto KK buram" asks for the KK photo, nothing else). The "Permohonan baru" button starts an
    empty request instead.

    A message that does not name the letter and that the service catalogue clearly places on
    another service ("izin lingkungan usaha" read as a business letter) is answered from the
    catalogue instead, and no request starts: the rule's form is skipped by listening.
    """

    def name(self) -> Text:
        return "action_start_letter"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        name, _ = common.intent(tracker)
        code = LETTER_BY_REQUEST_INTENT[name]
        if await answer_instead_of_letter(dispatcher, tracker, domain, code):
            return [FollowupAction("action_listen")]
        letter = get_institution().letters[code]
        flow_id = uuid.uuid4().hex
        await common.run_sync(
            conversation_log.start_flow,
            tracker.sender_id,
            flow_id,
            common.metadata(tracker).get("message_id"),
        )
        events: List[EventType] = [
            *common.reset(LETTER_SLOTS),
            SlotSet("flow_id", flow_id),
            SlotSet("surat_jenis", code),
        ]
        previous = await _rejected_to_resubmit(tracker, code)
        if previous is not None:
            return events + _resubmit(dispatcher, previous, letter, name)
        documents = f"foto {photo_list(letter.requirements)}"
        dispatcher.utter_message(response="utter_surat_mulai", letter_name=letter.name, documents=documents)
        typed_nik = common.entity(tracker, "nik")
        if typed_nik:
            events.append(SlotSet("surat_nik", typed_nik))
        message = common.text(tracker)
        if common.is_payload(message):
            return events
        asked = domain.get("forms", {}).get(f"{code}_form", {}).get("required_slots", [])
        return events + _from_first_message(message, letter, asked)


async def _rejected_to_resubmit(tracker: Tracker, code: Text) -> Optional[tickets.RejectedRequest]:
    """The citizen's rejected request this one corrects: the one whose number they give, else
    their last request for this letter if it was rejected; none when they ask for a new one."""
    if common.entity(tracker, "pilihan") == NEW_REQUEST:
        return None
    number = common.entity(tracker, "nomor_tiket")
    try:
        if number:
            previous = await common.run_sync(tickets.rejected_request, tracker.sender_id, number)
        else:
            previous = await common.run_sync(tickets.latest_rejected_request, tracker.sender_id, code)
    except Exception:  # noqa: BLE001 - the citizen can still apply, from an empty request
        logger.exception(
            "Could not look up a rejected %s request of conversation %s", code, tracker.sender_id
        )
        return None
    return previous if previous is not None and previous.letter_type == code else None


def _resubmit(
    dispatcher: CollectingDispatcher, previous: tickets.RejectedRequest, letter: LetterType, intent: Text
) -> List[EventType]:
    fixes = resubmission.corrections(previous.reason, letter.requirements, editable_parts(letter.code))
    new_request = [{"title": "Permohonan baru", "payload": f'/{intent}{{"pilihan": "{NEW_REQUEST}"}}'}]
    common_values = dict(
        letter_name=letter.name, number=previous.number, reason=previous.reason, buttons=new_request
    )
    if fixes.known:
        dispatcher.utter_message(
            response="utter_surat_ajukan_ulang", asked=_asked_again(fixes, letter), **common_values
        )
    else:
        dispatcher.utter_message(response="utter_surat_ajukan_ulang_periksa", **common_values)
    return _prefill(previous, letter, fixes)


def _asked_again(fixes: resubmission.Corrections, letter: LetterType) -> Text:
    """What the resubmission will ask, as a phrase: "NIK dan Foto Kartu Keluarga (KK)"."""
    parts = [CORRECTED_PARTS[part]["title"] for part in EDITABLE_PARTS if part in fixes.parts]
    parts = [p if p.split()[0].isupper() else p[0].lower() + p[1:] for p in parts]
    parts += [photo_of(letter.requirements[index]) for index in fixes.documents]
    return join_words(parts)


def _documents_of(previous: tickets.RejectedRequest, letter: LetterType) -> List[Optional[int]]:
    """The rejected request's photos, one per requirement in the letter's order (None: missing)."""
    by_requirement = {
        str(item.get("persyaratan")): item.get("media_id")
        for item in previous.details.get("dokumen") or []
        if isinstance(item, dict)
    }
    if by_requirement:
        return [by_requirement.get(requirement) for requirement in letter.requirements]
    return (list(previous.media_ids) + [None] * len(letter.requirements))[: len(letter.requirements)]


def _prefill(
    previous: tickets.RejectedRequest, letter: LetterType, fixes: resubmission.Corrections
) -> List[EventType]:
    """Slots of a resubmission, taken from the rejected request, without what must be corrected."""
    details = previous.details
    documents = _documents_of(previous, letter)
    for index in fixes.documents:
        documents[index] = None
    values = {
        "surat_untuk": "keluarga" if previous.on_behalf else "sendiri",
        "surat_hubungan": previous.relationship,
        "surat_nama": previous.applicant_name,
        "surat_nik": crypto.encrypt(previous.applicant_nik),
        "surat_nik_cek": "dikonfirmasi" if details.get("nik_dikonfirmasi_pemohon") else "ok",
        "surat_alamat": previous.applicant_address,
        "surat_telepon": previous.applicant_phone,
        "surat_keperluan": previous.purpose,
        "surat_usaha_nama": details.get("nama_usaha"),
        "surat_usaha_jenis": details.get("jenis_usaha"),
        "surat_usaha_alamat": details.get("alamat_usaha"),
        "surat_usaha_sejak": details.get("usaha_sejak"),
        "surat_domisili_sejak": details.get("tinggal_sejak"),
        "surat_dokumen_media": documents if any(m is not None for m in documents) else None,
        "surat_dokumen": "lengkap" if all(m is not None for m in documents) else None,
    }
    if units.is_city(get_institution()):
        values[units.SLOT_KELURAHAN] = previous.kelurahan_code
    for part in fixes.parts:
        for slot in CORRECTED_PARTS[part]["slots"]:
            values[slot] = None
    return [SlotSet(slot, value) for slot, value in values.items() if value is not None]


def _from_first_message(message: Text, letter: LetterType, asked: List[Text]) -> List[EventType]:
    """What the request already says ("sktm buat berobat ibu saya"): for whom and the
    relationship, the purpose, the applicant's name, an SKU's business. The form asks only for
    the rest; the summary shows all of it."""
    values: Dict[Text, Any] = {
        "surat_keperluan": first_message.letter_purpose(message, letter.purposes, letter.name),
        "surat_nama": first_message.letter_applicant_name(message),
        "surat_usaha_jenis": first_message.business_kind(message),
    }
    applicant = first_message.letter_applicant(message)
    if applicant is not None:
        values["surat_untuk"], relationship = applicant
        if relationship:
            values["surat_hubungan"] = relationship
    # Only what this letter's form asks ("surat_hubungan" is asked whenever it is for family).
    wanted = set(asked) | {"surat_hubungan"}
    return [SlotSet(slot, value) for slot, value in values.items() if value is not None and slot in wanted]


class LetterFormValidation(units.UnitQuestion, FlowFormValidation):
    """Extraction and validation shared by the letter forms."""

    exit_intents = common.LETTER_REQUEST_INTENTS

    def is_exit(self, tracker: Tracker) -> bool:
        name, _ = common.intent(tracker)
        # Asking for the letter already being filled in is not a reason to leave it, unless the
        # citizen asks for a new, empty request ("Permohonan baru" under a resubmission).
        if LETTER_BY_REQUEST_INTENT.get(name or "") == tracker.get_slot("surat_jenis"):
            return common.entity(tracker, "pilihan") == NEW_REQUEST
        return super().is_exit(tracker)

    async def required_slots(
        self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Text]:
        slots: List[Text] = []
        for slot in domain_slots:
            if slot == "surat_konfirmasi" and tracker.get_slot("surat_mengubah"):
                slots.append("surat_ubah_bagian")
            slots.append(slot)
            if slot == "surat_untuk" and tracker.get_slot("surat_untuk") == "keluarga":
                slots.append("surat_hubungan")
            if slot == "surat_nik" and tracker.get_slot("surat_nik_cek") == "perlu":
                slots.append("surat_nik_cek")
            if slot == "surat_alamat" and units.is_city(get_institution()):
                # A city: the applicant's kelurahan, when the address did not name it.
                slots.append(units.SLOT_KELURAHAN)
        return slots

    async def collect_attachments(
        self, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> List[EventType]:
        media = common.media_id(tracker)
        if media is None or not self.asked(tracker, "surat_dokumen"):
            return []
        collected = list(tracker.get_slot("surat_dokumen_media") or [])
        index = next_document(tracker)
        if media in collected or index is None:
            return []
        collected += [None] * (index + 1 - len(collected))
        collected[index] = media
        events: List[EventType] = [SlotSet("surat_dokumen_media", collected)]
        if next_document(tracker, collected) is None:
            events.append(SlotSet("surat_dokumen", "lengkap"))
        return events

    def _answer(self, tracker: Tracker, slot: Text) -> Optional[Text]:
        """The typed answer to ``slot`` when it is the question being asked."""
        if not self.asked(tracker, slot) or common.media_id(tracker) is not None:
            return None
        message = common.text(tracker)
        return None if common.is_payload(message) else message

    # -- who the letter is for ---------------------------------------------------------------
    async def extract_surat_untuk(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if not self.asked(tracker, "surat_untuk"):
            return {}
        picked = common.entity(tracker, "pilihan")
        message = common.text(tracker).lower()
        if picked in ("sendiri", "keluarga"):
            return {"surat_untuk": picked}
        if any(w in message for w in FAMILY_WORDS) and "sendiri" not in message:
            return {"surat_untuk": "keluarga"}
        if any(w in _words(message) for w in SELF_WORDS):
            return {"surat_untuk": "sendiri"}
        dispatcher.utter_message(response="utter_surat_untuk_pilih")
        return {"surat_untuk": None}

    def validate_surat_untuk(self, value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:  # type: ignore[no-untyped-def]
        return (
            {"surat_untuk": value, "surat_hubungan": None} if value == "sendiri" else {"surat_untuk": value}
        )

    async def extract_surat_hubungan(self, dispatcher, tracker, domain) -> Dict[Text, Any]:  # type: ignore[no-untyped-def]
        answer = self._answer(tracker, "surat_hubungan")
        return (
            {} if answer is None and not self.asked(tracker, "surat_hubungan") else {"surat_hubungan": answer}
        )

    def validate_surat_hubungan(self, value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:  # type: ignore[no-untyped-def]
        if not value or len(str(value).strip()) < 3:
            dispatcher.utter_message(response="utter_jawaban_terlalu_singkat")
            return {"surat_hubungan": None}
        return {"surat_hubungan": clip(str(value), 100)}

    # -- applicant ---------------------------------------------------------------------------
    async def extract_surat_nama(self, dispatcher, tracker, domain) -> Dict[Text, Any]:  # type: ignore[no-untyped-def]
        return self._free_text(tracker, "surat_nama")

    def validate_surat_nama(self, value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:  # type: ignore[no-untyped-def]
        if value is None:
            return {"surat_nama": None}
        name = re.sub(
            r"^(nama\s+(saya|sy|pemohon|lengkap)?\s*(adalah|:)?\s*)", "", str(value).strip(), flags=re.I
        )
        name = " ".join(name.split())
        if not _NAME.match(name):
            dispatcher.utter_message(response="utter_surat_nama_salah")
            return {"surat_nama": None}
        return {"surat_nama": name.title() if name.isupper() or name.islower() else name}

    async def extract_surat_nik(self, dispatcher, tracker, domain) -> Dict[Text, Any]:  # type: ignore[no-untyped-def]
        if not self.asked(tracker, "surat_nik") or common.media_id(tracker) is not None:
            return {}
        typed = common.entity(tracker, "nik") or common.text(tracker)
        return {"surat_nik": typed}

    def validate_surat_nik(self, value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:  # type: ignore[no-untyped-def]
        if value is None:
            return {"surat_nik": None}
        if crypto.is_encrypted(str(value)):
            # Checked already: by this validation, or before a rejected request is resubmitted.
            return {"surat_nik": value}
        # The one rule of what a NIK in text is (layanwarga.nik): what is accepted is also masked.
        check = nik_rules.check_text(str(value))
        if check.valid:
            return {"surat_nik": crypto.encrypt(check.nik), "surat_nik_cek": "ok", "surat_nik_gagal": None}
        if check.needs_confirmation:
            return {"surat_nik": crypto.encrypt(check.nik), "surat_nik_cek": "perlu"}
        failures = int(tracker.get_slot("surat_nik_gagal") or 0) + 1
        dispatcher.utter_message(response="utter_surat_nik_salah", problem=check.problem)
        if failures >= NIK_ATTEMPTS_BEFORE_OFFERING_OFFICER:
            dispatcher.utter_message(response="utter_surat_nik_tawarkan_petugas")
        return {"surat_nik": None, "surat_nik_gagal": float(failures)}

    async def extract_surat_nik_cek(self, dispatcher, tracker, domain) -> Dict[Text, Any]:  # type: ignore[no-untyped-def]
        if not self.asked(tracker, "surat_nik_cek"):
            return {}
        name, _ = common.intent(tracker)
        if name == "affirm":
            return {"surat_nik_cek": "dikonfirmasi"}
        if name == "deny":
            return {"surat_nik_cek": None, "surat_nik": None}
        return {"surat_nik_cek": "perlu"}

    def validate_surat_nik_cek(self, value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:  # type: ignore[no-untyped-def]
        if value == "perlu":
            # Still unanswered: keep it required but unfilled so the form asks again.
            return {"surat_nik_cek": "perlu"}
        return {"surat_nik_cek": value}

    async def extract_surat_alamat(self, dispatcher, tracker, domain) -> Dict[Text, Any]:  # type: ignore[no-untyped-def]
        return self._free_text(tracker, "surat_alamat")

    async def validate_surat_alamat(self, value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:  # type: ignore[no-untyped-def]
        if value is None:
            return {"surat_alamat": None}
        place = read_place(str(value))
        if not place.rt or not place.rw:
            # The street without RT/RW (or the other way round): kept, and joined to the rest.
            dispatcher.utter_message(response="utter_surat_alamat_rt_rw")
            return incomplete("surat_alamat", value, ", ")
        return {"surat_alamat": place.text, **await self._kelurahan_of_address(tracker, place.text)}

    @staticmethod
    async def _kelurahan_of_address(tracker: Tracker, address: Text) -> Dict[Text, Any]:
        """In a city, the applicant's kelurahan from the address (the sender's phone says
        nothing); for the citizen's own request, else the one remembered for them; a kecamatan
        alone starts the question at its kelurahan."""
        inst = get_institution()
        if not units.is_city(inst):
            return {}
        found = match_address(inst.units, address).unit
        if found is not None and found.level >= VILLAGE_LEVEL:
            return {units.SLOT_KELURAHAN: found.code}
        if tracker.get_slot("surat_untuk") != "keluarga":
            remembered = await units.remembered(tracker)
            if remembered is not None:
                return {units.SLOT_KELURAHAN: remembered}
        if found is not None and found.level == KECAMATAN_LEVEL:
            return {units.SLOT_KECAMATAN: found.code}
        return {}

    async def extract_surat_telepon(self, dispatcher, tracker, domain) -> Dict[Text, Any]:  # type: ignore[no-untyped-def]
        if not self.asked(tracker, "surat_telepon") or common.media_id(tracker) is not None:
            return {}
        name, _ = common.intent(tracker)
        own = phones.from_whatsapp_id(tracker.sender_id)
        if name == "affirm" and own:
            return {"surat_telepon": own}
        return {"surat_telepon": common.text(tracker)}

    def validate_surat_telepon(self, value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:  # type: ignore[no-untyped-def]
        if value is None:
            return {"surat_telepon": None}
        number = phones.normalise(str(value))
        if number is None:
            dispatcher.utter_message(response="utter_surat_telepon_salah")
        return {"surat_telepon": number}

    # -- purpose and letter-specific details ---------------------------------------------------
    async def extract_surat_keperluan(self, dispatcher, tracker, domain) -> Dict[Text, Any]:  # type: ignore[no-untyped-def]
        if not self.asked(tracker, "surat_keperluan") or common.media_id(tracker) is not None:
            return {}
        picked = common.entity(tracker, "pilihan")
        if picked:
            return {"surat_keperluan": picked}
        return self._free_text(tracker, "surat_keperluan")

    def validate_surat_keperluan(self, value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:  # type: ignore[no-untyped-def]
        return self._at_least(dispatcher, "surat_keperluan", value, 4)

    async def extract_surat_usaha_nama(self, dispatcher, tracker, domain) -> Dict[Text, Any]:  # type: ignore[no-untyped-def]
        return self._free_text(tracker, "surat_usaha_nama")

    def validate_surat_usaha_nama(self, value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:  # type: ignore[no-untyped-def]
        return self._at_least(dispatcher, "surat_usaha_nama", value, 3)

    async def extract_surat_usaha_jenis(self, dispatcher, tracker, domain) -> Dict[Text, Any]:  # type: ignore[no-untyped-def]
        return self._free_text(tracker, "surat_usaha_jenis")

    def validate_surat_usaha_jenis(self, value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:  # type: ignore[no-untyped-def]
        return self._at_least(dispatcher, "surat_usaha_jenis", value, 3)

    async def extract_surat_usaha_alamat(self, dispatcher, tracker, domain) -> Dict[Text, Any]:  # type: ignore[no-untyped-def]
        return self._free_text(tracker, "surat_usaha_alamat")

    def validate_surat_usaha_alamat(self, value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:  # type: ignore[no-untyped-def]
        if value is not None and str(value).strip().lower() in SAME_WORDS:
            return {"surat_usaha_alamat": tracker.get_slot("surat_alamat")}
        return self._at_least(dispatcher, "surat_usaha_alamat", value, 6, joiner=", ")

    async def extract_surat_usaha_sejak(self, dispatcher, tracker, domain) -> Dict[Text, Any]:  # type: ignore[no-untyped-def]
        return self._free_text(tracker, "surat_usaha_sejak")

    def validate_surat_usaha_sejak(self, value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:  # type: ignore[no-untyped-def]
        return self._since(dispatcher, "surat_usaha_sejak", value)

    async def extract_surat_domisili_sejak(self, dispatcher, tracker, domain) -> Dict[Text, Any]:  # type: ignore[no-untyped-def]
        return self._free_text(tracker, "surat_domisili_sejak")

    def validate_surat_domisili_sejak(self, value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:  # type: ignore[no-untyped-def]
        return self._since(dispatcher, "surat_domisili_sejak", value)

    # -- documents ---------------------------------------------------------------------------
    async def extract_surat_dokumen(self, dispatcher, tracker, domain) -> Dict[Text, Any]:  # type: ignore[no-untyped-def]
        if not self.asked(tracker, "surat_dokumen") or common.media_id(tracker) is not None:
            return {}
        # A text instead of a photo: the document is required, say so and ask again.
        letter = _letter(tracker)
        index = next_document(tracker)
        dispatcher.utter_message(
            response="utter_surat_dokumen_wajib",
            photo=photo_of(letter.requirements[index if index is not None else -1]),
        )
        return {"surat_dokumen": None}

    def validate_surat_dokumen(self, value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:  # type: ignore[no-untyped-def]
        return {"surat_dokumen": value}

    # -- confirmation and corrections -----------------------------------------------------------
    async def extract_surat_konfirmasi(self, dispatcher, tracker, domain) -> Dict[Text, Any]:  # type: ignore[no-untyped-def]
        if not self.asked(tracker, "surat_konfirmasi") or common.media_id(tracker) is not None:
            return {}
        name, _ = common.intent(tracker)
        words = _words(common.text(tracker))
        if name in ("ubah", "deny") or words & {"ubah", "ganti", "edit", "koreksi", "perbaiki"}:
            part = self._picked_part(tracker)
            if part:
                return {**{slot: None for slot in EDITABLE_PARTS[part]["slots"]}, "surat_konfirmasi": None}
            return {"surat_konfirmasi": None, "surat_mengubah": True}
        if name == "affirm" or words & SEND_WORDS:
            return {"surat_konfirmasi": "kirim"}
        dispatcher.utter_message(response="utter_surat_konfirmasi_pilih")
        return {"surat_konfirmasi": None}

    def validate_surat_konfirmasi(self, value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:  # type: ignore[no-untyped-def]
        return {"surat_konfirmasi": value}

    async def extract_surat_ubah_bagian(self, dispatcher, tracker, domain) -> Dict[Text, Any]:  # type: ignore[no-untyped-def]
        if not self.asked(tracker, "surat_ubah_bagian"):
            return {}
        part = self._picked_part(tracker)
        if part is None:
            dispatcher.utter_message(response="utter_ubah_bagian_pilih")
        return {"surat_ubah_bagian": part}

    def validate_surat_ubah_bagian(self, value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:  # type: ignore[no-untyped-def]
        if value not in editable_parts(tracker.get_slot("surat_jenis")):
            dispatcher.utter_message(response="utter_ubah_bagian_pilih")
            return {"surat_ubah_bagian": None}
        cleared = {slot: None for slot in EDITABLE_PARTS[value]["slots"]}
        return {**cleared, "surat_mengubah": False, "surat_ubah_bagian": None}

    # -- helpers -----------------------------------------------------------------------------
    def _free_text(self, tracker: Tracker, slot: Text) -> Dict[Text, Any]:
        if not self.asked(tracker, slot):
            return {}
        return {slot: self._answer(tracker, slot)}

    @staticmethod
    def _at_least(
        dispatcher: CollectingDispatcher, slot: Text, value: Any, length: int, joiner: Text = " "
    ) -> Dict[Text, Any]:
        if value is None:
            return {slot: None}
        text = " ".join(str(value).split())
        if len(text) < length:
            dispatcher.utter_message(response="utter_jawaban_terlalu_singkat")
            return incomplete(slot, text, joiner)
        return {slot: clip(text, 300)}

    @staticmethod
    def _since(dispatcher: CollectingDispatcher, slot: Text, value: Any) -> Dict[Text, Any]:
        if value is None:
            return {slot: None}
        match = _YEAR.search(str(value))
        if not match:
            # "Maret" without its year: kept, the year is asked for and joined to it.
            dispatcher.utter_message(response="utter_surat_tahun_salah")
            return incomplete(slot, value)
        if int(match.group(1)) > dt.date.today().year:
            dispatcher.utter_message(response="utter_surat_tahun_salah")
            return {slot: None}
        return {slot: clip(" ".join(str(value).split()), 60)}

    def _picked_part(self, tracker: Tracker) -> Optional[Text]:
        parts = editable_parts(tracker.get_slot("surat_jenis"))
        picked = common.entity(tracker, "pilihan")
        if picked in parts:
            return picked
        words = _words(common.text(tracker))
        for part in parts:
            if words & set(PART_KEYWORDS[part]):
                return part
        return None


def photo_list(requirements: List[Text]) -> Text:
    """The documents to photograph, without "foto" before each: "KTP pemohon, Kartu Keluarga
    (KK), dan surat pengantar RT/RW"."""
    return join_words([photo_of(requirement).removeprefix("foto ") for requirement in requirements])


def next_document(tracker: Tracker, documents: Optional[List[Any]] = None) -> Optional[int]:
    """The position of the requirement whose photo is asked next (the first one missing), or
    None when every one has its photo."""
    have = list(tracker.get_slot("surat_dokumen_media") or []) if documents is None else documents
    for index in range(len(_letter(tracker).requirements)):
        if index >= len(have) or have[index] is None:
            return index
    return None


def editable_parts(letter_code: Optional[Text]) -> List[Text]:
    return [p for p, spec in EDITABLE_PARTS.items() if letter_code in spec.get("letters", [letter_code])]


class ValidateSktmForm(LetterFormValidation):
    def name(self) -> Text:
        return "validate_sktm_form"


class ValidateSkuForm(LetterFormValidation):
    def name(self) -> Text:
        return "validate_sku_form"


class ValidateDomisiliForm(LetterFormValidation):
    def name(self) -> Text:
        return "validate_domisili_form"


class ActionAskSuratDokumen(Action):
    """Ask for the next required document photo, one at a time."""

    def name(self) -> Text:
        return "action_ask_surat_dokumen"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        letter = _letter(tracker)
        index = next_document(tracker)
        requirement = letter.requirements[index if index is not None else -1]
        if None in (tracker.get_slot("surat_dokumen_media") or []):
            # A resubmission: only the photos the clerk asked for again.
            dispatcher.utter_message(
                response="utter_ask_surat_dokumen_ulang", requirement=requirement, photo=photo_of(requirement)
            )
            return []
        dispatcher.utter_message(
            response="utter_ask_surat_dokumen",
            requirement=requirement,
            photo=photo_of(requirement),
            index=(index or 0) + 1,
            total=len(letter.requirements),
        )
        return []


class ActionAskSuratKeperluan(Action):
    """The letter's usual purposes from configuration as a list, free text allowed."""

    def name(self) -> Text:
        return "action_ask_surat_keperluan"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        letter = _letter(tracker)
        dispatcher.utter_message(
            response="utter_ask_surat_keperluan",
            buttons=[
                {"title": clip(p, 24), "description": clip(p, 72), "payload": f'/inform{{"pilihan": "{p}"}}'}
                for p in letter.purposes
            ],
        )
        return []


class ActionAskSuratNikCek(Action):
    """Ask the citizen to confirm a NIK whose region code is not in the current Kemendagri data."""

    def name(self) -> Text:
        return "action_ask_surat_nik_cek"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        value = _nik(tracker) or ""
        check = nik_rules.check(value)
        dispatcher.utter_message(
            response="utter_ask_surat_nik_cek", problem=check.problem, nik=nik_rules.mask(value)
        )
        return []


class ActionAskSuratTelepon(Action):
    """Offer the WhatsApp number itself when it is a valid phone number (not for username
    (BSUID) users, nor numbers libphonenumber does not know: the button would be refused)."""

    def name(self) -> Text:
        return "action_ask_surat_telepon"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        has_phone = phones.from_whatsapp_id(tracker.sender_id) is not None
        dispatcher.utter_message(
            response="utter_ask_surat_telepon" if has_phone else "utter_ask_surat_telepon_ketik"
        )
        return []


class ActionAskSuratUbahBagian(Action):
    """The parts of this letter type that can be corrected."""

    def name(self) -> Text:
        return "action_ask_surat_ubah_bagian"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        dispatcher.utter_message(
            response="utter_ask_surat_ubah_bagian",
            buttons=[
                {"title": EDITABLE_PARTS[p]["title"], "payload": f'/ubah{{"pilihan": "{p}"}}'}
                for p in editable_parts(tracker.get_slot("surat_jenis"))
            ],
        )
        return []


def _summary(tracker: Tracker) -> Text:
    letter = _letter(tracker)
    inst = get_institution()
    city = units.is_city(inst)
    on_behalf = tracker.get_slot("surat_untuk") == "keluarga"
    documents = sum(1 for m in tracker.get_slot("surat_dokumen_media") or [] if m is not None)
    return summary_lines(
        [
            ("Jenis", letter.name),
            ("Pemohon", tracker.get_slot("surat_nama")),
            (
                "Diajukan oleh",
                f"keluarga ({tracker.get_slot('surat_hubungan')})" if on_behalf else "pemohon sendiri",
            ),
            ("NIK", nik_rules.mask(_nik(tracker))),
            ("Alamat", tracker.get_slot("surat_alamat")),
            (
                "Kelurahan",
                units.describe(inst.units, tracker.get_slot(units.SLOT_KELURAHAN)) if city else None,
            ),
            ("Tinggal sejak", tracker.get_slot("surat_domisili_sejak")),
            ("Nama usaha", tracker.get_slot("surat_usaha_nama")),
            ("Bidang usaha", tracker.get_slot("surat_usaha_jenis")),
            ("Alamat usaha", tracker.get_slot("surat_usaha_alamat")),
            ("Usaha sejak", tracker.get_slot("surat_usaha_sejak")),
            ("Nomor HP", tracker.get_slot("surat_telepon")),
            ("Keperluan", tracker.get_slot("surat_keperluan")),
            ("Dokumen", f"{documents} foto: {photo_list(letter.requirements)}"),
            ("Tempat pengambilan", letter.pickup if city else None),
        ]
    )


class ActionAskSuratKonfirmasi(Action):
    def name(self) -> Text:
        return "action_ask_surat_konfirmasi"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        dispatcher.utter_message(response="utter_ask_surat_konfirmasi", summary=_summary(tracker))
        return []


class ActionSubmitLetter(Action):
    """Store the confirmed request (state ``diajukan``) and give its number."""

    def name(self) -> Text:
        return "action_submit_letter"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        if tracker.get_slot("surat_konfirmasi") != "kirim" or not tracker.get_slot("flow_id"):
            return reset_flow(domain)
        letter = _letter(tracker)
        place = read_place(tracker.get_slot("surat_alamat") or "")
        media = [int(m) for m in tracker.get_slot("surat_dokumen_media") or [] if m is not None]
        details = {
            key: tracker.get_slot(slot)
            for key, slot in (
                ("nama_usaha", "surat_usaha_nama"),
                ("jenis_usaha", "surat_usaha_jenis"),
                ("alamat_usaha", "surat_usaha_alamat"),
                ("usaha_sejak", "surat_usaha_sejak"),
                ("tinggal_sejak", "surat_domisili_sejak"),
            )
            if tracker.get_slot(slot)
        }
        details["dokumen"] = [{"persyaratan": r, "media_id": m} for r, m in zip(letter.requirements, media)]
        if tracker.get_slot("surat_nik_cek") == "dikonfirmasi":
            details["nik_dikonfirmasi_pemohon"] = True
        draft = tickets.LetterDraft(
            letter_type=letter.code,
            sender=tracker.sender_id,
            idempotency_key=f"{tracker.sender_id}:{tracker.get_slot('flow_id')}",
            applicant_name=tracker.get_slot("surat_nama"),
            applicant_nik=_nik(tracker),
            applicant_address=tracker.get_slot("surat_alamat"),
            applicant_phone=tracker.get_slot("surat_telepon"),
            purpose=tracker.get_slot("surat_keperluan"),
            reporter_name=common.profile_name(tracker),
            rt=place.rt,
            rw=place.rw,
            on_behalf=tracker.get_slot("surat_untuk") == "keluarga",
            relationship=tracker.get_slot("surat_hubungan"),
            details=details,
            media_ids=media,
            unit_code=tracker.get_slot(units.SLOT_KELURAHAN),
        )
        outcome = await submissions.store(
            pending.LETTER, tickets.submit_letter_request, draft, dispatcher, tracker.sender_id
        )
        if outcome.view is None:
            return reset_flow(domain) if outcome.waiting else []
        view = outcome.view
        dispatcher.utter_message(
            response="utter_surat_terkirim",
            letter_name=letter.name,
            number=view.number,
            due_date=format_date(view.due_date) if view.due_date else "-",
        )
        if view.unit_name:
            dispatcher.utter_message(
                response="utter_surat_diteruskan_unit", unit=view.unit_name, pickup=view.pickup or "-"
            )
        return reset_flow(domain)
