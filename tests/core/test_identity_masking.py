"""Every way of typing a NIK that the letter form accepts is masked in every place text is kept or
shown: the conversation (tracker) store, the staff message log, log records, ticket text staff
see, and the analytics event broker. Ticket numbers, phone numbers, dates and RT/RW stay as
they are. One table of inputs, one rule (``layanwarga.nik.find_in_text``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import unicodedata
import uuid
from pathlib import Path
from typing import Any, Dict, List

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select, text as sql
from sqlalchemy.future import create_engine

from layanwarga import conversation_log, crypto, db, nik, tickets
from layanwarga.config import get_institution
from layanwarga.models import ConversationMessage, Media, StateChange, Ticket
from layanwarga.redaction import install_log_masking, mask_identifiers

INST = get_institution()
NIK = "6271014506850003"
MASKED = "6271********0003"
HIDDEN = NIK[4:12]  # the birth date and district digits masking hides

# How citizens type a NIK (all accepted by the letter form, see the first test).
TYPED = {
    "plain": NIK,
    "glued to letters": "NIK6271014506850003",
    "trailing letters": "6271014506850003abc",
    "slashes": "6271/0145/0685/0003",
    "double spaces": "6271  0145  0685  0003",
    "dashes": "6271-0145-0685-0003",
    "spaced dashes": "6271 - 0145 - 0685 - 0003",
    "en dashes": "6271\u20130145\u20130685\u20130003",
    "dots as on a KK": "6271.01.450685.0003",
    "underscores": "6271_0145_0685_0003",
    "mixed separators": "6271 0145-0685.0003",
    "pairs": "62 71 01 45 06 85 00 03",
    "tab and newline": "6271\t0145\n0685 0003",
    "no-break spaces": "6271\u00a00145\u00a00685\u00a00003",
    "zero-width spaces": "6271\u200b0145\u200b0685\u200b0003",
    "full-width digits": "\uff16\uff12\uff17\uff11\uff10\uff11\uff14\uff15\uff10\uff16\uff18\uff15\uff10\uff10\uff10\uff13",
    "in a sentence": "nik saya 6271 0145 0685 0003 pak, mohon dibantu",
    "with a phone after it": "NIK: 6271014506850003 hp 081234567890",
}
# What is not a NIK and must stay readable.
NOT_A_NIK = {
    "ticket number": "cek ADU-2026-00042 ya",
    "ticket typed loosely": "adu 2026 00042 dan 2026 00043",
    "phone": "hubungi +62 812-3456-7890",
    "phone in groups": "0812 3456 7890",
    "date": "sejak 12-05-2026",
    "date range": "dari 01/02/2026 - 03/04/2026",
    "ISO date range": "2026-02-01 2026-04-03",
    "RT/RW": "Jl. Melati No. 12 RT 003/RW 004",
    "RT/RW short": "RT 03/05 Kel. Pahandut",
    "17 digits": "62710145068500031",
    "15 digits": "627101450685000",
}


def exposes(value: str) -> bool:
    """Whether the hidden digits can be read back, whatever separators were typed."""
    return HIDDEN in "".join(str(unicodedata.decimal(ch)) for ch in value if ch.isdecimal())


def check_masked(outputs: Dict[str, List[str]]) -> None:
    """Each typed NIK's outputs hide it; each non-NIK's outputs keep it exactly."""
    for name, typed in TYPED.items():
        for out in outputs[typed]:
            assert not exposes(out) and MASKED in out, f"{name}: {out!r}"
    for name, plain in NOT_A_NIK.items():
        for out in outputs[plain]:
            assert plain in out, f"{name} was changed: {out!r}"


ALL = list(TYPED.values()) + list(NOT_A_NIK.values())


@pytest.mark.parametrize("typed", list(TYPED.values()), ids=list(TYPED))
def test_the_letter_form_accepts_the_nik_however_it_is_typed(typed: str) -> None:
    from actions.letters import ValidateSktmForm

    tracker = Tracker(
        "6281234567890",
        {},
        {"text": typed, "intent": {"name": "inform"}, "entities": []},
        [],
        False,
        None,
        {"name": "sktm_form"},
        "action_listen",
    )
    slots = ValidateSktmForm().validate_surat_nik(typed, CollectingDispatcher(), tracker, {})
    assert crypto.decrypt(slots["surat_nik"]) == NIK and slots["surat_nik_cek"] == "ok"


@pytest.mark.parametrize("plain", list(NOT_A_NIK.values()), ids=list(NOT_A_NIK))
def test_what_is_not_a_nik_is_neither_found_nor_masked(plain: str) -> None:
    assert nik.find_in_text(plain) == [] and mask_identifiers(plain) == plain


def test_digits_that_read_as_several_niks_are_masked_together_and_refused_by_the_form() -> None:
    text = "0812 3456 7890 6271 0145 0685 0003"
    assert mask_identifiers(text) == "0812" + "*" * 20 + "0003"
    assert nik.check_text(text).nik is None and "satu NIK" in nik.check_text(text).problem


def test_the_conversation_store(tmp_path: Path) -> None:
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from rasa_extensions.tracker_store import LayanWargaTrackerStore

    store = LayanWargaTrackerStore(domain=Domain.empty(), dialect="sqlite", db=str(tmp_path / "tracker.db"))
    for index, typed in enumerate(ALL):
        tracker = DialogueStateTracker(f"62812000{index:05d}", [])
        tracker.update(
            UserUttered(
                typed,
                intent={"name": "inform", "confidence": 0.9},
                entities=[{"entity": "nik", "value": typed, "start": 0, "end": len(typed)}],
            )
        )
        asyncio.run(store.save(tracker))
    with create_engine(f"sqlite:///{tmp_path / 'tracker.db'}").connect() as conn:
        rows = {
            r[0]: json.loads(r[1])
            for r in conn.execute(sql("SELECT sender_id, data FROM events WHERE type_name = 'user'"))
        }
    outputs = {}
    for index, typed in enumerate(ALL):
        event = rows[f"62812000{index:05d}"]
        outputs[typed] = [
            event["text"],
            event["parse_data"]["text"],
            event["parse_data"]["entities"][0]["value"],
        ]
    check_masked(outputs)


def test_the_staff_message_log(db_url: str) -> None:
    with db.session_scope() as session:
        for typed in ALL:
            conversation_log.add(session, sender="6281234567890", direction="in", text=typed, actor="warga")
    with db.session_scope() as session:
        stored = [
            m.text
            for m in session.execute(select(ConversationMessage).order_by(ConversationMessage.id)).scalars()
        ]
    check_masked({typed: [out] for typed, out in zip(ALL, stored)})


def test_log_records_and_the_exceptions_they_carry(caplog: pytest.LogCaptureFixture) -> None:
    install_log_masking()
    logger = logging.getLogger("some.library")
    outputs: Dict[str, List[str]] = {}
    for typed in ALL:
        caplog.clear()
        with caplog.at_level(logging.INFO):
            logger.info("pesan warga: %s", typed)
            try:
                raise ValueError(f"cannot parse {typed!s}")
            except ValueError:
                logger.exception("validation failed")
        handler = logging.StreamHandler()
        outputs[typed] = [handler.format(record) for record in caplog.records]
    check_masked(outputs)


def test_ticket_text_staff_see(db_url: str, tmp_path: Path) -> None:
    """Complaint description, place and photo caption, letter address, purpose and details, the
    citizen's note when reopening (feedback and history): stored, and so shown on the
    dashboard's ticket pages, with the same rule."""
    from layanwarga import feedback, media, notifications, states

    outputs: Dict[str, List[str]] = {}
    for index, typed in enumerate(ALL):
        sender = f"62812000{index:05d}"
        photo = media.store_media(
            b"\xff\xd8\xff\xe0" + bytes(64) + str(index).encode(),
            mime_type="image/jpeg",
            caption=typed,
            media_dir=tmp_path,
        )
        complaint = tickets.submit_complaint(
            INST,
            tickets.ComplaintDraft(
                category="lapor_sampah",
                description=f"Sampah menumpuk, pelapor {typed}",
                sender=sender,
                idempotency_key=f"c{index}",
                location_text=typed,
                media_ids=(photo.id,),
            ),
        )
        with db.session_scope() as session:
            complaint_id = session.execute(
                select(Ticket.id).where(Ticket.number == complaint.number)
            ).scalar_one()
        notifications.change_state_and_notify(
            INST, complaint_id, states.DITERUSKAN, "staf:admin", agency_code="DLH"
        )
        notifications.change_state_and_notify(
            INST, complaint_id, states.SELESAI, "staf:dlh", note="Sudah diangkut."
        )
        assert feedback.reopen(sender, complaint.number, f"belum, ini {typed}").ok
        letter = tickets.submit_letter_request(
            INST,
            tickets.LetterDraft(
                letter_type="sku",
                sender=sender,
                idempotency_key=f"l{index}",
                applicant_name="Siti",
                applicant_nik=NIK,
                applicant_address=f"Jl. Melati {typed}",
                applicant_phone="+6281234567890",
                purpose=typed,
                details={"nama_usaha": typed},
            ),
        )
        with db.session_scope() as session:
            c = session.execute(select(Ticket).where(Ticket.number == complaint.number)).scalar_one()
            lt = session.execute(select(Ticket).where(Ticket.number == letter.number)).scalar_one()
            outputs[typed] = [
                c.description,
                c.location_text,
                lt.applicant_address,
                lt.purpose,
                lt.details["nama_usaha"],
                session.get(Media, photo.id).caption,
                feedback.for_ticket(session, c.id).citizen_note,
                session.execute(
                    select(StateChange.note)
                    .where(StateChange.ticket_id == c.id)
                    .order_by(StateChange.id.desc())
                )
                .scalars()
                .first(),
            ]
            assert lt.applicant_nik == NIK  # the letter's own NIK field is kept (encrypted), not masked
    check_masked(outputs)


def _rabbitmq() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=2):
            return True
    except OSError:
        return False


@pytest.mark.skipif(not _rabbitmq(), reason="RabbitMQ does not answer on 127.0.0.1:5672")
def test_the_analytics_event_broker() -> None:
    from rasa.core.brokers.broker import EventBroker
    from rasa.utils.endpoints import EndpointConfig

    suffix = uuid.uuid4().hex[:10]
    queue_name, exchange = f"lw_test_masking_{suffix}", f"lw-test-masking-{suffix}"
    config = EndpointConfig(
        type="rasa_extensions.event_broker.MaskingPikaEventBroker",
        url="127.0.0.1",
        username="guest",
        password="guest",
        port=5672,
        queues=[queue_name],
        exchange_name=exchange,
    )

    async def roundtrip() -> List[Dict[str, Any]]:
        import aio_pika

        broker = await EventBroker.create(config)
        assert broker is not None and type(broker).__name__ == "MaskingPikaEventBroker"
        for index, typed in enumerate(ALL):
            broker.publish(
                {
                    "sender_id": str(index),
                    "event": "user",
                    "text": typed,
                    "timestamp": 1.0,
                    "parse_data": {"text": typed, "entities": [{"entity": "nik", "value": typed}]},
                }
            )
        connection = await aio_pika.connect_robust(
            host="127.0.0.1", port=5672, login="guest", password="guest"
        )
        received: List[Dict[str, Any]] = []
        try:
            channel = await connection.channel()
            queue = await channel.get_queue(queue_name)
            for _ in range(200):
                message = await queue.get(fail=False)
                if message is None:
                    if len(received) == len(ALL):
                        break
                    await asyncio.sleep(0.05)
                    continue
                await message.ack()
                received.append(json.loads(message.body))
            await queue.delete(if_unused=False, if_empty=False)
            await channel.exchange_delete(exchange)
        finally:
            await connection.close()
            await broker.close()
        return received

    received = {int(e["sender_id"]): e for e in asyncio.run(roundtrip())}
    assert len(received) == len(ALL), "not every event reached RabbitMQ"
    outputs: Dict[str, List[str]] = {}
    for index, typed in enumerate(ALL):
        event = received[index]
        outputs[typed] = [
            event["text"],
            event["parse_data"]["text"],
            event["parse_data"]["entities"][0]["value"],
        ]
    check_masked(outputs)
