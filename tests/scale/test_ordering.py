"""Per-citizen order across instances (connectors/ordering.py), on the real local Redis.

First the ticket queue itself (two ``RedisOrdering`` objects play two instances), then the
connector: two webhook servers sharing Redis and one ticket database, one citizen's messages
posted alternately to both, as a round-robin load balancer would.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Tuple

import pytest
from rasa.core.channels.channel import UserMessage

from connectors.ordering import LocalOrdering, RedisOrdering, make_ordering
from wa_support import FakeGraph, RunningChannel, make_settings, text_body

CITIZEN = "6281299990001"


async def test_turns_follow_the_tickets_whichever_instance_runs_them(
    redis_url: str, order_prefix: str
) -> None:
    first, second = (RedisOrdering(redis_url, prefix=order_prefix) for _ in range(2))
    instances = [first, second]
    tickets = []
    for i in range(6):  # arrival order: alternately on the two instances
        ordering = instances[i % 2]
        tickets.append((ordering, await ordering.admit(CITIZEN)))
    assert [t.number for _, t in tickets] == list(range(1, 7))

    ran: List[int] = []
    running: List[int] = []

    async def work(ordering: RedisOrdering, ticket) -> None:  # type: ignore[no-untyped-def]
        async with ordering.turn(CITIZEN, ticket):
            running.append(ticket.number)
            assert len(running) == 1, f"two turns of one citizen at once: {running}"
            await asyncio.sleep(0.02)
            ran.append(ticket.number)
            running.remove(ticket.number)

    # Started in reverse order: the tickets, not the start order, decide.
    await asyncio.gather(*(work(o, t) for o, t in reversed(tickets)))
    assert ran == [1, 2, 3, 4, 5, 6]
    assert first.stats.contended + second.stats.contended >= 5
    assert first.stats.gave_up == second.stats.gave_up == 0
    await asyncio.gather(first.close(), second.close())


async def test_a_long_turn_keeps_its_place(redis_url: str, order_prefix: str) -> None:
    """The lease (0.6 s here) is renewed while the turn runs: the next message waits it out."""
    first, second = (RedisOrdering(redis_url, prefix=order_prefix, lease=0.6) for _ in range(2))
    one, two = await first.admit(CITIZEN), await second.admit(CITIZEN)
    finished: Dict[int, float] = {}

    async def long_turn() -> None:
        async with first.turn(CITIZEN, one):
            await asyncio.sleep(1.8)
            finished[1] = time.monotonic()

    async def next_turn() -> None:
        await asyncio.sleep(0.05)
        async with second.turn(CITIZEN, two):
            finished[2] = time.monotonic()

    await asyncio.gather(long_turn(), next_turn())
    assert finished[2] >= finished[1]
    await asyncio.gather(first.close(), second.close())


async def test_a_crashed_instance_holds_the_citizen_up_for_one_lease_only(
    redis_url: str, order_prefix: str
) -> None:
    crashed = RedisOrdering(redis_url, prefix=order_prefix, lease=0.6)
    survivor = RedisOrdering(redis_url, prefix=order_prefix, lease=0.6)
    await crashed.admit(CITIZEN)
    # The instance dies with the message admitted but never processed: no release, no renewal.
    assert crashed._renewer is not None
    crashed._renewer.cancel()
    crashed._held.clear()
    ticket = await survivor.admit(CITIZEN)
    started = time.monotonic()
    async with survivor.turn(CITIZEN, ticket):
        waited = time.monotonic() - started
    # It waited for the crashed instance's lease (0.6 s) to run out, then went ahead: it did not
    # give up (after ordering_max_wait). How soon after the lease it went depends on the machine.
    assert waited > 0.3
    assert survivor.stats.gave_up == 0
    await asyncio.gather(crashed.close(), survivor.close())


async def test_without_redis_messages_are_still_processed() -> None:
    ordering = RedisOrdering("redis://127.0.0.1:1/0", socket_timeout=0.5)
    assert await ordering.admit(CITIZEN) is None
    ran = False
    async with ordering.turn(CITIZEN, None):
        ran = True
    assert ran and ordering.stats.errors >= 2
    await ordering.close()


def test_backend_choice() -> None:
    assert isinstance(make_ordering("auto", None), LocalOrdering)
    assert isinstance(make_ordering("local", "redis://127.0.0.1:6379/0"), LocalOrdering)
    assert isinstance(make_ordering("auto", "redis://127.0.0.1:6379/0"), RedisOrdering)
    with pytest.raises(ValueError):
        make_ordering("redis", None)


# -- the connector on two instances ----------------------------------------------------------------
@dataclass
class Turn:
    instance: str
    text: str
    started: float
    ended: float


async def _two_instances(
    tmp_path: Path, database_url: str, redis_url: str, prefix: str, ordering: str, count: int = 6
) -> Tuple[List[Turn], List[int]]:
    """Post ``count`` messages of one citizen alternately to two connector instances, each POST
    after the previous one's 200 (as Meta does); returns the assistant's turns and the statuses."""
    turns: List[Turn] = []

    def assistant(name: str):  # type: ignore[no-untyped-def]
        async def run(message: UserMessage) -> None:
            started = time.monotonic()
            await asyncio.sleep(0.08)  # a Rasa turn
            turns.append(Turn(name, message.text or "", started, time.monotonic()))

        return run

    async with FakeGraph() as graph:
        settings = [
            make_settings(
                graph.url,
                tmp_path / name,
                database_url,
                redis_url=redis_url,
                ordering=ordering,
                ordering_prefix=prefix,
            )
            for name in ("a", "b")
        ]
        async with (
            RunningChannel(settings[0], on_message=assistant("a")) as a,
            RunningChannel(settings[1], on_message=assistant("b")) as b,
        ):
            statuses = []
            bodies = [
                text_body(
                    f"pesan {i}",
                    wa_id=CITIZEN,
                    message_id=f"wamid.scale.{ordering}.{i}",
                    timestamp=str(1767225600 + i),
                )
                for i in range(count)
            ]
            for i, body in enumerate(bodies):
                statuses.append((await (a if i % 2 == 0 else b).post(body)).status)
            # Meta redelivers message 2 (first taken by b) to a: it is processed once.
            statuses.append((await a.post(bodies[2])).status)
            await asyncio.gather(a.join(20), b.join(20))
    turns.sort(key=lambda t: t.started)
    return turns, statuses


async def test_one_citizen_over_two_instances_in_order_and_one_at_a_time(
    tmp_path: Path, sqlite_url: str, redis_url: str, order_prefix: str
) -> None:
    turns, statuses = await _two_instances(tmp_path, sqlite_url, redis_url, order_prefix, "auto")
    assert statuses == [200] * 7
    assert [t.text for t in turns] == [f"pesan {i}" for i in range(6)]  # redelivery not run again
    assert [t.instance for t in turns] == ["a", "b"] * 3
    for earlier, later in zip(turns, turns[1:]):
        assert later.started >= earlier.ended, f"{later.text} started before {earlier.text} ended"


async def test_control_without_shared_ordering_the_instances_overlap(
    tmp_path: Path, sqlite_url: str, redis_url: str, order_prefix: str
) -> None:
    """What the ordering prevents: with in-process order only, both instances work on the
    citizen at once (Rasa's lock store would then be the only guard)."""
    turns, _ = await _two_instances(tmp_path, sqlite_url, redis_url, order_prefix, "local")
    assert sorted(t.text for t in turns) == [f"pesan {i}" for i in range(6)]  # once each (dedupe)
    overlaps = sum(1 for x, y in zip(turns, turns[1:]) if y.started < x.ended)
    assert overlaps >= 1


def test_ordering_settings() -> None:
    from connectors.settings import SettingsError, load_settings

    base = {
        "WHATSAPP_VERIFY_TOKEN": "v",
        "WHATSAPP_ACCESS_TOKEN": "a",
        "WHATSAPP_PHONE_NUMBER_ID": "1",
        "WHATSAPP_APP_SECRET": "s",
    }
    assert load_settings({}, environ=base).ordering == "auto"
    with_redis = load_settings(
        {}, environ={**base, "REDIS_URL": "redis://r:6379/0", "LAYANWARGA_ORDERING": "local"}
    )
    assert with_redis.ordering == "local" and with_redis.redis_url
    assert load_settings({"ordering_lease": 5, "ordering_max_wait": 30}, environ=base).ordering_lease == 5.0
    with pytest.raises(SettingsError):
        load_settings({}, environ={**base, "LAYANWARGA_ORDERING": "zookeeper"})
    with pytest.raises(SettingsError):
        load_settings({"ordering": "redis"}, environ=base)
