"""Micro-benchmark: the WhatsApp connector's database work per answered message.

Runs the storage calls the connector makes for ``--messages`` answered messages (each with
``--replies`` replies, and Meta's sent, delivered and read webhook for every reply), in one
thread as the connector's ``BlockingRunner`` does, two ways:

- ``separate``: one unit of work per call, as before the units were merged: journal, blocklist
  check, citizen upsert, conversation log, handoff check; per reply ``record_sent`` and
  ``log_outbound``; per status webhook ``record_statuses`` of one record;
- ``merged``: what the connector does now: the journal entry (``take_in_rows``, with a
  message of the corpus's size encrypted), ``admit_inbound``, ``log_inbound_checking_handoff``
  with the journal's hold in the same unit, per reply ``record_outbound``, the journal's
  ``finish_row``; the statuses in batches of ``--batch`` records (``StatusBatcher``).

It reports the CPU time of the calling thread (``time.thread_time``: the time that thread holds
the GIL or waits in C code without it, i.e. what competes with Rasa's event loop), the wall time
and the units of work (transactions), per answered message, for SQLite and/or a scratch
PostgreSQL database. Statuses alone are timed too (one unit per record against batches).

    .venv/bin/python scripts/benchmark_connector_db.py
    .venv/bin/python scripts/benchmark_connector_db.py --databases sqlite --messages 1000 --batch 50
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Callable, Dict, List, Tuple

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.future import create_engine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from connectors import journal  # noqa: E402
from connectors.executor import BlockingRunner  # noqa: E402
from layanwarga import blocklist, conversation_log, db, handoff, inbound, migrate  # noqa: E402
from whatsapp import statuses  # noqa: E402

POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
# Meta's webhooks for a reply, and how many turns later each arrives: a batch mixes the states of
# different messages (each one an UPDATE of a stored row), as it does under load.
STATUS_SEQUENCE = (("sent", 0), ("delivered", 5), ("read", 20))
# The journal's owner and lease, and what it keeps of an inbound text message (as the parser
# gives it: about 0.6 KB of JSON before encryption).
OWNER, LEASE, RUNNER = "bench/1", journal.DEFAULT_LEASE, BlockingRunner()
MESSAGE = {
    "id": "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABIYIDNBMEI1QkY3",
    "type": "text",
    "timestamp": "1767225600",
    "wa_id": "6281234567890",
    "user_id": None,
    "parent_user_id": None,
    "profile_name": "Budi Santoso",
    "username": None,
    "phone_number_id": "100000000000001",
    "display_phone_number": "6281100000000",
    "raw": {
        "from": "6281234567890",
        "id": "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABIYIDNBMEI1QkY3",
        "timestamp": "1767225600",
        "type": "text",
        "text": {"body": "lampu jalan di gang mawar rt 3 mati sejak kemarin malam, mohon dibantu pak"},
    },
    "position": [0, 0, 0],
}


def create_database(kind: str, workdir: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{workdir / f'connector_{uuid.uuid4().hex[:8]}.db'}"
    name = f"lw_bench_connector_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    db.dispose_engines()
    if not url.startswith("postgresql"):
        return
    name = make_url(url).database
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"
            ),
            {"n": name},
        )
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def sender_of(i: int) -> str:
    return f"62812{i % 200:08d}"  # 200 citizens writing in turn, as in a busy hour


def separate(url: str, i: int, replies: int) -> None:
    sender = sender_of(i)
    journal.take_in_rows(
        [journal.Entry(f"wamid.in.{i}|1767225600|{sender}", sender, {}, float(i))], OWNER, LEASE, url=url
    )
    blocklist.is_blocked(sender, url=url)
    inbound.record_inbound(wa_id=sender, user_id=None, profile_name="Budi", inbound_at=None, url=url)
    conversation_log.log_inbound(sender, "lampu jalan mati", wamid=f"wamid.in.{i}", url=url)
    handoff.is_active(sender, url=url)
    for r in range(replies):
        statuses.record_sent(f"wamid.out.{i}.{r}", sender, url=url)
        conversation_log.log_outbound(sender, "Baik, kami catat.", wamid=f"wamid.out.{i}.{r}", url=url)
    for status, later in STATUS_SEQUENCE:
        for r in range(replies):
            statuses.record_statuses(
                [statuses.StatusRecord(f"wamid.out.{i - later}.{r}", status, sender)], url=url
            )


def merged(url: str, i: int, replies: int, pending: List[statuses.StatusRecord], batch: int) -> None:
    sender = sender_of(i)
    key = f"wamid.in.{i}|1767225600|{sender}"
    journal.take_in_rows([journal.Entry(key, sender, MESSAGE, float(i))], OWNER, LEASE, url=url)
    inbound.admit_inbound(sender, wa_id=sender, user_id=None, profile_name="Budi", inbound_at=None, url=url)
    hold = journal.SqlJournal(RUNNER, url=url).holder(
        key, {"text": "lampu jalan mati", "metadata": {}, "message_id": key}
    )
    conversation_log.log_inbound_checking_handoff(
        sender, "lampu jalan mati", wamid=f"wamid.in.{i}", url=url, also=hold
    )
    for r in range(replies):
        statuses.record_outbound(f"wamid.out.{i}.{r}", sender, "Baik, kami catat.", url=url)
    journal.finish_row(key, journal.DONE, url=url)
    for status, later in STATUS_SEQUENCE:
        for r in range(replies):
            pending.append(statuses.StatusRecord(f"wamid.out.{i - later}.{r}", status, sender))
    while len(pending) >= batch:
        statuses.record_statuses(pending[:batch], url=url)
        del pending[:batch]


def measure(url: str, work: Callable[[], None]) -> Tuple[float, float, int]:
    """(thread CPU seconds, wall seconds, transactions) of ``work``."""
    engine = db.get_engine(url)
    units = [0]

    def on_begin(conn: object) -> None:
        units[0] += 1

    event.listen(engine, "begin", on_begin)
    try:
        cpu, wall = time.thread_time(), time.perf_counter()
        work()
        return time.thread_time() - cpu, time.perf_counter() - wall, units[0]
    finally:
        event.remove(engine, "begin", on_begin)


def separate_turns(url: str, messages: int, replies: int) -> None:
    for i in range(messages):
        separate(url, i, replies)


def merged_turns(url: str, messages: int, replies: int, batch: int) -> None:
    pending: List[statuses.StatusRecord] = []
    for i in range(messages):
        merged(url, i, replies, pending, batch)
    if pending:
        statuses.record_statuses(pending, url=url)


def turns(
    kind: str, workdir: Path, messages: int, replies: int, batch: int
) -> Dict[str, Tuple[float, float, float]]:
    results: Dict[str, Tuple[float, float, float]] = {}
    for mode in ("separate", "merged"):
        url = create_database(kind, workdir)
        try:
            migrate.upgrade(url)
            for i in range(20):  # warm the pool and the statement caches
                separate(url, 10_000_000 + i, 1)
            if mode == "separate":
                work = functools.partial(separate_turns, url, messages, replies)
            else:
                work = functools.partial(merged_turns, url, messages, replies, batch)
            cpu, wall, units = measure(url, work)
            results[mode] = (cpu * 1000 / messages, wall * 1000 / messages, units / messages)
        finally:
            drop_database(url)
    return results


def record_in_batches(url: str, records: List[statuses.StatusRecord], size: int) -> None:
    for start in range(0, len(records), size):
        statuses.record_statuses(records[start : start + size], url=url)


def statuses_only(kind: str, workdir: Path, count: int, batch: int) -> Dict[str, Tuple[float, float]]:
    """Thread CPU and wall milliseconds per status record: one unit each against batches.

    The records come in waves (every message's sent, then every delivered, then every read), so
    a batch inserts or updates one row per record, never coalescing several states of a message.
    """
    results: Dict[str, Tuple[float, float]] = {}
    messages = count // len(STATUS_SEQUENCE)
    records = [
        statuses.StatusRecord(f"wamid.st.{i}", status, sender_of(i))
        for status, _ in STATUS_SEQUENCE
        for i in range(messages)
    ]
    for mode in ("one per unit", f"batches of {batch}"):
        url = create_database(kind, workdir)
        try:
            migrate.upgrade(url)
            statuses.record_statuses([statuses.StatusRecord("wamid.warm", "sent")], url=url)
            size = 1 if mode == "one per unit" else batch
            cpu, wall, _ = measure(url, functools.partial(record_in_batches, url, records, size))
            results[mode] = (cpu * 1000 / len(records), wall * 1000 / len(records))
        finally:
            drop_database(url)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--databases", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"]
    )
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--replies", type=int, default=2)
    parser.add_argument("--batch", type=int, default=200, help="status records per unit of work (merged)")
    parser.add_argument("--statuses", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the median is reported")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for kind in args.databases:
            runs = [turns(kind, workdir, args.messages, args.replies, args.batch) for _ in range(args.repeat)]
            print(
                f"\n{kind}: per answered message ({args.messages} messages, {args.replies} replies each, "
                f"median of {args.repeat})"
            )
            print(f"  {'mode':<10} {'CPU ms':>8} {'wall ms':>8} {'units':>6}")
            for mode in ("separate", "merged"):
                cpu = statistics.median(r[mode][0] for r in runs)
                wall = statistics.median(r[mode][1] for r in runs)
                print(f"  {mode:<10} {cpu:8.2f} {wall:8.2f} {runs[0][mode][2]:6.2f}")
            status_runs = [
                statuses_only(kind, workdir, args.statuses, args.batch) for _ in range(args.repeat)
            ]
            print(f"{kind}: per status record ({args.statuses} records)")
            for mode in status_runs[0]:
                cpu = statistics.median(r[mode][0] for r in status_runs)
                wall = statistics.median(r[mode][1] for r in status_runs)
                print(f"  {mode:<16} CPU {cpu:6.3f} ms  wall {wall:6.3f} ms")


if __name__ == "__main__":
    main()
