"""Two ``rasa run`` instances behind a load balancer behave exactly like one.

One cluster on the production configuration (``endpoints.production.yml``: PostgreSQL tracker
store via ``LayanWargaTrackerStore``, Rasa's ``RedisLockStore``; a PostgreSQL ticket database;
``REDIS_URL`` for the connector): two ``rasa run`` instances and one action server, started side by
side, with a load balancer in front and the WhatsApp simulator behind it.

The same citizen follows the same script twice, from empty databases each time:

1. *one instance*: the balancer sends everything to instance 0;
2. *two instances*: round robin, so consecutive messages alternate between the instances; one
   burst message is delivered to both instances at once, and after the conversation one message
   is redelivered to the instance that did not take it first.

The script: a greeting, a complaint whose first two messages come in a burst (the second while
the first is still being processed, on the other instance in run 2), button taps through the
form, and a final burst of three questions. Then the runs must be identical: the bot's replies
in order, every row of the ticket database, the conversation store's events in order; and each
message delivered twice was processed once.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from typing import Any, Dict, Iterator, List, Tuple

import pytest
from sqlalchemy import MetaData, select, text
from sqlalchemy.future import create_engine

from pg_support import postgres_available
from scale_cluster import Cluster, redis_available, start_cluster
from simulator.client import Chat, message_text

pytestmark = pytest.mark.skipif(
    not (postgres_available() and redis_available()),
    reason="needs PostgreSQL and Redis on 127.0.0.1 (the project's machines have both)",
)

PHONE = "6281270000042"  # one citizen, the same in both clusters (each cluster's stores start empty)
NAME = "Rina Marlina"
COMPLAINT_NUMBER = re.compile(r"ADU-\d{4}-\d{5}")
WAMID = re.compile(r"wamid\.[A-Za-z0-9+/=_-]+")
EPOCH = re.compile(r"(?<=\|)\d{9,11}(?=\|)")
RANDOM_ID = re.compile(r"\b[0-9a-f]{32}\b")  # uuid4().hex, e.g. in a submission's idempotency key


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    running = start_cluster(tmp_path_factory.mktemp("scale"), instances=2)
    try:
        yield running
    finally:
        running.stop()
        running.drop_data([PHONE])


# -- the script ------------------------------------------------------------------------------------
def burst(chat: Chat, texts: List[str]) -> List[Dict[str, Any]]:
    """Send ``texts`` without waiting for answers (the simulator posts each after the previous
    one's 200, as Meta does)."""
    return [chat._post_text(body) for body in texts]


def run_script(cluster: Cluster, pair: bool) -> Dict[str, Any]:
    """The citizen's conversation; returns what was sent and received, for the checks."""
    sim = cluster.simulator
    assert sim is not None
    chat = sim.chat(PHONE, NAME)
    history = chat.history()
    start = history[-1]["seq"] if history else 0

    chat.say("halo min", until="Silakan pilih layanan")
    if pair:
        cluster.balancer.duplicate = {2}  # the location, while the complaint is still processed
    first = burst(
        chat,
        [
            "lampu jalan di gang mawar mati sudah seminggu, gelap sekali",
            "Gang Mawar RT 02 RW 05 dekat musala",
        ],
    )
    chat.wait_for("kirim foto", after=first[-1]["seq"])
    chat.tap("Lewati", until="dirahasiakan")
    chat.tap("Tidak perlu", until="dari publik")
    chat.tap("Boleh publik", until="Apakah sudah benar?")
    chat.tap("Kirim", until=COMPLAINT_NUMBER)
    last = burst(
        chat, ["kantor kelurahan buka jam berapa ya", "alamat kantor lurah dimana", "cek status laporan saya"]
    )
    answer = chat.wait_for(COMPLAINT_NUMBER, after=last[-1]["seq"])
    # Meta redelivers a message already answered: in the pair it reaches the other instance.
    sim.redeliver(last[0]["id"])
    assert chat.quiet(after=answer["seq"], seconds=4) == [], "nothing more is sent"
    messages = [m for m in chat.history() if m["seq"] > start]
    wait_statuses_settled(cluster, [m["id"] for m in messages if m["author"] == "bot"])
    return {
        "messages": messages,
        "duplicated": first[1]["id"],
        "redelivered": last[0]["id"],
        "replies": [
            (m["type"], WAMID.sub("<wamid>", message_text(m))) for m in messages if m["author"] == "bot"
        ],
        "sent": [m["id"] for m in messages if m["author"] == "citizen"],
        "tables": ticket_database(cluster.database_url),
        "events": conversation_store(cluster.tracker_url),
        "user_message_ids": user_message_ids(cluster.tracker_url),
    }


# -- what the runs left behind ---------------------------------------------------------------------
def _normal(value: Any) -> Any:
    """Values that differ between two identical runs by nature (ids Meta or the clock made)."""
    if isinstance(value, dt.datetime):
        return "<time>"
    if isinstance(value, str):
        if value.startswith("gAAAA"):  # Fernet: a fresh IV every time
            return "<encrypted>"
        return RANDOM_ID.sub("<uuid>", EPOCH.sub("<ts>", WAMID.sub("<wamid>", value)))
    if isinstance(value, dict):
        return {k: "<time>" if k in ("timestamp", "time") else _normal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return value


# Numbers the clock makes (the journal orders a citizen's messages by the time they were taken in).
CLOCK_COLUMNS = {"processed_messages": ("seq",)}
# What the processes report about themselves (an action server's spool counts, written when it
# starts and when they change), not what the conversation left behind.
HOUSEKEEPING_TABLES = {"spool_reports"}


def ticket_database(url: str) -> Dict[str, List[Tuple[Any, ...]]]:
    """Every row of every table, normalised; rows in id order, or sorted without an id."""
    engine = create_engine(url)
    metadata = MetaData()
    metadata.reflect(engine)
    dump: Dict[str, List[Tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            if table.name in HOUSEKEEPING_TABLES:
                continue
            order = [table.c.id] if "id" in table.c else []
            clock = [c.name in CLOCK_COLUMNS.get(table.name, ()) for c in table.columns]
            rows = [
                tuple("<clock>" if by_clock else _normal(v) for v, by_clock in zip(row, clock))
                for row in conn.execute(select(table).order_by(*order))
            ]
            dump[table.name] = rows if order else sorted(rows, key=repr)
    engine.dispose()
    return dump


def conversation_store(url: str) -> List[Tuple[Any, ...]]:
    """The tracker store's events of the citizen: what happened, in order."""
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT type_name, intent_name, action_name, data FROM events WHERE sender_id = :s ORDER BY id"
            ),
            {"s": PHONE},
        ).all()
    engine.dispose()
    events = []
    for type_name, intent, action, data in rows:
        body = json.loads(data)
        events.append(
            (
                type_name,
                intent,
                action,
                _normal(body.get("text")),
                body.get("name"),
                _normal(body.get("value")),
            )
        )
    return events


def user_message_ids(url: str) -> List[str]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT data FROM events WHERE sender_id = :s AND type_name = 'user' ORDER BY id"),
            {"s": PHONE},
        ).all()
    engine.dispose()
    return [json.loads(data)["message_id"] for (data,) in rows]


def wait_statuses_settled(cluster: Cluster, bot_ids: List[str], timeout: float = 20.0) -> None:
    """Status webhooks are recorded in the background: wait until every reply is 'delivered'."""
    wanted = set(bot_ids)
    engine = create_engine(cluster.database_url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                done = {
                    r[0]
                    for r in conn.execute(
                        text("SELECT message_id FROM message_statuses WHERE status = 'delivered'")
                    )
                }
            if wanted <= done:
                return
            time.sleep(0.2)
    finally:
        engine.dispose()
    raise AssertionError(f"statuses not recorded for {sorted(wanted - done)}")


# -- the test --------------------------------------------------------------------------------------
def count(url: str, sql: str, **params: Any) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        value = conn.execute(text(sql), params).scalar_one()
    engine.dispose()
    return int(value)


def test_two_instances_hold_the_same_conversation_as_one(cluster: Cluster) -> None:
    cluster.balancer.reset(pinned=0)
    one = run_script(cluster, pair=False)
    assert {b for _, targets in cluster.balancer.routes for b in targets} == {0}

    cluster.reset_data([PHONE])
    cluster.balancer.reset()
    two = run_script(cluster, pair=True)

    # The balancer really spread the citizen's messages over both instances, alternately.
    firsts = []
    seen = set()
    for ids, targets in cluster.balancer.routes:
        if ids and not seen.intersection(ids):
            firsts.append(targets[0])
            seen.update(ids)
    assert firsts == [i % 2 for i in range(len(firsts))] and len(firsts) == len(two["sent"])

    # 1. The conversation: the same replies, in the same order.
    assert len(one["replies"]) >= 8
    assert two["replies"] == one["replies"]
    number = COMPLAINT_NUMBER.search(" ".join(t for _, t in one["replies"])).group(0)
    assert number.endswith("-00001")

    # 2. Order: the conversation store took the citizen's messages in the order written, once each.
    assert one["user_message_ids"] == one["sent"]
    assert two["user_message_ids"] == two["sent"], "messages reordered or repeated on two instances"

    # 3. The databases: every row of the ticket database, every event of the conversation store.
    assert len(one["tables"]["tickets"]) == 1 and len(one["tables"]["citizens"]) == 1
    for name in one["tables"]:
        assert two["tables"][name] == one["tables"][name], name
    assert two["events"] == one["events"]

    # 4. Delivered twice (at once, and again after the answer) to different instances: once.
    for message_id in (two["duplicated"], two["redelivered"]):
        assert sorted(set(cluster.balancer.backends_of(message_id))) == [0, 1], "reached both instances"
        assert (
            count(
                cluster.database_url,
                "SELECT count(*) FROM processed_messages WHERE message_id LIKE :p",
                p=f"{message_id}|%",
            )
            == 1
        )
        assert (
            count(
                cluster.database_url,
                "SELECT count(*) FROM conversation_messages WHERE wamid = :w",
                w=message_id,
            )
            == 1
        )
        assert two["user_message_ids"].count(message_id) == 1
        marks = [
            c for c in cluster.simulator.graph_calls() if (c["body"] or {}).get("message_id") == message_id
        ]
        assert len(marks) == 1, "marked read (processed) once"

    # Nothing went wrong quietly in any process.
    for index in range(cluster.instances):
        log = cluster.log(f"rasa{index}")
        assert "Traceback" not in log and " ERROR " not in log, log[-3000:]
