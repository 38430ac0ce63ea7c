"""The connector's storage in few units of work: statuses in batches, a reply's status with its
conversation-log line, the blocklist check with the citizen upsert, the inbound log line with
the handoff check."""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List

import pytest
from sqlalchemy import delete, event, insert, select, update
from sqlalchemy.engine.default import CACHE_HIT

from connectors import journal
from connectors.executor import BlockingRunner
from layanwarga import blocklist, citizens, conversation_log, db, handoff, inbound
from layanwarga.models import Citizen, ConversationMessage, Handoff, MessageStatus
from whatsapp import statuses as wa_statuses

SENDER = "6281234567890"


@contextmanager
def counting(url: str) -> Iterator[Dict[str, Any]]:
    """Counts transactions (units of work) and the SQL statements run on ``url``'s engine."""
    engine = db.get_engine(url)
    seen: Dict[str, Any] = {"units": 0, "statements": []}

    def on_begin(conn: Any) -> None:
        seen["units"] += 1

    def on_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen["statements"].append(" ".join(statement.split()))

    event.listen(engine, "begin", on_begin)
    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        yield seen
    finally:
        event.remove(engine, "begin", on_begin)
        event.remove(engine, "before_cursor_execute", on_execute)


def statuses(url: str) -> Dict[str, str]:
    with db.session_scope(url) as session:
        return {row.message_id: row.status for row in session.execute(select(MessageStatus)).scalars()}


def status_lookups(statements: List[str]) -> List[str]:
    return [s for s in statements if s.startswith("SELECT") and "FROM message_statuses" in s]


def test_a_batch_ends_each_message_in_its_highest_state_whatever_the_order(db_url: str) -> None:
    wa_statuses.record_statuses([wa_statuses.StatusRecord("wamid.C", "read", SENDER)], url=db_url)
    batch = [
        wa_statuses.StatusRecord("wamid.A", "read", SENDER),
        wa_statuses.StatusRecord("wamid.A", "sent", SENDER),
        wa_statuses.StatusRecord("wamid.B", "delivered", SENDER),
        wa_statuses.StatusRecord("wamid.A", "delivered", SENDER),
        wa_statuses.StatusRecord("wamid.B", "accepted", SENDER),
        wa_statuses.StatusRecord("wamid.C", "delivered", SENDER),  # stored as read: never backwards
        wa_statuses.StatusRecord("wamid.D", "sent", SENDER),
        wa_statuses.StatusRecord("wamid.D", "failed", SENDER, 131026, "Message undeliverable"),
    ]
    with counting(db_url) as seen:
        changed = wa_statuses.record_statuses(batch, url=db_url)
    assert statuses(db_url) == {
        "wamid.A": "read",
        "wamid.B": "delivered",
        "wamid.C": "read",
        "wamid.D": "failed",
    }
    assert changed == 4  # A, B and D inserted, D failed; A's later two, B's and C's second are older
    # One unit of work, and the stored rows are read with one query, not one per record.
    assert seen["units"] == 1
    assert len(status_lookups(seen["statements"])) == 1 and " IN " in status_lookups(seen["statements"])[0]
    assert wa_statuses.get_status("wamid.D", url=db_url) == wa_statuses.StatusRecord(
        "wamid.D", "failed", SENDER, 131026, "Message undeliverable"
    )


def test_a_large_batch_looks_rows_up_in_chunks(sqlite_url: str) -> None:
    records = [wa_statuses.StatusRecord(f"wamid.{i}", "sent", SENDER) for i in range(1200)]
    wa_statuses.record_statuses(records[:600], url=sqlite_url)
    with counting(sqlite_url) as seen:
        wa_statuses.record_statuses(
            [wa_statuses.StatusRecord(r.message_id, "delivered") for r in records], url=sqlite_url
        )
    assert set(statuses(sqlite_url).values()) == {"delivered"} and len(statuses(sqlite_url)) == 1200
    assert seen["units"] == 1 and len(status_lookups(seen["statements"])) == 3


@contextmanager
def another_instance_writes_after_the_lookup(url: str, statement: Any) -> Iterator[List[bool]]:
    """Another instance wins a race: right after this unit of work reads the stored statuses,
    before it writes, ``statement`` runs and commits on another connection. Yields a list that
    holds ``True`` once that happened."""
    engine = db.get_engine(url)
    raced: List[bool] = []

    def other_instance_writes(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        if raced or not (sql.startswith("SELECT") and "FROM message_statuses" in sql):
            return
        raced.append(True)
        with engine.connect() as other:
            other.execute(statement)
            other.commit()

    event.listen(engine, "after_cursor_execute", other_instance_writes)
    try:
        yield raced
    finally:
        event.remove(engine, "after_cursor_execute", other_instance_writes)


def test_a_concurrent_insert_by_another_instance_is_retried(db_url: str) -> None:
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite serialises writers (BEGIN IMMEDIATE): no concurrent insert can slip in")
    other_insert = insert(MessageStatus).values(message_id="wamid.race", status="delivered")
    with another_instance_writes_after_the_lookup(db_url, other_insert) as raced:
        changed = wa_statuses.record_statuses(
            [
                wa_statuses.StatusRecord("wamid.race", "sent", SENDER),
                wa_statuses.StatusRecord("wamid.race", "read", SENDER),
            ],
            url=db_url,
        )
    assert raced and changed == 1  # the retry found the row: "sent" is older, "read" moves it on
    assert wa_statuses.get_status("wamid.race", url=db_url) == wa_statuses.StatusRecord(
        "wamid.race", "read", SENDER
    )


def test_a_state_another_instance_moved_on_meanwhile_is_not_moved_back(db_url: str) -> None:
    """Two instances behind a balancer get a reply's "sent" and "delivered" webhooks: if the
    "delivered" batch commits after this batch read the row, this batch's "sent" must not
    overwrite it (found by tests/scale: a reply stuck at "sent")."""
    if db_url.startswith("sqlite"):
        pytest.skip(
            "SQLite serialises writers (BEGIN IMMEDIATE): nothing can commit between lookup and update"
        )
    wa_statuses.record_outbound("wamid.moved", SENDER, "Baik.", url=db_url)
    other_update = (
        update(MessageStatus).where(MessageStatus.message_id == "wamid.moved").values(status="delivered")
    )
    with another_instance_writes_after_the_lookup(db_url, other_update) as raced:
        wa_statuses.record_statuses([wa_statuses.StatusRecord("wamid.moved", "sent", SENDER)], url=db_url)
    assert raced
    assert wa_statuses.get_status("wamid.moved", url=db_url).status == "delivered"


def test_a_reply_is_recorded_with_its_log_line_in_one_unit_of_work(db_url: str) -> None:
    with counting(db_url) as seen:
        wa_statuses.record_outbound("wamid.OUT.1", SENDER, "Baik, kami catat.", url=db_url)
    assert seen["units"] == 1
    assert wa_statuses.get_status("wamid.OUT.1", url=db_url) == wa_statuses.StatusRecord(
        "wamid.OUT.1", "accepted", SENDER
    )
    with db.session_scope(db_url) as session:
        [line] = session.execute(select(ConversationMessage)).scalars().all()
        assert (line.sender, line.direction, line.actor, line.text, line.wamid, line.kind) == (
            SENDER,
            "out",
            "asisten",
            "Baik, kami catat.",
            "wamid.OUT.1",
            "text",
        )

    # Late bookkeeping (the read webhook came first) never moves the state back; the line is kept.
    wa_statuses.record_statuses([wa_statuses.StatusRecord("wamid.OUT.2", "read", SENDER)], url=db_url)
    wa_statuses.record_outbound("wamid.OUT.2", SENDER, None, url=db_url)
    assert wa_statuses.get_status("wamid.OUT.2", url=db_url).status == "read"
    with db.session_scope(db_url) as session:
        assert [
            r.wamid
            for r in session.execute(select(ConversationMessage).order_by(ConversationMessage.id)).scalars()
        ] == ["wamid.OUT.1", "wamid.OUT.2"]


def test_a_failed_reply_record_leaves_neither_row(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(conversation_log, "add", broken)
    with pytest.raises(RuntimeError):
        wa_statuses.record_outbound("wamid.OUT.broken", SENDER, "teks", url=db_url)
    assert wa_statuses.get_status("wamid.OUT.broken", url=db_url) is None


def test_admission_records_the_citizen_unless_blocked(db_url: str) -> None:
    with counting(db_url) as seen:
        admitted = inbound.admit_inbound(
            SENDER, wa_id=SENDER, user_id=None, profile_name="Budi", inbound_at=None, url=db_url
        )
    assert seen["units"] == 1
    assert not admitted.blocked and admitted.citizen_id == inbound.find_citizen_id(SENDER, url=db_url)

    blocked_sender = "6289999999999"
    with db.session_scope(db_url) as session:
        blocklist.block(session, blocked_sender, "Mengirim pesan kasar berulang kali", "admin")
    refused = inbound.admit_inbound(
        blocked_sender, wa_id=blocked_sender, user_id=None, profile_name="X", inbound_at=None, url=db_url
    )
    assert refused == inbound.Admission(blocked=True, citizen_id=None)
    with db.session_scope(db_url) as session:
        assert [c.wa_id for c in session.execute(select(Citizen)).scalars()] == [SENDER]


def test_logging_an_inbound_message_tells_whether_an_officer_has_the_conversation(db_url: str) -> None:
    with counting(db_url) as seen:
        first = conversation_log.log_inbound_checking_handoff(SENDER, "halo", wamid="wamid.in.1", url=db_url)
    assert seen["units"] == 1 and first.in_handoff is False

    opened = handoff.open_handoff(SENDER, "minta_petugas", url=db_url)
    second = conversation_log.log_inbound_checking_handoff(
        SENDER, "pak tolong", wamid="wamid.in.2", url=db_url
    )
    assert second.in_handoff is True and second.id > first.id
    assert (
        conversation_log.log_inbound_checking_handoff("6289999999999", "halo", url=db_url).in_handoff is False
    )
    with db.session_scope(db_url) as session:
        line = session.get(ConversationMessage, second.id)
        assert line.handoff_id == opened.id
        assert session.get(Handoff, opened.id).last_inbound_at == line.created_at


def test_a_replys_accepted_status_only_fills_in_what_is_missing(db_url: str) -> None:
    """``record_outbound`` writes ``accepted`` as ``record_statuses`` would: a row still
    ``accepted`` gets a missing recipient, a row already further on is left exactly as it is."""
    wa_statuses.record_statuses([wa_statuses.StatusRecord("wamid.A", "accepted", None)], url=db_url)
    wa_statuses.record_outbound("wamid.A", SENDER, "satu", url=db_url)
    assert wa_statuses.get_status("wamid.A", url=db_url) == wa_statuses.StatusRecord(
        "wamid.A", "accepted", SENDER
    )

    wa_statuses.record_statuses([wa_statuses.StatusRecord("wamid.S", "sent", None)], url=db_url)
    wa_statuses.record_outbound("wamid.S", SENDER, "dua", url=db_url)
    assert wa_statuses.get_status("wamid.S", url=db_url) == wa_statuses.StatusRecord("wamid.S", "sent", None)

    wa_statuses.record_statuses(
        [wa_statuses.StatusRecord("wamid.F", "failed", SENDER, 131047, "Re-engagement")], url=db_url
    )
    wa_statuses.record_outbound("wamid.F", "6289999999999", "tiga", url=db_url)
    assert wa_statuses.get_status("wamid.F", url=db_url) == wa_statuses.StatusRecord(
        "wamid.F", "failed", SENDER, 131047, "Re-engagement"
    )

    wa_statuses.record_outbound(
        "wamid.A", "6289999999999", "lagi", url=db_url
    )  # a recipient is never replaced
    assert wa_statuses.get_status("wamid.A", url=db_url).recipient == SENDER


def test_every_statement_of_a_messages_bookkeeping_is_compiled_once(db_url: str) -> None:
    """The connector's database thread shares the interpreter lock with Rasa: a statement
    compiled on every call (as SQLAlchemy 1.4 does with its dialect-specific INSERT ... ON
    CONFLICT) costs every message. From the second message on, each statement is a cache hit."""
    engine = db.get_engine(db_url)
    misses: List[str] = []

    def on_execute(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
    ) -> None:
        if context.compiled is not None and context.cache_hit is not CACHE_HIT:
            misses.append(" ".join(statement.split())[:80])

    def one_message(i: int) -> None:
        sender = f"62812000000{i:02d}"
        key = f"wamid.in.{i}|1767225600|{sender}"
        assert journal.take_in_rows(
            [journal.Entry(key, sender, {"id": key}, float(i))], "test/1", journal.DEFAULT_LEASE, url=db_url
        )
        inbound.admit_inbound(
            sender, wa_id=sender, user_id=None, profile_name="Budi", inbound_at=None, url=db_url
        )
        inbound.admit_inbound(
            sender, wa_id=sender, user_id=None, profile_name="Budi Santoso", inbound_at=None, url=db_url
        )
        hold = journal.SqlJournal(BlockingRunner(), url=db_url).holder(key, {"text": "lampu jalan mati"})
        conversation_log.log_inbound_checking_handoff(
            sender, "lampu jalan mati", wamid=f"wamid.in.{i}", url=db_url, also=hold
        )
        journal.finish_row(key, journal.DONE, url=db_url)
        wa_statuses.record_outbound(f"wamid.out.{i}", sender, "Baik, kami catat.", url=db_url)
        wa_statuses.record_statuses(
            [
                wa_statuses.StatusRecord(f"wamid.out.{i}", "delivered", sender),
                wa_statuses.StatusRecord(f"wamid.new.{i}", "sent", sender),
            ],
            url=db_url,
        )

    one_message(1)
    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        one_message(2)
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
    assert misses == []


CITIZEN_CASES = [
    # (stored wa_id, user_id, profile_name, last_inbound_at) or None, then the message's values
    (None, dict(wa_id="628111", user_id=None, profile_name="Budi", inbound_at=dt.datetime(2026, 12, 1, 8))),
    (None, dict(wa_id=None, user_id="ID.bsuid1", profile_name=None, inbound_at=None)),
    (
        ("628111", None, "Budi", dt.datetime(2026, 12, 1, 8)),
        dict(
            wa_id="628111", user_id="ID.bsuid1", profile_name="Budi S", inbound_at=dt.datetime(2026, 12, 1, 9)
        ),
    ),
    (
        ("628111", None, "Budi", dt.datetime(2026, 12, 1, 8)),  # an older message never moves the window back
        dict(wa_id="628111", user_id=None, profile_name=None, inbound_at=dt.datetime(2026, 12, 1, 7)),
    ),
    (
        (None, "ID.bsuid1", None, None),  # the phone appears: the same citizen keeps their BSUID
        dict(
            wa_id="628111", user_id="ID.bsuid1", profile_name="Siti", inbound_at=dt.datetime(2026, 12, 1, 8)
        ),
    ),
    (
        ("628111", "ID.bsuid1", "Siti", dt.datetime(2026, 12, 1, 8)),  # a BSUID never replaces the stored one
        dict(wa_id="628111", user_id="ID.other", profile_name="S" * 300, inbound_at=None),
    ),
]


def record_citizen(path: str, url: str, message: Dict[str, Any]) -> int:
    """The citizen behind ``message`` recorded the connector's way (Core) or everyone else's (ORM)."""
    if path == "orm":
        with db.session_scope(url) as session:
            return int(citizens.upsert(session, **message).id)
    with db.connection_scope(url) as connection:
        return citizens.record_inbound(connection, **message)


@pytest.mark.parametrize("stored, message", CITIZEN_CASES)
def test_the_connectors_citizen_record_matches_the_orm_upsert(
    db_url: str, stored: Any, message: Dict[str, Any]
) -> None:
    """``citizens.record_inbound`` (Core, the connector's path) and ``citizens.upsert`` (ORM,
    everyone else) apply the same rules: same rows after the same message."""

    def apply(path: str) -> Dict[str, Any]:
        with db.session_scope(db_url) as session:
            session.execute(delete(Citizen))
            if stored is not None:
                wa_id, user_id, name, last = stored
                session.add(Citizen(wa_id=wa_id, user_id=user_id, profile_name=name, last_inbound_at=last))
        citizen_id = record_citizen(path, db_url, message)
        with db.session_scope(db_url) as session:
            rows = session.execute(select(Citizen)).scalars().all()
            assert [row.id for row in rows] == [citizen_id]
            return {f: getattr(rows[0], f) for f in ("wa_id", "user_id", "profile_name", "last_inbound_at")}

    assert apply("core") == apply("orm")


@pytest.mark.parametrize("path", ["core", "orm"])
def test_a_bsuid_held_by_another_citizen_is_never_copied(db_url: str, path: str) -> None:
    """A phone known without a BSUID writes with a BSUID that another citizen holds (a recycled
    number, or a body that does not hold together): the message counts for the phone's citizen,
    the BSUID stays where it was. Found by the hostile-field test: the UNIQUE key failed and the
    citizen was not recorded at all."""
    with db.session_scope(db_url) as session:
        session.execute(delete(Citizen))
        session.add_all([Citizen(wa_id="628111", user_id="ID.bsuid1"), Citizen(wa_id="628222")])
    message = dict(
        wa_id="628222", user_id="ID.bsuid1", profile_name="Rina", inbound_at=dt.datetime(2026, 12, 1, 9)
    )
    citizen_id = record_citizen(path, db_url, message)
    with db.session_scope(db_url) as session:
        rows = {row.wa_id: row for row in session.execute(select(Citizen)).scalars()}
    assert citizen_id == rows["628222"].id
    assert rows["628222"].user_id is None and rows["628222"].profile_name == "Rina"
    assert rows["628111"].user_id == "ID.bsuid1"
