"""A city on one number (issue 21), in the conversation: the applicant's kelurahan read from the
address or asked once with lists (kecamatan, then kelurahan; a typed name searched, a misspelt
one understood, an unknown one asked again with suggestions), remembered and changeable; the
summaries and answers speak for the citizen's kelurahan; a single kelurahan asks nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest
from city_support import (
    JEKAN_RAYA,
    LANGKAI,
    MENTENG,
    PAHANDUT,
    PAHANDUT_SEBERANG,
    PALANGKA,
    PIN,
    PIN_OUTSIDE,
    write_city_config,
)
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.complaints import (
    ActionAskAduanKonfirmasi,
    ActionStartComplaint,
    ActionSubmitComplaint,
    ValidateLaporSampahForm,
    ValidateSampaikanAspirasiForm,
)
from actions.general import ActionOfficeHours, ActionOfficeLocation
from actions.letters import ActionAskSuratKonfirmasi, ActionStartLetter, ActionSubmitLetter, ValidateSktmForm
from actions.requirements import ActionTellRequirements
from actions.status import ActionCheckStatus
from actions.unit_form import ValidateWilayahForm
from actions.units import (
    SLOT_KECAMATAN,
    SLOT_KELURAHAN,
    SLOT_QUESTION,
    SLOT_SUGGESTIONS,
    ActionAskWilayahKelurahan,
    ActionChangeUnit,
    ActionChooseUnit,
    ActionSaveUnit,
)
from layanwarga import citizen_units, crypto, db, states, tickets
from layanwarga.config import CONFIG_ENV_VAR
from layanwarga.models import Ticket

from .conftest import make_tracker, run_action

SENDER = "6281234567890"
NIK = crypto.encrypt("6271014507850003")


@pytest.fixture(scope="module")
def city_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_city_config(tmp_path_factory.mktemp("city"))


@pytest.fixture
def city(city_file: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The deployment is the city (get_institution reads the file named by the environment)."""
    monkeypatch.setenv(CONFIG_ENV_VAR, str(city_file))
    yield city_file


def pick(code: str) -> Dict[str, Any]:
    return {
        "text": f'/pilih_unit{{"kode_unit": "{code}"}}',
        "intent": "pilih_unit",
        "entities": [{"entity": "kode_unit", "value": code}],
    }


def letter_form(text: str, requested: str, slots: Dict[str, Any] | None = None, **kw: Any):  # type: ignore[no-untyped-def]
    values = {
        "surat_jenis": "sktm",
        "flow_id": "f1",
        "requested_slot": requested,
        "surat_untuk": "sendiri",
        "surat_nama": "Siti Aminah",
        "surat_nik": NIK,
        "surat_alamat": "Jl. Garuda No. 5 RT 03 RW 02",
    }
    values.update(slots or {})
    return make_tracker(text, kw.pop("intent", "inform"), slots=values, active_loop="sktm_form", **kw)


def payloads(message: Dict[str, Any]) -> list:
    return [button["payload"] for button in message.get("buttons") or []]


# -- letters ---------------------------------------------------------------------------------------


def test_the_address_names_the_applicants_kelurahan(domain, city, sqlite_url) -> None:  # type: ignore[no-untyped-def]
    run = run_action(
        ValidateSktmForm(), letter_form("Jl. Garuda No. 5 RT 03 RW 02, kel. menteng", "surat_alamat"), domain
    )
    assert run.slots[SLOT_KELURAHAN] == MENTENG
    assert run.slots["requested_slot"] == "surat_telepon"  # nothing asked about the kelurahan


def test_an_address_without_kelurahan_asks_it_with_the_kecamatan_list(domain, city, sqlite_url) -> None:  # type: ignore[no-untyped-def]
    run = run_action(ValidateSktmForm(), letter_form("Jl. Garuda No. 5 RT 03 RW 02", "surat_alamat"), domain)
    assert run.slots.get(SLOT_KELURAHAN) is None and run.slots["requested_slot"] == SLOT_KELURAHAN
    ask = run_action(ActionAskWilayahKelurahan(), letter_form("", SLOT_KELURAHAN), domain).messages[0]
    assert "Di kelurahan mana" in ask["text"] and "ketik nama kelurahannya" in ask["text"]
    assert f'/pilih_unit{{"kode_unit": "{PAHANDUT}"}}' in payloads(ask) and len(ask["buttons"]) == 5


def test_a_kecamatan_tap_lists_its_kelurahan_then_a_kelurahan_tap_fills_it(domain, city) -> None:  # type: ignore[no-untyped-def]
    step = pick(JEKAN_RAYA)
    run = run_action(
        ValidateSktmForm(),
        letter_form(step["text"], SLOT_KELURAHAN, intent="pilih_unit", entities=step["entities"]),
        domain,
    )
    assert run.slots[SLOT_KECAMATAN] == JEKAN_RAYA and run.slots.get(SLOT_KELURAHAN) is None
    ask = run_action(
        ActionAskWilayahKelurahan(),
        letter_form("", SLOT_KELURAHAN, slots={SLOT_KECAMATAN: JEKAN_RAYA}),
        domain,
    ).messages[0]
    assert "Kecamatan Jekan Raya" in ask["text"]
    assert payloads(ask)[:2] == [
        f'/pilih_unit{{"kode_unit": "{PALANGKA}"}}',
        f'/pilih_unit{{"kode_unit": "{MENTENG}"}}',
    ]
    step = pick(MENTENG)
    done = run_action(
        ValidateSktmForm(),
        letter_form(step["text"], SLOT_KELURAHAN, intent="pilih_unit", entities=step["entities"]),
        domain,
    )
    assert done.slots[SLOT_KELURAHAN] == MENTENG and done.slots["requested_slot"] == "surat_telepon"


@pytest.mark.parametrize(
    "typed, code", [("lengkai", LANGKAI), ("pahandut sebrang", PAHANDUT_SEBERANG), ("Menteng", MENTENG)]
)
def test_a_typed_or_misspelt_kelurahan_is_understood(domain, city, typed: str, code: str) -> None:  # type: ignore[no-untyped-def]
    run = run_action(ValidateSktmForm(), letter_form(typed, SLOT_KELURAHAN), domain)
    assert run.slots[SLOT_KELURAHAN] == code


def test_an_unknown_name_is_asked_again_with_suggestions(domain, city) -> None:  # type: ignore[no-untyped-def]
    unknown = run_action(ValidateSktmForm(), letter_form("sukamakmur", SLOT_KELURAHAN), domain)
    assert unknown.slots.get(SLOT_KELURAHAN) is None and unknown.slots["requested_slot"] == SLOT_KELURAHAN
    missed = unknown.slots[SLOT_SUGGESTIONS]
    assert missed == {"teks": "sukamakmur", "kode": []}
    ask = run_action(
        ActionAskWilayahKelurahan(), letter_form("", SLOT_KELURAHAN, slots={SLOT_SUGGESTIONS: missed}), domain
    )
    assert "*sukamakmur* belum kami kenali" in ask.messages[0]["text"]
    assert len(ask.messages[1]["buttons"]) == 5  # nothing close: the kecamatan list
    assert ask.slots[SLOT_SUGGESTIONS] is None  # said once
    near = run_action(ValidateSktmForm(), letter_form("bukit", SLOT_KELURAHAN), domain)
    assert near.slots.get(SLOT_KELURAHAN) is None
    suggested = run_action(
        ActionAskWilayahKelurahan(),
        letter_form("", SLOT_KELURAHAN, slots={SLOT_SUGGESTIONS: near.slots[SLOT_SUGGESTIONS]}),
        domain,
    ).messages
    assert len(suggested) == 1 and "Maksud Bapak/Ibu salah satu ini?" in suggested[0]["text"]
    assert [b["title"] for b in suggested[0]["buttons"]] == ["Bukit Sua", "Bukit Batu", "Pilih dari daftar"]


def test_the_summary_and_the_submission_speak_for_the_kelurahan(domain, city, sqlite_url) -> None:  # type: ignore[no-untyped-def]
    slots = {
        "surat_alamat": "Jl. Garuda No. 5 RT 03 RW 02",
        SLOT_KELURAHAN: PALANGKA,
        "surat_telepon": SENDER,
        "surat_keperluan": "Berobat",
        "surat_dokumen_media": [],
        "surat_dokumen": "lengkap",
        "surat_konfirmasi": "kirim",
    }
    summary = run_action(
        ActionAskSuratKonfirmasi(), letter_form("", "surat_konfirmasi", slots=slots), domain
    ).said("utter_ask_surat_konfirmasi")["summary"]
    assert "*Kelurahan:* Kelurahan Palangka, Kecamatan Jekan Raya" in summary
    assert "*Tempat pengambilan:* Loket pelayanan Kantor Kelurahan Palangka" in summary
    run = run_action(ActionSubmitLetter(), letter_form("/affirm", None, slots=slots, intent="affirm"), domain)
    forwarded = run.said("utter_surat_diteruskan_unit")
    assert forwarded["unit"] == "Kelurahan Palangka" and "Kantor Kelurahan Palangka" in forwarded["pickup"]
    with db.session_scope() as session:
        ticket = session.execute(select(Ticket)).scalar_one()
        assert (ticket.unit_code, ticket.kelurahan_code, ticket.kecamatan_code) == (
            PALANGKA,
            PALANGKA,
            JEKAN_RAYA,
        )
    assert citizen_units.remembered_unit(SENDER) == PALANGKA


def test_a_remembered_kelurahan_fills_the_citizens_own_request_not_a_familys(
    domain, city, sqlite_url
) -> None:  # type: ignore[no-untyped-def]
    citizen_units.set_unit(SENDER, MENTENG, "pilih")
    own = run_action(ValidateSktmForm(), letter_form("Jl. Garuda No. 5 RT 03 RW 02", "surat_alamat"), domain)
    assert own.slots[SLOT_KELURAHAN] == MENTENG
    family = run_action(
        ValidateSktmForm(),
        letter_form(
            "Jl. Garuda No. 5 RT 03 RW 02",
            "surat_alamat",
            slots={"surat_untuk": "keluarga", "surat_hubungan": "ibu"},
        ),
        domain,
    )
    assert family.slots.get(SLOT_KELURAHAN) is None and family.slots["requested_slot"] == SLOT_KELURAHAN


def test_a_single_kelurahan_never_asks_for_a_unit(domain, sqlite_url) -> None:  # type: ignore[no-untyped-def]
    tracker = letter_form("Jl. Mawar 7 RT 01 RW 04, kel. menteng", "surat_alamat")
    run = run_action(ValidateSktmForm(), tracker, domain)
    assert SLOT_KELURAHAN not in run.slots
    form = ValidateSktmForm()
    asked = asyncio.run(
        form.required_slots(form.domain_slots(domain), CollectingDispatcher(), tracker, domain)
    )
    assert asked == domain["forms"]["sktm_form"]["required_slots"]
    hours = run_action(ActionOfficeHours(), make_tracker("jam buka?", "jam_layanan"), domain)
    assert (
        hours.responses == ["utter_jam_layanan"]
        and hours.said("utter_jam_layanan")["office_name"] == "Kelurahan Langkai"
    )
    moved = run_action(
        ActionSaveUnit(), make_tracker("", "pindah_kelurahan", slots={SLOT_KELURAHAN: LANGKAI}), domain
    )
    assert moved.responses == ["utter_wilayah_satu_kantor"]
    assert citizen_units.remembered_unit(SENDER) is None


# -- complaints and aspirations -------------------------------------------------------------------------


def complaint_slots(**extra: Any) -> Dict[str, Any]:
    values = {
        "flow_id": "c1",
        "aduan_kategori": "lapor_sampah",
        "aduan_deskripsi": "Sampah menumpuk seminggu",
        "aduan_lokasi": "depan pasar",
        "aduan_media": [],
        "aduan_foto": "dilewati",
        "aduan_anonim": False,
        "aduan_konfirmasi": "kirim",
        "requested_slot": "aduan_konfirmasi",
    }
    values.update(extra)
    return values


def test_a_complaint_summary_names_the_kelurahan_of_the_pin_and_the_upt(domain, city, sqlite_url) -> None:  # type: ignore[no-untyped-def]
    latitude, longitude = PIN[PALANGKA]
    tracker = make_tracker(
        "",
        "inform",
        slots=complaint_slots(aduan_lat=latitude, aduan_lon=longitude),
        active_loop="lapor_sampah_form",
    )
    summary = run_action(ActionAskAduanKonfirmasi(), tracker, domain).said("utter_ask_aduan_konfirmasi")[
        "summary"
    ]
    assert "*Wilayah:* Kelurahan Palangka, Kecamatan Jekan Raya" in summary
    assert "*Diteruskan ke:* Dinas Lingkungan Hidup (UPT Persampahan Wilayah Jekan Raya)" in summary
    sent = run_action(
        ActionSubmitComplaint(),
        make_tracker("/affirm", "affirm", slots=complaint_slots(aduan_lat=latitude, aduan_lon=longitude)),
        domain,
    ).said("utter_aduan_terkirim")
    assert sent["agency"] == "Dinas Lingkungan Hidup (UPT Persampahan Wilayah Jekan Raya)"
    with db.session_scope() as session:
        ticket = session.execute(select(Ticket)).scalar_one()
        assert (ticket.kelurahan_code, ticket.kecamatan_code, ticket.unit_source) == (
            PALANGKA,
            JEKAN_RAYA,
            "pin",
        )


def test_a_pin_outside_every_kelurahan_says_the_city_will_forward_it(domain, city, sqlite_url) -> None:  # type: ignore[no-untyped-def]
    slots = complaint_slots(aduan_lat=PIN_OUTSIDE[0], aduan_lon=PIN_OUTSIDE[1])
    summary = run_action(
        ActionAskAduanKonfirmasi(), make_tracker("", slots=slots, active_loop="lapor_sampah_form"), domain
    ).said("utter_ask_aduan_konfirmasi")["summary"]
    assert "*Wilayah:* belum diketahui, petugas kota akan meneruskannya" in summary
    reply = run_action(ActionSubmitComplaint(), make_tracker("/affirm", "affirm", slots=slots), domain).said(
        "utter_aduan_terkirim"
    )
    assert reply["number"].startswith("ADU-")
    with db.session_scope() as session:
        ticket = session.execute(select(Ticket)).scalar_one()
        assert (ticket.unit_code, ticket.kelurahan_code, ticket.unit_source) == ("62.71", None, "triase")


def test_an_aspiration_asks_the_citizens_kelurahan_once(domain, city, sqlite_url) -> None:  # type: ignore[no-untyped-def]
    start = make_tracker("saran: perbanyak taman", "sampaikan_aspirasi")
    assert run_action(ActionStartComplaint(), start, domain).slots[SLOT_KELURAHAN] is None
    tracker = make_tracker(
        "bikin taman bermain anak di kelurahan",
        "inform",
        slots={
            "requested_slot": "aduan_anonim",
            "aduan_kategori": "sampaikan_aspirasi",
            "aduan_deskripsi": "bikin taman bermain anak",
            # Answered already: the kelurahan is the last question before the summary.
            "aduan_rahasia": False,
        },
        active_loop="sampaikan_aspirasi_form",
    )
    run = run_action(
        ValidateSampaikanAspirasiForm(),
        make_tracker("tidak usah", "deny", slots=dict(tracker.slots), active_loop="sampaikan_aspirasi_form"),
        domain,
    )
    assert run.slots["requested_slot"] == SLOT_KELURAHAN
    citizen_units.set_unit(SENDER, PAHANDUT_SEBERANG, "pilih")
    assert run_action(ActionStartComplaint(), start, domain).slots[SLOT_KELURAHAN] == PAHANDUT_SEBERANG


# -- office questions and a change of kelurahan ----------------------------------------------------------


def test_office_hours_ask_the_kelurahan_then_answer_for_it_and_remember_it(domain, city, sqlite_url) -> None:  # type: ignore[no-untyped-def]
    asked = run_action(ActionOfficeHours(), make_tracker("jam buka kantor?", "jam_layanan"), domain)
    assert asked.slots[SLOT_QUESTION] == "jam_layanan" and "utter_jam_layanan" not in asked.responses
    step = pick(PAHANDUT)
    listed = run_action(
        ActionChooseUnit(),
        make_tracker(
            step["text"], "pilih_unit", entities=step["entities"], slots={SLOT_QUESTION: "jam_layanan"}
        ),
        domain,
    )
    assert listed.slots[
        SLOT_KECAMATAN
    ] == PAHANDUT and f'/pilih_unit{{"kode_unit": "{LANGKAI}"}}' in payloads(listed.messages[0])
    step = pick(LANGKAI)
    chosen = run_action(
        ActionChooseUnit(),
        make_tracker(
            step["text"], "pilih_unit", entities=step["entities"], slots={SLOT_QUESTION: "jam_layanan"}
        ),
        domain,
    )
    assert chosen.said("utter_jam_layanan")["office_name"] == "Kelurahan Langkai"
    assert "Kelurahan Langkai" in chosen.said("utter_wilayah_tersimpan")["unit"]
    assert citizen_units.remembered_unit(SENDER) == LANGKAI
    location = run_action(ActionOfficeLocation(), make_tracker("kantornya di mana", "lokasi_kantor"), domain)
    assert location.said("utter_lokasi_kantor")["address"].startswith(
        "Jl. Tjilik Riwut Km. 1 No. 10, Kelurahan Langkai"
    )
    assert "utter_wilayah_bukan" in location.responses


def test_saya_sudah_pindah_changes_the_remembered_kelurahan(domain, city, sqlite_url) -> None:  # type: ignore[no-untyped-def]
    citizen_units.set_unit(SENDER, LANGKAI, "alamat")
    named = run_action(
        ActionChangeUnit(), make_tracker("saya sudah pindah ke kelurahan menteng", "pindah_kelurahan"), domain
    )
    assert named.slots[SLOT_KELURAHAN] == MENTENG
    saved = run_action(
        ActionSaveUnit(), make_tracker("", "pindah_kelurahan", slots={SLOT_KELURAHAN: MENTENG}), domain
    )
    assert "Kelurahan Menteng" in saved.said("utter_wilayah_tersimpan")["unit"]
    assert citizen_units.remembered_unit(SENDER) == MENTENG
    vague = run_action(ActionChangeUnit(), make_tracker("saya pindah kelurahan", "pindah_kelurahan"), domain)
    assert vague.slots[SLOT_KELURAHAN] is None
    typed = run_action(
        ValidateWilayahForm(),
        make_tracker(
            "plangka", "inform", slots={"requested_slot": SLOT_KELURAHAN}, active_loop="wilayah_form"
        ),
        domain,
    )
    assert typed.slots[SLOT_KELURAHAN] == PALANGKA


def test_a_resubmission_keeps_the_kelurahan_unless_the_address_is_corrected(domain, city, sqlite_url) -> None:  # type: ignore[no-untyped-def]
    def rejected(flow: str, reason: str) -> None:
        slots = {
            "flow_id": flow,
            SLOT_KELURAHAN: MENTENG,
            "surat_telepon": SENDER,
            "surat_keperluan": "Berobat",
            "surat_dokumen_media": [],
            "surat_dokumen": "lengkap",
            "surat_konfirmasi": "kirim",
        }
        number = run_action(
            ActionSubmitLetter(), letter_form("/affirm", None, slots=slots, intent="affirm"), domain
        ).said("utter_surat_terkirim")["number"]
        with db.session_scope() as session:
            ticket_id = session.execute(select(Ticket.id).where(Ticket.number == number)).scalar_one()
        tickets.change_state(ticket_id, states.DITOLAK, "petugas", reason)

    rejected("f1", "Foto KK buram")
    again = run_action(ActionStartLetter(), make_tracker("ajukan sktm", "minta_sktm"), domain)
    assert again.slots[SLOT_KELURAHAN] == MENTENG
    rejected("f2", "Alamat tidak lengkap, mohon perbaiki alamat")
    moved = run_action(ActionStartLetter(), make_tracker("ajukan sktm", "minta_sktm"), domain)
    assert moved.slots["surat_nama"] == "Siti Aminah"  # resubmitted, the rest kept
    assert moved.slots[SLOT_KELURAHAN] is None


def test_the_status_names_the_kelurahan_the_upt_and_the_pick_up_place(domain, city, sqlite_url) -> None:  # type: ignore[no-untyped-def]
    slots = {
        SLOT_KELURAHAN: LANGKAI,
        "surat_telepon": SENDER,
        "surat_keperluan": "Berobat",
        "surat_dokumen_media": [],
        "surat_dokumen": "lengkap",
        "surat_konfirmasi": "kirim",
    }
    letter_number = run_action(
        ActionSubmitLetter(), letter_form("/affirm", None, slots=slots, intent="affirm"), domain
    ).said("utter_surat_terkirim")["number"]
    with db.session_scope() as session:
        ticket_id = session.execute(select(Ticket.id).where(Ticket.number == letter_number)).scalar_one()
    tickets.change_state(ticket_id, states.DIVERIFIKASI, "petugas", None)
    tickets.change_state(ticket_id, states.SIAP_DIAMBIL, "petugas", None)
    latitude, longitude = PIN[PAHANDUT_SEBERANG]
    complaint_number = run_action(
        ActionSubmitComplaint(),
        make_tracker("/affirm", "affirm", slots=complaint_slots(aduan_lat=latitude, aduan_lon=longitude)),
        domain,
    ).said("utter_aduan_terkirim")["number"]
    for number, expected in (
        (
            letter_number,
            [
                "Diproses di: Kelurahan Langkai",
                "Tempat pengambilan: Loket pelayanan Kantor Kelurahan Langkai",
            ],
        ),
        (
            complaint_number,
            ["Ditangani: Dinas Lingkungan Hidup (UPT Persampahan Wilayah Pahandut dan Sabangau)"],
        ),
    ):
        tracker = make_tracker(
            f"cek {number}", "cek_status", entities=[{"entity": "nomor_tiket", "value": number}]
        )
        text = run_action(ActionCheckStatus(), tracker, domain).messages[0]["text"]
        assert all(line in text for line in expected), text


def test_requirements_are_those_of_the_citizens_kelurahan_or_ask_which(domain, city, sqlite_url) -> None:  # type: ignore[no-untyped-def]
    question = make_tracker(
        "syarat sktm apa aja", "tanya_syarat", entities=[{"entity": "layanan", "value": "sktm"}]
    )
    asked = run_action(ActionTellRequirements(), question, domain)
    assert "utter_syarat_surat" not in asked.responses and asked.slots[SLOT_QUESTION] == "syarat:sktm"
    step = pick(MENTENG)
    answered = run_action(
        ActionChooseUnit(),
        make_tracker(step["text"], "pilih_unit", entities=step["entities"], slots=asked.slots),
        domain,
    )
    assert answered.said("utter_syarat_surat")["pickup"].startswith(
        "Loket pelayanan Kantor Kelurahan Menteng"
    )
    again = run_action(ActionTellRequirements(), question, domain)
    assert again.said("utter_syarat_surat")["pickup"].startswith("Loket pelayanan Kantor Kelurahan Menteng")


def test_ubah_kelurahan_at_the_summary_asks_it_again(domain, city) -> None:  # type: ignore[no-untyped-def]
    aspiration = make_tracker(
        "ubah kelurahan",
        "ubah",
        active_loop="sampaikan_aspirasi_form",
        slots={
            "requested_slot": "aduan_konfirmasi",
            "aduan_kategori": "sampaikan_aspirasi",
            "aduan_deskripsi": "perbanyak taman",
            "aduan_anonim": False,
            "aduan_rahasia": False,
            SLOT_KELURAHAN: MENTENG,
        },
    )
    run = run_action(ValidateSampaikanAspirasiForm(), aspiration, domain)
    assert run.slots[SLOT_KELURAHAN] is None and run.slots["requested_slot"] == SLOT_KELURAHAN
    complaint = make_tracker(
        "ganti kelurahannya",
        "ubah",
        active_loop="lapor_sampah_form",
        slots=complaint_slots(aduan_lat=-2.2, aduan_lon=113.9),
    )
    moved = run_action(ValidateLaporSampahForm(), complaint, domain)
    assert moved.slots["aduan_lokasi"] is None and moved.slots["aduan_lat"] is None
    letter = run_action(
        ValidateSktmForm(),
        letter_form(
            "ubah kelurahan",
            "surat_konfirmasi",
            intent="ubah",
            slots={SLOT_KELURAHAN: MENTENG, "surat_telepon": SENDER},
        ),
        domain,
    )
    assert letter.slots["surat_alamat"] is None and letter.slots[SLOT_KELURAHAN] is None
