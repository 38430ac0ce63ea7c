"""Resubmitting a rejected letter request: what was accepted is kept, only what the clerk's reason
is about is asked again, and the new request is stored with the kept and the new photos."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import pytest
from sqlalchemy import select

from actions.letters import (
    ActionAskSuratDokumen,
    ActionAskSuratKonfirmasi,
    ActionStartLetter,
    ActionSubmitLetter,
    ValidateSktmForm,
)
from layanwarga import crypto, db, states, tickets
from layanwarga.models import Media, Ticket

from .conftest import make_tracker, run_action
from .test_letters import complete, in_form

SENDER = "6281234567890"


def photos(count: int) -> List[int]:
    with db.session_scope() as session:
        rows = [Media(whatsapp_media_id=f"m{i}", mime_type="image/jpeg") for i in range(count)]
        session.add_all(rows)
        session.flush()
        return [m.id for m in rows]


def rejected(domain: Dict[str, Any], reason: str) -> tuple:
    """An SKTM request submitted in the chat, then rejected by a clerk with ``reason``."""
    ids = photos(3)
    slots = {**complete(), "surat_dokumen_media": ids}
    number = run_action(
        ActionSubmitLetter(), in_form("/affirm", "affirm", requested=None, slots=slots), domain
    ).said("utter_surat_terkirim")["number"]
    with db.session_scope() as session:
        ticket_id = session.execute(select(Ticket.id).where(Ticket.number == number)).scalar_one()
    tickets.change_state(ticket_id, states.DITOLAK, "petugas", reason)
    return number, ids


def start(
    domain: Dict[str, Any], text: str = "ajukan sktm", sender: str = SENDER, entities: Optional[list] = None
):  # type: ignore[no-untyped-def]
    return run_action(
        ActionStartLetter(), make_tracker(text, "minta_sktm", sender=sender, entities=entities), domain
    )


def test_a_blurred_kk_photo_asks_for_that_photo_only(db_url, domain) -> None:  # type: ignore[no-untyped-def]
    """Was: 'ajukan sktm' after a rejection asked for the NIK and all three photos again."""
    number, (ktp, kk, letter) = rejected(domain, "Foto KK buram, mohon kirim ulang yang jelas")
    run = start(domain)
    said = run.said("utter_surat_ajukan_ulang")
    assert said["number"] == number and said["asked"] == "foto Kartu Keluarga (KK)"
    assert [b["title"] for b in said["buttons"]] == ["Permohonan baru"]
    slots = run.slots
    assert slots["surat_nama"] == "Siti Aminah" and crypto.decrypt(slots["surat_nik"]) == "6271024507850003"
    assert slots["surat_alamat"] and slots["surat_telepon"] and slots["surat_keperluan"]
    assert slots["surat_dokumen_media"] == [ktp, None, letter] and slots["surat_dokumen"] is None

    # The form asks for the KK photo only, and the new photo takes its place.
    form_slots = {**{k: v for k, v in slots.items() if v is not None}, "requested_slot": "surat_dokumen"}
    ask = run_action(
        ActionAskSuratDokumen(), in_form("", requested="surat_dokumen", slots=form_slots), domain
    )
    assert ask.said("utter_ask_surat_dokumen_ulang")["requirement"] == "Foto Kartu Keluarga (KK)"
    (new_kk,) = photos(1)
    photo = run_action(
        ValidateSktmForm(),
        in_form(
            "/kirim_media",
            "kirim_media",
            requested="surat_dokumen",
            slots=form_slots,
            metadata={"media": {"media_db_id": new_kk}},
        ),
        domain,
    )
    assert (
        photo.slots["surat_dokumen_media"] == [ktp, new_kk, letter]
        and photo.slots["surat_dokumen"] == "lengkap"
    )
    assert photo.slots["requested_slot"] == "surat_konfirmasi"

    final = {**form_slots, **photo.slots, "surat_konfirmasi": "kirim", "flow_id": "resubmission"}
    summary = run_action(
        ActionAskSuratKonfirmasi(), in_form("", requested="surat_konfirmasi", slots=final), domain
    ).said("utter_ask_surat_konfirmasi")["summary"]
    assert "3 foto" in summary
    new_number = run_action(
        ActionSubmitLetter(), in_form("/affirm", "affirm", requested=None, slots=final), domain
    ).said("utter_surat_terkirim")["number"]
    with db.session_scope() as session:
        new = session.execute(select(Ticket).where(Ticket.number == new_number)).scalar_one()
        assert [d["persyaratan"] for d in new.details["dokumen"]] == [
            "Foto KTP pemohon",
            "Foto Kartu Keluarga (KK)",
            "Surat pengantar RT/RW",
        ]
        assert [d["media_id"] for d in new.details["dokumen"]][1] == new_kk
        assert new.applicant_nik == "6271024507850003"


@pytest.mark.parametrize(
    "reason,cleared,asked",
    [
        ("NIK tidak sesuai dengan KTP", ["surat_nik"], "NIK"),
        ("Alamat tidak lengkap, RT/RW tidak ada", ["surat_alamat"], "alamat"),
        ("Nama pemohon tidak sesuai KTP", ["surat_nama"], "nama pemohon"),
        ("Surat pengantar RT/RW belum ditandatangani", [], "foto surat pengantar RT/RW"),
        ("Foto KTP terpotong dan nomor HP tidak aktif", ["surat_telepon"], "nomor HP dan foto KTP pemohon"),
    ],
)
def test_only_what_the_reason_is_about_is_asked_again(
    reason: str, cleared: List[str], asked: str, db_url, domain
) -> None:  # type: ignore[no-untyped-def]
    rejected(domain, reason)
    run = start(domain)
    assert run.said("utter_surat_ajukan_ulang")["asked"] == asked
    kept = {
        "surat_nama",
        "surat_nik",
        "surat_alamat",
        "surat_telepon",
        "surat_keperluan",
        "surat_untuk",
    } - set(cleared)
    assert all(run.slots.get(slot) is not None for slot in kept)
    assert all(run.slots.get(slot) is None for slot in cleared)


def test_a_reason_that_names_nothing_fills_everything_for_the_citizen_to_check(db_url, domain) -> None:  # type: ignore[no-untyped-def]
    rejected(domain, "Mohon datang langsung ke kantor kelurahan")
    run = start(domain)
    assert run.responses == ["utter_surat_ajukan_ulang_periksa"]
    assert run.slots["surat_dokumen"] == "lengkap" and run.slots["surat_nama"] == "Siti Aminah"


def test_a_new_request_is_asked_for_with_the_button(db_url, domain) -> None:  # type: ignore[no-untyped-def]
    rejected(domain, "Foto KK buram")
    run = start(domain, '/minta_sktm{"pilihan": "baru"}', entities=[{"entity": "pilihan", "value": "baru"}])
    assert run.responses == ["utter_surat_mulai"] and run.slots["surat_nama"] is None
    # Inside the resubmission, the button leaves it so that the request starts again.
    tracker = in_form(
        '/minta_sktm{"pilihan": "baru"}',
        "minta_sktm",
        requested="surat_dokumen",
        entities=[{"entity": "pilihan", "value": "baru"}],
    )
    assert "surat_dokumen" not in run_action(ValidateSktmForm(), tracker, domain).slots


def test_nothing_is_resubmitted_after_a_newer_request_or_for_someone_else(db_url, domain) -> None:  # type: ignore[no-untyped-def]
    number, _ = rejected(domain, "Foto KK buram")
    other = start(domain, sender="628999", entities=[{"entity": "nomor_tiket", "value": number}])
    assert other.responses == ["utter_surat_mulai"] and other.slots.get("surat_nama") is None
    slots = {**complete(), "surat_dokumen_media": photos(3)}
    run_action(
        ActionSubmitLetter(),
        in_form("/affirm", "affirm", requested=None, slots={**slots, "flow_id": "newer"}),
        domain,
    )
    assert start(domain).responses == ["utter_surat_mulai"]
    # Its number still resubmits it on purpose.
    assert start(domain, entities=[{"entity": "nomor_tiket", "value": number}]).responses == [
        "utter_surat_ajukan_ulang"
    ]


def test_the_kept_nik_passes_the_form_as_it_starts(db_url, domain) -> None:  # type: ignore[no-untyped-def]
    """The resubmitted NIK (held encrypted) was checked as typed digits when the form started:
    "NIK harus 16 digit, yang Bapak/Ibu kirim 19 digit", and asked again."""
    rejected(domain, "Foto KK buram")
    started = start(domain)
    tracker = make_tracker("ajukan sktm", "minta_sktm", sender=SENDER, active_loop="sktm_form")
    tracker.events += [{"event": "action", "name": "action_start_letter"}] + [
        e for e in started.events if e.get("event") == "slot"
    ]
    tracker.slots.update(started.slots)
    run = run_action(ValidateSktmForm(), tracker, domain)
    assert run.messages == []
    assert (
        run.slots["surat_nik"] == started.slots["surat_nik"]
        and run.slots["requested_slot"] == "surat_dokumen"
    )
