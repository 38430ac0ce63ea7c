"""Complaint flows: what the forms take as answers, when they let the citizen leave, and the
submission that stores one routed ticket per confirmed report."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from actions.complaints import (
    ActionAskAduanKonfirmasi,
    ActionEmergency,
    ActionHoldAttachment,
    ActionStartComplaint,
    ActionSubmitComplaint,
    ValidateLaporJalanRusakForm,
    ValidateSampaikanAspirasiForm,
)
from layanwarga import db
from layanwarga.models import Ticket

from .conftest import make_tracker, run_action

FORM = "lapor_jalan_rusak_form"
PIN = {"location": {"latitude": -2.21, "longitude": 113.91, "name": "Jl. Merdeka", "address": None}}
PHOTO = {"media": {"media_db_id": 7, "type": "image"}}


def in_form(text: str, intent: str = "inform", requested: str = "aduan_lokasi", slots=None, **kw):  # type: ignore[no-untyped-def]
    values = {"aduan_kategori": "lapor_jalan_rusak", "flow_id": "f1", "requested_slot": requested}
    values.update(slots or {})
    return make_tracker(text, intent, slots=values, active_loop=FORM, **kw)


def validate(tracker, domain, form=ValidateLaporJalanRusakForm):  # type: ignore[no-untyped-def]
    return run_action(form(), tracker, domain)


def test_start_keeps_a_first_message_that_tells_what_happened(domain) -> None:  # type: ignore[no-untyped-def]
    run = run_action(
        ActionStartComplaint(),
        make_tracker("jln depan rmh sy rusak parah gk diperbaiki2", "lapor_jalan_rusak"),
        domain,
    )
    assert run.slots["aduan_deskripsi"] == "jln depan rmh sy rusak parah gk diperbaiki2"
    assert run.slots["aduan_kategori"] == "lapor_jalan_rusak"
    assert run.slots["flow_id"]


def test_start_asks_for_the_story_when_the_message_only_names_the_category(domain) -> None:  # type: ignore[no-untyped-def]
    run = run_action(ActionStartComplaint(), make_tracker("/lapor_sampah", "lapor_sampah"), domain)
    assert run.slots["aduan_deskripsi"] is None


def test_start_takes_a_photo_and_pin_sent_before_the_category(domain) -> None:  # type: ignore[no-untyped-def]
    held = run_action(
        ActionHoldAttachment(), make_tracker("/kirim_media", "kirim_media", metadata=PHOTO), domain
    )
    assert held.slots == {"aduan_tertunda_media": [7]}
    assert "utter_pilih_aduan" in held.responses
    run = run_action(
        ActionStartComplaint(),
        make_tracker(
            "/lapor_jalan_rusak",
            "lapor_jalan_rusak",
            slots={"aduan_tertunda_media": [7], "aduan_tertunda_lokasi": PIN["location"]},
        ),
        domain,
    )
    assert run.slots["aduan_media"] == [7]
    assert run.slots["aduan_lat"] == -2.21 and "Jl. Merdeka" in run.slots["aduan_lokasi"]
    assert run.slots["aduan_tertunda_media"] is None


def test_typed_location_is_taken_and_too_short_is_asked_again(domain) -> None:  # type: ignore[no-untyped-def]
    run = validate(in_form("gang mawar rt 3 rw 5 depan masjid"), domain)
    assert run.slots["aduan_lokasi"] == "gang mawar rt 3 rw 5 depan masjid"
    short = validate(in_form("situ"), domain)
    assert short.slots["aduan_lokasi"] is None
    assert "utter_aduan_lokasi_kurang" in short.responses


def test_location_pin_fills_place_and_coordinates(domain) -> None:  # type: ignore[no-untyped-def]
    run = validate(in_form("/kirim_lokasi", "kirim_lokasi", metadata=PIN), domain)
    assert run.slots["aduan_lat"] == -2.21 and run.slots["aduan_lon"] == 113.91
    assert run.slots["aduan_lokasi"].startswith("Jl. Merdeka")


def test_several_photos_are_collected_then_finished(domain) -> None:  # type: ignore[no-untyped-def]
    first = validate(in_form("/kirim_media", "kirim_media", requested="aduan_foto", metadata=PHOTO), domain)
    assert first.slots["aduan_media"] == [7]
    assert first.slots.get("aduan_foto") is None
    second = validate(
        in_form(
            "/kirim_media",
            "kirim_media",
            requested="aduan_foto",
            slots={"aduan_media": [7]},
            metadata={"media": {"media_db_id": 8}},
        ),
        domain,
    )
    assert second.slots["aduan_media"] == [7, 8]
    done = validate(
        in_form("/lewati", "lewati", requested="aduan_foto", slots={"aduan_media": [7, 8]}), domain
    )
    assert done.slots["aduan_foto"] == "selesai"


def test_photos_can_be_skipped(domain) -> None:  # type: ignore[no-untyped-def]
    run = validate(in_form("gak ada fotonya", "lewati", requested="aduan_foto"), domain)
    assert run.slots["aduan_foto"] == "dilewati"


@pytest.mark.parametrize("text", ["tdk ada foto", "ndak ada pak", "enggak"])
def test_any_spelling_of_no_skips_the_photos(domain, text: str) -> None:  # type: ignore[no-untyped-def]
    """Whatever the intent classifier made of it (here: nothing useful)."""
    run = validate(in_form(text, "nlu_fallback", requested="aduan_foto"), domain)
    assert run.slots["aduan_foto"] == "dilewati"


@pytest.mark.parametrize(
    "text, intent, expected",
    [
        ("/affirm", "affirm", True),
        ("/deny", "deny", False),
        ("ga usah", "batal", False),
        ("rahasiakan nama saya", "inform", True),
        ("jangan tampilkan nama sy", "inform", True),
        ("tidak perlu dirahasiakan", "deny", False),
        ("tak usah", "inform", False),
        ("nda perlu pak", "nlu_fallback", False),
    ],
)
def test_anonymity_answers(domain, text: str, intent: str, expected: bool) -> None:  # type: ignore[no-untyped-def]
    run = validate(in_form(text, intent, requested="aduan_anonim"), domain)
    assert run.slots["aduan_anonim"] is expected


@pytest.mark.parametrize(
    "text, intent",
    [
        ("batal", "batal"),
        ("menu", "bantuan"),
        ("ada kebakaran tolong", "darurat"),
        ("mau ngomong sama petugas", "minta_petugas"),
    ],
)
def test_exits_are_never_taken_as_answers(domain, text: str, intent: str) -> None:  # type: ignore[no-untyped-def]
    run = validate(in_form(text, intent), domain)
    assert run.events == []  # nothing extracted: Rasa rejects the form and the exit rules run


@pytest.mark.parametrize(
    "text, leaves",
    [
        ("gak jadi", True),
        ("ndak jadi lapor", True),
        ("tak jadi deh", True),
        ("kada jadi", True),
        ("ga usah", False),
        ("tidak perlu", False),
    ],
)
def test_a_cancel_inside_a_form_leaves_only_when_it_says_not_going_ahead(
    domain, text: str, leaves: bool
) -> None:  # type: ignore[no-untyped-def]
    """Classified as `batal`, "<no> jadi" in any spelling cancels; "no need" answers the question."""
    run = validate(in_form(text, "batal"), domain)
    assert (run.events == []) is leaves


def test_a_confident_letter_request_leaves_the_complaint(domain) -> None:  # type: ignore[no-untyped-def]
    assert validate(in_form("mau bikin sktm", "minta_sktm", confidence=0.97), domain).events == []


def test_side_question_is_answered_and_the_question_asked_again(domain) -> None:  # type: ignore[no-untyped-def]
    run = validate(in_form("kantor buka jam berapa", "jam_layanan"), domain)
    assert run.responses[:2] == ["utter_jam_layanan", "utter_lanjut_form"]
    assert run.slots == {"aduan_lokasi": None}


def test_an_unsure_side_question_is_an_answer(domain) -> None:  # type: ignore[no-untyped-def]
    run = validate(in_form("dekat kantor kelurahan langkai", "lokasi_kantor", confidence=0.6), domain)
    assert run.slots["aduan_lokasi"] == "dekat kantor kelurahan langkai"


def test_change_then_pick_the_part_clears_only_that_part(domain) -> None:  # type: ignore[no-untyped-def]
    filled = {
        "aduan_deskripsi": "lubang besar",
        "aduan_lokasi": "gang mawar",
        "aduan_foto": "dilewati",
        "aduan_anonim": False,
    }
    asked = validate(in_form("/ubah", "ubah", requested="aduan_konfirmasi", slots=filled), domain)
    assert asked.slots["aduan_mengubah"] is True
    picked = validate(
        in_form(
            '/ubah{"pilihan": "lokasi"}',
            "ubah",
            requested="aduan_ubah_bagian",
            slots={**filled, "aduan_mengubah": True},
            entities=[{"entity": "pilihan", "value": "lokasi"}],
        ),
        domain,
    )
    assert picked.slots["aduan_lokasi"] is None and picked.slots["aduan_mengubah"] is False
    assert "aduan_deskripsi" not in picked.slots


def test_aspiration_form_has_no_place_or_photo(domain) -> None:  # type: ignore[no-untyped-def]
    assert domain["forms"]["sampaikan_aspirasi_form"]["required_slots"] == [
        "aduan_deskripsi",
        "aduan_anonim",
        "aduan_rahasia",
        "aduan_konfirmasi",
    ]
    tracker = make_tracker(
        "tolong perbanyak taman bermain anak di kelurahan",
        "sampaikan_aspirasi",
        slots={"requested_slot": "aduan_deskripsi", "aduan_kategori": "sampaikan_aspirasi"},
        active_loop="sampaikan_aspirasi_form",
    )
    run = validate(tracker, domain, ValidateSampaikanAspirasiForm)
    assert run.slots["aduan_deskripsi"].startswith("tolong perbanyak")


def test_summary_shows_category_place_and_agency(domain) -> None:  # type: ignore[no-untyped-def]
    tracker = in_form(
        "",
        requested="aduan_konfirmasi",
        slots={
            "aduan_deskripsi": "lubang besar",
            "aduan_lokasi": "gang mawar",
            "aduan_media": [1, 2],
            "aduan_anonim": True,
        },
    )
    summary = run_action(ActionAskAduanKonfirmasi(), tracker, domain).said("utter_ask_aduan_konfirmasi")[
        "summary"
    ]
    assert "*Jenis:* Jalan atau jembatan rusak" in summary
    assert "*Lampiran:* 2 foto" in summary and "anonim" in summary
    assert "Dinas Pekerjaan Umum" in summary


def confirmed(sender: str = "6281234567890", flow: str = "flow-1"):  # type: ignore[no-untyped-def]
    return make_tracker(
        "/affirm",
        "affirm",
        sender=sender,
        slots={
            "flow_id": flow,
            "aduan_kategori": "lapor_jalan_rusak",
            "aduan_deskripsi": "Jalan berlubang di depan SDN 3",
            "aduan_lokasi": "Jl. Merdeka RT 3 RW 5",
            "aduan_lat": -2.21,
            "aduan_lon": 113.91,
            "aduan_media": [],
            "aduan_foto": "dilewati",
            "aduan_anonim": True,
            "aduan_konfirmasi": "kirim",
        },
        events=[{"event": "user", "text": "halo", "metadata": {"profile_name": "Siti"}}],
    )


def test_submission_stores_a_routed_ticket_and_tells_its_number(domain, db_url: str) -> None:  # type: ignore[no-untyped-def]
    run = run_action(ActionSubmitComplaint(), confirmed(), domain)
    reply = run.said("utter_aduan_terkirim")
    assert reply["number"].startswith("ADU-") and "Pekerjaan Umum" in reply["agency"]
    assert run.slots["aduan_deskripsi"] is None and run.slots["flow_id"] is None
    with db.session_scope() as session:
        ticket = session.execute(select(Ticket)).scalar_one()
        assert (ticket.state, ticket.agency_code, ticket.is_anonymous, ticket.rt, ticket.rw) == (
            "baru",
            "PUPR",
            True,
            "3",
            "5",
        )
        assert ticket.reporter_name == "Siti" and ticket.latitude == -2.21
        assert ticket.citizen.wa_id == "6281234567890"


def test_a_retried_submission_gives_the_same_ticket(domain, db_url: str) -> None:  # type: ignore[no-untyped-def]
    first = run_action(ActionSubmitComplaint(), confirmed(), domain).said("utter_aduan_terkirim")["number"]
    again = run_action(ActionSubmitComplaint(), confirmed(), domain).said("utter_aduan_terkirim")["number"]
    assert first == again
    with db.session_scope() as session:
        assert session.execute(select(func.count(Ticket.id))).scalar_one() == 1


def test_emergency_lists_numbers_and_leaves_any_form(domain) -> None:  # type: ignore[no-untyped-def]
    run = run_action(ActionEmergency(), in_form("tolong ada yg tenggelam", "darurat"), domain)
    assert "*112*" in run.said("utter_darurat")["numbers"]
    assert "utter_darurat_tawarkan_laporan" in run.responses
    assert {"event": "active_loop", "name": None} in [
        {k: e.get(k) for k in ("event", "name")} for e in run.events
    ]


@pytest.mark.skipif(
    not __import__("private_postgres").available(), reason="PostgreSQL server binaries not installed"
)
def test_a_submission_while_the_database_is_down_is_kept_and_the_citizen_told(
    domain, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    import private_postgres
    from layanwarga import migrate, pending

    server = private_postgres.PrivatePostgres()
    server.start()
    try:
        monkeypatch.setenv("DATABASE_URL", server.url)
        monkeypatch.setenv("LAYANWARGA_SPOOL_DIR", str(tmp_path / "spool"))
        migrate.upgrade(server.url)
        server.stop()
        db.dispose_engines()
        run = run_action(ActionSubmitComplaint(), confirmed(flow="outage"), domain)
        assert run.responses == ["utter_pengajuan_tertunda"]
        assert run.slots["flow_id"] is None  # the flow is over: the data is safe on disk
        assert [item["draft"]["idempotency_key"] for _, _, item in pending.spool().entries()] == [
            "6281234567890:outage"
        ]
    finally:
        db.dispose_engines()
        server.destroy()
