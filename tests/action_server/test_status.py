"""Status questions that name a letter ("cek sktm sy") show only that letter's requests, found
in the database however many other tickets are newer, and say so when there are none."""

from __future__ import annotations

from actions.status import ActionCheckStatus
from tests.dashboard.support import complaint, letter

from .conftest import make_tracker, run_action

SENDER = "6281234567890"
SKTM = [{"entity": "layanan", "value": "sktm"}]


def ask(text: str, domain, entities=None):  # type: ignore[no-untyped-def]
    return run_action(
        ActionCheckStatus(), make_tracker(text, "cek_status", sender=SENDER, entities=entities), domain
    )


def test_a_letter_named_shows_its_request_behind_many_newer_complaints(db_url, domain) -> None:  # type: ignore[no-untyped-def]
    request = letter("sktm-1", sender=SENDER)
    for index in range(11):
        complaint(f"c{index}", sender=SENDER)
    run = ask("cek sktm sy", domain, SKTM)
    (message,) = run.messages
    assert request.number in message["text"] and "ADU-" not in message["text"]


def test_several_requests_of_the_letter_are_listed_without_the_rest(db_url, domain) -> None:  # type: ignore[no-untyped-def]
    first, second = letter("sktm-1", sender=SENDER), letter("sktm-2", sender=SENDER)
    letter("sku-1", sender=SENDER, letter_type="sku")
    complaint("c1", sender=SENDER)
    message = ask("cek sktm sy", domain, SKTM).said("utter_status_pilih_layanan")
    assert message["letter_name"] == "Surat Keterangan Tidak Mampu (SKTM)"
    assert [b["title"] for b in message["buttons"]] == [second.number, first.number]


def test_no_request_of_the_letter_is_said_as_such(db_url, domain) -> None:  # type: ignore[no-untyped-def]
    """Was: "Belum ada laporan atau permohonan" to a citizen who has complaints."""
    complaint("c1", sender=SENDER)
    run = ask("cek sktm sy", domain, SKTM)
    assert run.responses == ["utter_status_kosong_layanan"]
    assert ask("cek status", domain).responses == [None]  # the complaint itself, described


def test_a_status_question_naming_a_letter_inside_a_form_is_answered_and_the_form_goes_on(
    db_url, domain
) -> None:  # type: ignore[no-untyped-def]
    from actions.complaints import ValidateLaporSampahForm

    request = letter("sktm-1", sender=SENDER)
    slots = {"aduan_kategori": "lapor_sampah", "flow_id": "f1", "requested_slot": "aduan_lokasi"}
    tracker = make_tracker(
        "cek sktm sy",
        "cek_status",
        sender=SENDER,
        slots=slots,
        entities=SKTM,
        active_loop="lapor_sampah_form",
    )
    run = run_action(ValidateLaporSampahForm(), tracker, domain)
    assert request.number in run.messages[0]["text"]
    assert run.responses[-1] == "utter_lanjut_form" and run.slots["aduan_lokasi"] is None
