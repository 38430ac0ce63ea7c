"""Data rights in the conversation: the summary, and erasure only after an explicit yes."""

from __future__ import annotations

from sqlalchemy import func, select

from actions.privacy import ActionEraseMyData, ActionShowMyData, ValidateHapusDataForm
from layanwarga import db, tickets
from layanwarga.config import get_institution
from layanwarga.models import Citizen

from .conftest import make_tracker, run_action


def submit() -> str:
    return tickets.submit_complaint(
        get_institution(),
        tickets.ComplaintDraft(
            category="lapor_sampah",
            description="Sampah menumpuk di TPS",
            sender="6281234567890",
            idempotency_key="k",
        ),
    ).number


def test_summary_lists_the_citizens_own_tickets(domain, db_url: str) -> None:  # type: ignore[no-untyped-def]
    number = submit()
    message = run_action(ActionShowMyData(), make_tracker("data sy apa aja", "lihat_data_saya"), domain).said(
        "utter_data_saya"
    )
    assert message["complaints"] == number and message["phone"] == "6281*****7890"
    other = run_action(
        ActionShowMyData(), make_tracker("data sy apa aja", "lihat_data_saya", sender="628000"), domain
    )
    assert other.responses == ["utter_data_saya_kosong"]


def test_erasure_needs_an_explicit_yes(domain, db_url: str) -> None:  # type: ignore[no-untyped-def]
    submit()
    asked = {"requested_slot": "hapus_konfirmasi"}
    unclear = run_action(
        ValidateHapusDataForm(),
        make_tracker("hmm", "inform", slots=asked, active_loop="hapus_data_form"),
        domain,
    )
    assert unclear.slots["hapus_konfirmasi"] is None and "utter_hapus_konfirmasi_pilih" in unclear.responses
    no = run_action(
        ActionEraseMyData(), make_tracker("/deny", "deny", slots={"hapus_konfirmasi": "tidak"}), domain
    )
    assert no.responses == ["utter_hapus_dibatalkan"]
    with db.session_scope() as session:
        assert session.execute(select(func.count(Citizen.id))).scalar_one() == 1
    yes = run_action(
        ActionEraseMyData(), make_tracker("/affirm", "affirm", slots={"hapus_konfirmasi": "ya"}), domain
    )
    assert yes.said("utter_data_dihapus")["tickets"] == 1
    assert yes.slots["hapus_konfirmasi"] is None
    with db.session_scope() as session:
        assert session.execute(select(func.count(Citizen.id))).scalar_one() == 0
