"""A ticket's page shows the conversation that belongs to it: its own form from the message that
started it to its submission, then the citizen's replies to messages about the ticket; never the
citizen's other chats (a letter request's income and health details on a complaint page),
whatever their time."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from pathlib import Path
from typing import Any, Dict, List

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select, text

from layanwarga import conversation_log, db, migrate, notifications, privacy, states
from layanwarga.models import Citizen, ConversationFlow, ConversationMessage
from tests.dashboard.support import INST, MONDAY_MORNING, complaint, letter, login, make_user, ticket_id
from whatsapp import statuses

ANI = "6281000000001"
ROOT = Path(__file__).resolve().parents[2]
WRITTEN_AT = MONDAY_MORNING.replace(tzinfo=None) - dt.timedelta(minutes=20)
CHAT_ITEM_RE = re.compile(r'<li class="msg (in|out)">.*?<span class="text">(.*?)</span>', re.S)


def conversation_on_page(html: str) -> List[str]:
    """The texts of the conversation card of a ticket page, in order."""
    return [text_ for _, text_ in CHAT_ITEM_RE.findall(html)]


def _said(text_: str, wamid: str, **kwargs: Any) -> None:
    """A message of Ani's, written minutes before the tickets' (fixed) creation time: a time
    window around the ticket would take in all of them."""
    conversation_log.log_inbound(ANI, text_, wamid=wamid, at=WRITTEN_AT, **kwargs)


def _answered(text_: str, wamid: str) -> None:
    statuses.record_outbound(wamid, ANI, text_)


@pytest.fixture
def ani(db_url: str) -> Dict[str, str]:
    """Ani applies for an SKTM (income, a sick child), then reports a damaged road, thanks the
    assistant and asks about social aid; staff verify the report and she answers that message."""
    make_user("admin", "admin")
    make_user("surat", "surat")
    make_user("pupr", "opd", "PUPR")
    _said("mau buat sktm", "w.s1")
    assert conversation_log.start_flow(ANI, "sktmflow", "w.s1")
    _answered("Surat ini untuk siapa?", "o.s1")
    _said("penghasilan saya 900 ribu sebulan", "w.s2")
    _said("anak saya sakit jantung, mau berobat", "w.s3")
    _answered("Mohon periksa ringkasan permohonan.", "o.s2")
    _said("kirim", "w.s4")
    sktm = letter(f"{ANI}:sktmflow", sender=ANI).number
    _answered("Permohonan tercatat dengan nomor SKTM.", "o.s3")

    _said("jalan depan rumah berlubang besar", "w.c1")
    assert conversation_log.start_flow(ANI, "aduflow", "w.c1")
    _answered("Di mana lokasinya?", "o.c1")
    _said("gang mawar rt 3 rw 5", "w.c2")
    _answered("Mohon periksa ringkasan laporan.", "o.c2")
    _said("kirim", "w.c3")
    road = complaint(f"{ANI}:aduflow", sender=ANI, reporter_name="Ani Lestari").number
    _answered("Laporan tercatat, diteruskan ke PUPR.", "o.c3")
    _said("makasih", "w.c4")
    _answered("Sama-sama, Bapak/Ibu.", "o.c4")
    _said("saya juga mau tanya bansos, gaji saya cuma 1 juta", "w.c5")

    result = notifications.change_state_and_notify(INST, ticket_id(road), states.DIVERIFIKASI, "staf:admin")
    notifications.mark_sent(result.notification_id, "wamid.status1", "text")
    _said("terima kasih pak, mohon segera ya", "w.c6", reply_to="wamid.status1")
    _answered("Baik, pesan Bapak/Ibu kami sampaikan.", "o.c6")
    notifications.change_state_and_notify(
        INST, ticket_id(road), states.DITERUSKAN, "staf:admin", agency_code="PUPR"
    )
    return {"road": road, "sktm": sktm}


ROAD_CONVERSATION = [
    "jalan depan rumah berlubang besar",
    "Di mana lokasinya?",
    "gang mawar rt 3 rw 5",
    "Mohon periksa ringkasan laporan.",
    "kirim",
    "terima kasih pak, mohon segera ya",
]
SKTM_CONVERSATION = [
    "mau buat sktm",
    "Surat ini untuk siapa?",
    "penghasilan saya 900 ribu sebulan",
    "anak saya sakit jantung, mau berobat",
    "Mohon periksa ringkasan permohonan.",
    "kirim",
]


@pytest.mark.parametrize("username", ["admin", "pupr"])
def test_a_complaint_page_shows_its_own_form_and_replies_about_it_only(
    app, ani: Dict[str, str], username: str
) -> None:  # type: ignore[no-untyped-def]
    page = login(app, username).get(f"/tiket/{ani['road']}").get_data(as_text=True)
    assert conversation_on_page(page) == ROAD_CONVERSATION
    for private in ("penghasilan", "sakit jantung", "bansos", "makasih"):
        assert private not in page


def test_a_letter_page_shows_the_letter_form_only(app, ani: Dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    page = login(app, "surat").get(f"/tiket/{ani['sktm']}").get_data(as_text=True)
    assert conversation_on_page(page) == SKTM_CONVERSATION
    assert "berlubang" not in page and "bansos" not in page


def test_lines_of_a_form_that_never_became_a_ticket_belong_to_no_ticket(db_url: str) -> None:
    _said("mau buat sktm", "w.1")
    conversation_log.start_flow(ANI, "abandoned", "w.1")
    _said("batal", "w.2")
    _said("lampu jalan mati", "w.3")
    conversation_log.start_flow(ANI, "lamp", "w.3")
    _said("kirim", "w.4")
    number = complaint(f"{ANI}:lamp", sender=ANI, category="lapor_lampu_padam").number
    with db.session_scope() as session:
        rows = session.execute(
            select(ConversationMessage.text, ConversationMessage.ticket_id).order_by(ConversationMessage.id)
        ).all()
    assert rows == [
        ("mau buat sktm", None),
        ("batal", None),
        ("lampu jalan mati", ticket_id(number)),
        ("kirim", ticket_id(number)),
    ]


def test_a_conversation_with_an_officer_is_no_part_of_a_form(db_url: str) -> None:
    from layanwarga import handoff

    _said("lampu jalan mati", "w.1")
    conversation_log.start_flow(ANI, "lamp", "w.1")
    handoff.open_handoff(ANI, inst=INST)
    _said("pak, ini nomor hp suami saya", "w.2")
    handoff.close_handoff(sender=ANI, notify=False, inst=INST)
    _said("kirim", "w.3")
    number = complaint(f"{ANI}:lamp", sender=ANI, category="lapor_lampu_padam").number
    with db.session_scope() as session:
        rows = session.execute(
            select(ConversationMessage.text, ConversationMessage.ticket_id).order_by(ConversationMessage.id)
        ).all()
    assert rows == [
        ("lampu jalan mati", ticket_id(number)),
        ("pak, ini nomor hp suami saya", None),
        ("kirim", ticket_id(number)),
    ]


def test_a_submission_stored_late_takes_no_line_of_a_form_started_after_it(db_url: str) -> None:
    """The ticket database was down at *Kirim*: the complaint waited in the spool while Ani
    started an SKTM request; storing it later links the complaint's lines only."""
    _said("lampu jalan mati", "w.1")
    conversation_log.start_flow(ANI, "lamp", "w.1")
    _said("kirim", "w.2")
    _said("mau buat sktm", "w.3")
    conversation_log.start_flow(ANI, "sktm", "w.3")
    _said("penghasilan saya 900 ribu", "w.4")
    number = complaint(f"{ANI}:lamp", sender=ANI, category="lapor_lampu_padam").number
    with db.session_scope() as session:
        rows = session.execute(
            select(ConversationMessage.text, ConversationMessage.ticket_id).order_by(ConversationMessage.id)
        ).all()
    lamp = ticket_id(number)
    assert rows == [
        ("lampu jalan mati", lamp),
        ("kirim", lamp),
        ("mau buat sktm", None),
        ("penghasilan saya 900 ribu", None),
    ]


def _domain() -> Dict[str, Any]:
    from rasa.shared.core.domain import Domain

    return Domain.load(str(ROOT / "domain")).as_dict()


def test_the_forms_own_actions_record_its_conversation(app, db_url: str) -> None:  # type: ignore[no-untyped-def]
    """The start action records the form from the message that started it (its WhatsApp id in
    the metadata) and the submission's idempotency key finds it: the format the actions use."""
    from actions.complaints import ActionStartComplaint, ActionSubmitComplaint
    from tests.action_server.conftest import make_tracker

    make_user("admin", "admin")
    domain = _domain()
    _said("penghasilan saya kecil, mau sktm", "w.0")
    _said("lampu jalan di gang 3 mati", "w.1")
    start = make_tracker(
        "lampu jalan di gang 3 mati", "lapor_lampu_padam", sender=ANI, metadata={"message_id": "w.1"}
    )
    events = asyncio.run(ActionStartComplaint().run(CollectingDispatcher(), start, domain))
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    _answered("Di mana lokasinya?", "o.1")
    _said("depan masjid", "w.2")
    _said("kirim", "w.3")
    slots.update(aduan_lokasi="depan masjid", aduan_konfirmasi="kirim")
    dispatcher = CollectingDispatcher()
    submit = make_tracker("kirim", "affirm", sender=ANI, slots=slots, metadata={"message_id": "w.3"})
    asyncio.run(ActionSubmitComplaint().run(dispatcher, submit, domain))
    number = dispatcher.messages[0]["number"]
    page = login(app, "admin").get(f"/tiket/{number}").get_data(as_text=True)
    assert conversation_on_page(page) == [
        "lampu jalan di gang 3 mati",
        "Di mana lokasinya?",
        "depan masjid",
        "kirim",
    ]


def test_erasing_a_citizen_removes_their_forms(db_url: str) -> None:
    _said("lampu jalan mati", "w.1")
    conversation_log.start_flow(ANI, "lamp", "w.1")
    privacy.erase(ANI)
    with db.session_scope() as session:
        assert session.execute(select(ConversationFlow.id)).all() == []
        assert session.execute(select(Citizen.id)).all() == []


def test_the_migration_gives_existing_outbox_lines_their_ticket(tmp_path: Path) -> None:
    from alembic import command

    url = f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(migrate.alembic_config(url), "0013_handoff_waiting")
    with db.session_scope(url) as session:
        for statement in (
            "INSERT INTO citizens (id, wa_id, created_at, updated_at) VALUES (1, :sender, :now, :now)",
            "INSERT INTO tickets (id, number, kind, category, state, citizen_id, is_anonymous, is_confidential, "
            "on_behalf, details, created_at, updated_at) VALUES (7, 'ADU-2026-00007', 'aduan', 'lapor_sampah', "
            "'diverifikasi', 1, false, false, false, '{}', :now, :now)",
            "INSERT INTO notifications (id, citizen_id, ticket_id, kind, text, status, attempts, next_attempt_at, "
            "created_by, created_at, updated_at) VALUES (3, 1, 7, 'status', 'Laporan diverifikasi', 'sent', 1, :now, "
            "'sistem', :now, :now)",
            "INSERT INTO conversation_messages (sender, direction, kind, text, actor, notification_id, created_at) "
            "VALUES (:sender, 'out', 'text', 'Laporan diverifikasi', 'sistem', 3, :now)",
            "INSERT INTO conversation_messages (sender, direction, kind, text, actor, created_at) "
            "VALUES (:sender, 'in', 'text', 'halo', 'warga', :now)",
        ):
            session.execute(text(statement), {"sender": ANI, "now": "2026-11-23 02:00:00"})
    migrate.upgrade(url)
    with db.session_scope(url) as session:
        rows = session.execute(
            select(ConversationMessage.text, ConversationMessage.ticket_id).order_by(ConversationMessage.id)
        ).all()
    db.dispose_engines()
    assert rows == [("Laporan diverifikasi", 7), ("halo", None)]
