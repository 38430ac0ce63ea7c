"""Abuse limits: a flood gets one polite note per minute, an over-long text an explanation;
with Redis the counters are shared by every instance."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from connectors.limits import RATE_LIMITED_TEXT, RedisRateLimiter
from wa_support import FakeGraph, RunningChannel, make_settings, text_body

CITIZEN = "6281234567890"


def texts(graph: FakeGraph) -> list:
    return [m.get("text", {}).get("body") for m in graph.sent]


async def test_a_flood_is_cut_with_one_polite_note(sqlite_url: str, tmp_path: Path) -> None:
    async with FakeGraph() as graph:
        settings = make_settings(graph.url, tmp_path, sqlite_url, max_messages_per_minute=5)
        async with RunningChannel(settings) as rc:
            for i in range(12):
                await rc.post(text_body(f"pesan {i}", message_id=f"wamid.flood.{i}", wa_id=CITIZEN))
            other = await rc.post(text_body("lampu mati", message_id="wamid.other", wa_id="6289999999999"))
            assert other.status == 200
            await rc.join()
        assert [m.text for m in rc.received if m.sender_id == CITIZEN] == [f"pesan {i}" for i in range(5)]
        assert "lampu mati" in [m.text for m in rc.received]  # other citizens are not affected
        assert texts(graph).count(RATE_LIMITED_TEXT) == 1


async def test_a_floods_excess_costs_no_write_and_no_read_receipt(sqlite_url: str, tmp_path: Path) -> None:
    """Found from outside: every message of a flood was journalled, recorded and marked read
    before the limit applied. Now the limit comes first."""
    from sqlalchemy import func, select

    from layanwarga import db
    from layanwarga.models import ConversationMessage, ProcessedMessage

    async with FakeGraph() as graph:
        settings = make_settings(graph.url, tmp_path, sqlite_url, max_messages_per_minute=5)
        async with RunningChannel(settings) as rc:
            for i in range(30):
                await rc.post(text_body(f"pesan {i}", message_id=f"wamid.f.{i}", wa_id=CITIZEN))
            await rc.join()
        assert len(graph.reads) == 5
    with db.session_scope(sqlite_url) as session:
        assert session.execute(select(func.count()).select_from(ProcessedMessage)).scalar_one() == 5
        assert (
            session.execute(
                select(func.count())
                .select_from(ConversationMessage)
                .where(ConversationMessage.direction == "in")
            ).scalar_one()
            == 5
        )


async def test_a_blocked_flooder_gets_no_rate_note(sqlite_url: str, tmp_path: Path) -> None:
    from layanwarga import blocklist, db

    with db.session_scope(sqlite_url) as session:
        blocklist.block(session, CITIZEN, "Mengirim pesan kasar berulang kali", "admin")
    async with FakeGraph() as graph:
        settings = make_settings(graph.url, tmp_path, sqlite_url, max_messages_per_minute=3)
        async with RunningChannel(settings) as rc:
            for i in range(6):
                await rc.post(text_body(f"pesan {i}", message_id=f"wamid.b.{i}", wa_id=CITIZEN))
            await rc.join()
        assert graph.sent == [] and graph.reads == []


async def test_an_over_long_text_is_explained_not_passed_on(sqlite_url: str, tmp_path: Path) -> None:
    async with FakeGraph() as graph:
        settings = make_settings(graph.url, tmp_path, sqlite_url, max_text_chars=500)
        async with RunningChannel(settings) as rc:
            await rc.post(text_body(" ".join(["jalan rusak"] * 100), message_id="wamid.long", wa_id=CITIZEN))
            await rc.join()
        assert rc.received == []
        assert "terlalu panjang (1199 karakter; paling banyak 500)" in texts(graph)[0]


async def test_redis_counters_are_shared_between_instances() -> None:
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/0").ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis does not answer on 127.0.0.1:6379")
    prefix = f"test:{uuid.uuid4().hex}"
    first = RedisRateLimiter("redis://127.0.0.1:6379/0", per_minute=3, prefix=prefix)
    second = RedisRateLimiter("redis://127.0.0.1:6379/0", per_minute=3, prefix=prefix)
    verdicts = [await limiter.check(CITIZEN) for limiter in (first, second, first, second, first)]
    assert [v.allowed for v in verdicts] == [True, True, True, False, False]
    assert [v.notify for v in verdicts] == [False, False, False, True, False]
    await asyncio.gather(first.close(), second.close())


async def test_a_blocked_sender_is_neither_answered_nor_passed_on(db_url: str, tmp_path: Path) -> None:
    from layanwarga import blocklist, db

    with db.session_scope() as session:
        blocklist.block(session, CITIZEN, "Mengirim pesan kasar berulang kali", "admin")
    async with FakeGraph() as graph:
        async with RunningChannel(make_settings(graph.url, tmp_path, db_url)) as rc:
            await rc.post(text_body("halo", message_id="wamid.blocked", wa_id=CITIZEN))
            await rc.post(text_body("halo juga", message_id="wamid.free", wa_id="6289999999999"))
            await rc.join()
        assert [m.text for m in rc.received] == ["halo juga"]
        assert graph.sent == [] and len(graph.reads) == 1
    with db.session_scope() as session:
        assert blocklist.unblock(session, CITIZEN)
    assert not blocklist.is_blocked(CITIZEN)
