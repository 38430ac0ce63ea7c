"""Delivery statuses in batches, and the connector's units of work per message."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any, Callable, Dict, List

import pytest
from rasa.core.channels.channel import UserMessage
from sqlalchemy import select

from connectors.executor import BlockingRunner
from connectors.status_batcher import StatusBatcher
from connectors.whatsapp import WhatsAppInput
from layanwarga import conversation_log, db, handoff, inbound
from layanwarga.models import Citizen, ConversationMessage
from wa_support import FakeGraph, RunningChannel, make_settings, text_body
from whatsapp import statuses as wa_statuses

CITIZEN = "6281234567890"


def record(message_id: str, status: str = "sent") -> wa_statuses.StatusRecord:
    return wa_statuses.StatusRecord(message_id, status, CITIZEN)


def status_body(*items: Dict[str, Any]) -> Dict[str, Any]:
    """A webhook body with ``statuses`` (Meta's shape)."""
    statuses = [{"timestamp": "1767225600", "recipient_id": CITIZEN, **item} for item in items]
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
                            "statuses": statuses,
                        },
                    }
                ],
            }
        ],
    }


class Writes:
    """A fake status writer: keeps each batch; can be told to fail or to take its time."""

    def __init__(self) -> None:
        self.batches: List[List[wa_statuses.StatusRecord]] = []
        self.failures = 0
        self.delay = 0.0
        self.running = 0
        self.most_at_once = 0

    async def __call__(self, batch: List[wa_statuses.StatusRecord]) -> None:
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            await asyncio.sleep(self.delay)
            if self.failures:
                self.failures -= 1
                raise RuntimeError("database unavailable")
            self.batches.append(list(batch))
        finally:
            self.running -= 1


async def wait_until(condition: Callable[[], bool], timeout: float = 2.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "condition not reached"
        await asyncio.sleep(0.005)


# -- the batcher ------------------------------------------------------------------------------
async def test_records_arriving_together_are_written_once_after_the_delay() -> None:
    writes = Writes()
    batcher = StatusBatcher(writes, max_delay=0.05)
    batcher.add([record("wamid.1")])
    batcher.add([record("wamid.1", "delivered"), record("wamid.2")])
    assert writes.batches == [] and batcher.busy
    await wait_until(lambda: bool(writes.batches))
    await asyncio.sleep(0.1)
    assert writes.batches == [[record("wamid.1"), record("wamid.1", "delivered"), record("wamid.2")]]
    assert not batcher.busy


async def test_a_full_batch_is_written_without_waiting() -> None:
    writes = Writes()
    batcher = StatusBatcher(writes, max_delay=60, max_batch=200)
    batcher.add([record(f"wamid.{i}") for i in range(199)])
    await asyncio.sleep(0.02)
    assert writes.batches == []
    batcher.add([record("wamid.199"), record("wamid.200")])
    await wait_until(lambda: bool(writes.batches))
    assert [len(batch) for batch in writes.batches] == [201]
    assert not batcher.busy


async def test_flush_and_close_write_what_waits_at_once() -> None:
    writes = Writes()
    batcher = StatusBatcher(writes, max_delay=60)
    batcher.add([record("wamid.1")])
    assert await batcher.flush()
    assert writes.batches == [[record("wamid.1")]]
    batcher.add([record("wamid.2"), record("wamid.3", "read")])
    await batcher.close()
    assert writes.batches[1:] == [[record("wamid.2"), record("wamid.3", "read")]] and not batcher.busy
    assert await batcher.flush()  # nothing left: returns at once


async def test_a_failed_write_is_logged_with_its_size_and_later_batches_go_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    writes = Writes()
    writes.failures = 1
    batcher = StatusBatcher(writes, max_delay=0.01)
    batcher.add([record("wamid.1"), record("wamid.2")])
    await wait_until(lambda: not batcher.busy)
    batcher.add([record("wamid.3")])
    await wait_until(lambda: bool(writes.batches))
    assert writes.batches == [[record("wamid.3")]]
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.getMessage() for r in failures] == ["Could not record 2 WhatsApp delivery statuses"]
    assert failures[0].exc_info is not None


async def test_writes_run_one_at_a_time() -> None:
    writes = Writes()
    writes.delay = 0.05
    batcher = StatusBatcher(writes, max_delay=60, max_batch=2)
    for i in range(3):
        batcher.add([record(f"wamid.{i}.a"), record(f"wamid.{i}.b")])
    assert await batcher.flush(5)
    assert len(writes.batches) == 3 and writes.most_at_once == 1


async def test_flush_gives_up_after_its_timeout() -> None:
    writes = Writes()
    writes.delay = 0.5
    batcher = StatusBatcher(writes, max_delay=60)
    batcher.add([record("wamid.slow")])
    assert not await batcher.flush(0.05)
    assert await batcher.flush(5) and writes.batches == [[record("wamid.slow")]]


# -- in the connector -------------------------------------------------------------------------
async def test_status_webhooks_out_of_order_are_one_write_ending_in_the_highest_state(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: List[int] = []
    record_statuses = wa_statuses.record_statuses

    def counted(records: List[wa_statuses.StatusRecord], **kwargs: Any) -> int:
        calls.append(len(records))
        return record_statuses(records, **kwargs)

    monkeypatch.setattr(wa_statuses, "record_statuses", counted)
    async with FakeGraph() as graph, RunningChannel(make_settings(graph.url, tmp_path, db_url)) as rc:
        assert rc.channel.processor is not None
        rc.channel.processor.statuses.max_delay = 60  # only join() writes them in this test
        for status in ("read", "sent", "delivered"):
            assert (await rc.post(status_body({"id": "wamid.OUT.batch", "status": status}))).status == 200
        assert (await rc.post(status_body({"id": "wamid.OUT.other", "status": "delivered"}))).status == 200
        assert wa_statuses.get_status("wamid.OUT.batch", url=db_url) is None
        await rc.join()
        assert calls == [4]
        assert wa_statuses.get_status("wamid.OUT.batch", url=db_url).status == "read"
        assert wa_statuses.get_status("wamid.OUT.other", url=db_url).status == "delivered"


async def test_statuses_waiting_at_shutdown_are_written(sqlite_url: str, tmp_path: Path) -> None:
    async with FakeGraph() as graph, RunningChannel(make_settings(graph.url, tmp_path, sqlite_url)) as rc:
        assert rc.channel.processor is not None
        rc.channel.processor.statuses.max_delay = 60
        await rc.post(status_body({"id": "wamid.OUT.late", "status": "delivered"}))
    assert wa_statuses.get_status("wamid.OUT.late", url=sqlite_url).status == "delivered"


# The journal's purge at start-up and its replay rounds (lease renewal, take-over): not per message.
HOUSEKEEPING = {"purge_rows", "renew_rows", "take_over_rows"}


class CountingRunner(BlockingRunner):
    """A ``BlockingRunner`` that notes the name of every function it runs (one unit of work each)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: List[str] = []

    async def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if fn.__name__ not in HOUSEKEEPING:
            self.calls.append(fn.__name__)
        return await super().run(fn, *args, **kwargs)


async def answer_twice(message: UserMessage) -> None:
    await message.output_channel.send_text_message(message.sender_id, "Baik, kami catat.")
    await message.output_channel.send_text_message(message.sender_id, "Ada lagi yang bisa dibantu?")


async def test_a_turn_takes_one_unit_of_work_per_step_and_one_per_reply(db_url: str, tmp_path: Path) -> None:
    runner = CountingRunner()
    async with FakeGraph() as graph:
        settings = make_settings(graph.url, tmp_path, db_url)
        channel = WhatsAppInput(settings, runner=runner)
        async with RunningChannel(settings, channel=channel, on_message=answer_twice) as rc:
            await rc.post(text_body("lampu jalan mati", message_id="wamid.turn", wa_id=CITIZEN))
            await rc.join()
            assert runner.calls == [
                "take_in_rows",
                "admit_inbound",
                "log_inbound_checking_handoff",
                "record_outbound",
                "record_outbound",
                "finish_row",
            ]
            replies = [r.json for r in graph.requests if r.json and r.json.get("type") == "text"]
            assert len(replies) == 2
            runner.calls.clear()
            # Meta's sent, delivered and read for both replies, in separate webhooks.
            for status in ("sent", "delivered", "read"):
                for wamid in ("wamid.OUT.1", "wamid.OUT.2"):
                    await rc.post(status_body({"id": wamid, "status": status}))
            await rc.join()
            assert runner.calls == ["record_statuses"]
    assert wa_statuses.get_status("wamid.OUT.1", url=db_url).status == "read"
    with db.session_scope(db_url) as session:
        lines = session.execute(select(ConversationMessage).order_by(ConversationMessage.id)).scalars().all()
        assert [(r.direction, r.text, r.wamid) for r in lines] == [
            ("in", "lampu jalan mati", "wamid.turn"),
            ("out", "Baik, kami catat.", "wamid.OUT.1"),
            ("out", "Ada lagi yang bisa dibantu?", "wamid.OUT.2"),
        ]
        assert session.execute(select(Citizen.wa_id)).scalars().all() == [CITIZEN]


async def test_a_failed_admission_still_answers_and_records_the_citizen(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("blocklist unavailable")

    monkeypatch.setattr(inbound, "admit_inbound", broken)
    async with FakeGraph() as graph, RunningChannel(make_settings(graph.url, tmp_path, sqlite_url)) as rc:
        await rc.post(text_body("halo", message_id="wamid.failopen", wa_id=CITIZEN))
        await rc.join()
    assert [m.text for m in rc.received] == ["halo"]
    assert inbound.find_citizen_id(CITIZEN, url=sqlite_url) is not None
    assert any(
        "Blocklist lookup with citizen record failed" in r.getMessage() and r.exc_info for r in caplog.records
    )


async def test_a_failed_log_line_still_keeps_the_assistant_out_of_a_handoff(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("log table unavailable")

    monkeypatch.setattr(conversation_log, "log_inbound_checking_handoff", broken)
    handoff.open_handoff(CITIZEN, "minta_petugas", url=sqlite_url)
    async with FakeGraph() as graph, RunningChannel(make_settings(graph.url, tmp_path, sqlite_url)) as rc:
        await rc.post(text_body("pak tolong", message_id="wamid.handoff.1", wa_id=CITIZEN))
        await rc.post(text_body("halo", message_id="wamid.free.1", wa_id="6289999999999"))
        await rc.join()
    assert [m.text for m in rc.received] == ["halo"]  # the officer's citizen is not answered by the bot
    assert any("Could not log message wamid.handoff.1" in r.getMessage() for r in caplog.records)
