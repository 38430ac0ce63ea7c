"""Nothing a citizen sent is lost: messages are journalled before the 200, wait in the journal
while the assistant cannot take them (the citizen told once), and are replayed in order, once,
when it is back, also by another process after the one that took them in died."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path
from typing import Dict, List

from rasa.core.channels.channel import UserMessage
from sqlalchemy import select, update

from connectors import journal
from connectors.replay import APOLOGY_DEFERRED
from connectors.whatsapp_parse import decode_body, parse_body
from connectors.whatsapp_processor import APOLOGY_TEXT
from layanwarga import db
from layanwarga.models import ConversationMessage, ProcessedMessage
from rasa_extensions.action_failures import ActionServerUnavailable
from rasa_extensions.tracker_store import TrackerStoreUnavailable
from wa_support import FakeGraph, RunningChannel, make_settings, text_body

CITIZEN = "6281234567890"


def apologies(graph: FakeGraph, text: str = APOLOGY_DEFERRED) -> List[dict]:
    return [m for m in graph.sent if m.get("text", {}).get("body") == text]


def journal_states(url: str) -> Dict[str, str]:
    with db.session_scope(url) as session:
        rows = session.execute(select(ProcessedMessage.message_id, ProcessedMessage.state)).all()
    return {key.split("|")[0]: state for key, state in rows}


def log_lines(url: str) -> List[str]:
    with db.session_scope(url) as session:
        return list(
            session.execute(
                select(ConversationMessage.text)
                .where(ConversationMessage.direction == "in")
                .order_by(ConversationMessage.id)
            ).scalars()
        )


async def wait_until(condition, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def left_by_a_dead_process(url: str, text: str, message_id: str, *, held: bool, expired: bool = True) -> str:
    """A journal entry as a process killed right after its 200 (``received``) or after logging
    the message for staff (``held``) leaves it: owned by it, its lease running out or not."""
    [message] = parse_body(
        decode_body(json.dumps(text_body(text, message_id=message_id, wa_id=CITIZEN)).encode())
    ).messages
    key = f"{message_id}|{message.timestamp}|{CITIZEN}"
    assert journal.take_in_rows(
        [journal.Entry(key, CITIZEN, message.to_journal(), 1.0)],
        "dead-host/0123",
        journal.DEFAULT_LEASE,
        url=url,
    )
    with db.connection_scope(url, write=True) as connection:
        if held:
            journal.SqlJournal(None, url=url).holder(
                key, {"text": text, "metadata": {"wa_id": CITIZEN}, "message_id": message_id}
            )(connection)  # type: ignore[arg-type]
    if expired:
        with db.session_scope(url) as session:
            session.execute(
                update(ProcessedMessage)
                .where(ProcessedMessage.message_id == key)
                .values(lease_until=dt.datetime.utcnow() - dt.timedelta(seconds=1))
            )
    return key


async def test_messages_wait_while_the_action_server_is_down_then_replay_in_order(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with FakeGraph() as graph:
        graph.action_server_up = False
        settings = make_settings(graph.url, tmp_path, sqlite_url)
        async with RunningChannel(settings) as rc:
            for i, text in enumerate(["jalan rusak depan sdn 3", "di rt 03 rw 05", "/lewati"]):
                assert (
                    await rc.post(text_body(text, message_id=f"wamid.wait.{i}", wa_id=CITIZEN))
                ).status == 200
            await rc.join()
            assert rc.received == []
            assert len(apologies(graph)) == 1  # told once per outage, not per message
            assert set(journal_states(sqlite_url).values()) == {journal.HELD}

            graph.action_server_up = True
            rc.channel.processor.health.forget()
            await wait_until(lambda: len(rc.received) == 3)
            await rc.join()
            assert [m.text for m in rc.received] == ["jalan rusak depan sdn 3", "di rt 03 rw 05", "/lewati"]
            assert set(journal_states(sqlite_url).values()) == {journal.DONE}
            assert len(apologies(graph)) == 1
            assert log_lines(sqlite_url) == [
                "jalan rusak depan sdn 3",
                "di rt 03 rw 05",
                "/lewati",
            ]  # logged once


async def test_a_new_message_waits_behind_older_waiting_ones(sqlite_url: str, tmp_path: Path) -> None:
    async with FakeGraph() as graph:
        graph.action_server_up = False
        settings = make_settings(graph.url, tmp_path, sqlite_url, replay_interval=30)
        async with RunningChannel(settings) as rc:
            await rc.post(text_body("pertama", message_id="wamid.o.1", wa_id=CITIZEN))
            await rc.join()
            graph.action_server_up = True
            rc.channel.processor.health.forget()
            # The assistant is back, but the older message has not been replayed yet.
            await rc.post(text_body("kedua", message_id="wamid.o.2", wa_id=CITIZEN))
            await rc.join()
            assert rc.received == []
            await rc.channel.processor.replay_once()
            await rc.join()
            assert [m.text for m in rc.received] == ["pertama", "kedua"]


async def test_a_lost_conversation_store_defers_the_message_instead_of_forgetting_it(
    sqlite_url: str, tmp_path: Path
) -> None:
    attempts: List[str] = []

    async def flaky_assistant(message: UserMessage) -> None:
        attempts.append(message.text)
        if len(attempts) == 1:
            raise TrackerStoreUnavailable("connection refused", "retrieve")
        await message.output_channel.send_text_message(message.sender_id, f"diterima: {message.text}")

    async with FakeGraph() as graph:
        settings = make_settings(graph.url, tmp_path, sqlite_url)
        async with RunningChannel(settings, on_message=flaky_assistant) as rc:
            await rc.post(text_body("lampu pju mati", message_id="wamid.store", wa_id=CITIZEN))
            await wait_until(lambda: len(attempts) == 2)
            await rc.join()
        replies = [m["text"]["body"] for m in graph.sent]
        assert replies == [APOLOGY_DEFERRED, "diterima: lampu pju mati"]


async def test_an_action_server_failing_mid_turn_runs_the_turn_again(sqlite_url: str, tmp_path: Path) -> None:
    """Rasa used to log "the actions events are lost" and drop the message; now the turn fails
    (``ActionServerUnavailable``), the message waits, and the whole turn runs again."""
    attempts: List[str] = []

    async def assistant(message: UserMessage) -> None:
        attempts.append(message.text)
        if len(attempts) == 1:
            raise ActionServerUnavailable("custom action 'validate_lapor_lampu_padam_form' could not run")
        await message.output_channel.send_text_message(message.sender_id, "Terima kasih, lokasi kami catat.")

    async with FakeGraph() as graph:
        async with RunningChannel(make_settings(graph.url, tmp_path, sqlite_url), on_message=assistant) as rc:
            await rc.post(text_body("gang mawar rt 03 rw 02", message_id="wamid.pin", wa_id=CITIZEN))
            await wait_until(lambda: len(attempts) == 2)
            await rc.join()
            await wait_until(lambda: journal_states(sqlite_url) == {"wamid.pin": journal.DONE})
        assert [m["text"]["body"] for m in graph.sent] == [
            APOLOGY_DEFERRED,
            "Terima kasih, lokasi kami catat.",
        ]
        assert log_lines(sqlite_url) == ["gang mawar rt 03 rw 02"]


async def test_a_turn_that_keeps_failing_is_given_up_with_a_way_forward(
    sqlite_url: str, tmp_path: Path
) -> None:
    attempts: List[str] = []

    async def broken(message: UserMessage) -> None:
        attempts.append(message.text)
        raise RuntimeError("policy crashed")

    async with FakeGraph() as graph:
        async with RunningChannel(make_settings(graph.url, tmp_path, sqlite_url), on_message=broken) as rc:
            await rc.post(text_body("halo", message_id="wamid.poison", wa_id=CITIZEN))
            await wait_until(lambda: journal_states(sqlite_url) == {"wamid.poison": journal.FAILED})
            await rc.join()
        assert len(attempts) == journal.MAX_ATTEMPTS
        assert [m["text"]["body"] for m in graph.sent] == [APOLOGY_DEFERRED, APOLOGY_TEXT]


async def test_waiting_messages_survive_a_restart_of_the_same_instance(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with FakeGraph() as graph:
        graph.action_server_up = False
        settings = make_settings(graph.url, tmp_path, sqlite_url, replay_interval=30, instance="rasa-1")
        async with RunningChannel(settings) as first:
            await first.post(text_body("sampah numpuk", message_id="wamid.restart.1", wa_id=CITIZEN))
            await first.join()
        graph.action_server_up = True
        # The same instance started again takes its messages back at once (its old lease runs).
        async with RunningChannel(settings) as second:
            await wait_until(lambda: len(second.received) == 1)
            await second.join()
        assert [m.text for m in second.received] == ["sampah numpuk"]
        assert journal_states(sqlite_url) == {"wamid.restart.1": journal.DONE}


async def test_a_message_a_dead_process_took_in_is_processed_by_another(
    sqlite_url: str, tmp_path: Path
) -> None:
    """Killed right after its 200: nothing was done yet, so everything is done now, once."""
    key = left_by_a_dead_process(sqlite_url, "lampu jalan mati di gang mawar", "wamid.orphan", held=False)
    async with FakeGraph() as graph:
        async with RunningChannel(make_settings(graph.url, tmp_path, sqlite_url)) as rc:
            await wait_until(lambda: len(rc.received) == 1)
            await rc.join()
            await wait_until(lambda: journal_states(sqlite_url) == {"wamid.orphan": journal.DONE})
        assert rc.received[0].text == "lampu jalan mati di gang mawar"
        assert [r["message_id"] for r in graph.reads] == ["wamid.orphan"]
    assert log_lines(sqlite_url) == ["lampu jalan mati di gang mawar"]
    assert key.startswith("wamid.orphan|")


async def test_a_message_a_dead_process_had_logged_is_answered_without_logging_it_again(
    sqlite_url: str, tmp_path: Path
) -> None:
    left_by_a_dead_process(sqlite_url, "sudah saya kirim lokasinya", "wamid.held", held=True)
    async with FakeGraph() as graph:
        async with RunningChannel(make_settings(graph.url, tmp_path, sqlite_url)) as rc:
            await wait_until(lambda: len(rc.received) == 1)
            await rc.join()
        assert rc.received[0].text == "sudah saya kirim lokasinya"
        assert graph.reads == []  # the steps before the turn were done by the process that died
    assert log_lines(sqlite_url) == []


async def test_a_live_lease_is_never_taken_over(sqlite_url: str, tmp_path: Path) -> None:
    """Another instance still renews its lease: its message is its own, not replayed here."""
    left_by_a_dead_process(
        sqlite_url, "masih diproses di instans lain", "wamid.alive", held=False, expired=False
    )
    async with FakeGraph() as graph:
        async with RunningChannel(make_settings(graph.url, tmp_path, sqlite_url)) as rc:
            for _ in range(3):
                await rc.channel.processor.replay_once()
            await rc.join()
        assert rc.received == []
    assert journal_states(sqlite_url) == {"wamid.alive": journal.RECEIVED}


async def test_a_body_that_cannot_be_journalled_is_not_acknowledged(tmp_path: Path) -> None:
    """No 200 without the journal: Meta delivers what got no 200 again."""
    unreachable = f"sqlite:///{tmp_path / 'no-such-folder' / 'tickets.db'}"
    async with FakeGraph() as graph:
        async with RunningChannel(make_settings(graph.url, tmp_path, unreachable)) as rc:
            response = await rc.post(text_body("banjir di jalan tjilik riwut", wa_id=CITIZEN))
            await rc.join()
        assert response.status == 503
        assert rc.received == [] and graph.sent == []


async def test_the_action_server_is_the_one_endpoints_yml_names(
    sqlite_url: str, tmp_path: Path, caplog
) -> None:  # type: ignore[no-untyped-def]
    """Found from outside: the connector probed its own setting (default localhost:5055), so an
    operator who moved the action server as Rasa's documentation says (endpoints.yml) got an
    assistant that told every citizen "sistem sedang gangguan"."""
    from rasa.core.agent import Agent
    from rasa.utils.endpoints import EndpointConfig

    async with FakeGraph() as graph:
        agent = Agent(action_endpoint=EndpointConfig(url=f"{graph.url}/webhook"))
        settings = make_settings(
            graph.url, tmp_path, sqlite_url, action_server_url="http://127.0.0.1:9/webhook"
        )
        async with RunningChannel(settings, agent=agent) as rc:
            await rc.post(
                text_body("jalan berlubang di depan pasar", message_id="wamid.endpoint", wa_id=CITIZEN)
            )
            await wait_until(lambda: len(rc.received) == 1)
            await rc.join()
        assert apologies(graph) == []
    assert any("is ignored inside rasa run" in r.getMessage() for r in caplog.records)
