"""Background processing: dedupe (redelivery, restart, several instances), ordering per sender,
concurrency across senders, read receipts with typing, replies to phones and BSUIDs, statuses."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from pathlib import Path
from typing import Dict, List

import pytest
from rasa.core.channels.channel import UserMessage
from sqlalchemy import func, select, update

from connectors import journal
from connectors.journal import MemoryJournal
from layanwarga import db, inbound
from layanwarga.models import Citizen, MessageStatus, ProcessedMessage
from wa_support import (
    FakeGraph,
    RunningChannel,
    make_settings,
    messages_body,
    payload_bytes,
    text_body,
    text_message,
)
from whatsapp import statuses as wa_statuses


async def test_redelivery_is_processed_once(db_url: str, tmp_path: Path) -> None:
    body = text_body("Jalan berlubang di RT 03", message_id="wamid.redelivered")
    async with FakeGraph() as graph, RunningChannel(make_settings(graph.url, tmp_path, db_url)) as rc:
        for _ in range(3):
            assert (await rc.post(body)).status == 200
        await rc.join()
        assert [m.text for m in rc.received] == ["Jalan berlubang di RT 03"]
        assert len(graph.reads) == 1


async def test_redelivery_across_a_restart(db_url: str, tmp_path: Path) -> None:
    """A new connector instance (process restart) on the same database still skips the id."""
    body = text_body("Lampu PJU mati", message_id="wamid.restart")
    async with FakeGraph() as graph:
        settings = make_settings(graph.url, tmp_path, db_url)
        async with RunningChannel(settings) as first:
            assert (await first.post(body)).status == 200
            await first.join()
        async with RunningChannel(settings) as second:
            assert (await second.post(body)).status == 200
            assert (await second.post(text_body("Pesan baru", message_id="wamid.new"))).status == 200
            await second.join()
    assert [m.text for m in first.received] == ["Lampu PJU mati"]
    assert [m.text for m in second.received] == ["Pesan baru"]


async def test_two_instances_sharing_a_database_process_once(db_url: str, tmp_path: Path) -> None:
    """Meta redelivers to whichever instance the load balancer picks; only one may process."""
    bodies = [
        text_body(f"laporan {i}", message_id=f"wamid.shared.{i}", wa_id=f"6281300000{i:03d}")
        for i in range(15)
    ]
    async with FakeGraph() as graph:
        settings = make_settings(graph.url, tmp_path, db_url)
        async with RunningChannel(settings) as a, RunningChannel(settings) as b:
            results = await asyncio.gather(*[rc.post(body) for body in bodies for rc in (a, b)])
            assert {r.status for r in results} == {200}
            await a.join()
            await b.join()
    texts = sorted(m.text for m in a.received + b.received)
    assert texts == sorted(f"laporan {i}" for i in range(15))
    with db.session_scope(db_url) as session:
        assert session.execute(select(func.count()).select_from(ProcessedMessage)).scalar_one() == 15


async def test_same_placeholder_id_different_messages_are_both_kept(sqlite_url: str, tmp_path: Path) -> None:
    """batch_two_changes_netflie_fixture: two messages share wamid.ID but differ in timestamp."""
    async with FakeGraph() as graph, RunningChannel(make_settings(graph.url, tmp_path, sqlite_url)) as rc:
        body = payload_bytes("batch_two_changes_netflie_fixture")
        assert (await rc.post(body)).status == 200
        assert (await rc.post(body)).status == 200  # redelivered as a whole: both skipped now
        await rc.join()
    assert [m.text for m in rc.received] == ["MESSAGE_BODY", "MESSAGE_BODY2"]
    with db.session_scope(sqlite_url) as session:
        keys = session.execute(select(ProcessedMessage.message_id)).scalars().all()
    assert sorted(keys) == ["wamid.ID|1669233778|PHONE_NUMBER", "wamid.ID|1669233779|PHONE_NUMBER"]


def test_dedupe_key_shape() -> None:
    assert journal.dedupe_key("wamid.X", "62812", "17000") == "wamid.X|17000|62812"
    long_key = journal.dedupe_key("wamid." + "x" * 300, "62812", "1")
    assert long_key.startswith("sha256:") and len(long_key) <= 255


async def test_order_per_sender_and_concurrency_across_senders(tmp_path: Path) -> None:
    """One sender's messages reach Rasa in order even when earlier ones take longer; another
    sender is not held up by the first one's slow turn."""
    log: List[str] = []
    b_done = asyncio.Event()

    async def assistant(message: UserMessage) -> None:
        text = message.text or ""
        if text == "A1":
            # A's first turn waits for B: it would deadlock if senders were processed serially.
            await asyncio.wait_for(b_done.wait(), 5)
        delay = {"A1": 0.05, "A2": 0.02, "A3": 0.0}.get(text, 0.0)
        await asyncio.sleep(delay)
        log.append(text)
        if text == "B2":
            b_done.set()

    a, b = "6281111111111", "6282222222222"
    async with (
        FakeGraph() as graph,
        RunningChannel(
            make_settings(graph.url, tmp_path), journal_=MemoryJournal(), on_message=assistant
        ) as rc,
    ):
        # A's three messages in one POST, then B's two in two POSTs.
        batch = messages_body(
            [
                text_message(t, wa_id=a, timestamp=str(1767225600 + i))
                for i, t in enumerate(["A1", "A2", "A3"])
            ],
            wa_id=a,
        )
        assert (await rc.post(batch)).status == 200
        assert (await rc.post(text_body("B1", wa_id=b))).status == 200
        assert (await rc.post(text_body("B2", wa_id=b))).status == 200
        await rc.join()
    assert [t for t in log if t.startswith("A")] == ["A1", "A2", "A3"]
    assert [t for t in log if t.startswith("B")] == ["B1", "B2"]
    assert log.index("B2") < log.index("A1")


async def test_many_posts_from_one_sender_stay_in_order(tmp_path: Path) -> None:
    seen: List[str] = []

    async def assistant(message: UserMessage) -> None:
        await asyncio.sleep(0.001 * (hash(message.text) % 5))
        seen.append(message.text or "")

    async with (
        FakeGraph() as graph,
        RunningChannel(
            make_settings(graph.url, tmp_path), journal_=MemoryJournal(), on_message=assistant
        ) as rc,
    ):
        for i in range(30):
            assert (await rc.post(text_body(f"m{i}"))).status == 200
        await rc.join()
    assert seen == [f"m{i}" for i in range(30)]
    assert rc.channel.processor is not None and rc.channel.processor.queues.active_senders == 0  # reaped


async def test_read_receipt_with_typing_before_the_assistant_runs(tmp_path: Path) -> None:
    reads_at_turn: List[int] = []

    async with FakeGraph() as graph:

        async def assistant(message: UserMessage) -> None:
            reads_at_turn.append(len(graph.reads))
            await message.output_channel.send_text_message(message.sender_id, "Baik, Bapak/Ibu.")

        async with RunningChannel(
            make_settings(graph.url, tmp_path), journal_=MemoryJournal(), on_message=assistant
        ) as rc:
            assert (await rc.post(text_body("halo", message_id="wamid.read.1"))).status == 200
            await rc.join()
    assert reads_at_turn == [1]
    assert graph.reads == [
        {
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": "wamid.read.1",
            "typing_indicator": {"type": "text"},
        }
    ]
    # The read receipt went out before the reply.
    kinds = ["read" if r.json.get("status") == "read" else "send" for r in graph.requests]
    assert kinds == ["read", "send"]


async def test_replies_go_to_plus_wa_id_or_bsuid_recipient(sqlite_url: str, tmp_path: Path) -> None:
    async def assistant(message: UserMessage) -> None:
        await message.output_channel.send_text_message(message.sender_id, "Terima kasih, Bapak/Ibu.")

    async with (
        FakeGraph() as graph,
        RunningChannel(make_settings(graph.url, tmp_path, sqlite_url), on_message=assistant) as rc,
    ):
        assert (await rc.post(payload_bytes("text"))).status == 200
        assert (await rc.post(payload_bytes("text_username_user_no_phone_bsuid"))).status == 200
        await rc.join()
    sent = graph.sent
    assert {"to": "+16505551234"}.items() <= sent[0].items() or {"to": "+16505551234"}.items() <= sent[
        1
    ].items()
    bsuid_reply = next(s for s in sent if "recipient" in s)
    assert bsuid_reply["recipient"] == "US.13491208655302741918" and "to" not in bsuid_reply
    assert all(s["messaging_product"] == "whatsapp" for s in sent)
    # Sent ids are recorded as accepted until their status webhooks arrive.
    with db.session_scope(sqlite_url) as session:
        rows = {r.message_id: r for r in session.execute(select(MessageStatus)).scalars()}
    assert {r.status for r in rows.values()} == {"accepted"} and len(rows) == 2
    assert {r.recipient for r in rows.values()} == {"16505551234", "US.13491208655302741918"}


async def test_citizen_identity_and_service_window(sqlite_url: str, tmp_path: Path) -> None:
    now = int(dt.datetime.utcnow().timestamp())
    async with FakeGraph() as graph, RunningChannel(make_settings(graph.url, tmp_path, sqlite_url)) as rc:
        # BSUID first, then the same person with the phone too (Meta sends both once known).
        await rc.post(text_body("halo", wa_id=None, user_id="ID.777", timestamp=str(now - 60), name="Siti"))
        await rc.join()
        both = messages_body(
            [text_message("lagi", wa_id="6285555555555", user_id="ID.777", timestamp=str(now))],
            wa_id="6285555555555",
            user_id="ID.777",
            name="Siti A.",
        )
        await rc.post(both)
        await rc.join()
    with db.session_scope(sqlite_url) as session:
        citizens = session.execute(select(Citizen)).scalars().all()
        assert len(citizens) == 1
        citizen = citizens[0]
        assert (citizen.wa_id, citizen.user_id, citizen.profile_name) == (
            "6285555555555",
            "ID.777",
            "Siti A.",
        )
        assert abs((citizen.last_inbound_at - dt.datetime.utcfromtimestamp(now)).total_seconds()) <= 1
    assert inbound.in_service_window("6285555555555", url=sqlite_url) is True
    assert (
        inbound.in_service_window("ID.777", now=dt.datetime.utcnow() + dt.timedelta(hours=25), url=sqlite_url)
        is False
    )


async def test_statuses_recorded_never_text_and_never_backwards(sqlite_url: str, tmp_path: Path) -> None:
    def status_body(status: str, **extra: object) -> Dict[str, object]:
        item = {
            "id": "wamid.OUT.status",
            "status": status,
            "timestamp": "1767225600",
            "recipient_id": "6281234567890",
        }
        item.update(extra)
        return {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "W",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {"phone_number_id": "1"},
                                "contacts": [{"wa_id": "6281234567890", "profile": {"name": "X"}}],
                                "statuses": [item],
                            },
                        }
                    ],
                }
            ],
        }

    async with FakeGraph() as graph, RunningChannel(make_settings(graph.url, tmp_path, sqlite_url)) as rc:
        for status in ("sent", "read", "delivered"):  # read arrives before delivered
            await rc.post(status_body(status))
            await rc.join()
        await rc.post(status_body("failed", errors=[{"code": 131026, "title": "Message undeliverable"}]))
        await rc.join()
        assert rc.received == []
    row = wa_statuses.get_status("wamid.OUT.status", url=sqlite_url)
    assert row is not None and (row.status, row.error_code, row.error_title) == (
        "failed",
        131026,
        "Message undeliverable",
    )


def test_record_statuses_ordering_rules(sqlite_url: str) -> None:
    wa_statuses.record_sent("wamid.A", "628", url=sqlite_url)
    wa_statuses.record_statuses([wa_statuses.StatusRecord("wamid.A", "read")], url=sqlite_url)
    wa_statuses.record_sent("wamid.A", "628", url=sqlite_url)  # late bookkeeping never downgrades
    assert wa_statuses.get_status("wamid.A", url=sqlite_url).status == "read"


def take_in(key: str, url: str) -> bool:
    [new] = journal.take_in_rows([journal.Entry(key, "x", {}, 0.0)], "test/1", journal.DEFAULT_LEASE, url=url)
    return new


def test_purge_keeps_ids_at_least_seven_days_and_never_an_unfinished_message(db_url: str) -> None:
    for key in ("old|1|x", "recent|1|x", "old-waiting|1|x"):
        assert take_in(key, db_url)
    journal.finish_row("old|1|x", journal.DONE, url=db_url)
    journal.finish_row("recent|1|x", journal.DONE, url=db_url)
    with db.session_scope(db_url) as session:
        session.execute(
            update(ProcessedMessage)
            .where(ProcessedMessage.message_id.in_(["old|1|x", "old-waiting|1|x"]))
            .values(received_at=dt.datetime.utcnow() - dt.timedelta(days=9))
        )
        session.execute(
            update(ProcessedMessage)
            .where(ProcessedMessage.message_id == "recent|1|x")
            .values(received_at=dt.datetime.utcnow() - dt.timedelta(days=6, hours=23))
        )
    # Asking for a shorter retention still keeps 7 days.
    assert journal.purge_rows(dt.timedelta(days=1), url=db_url) == 1
    assert take_in("old|1|x", db_url)
    assert not take_in("recent|1|x", db_url)
    assert not take_in("old-waiting|1|x", db_url)


async def test_assistant_failure_gets_a_polite_apology(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(message: UserMessage) -> None:
        raise RuntimeError("model not loaded")

    async with (
        FakeGraph() as graph,
        RunningChannel(make_settings(graph.url, tmp_path), journal_=MemoryJournal(), on_message=broken) as rc,
    ):
        await rc.post(text_body("halo"))
        await rc.join()
    assert "Mohon maaf" in graph.sent[0]["text"]["body"]
    assert any(r.levelno == logging.ERROR and "assistant failed" in r.getMessage() for r in caplog.records)


async def test_reactions_revokes_system_never_reach_the_assistant(sqlite_url: str, tmp_path: Path) -> None:
    async with FakeGraph() as graph, RunningChannel(make_settings(graph.url, tmp_path, sqlite_url)) as rc:
        for name in (
            "reaction",
            "reaction_removed",
            "reaction_removed_empty_emoji",
            "revoke_deleted_message",
            "system_customer_identity_changed",
            "value_errors_130429_rate_limit",
        ):
            assert (await rc.post(payload_bytes(name))).status == 200
        await rc.join()
    assert rc.received == [] and graph.requests == []


def test_taking_a_message_in_is_exclusive_under_concurrency(db_url: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: take_in("wamid.race|1|628", db_url), range(16)))
    assert results.count(True) == 1


async def test_messages_both_ways_are_logged_for_staff(sqlite_url: str, tmp_path: Path) -> None:
    from layanwarga.models import ConversationMessage

    async def assistant(message: UserMessage) -> None:
        await message.output_channel.send_text_message(message.sender_id, "Baik, kami catat.")

    async with (
        FakeGraph() as graph,
        RunningChannel(make_settings(graph.url, tmp_path, sqlite_url), on_message=assistant) as rc,
    ):
        await rc.post(text_body("lampu jalan mati", message_id="wamid.logged", wa_id="6281234567890"))
        await rc.join()
    with db.session_scope(sqlite_url) as session:
        rows = session.execute(select(ConversationMessage).order_by(ConversationMessage.id)).scalars().all()
    assert [(r.direction, r.text, r.actor) for r in rows] == [
        ("in", "lampu jalan mati", "warga"),
        ("out", "Baik, kami catat.", "asisten"),
    ]


async def test_during_a_handoff_messages_reach_staff_not_the_assistant(
    sqlite_url: str, tmp_path: Path
) -> None:
    """The assistant stays out of an officer's conversation; the citizen is told once that the
    message was passed on (a second message gets no repeat of it)."""
    from layanwarga import handoff
    from layanwarga.models import ConversationMessage

    handoff.open_handoff("6281234567890", "minta_petugas", url=sqlite_url)
    async with FakeGraph() as graph, RunningChannel(make_settings(graph.url, tmp_path, sqlite_url)) as rc:
        await rc.post(text_body("pak tolong dibantu", message_id="wamid.handoff", wa_id="6281234567890"))
        await rc.join()
        await rc.post(text_body("halo pak?", message_id="wamid.handoff2", wa_id="6281234567890"))
        await rc.join()
    assert rc.received == []
    assert [m["text"]["body"] for m in graph.sent] == [handoff.FORWARDED_TEXT]
    with db.session_scope(sqlite_url) as session:
        texts = [r.text for r in session.execute(select(ConversationMessage)).scalars()]
    assert texts[0] == "pak tolong dibantu" and "halo pak?" in texts
