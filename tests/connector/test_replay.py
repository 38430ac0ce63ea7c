"""Messages that arrive while the assistant cannot take them are kept on disk, the citizen is
told once, and they are replayed in order, exactly once, when the assistant is back."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import List

from rasa.core.channels.channel import UserMessage

from connectors.replay import APOLOGY_DEFERRED
from rasa_extensions.tracker_store import TrackerStoreUnavailable
from wa_support import FakeGraph, RunningChannel, make_settings, text_body

CITIZEN = "6281234567890"


def apologies(graph: FakeGraph) -> List[dict]:
    return [m for m in graph.sent if m.get("text", {}).get("body") == APOLOGY_DEFERRED]


async def wait_until(condition, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def test_messages_wait_while_the_action_server_is_down_then_replay_in_order(sqlite_url: str, tmp_path: Path) -> None:
    async with FakeGraph() as graph:
        graph.action_server_up = False
        settings = make_settings(graph.url, tmp_path, sqlite_url)
        async with RunningChannel(settings) as rc:
            for i, text in enumerate(["jalan rusak depan sdn 3", "di rt 03 rw 05", "/lewati"]):
                assert (await rc.post(text_body(text, message_id=f"wamid.wait.{i}", wa_id=CITIZEN))).status == 200
            await rc.join()
            assert rc.received == []
            assert len(apologies(graph)) == 1  # told once per outage, not per message
            assert len(list((tmp_path / "spool").glob("*.json"))) == 3

            graph.action_server_up = True
            rc.channel.processor.health.forget()
            await wait_until(lambda: len(rc.received) == 3)
            await rc.join()
            assert [m.text for m in rc.received] == ["jalan rusak depan sdn 3", "di rt 03 rw 05", "/lewati"]
            assert list((tmp_path / "spool").glob("*.json")) == []
            assert len(apologies(graph)) == 1


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


async def test_a_lost_conversation_store_defers_the_message_instead_of_forgetting_it(sqlite_url: str, tmp_path: Path) -> None:
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


async def test_waiting_messages_survive_a_restart(sqlite_url: str, tmp_path: Path) -> None:
    async with FakeGraph() as graph:
        graph.action_server_up = False
        settings = make_settings(graph.url, tmp_path, sqlite_url, replay_interval=30)
        async with RunningChannel(settings) as first:
            await first.post(text_body("sampah numpuk", message_id="wamid.restart.1", wa_id=CITIZEN))
            await first.join()
        graph.action_server_up = True
        async with RunningChannel(settings) as second:
            await second.channel.processor.replay_once()
            await second.join()
        assert [m.text for m in second.received] == ["sampah numpuk"]
