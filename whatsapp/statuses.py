"""Delivery statuses of the messages the service sent (``message_statuses``), as WhatsApp reports them.

The one module of this package that writes the ticket database: the connector records each
reply the Graph API accepted (``record_outbound``, with its line in the conversation staff
read) and the statuses of the status webhooks in batches (``record_statuses``); the
notification worker records what it sent (``record_sent``). Staff pages, the outbox and the
announcement worker read the table directly (``layanwarga.models.MessageStatus``).

A message's state only moves forward (``STATUS_RANK``): webhooks arrive out of order (read
before delivered), and several instances write at once. All functions are synchronous
(SQLAlchemy Core on a connection, each statement compiled once per process); the connector
calls them in its thread pool.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Tuple

from sqlalchemy import DateTime, bindparam, case, insert, select, text, update
from sqlalchemy.engine import Connection

from layanwarga import conversation_log
from layanwarga.db import connection_scope, retry_on_conflict, session_scope
from layanwarga.models import MessageStatus, utcnow

# Delivery states only move forward; webhooks can arrive out of order (read before delivered).
STATUS_RANK = {"accepted": 0, "sent": 1, "delivered": 2, "read": 3, "played": 4, "failed": 5}
_UNKNOWN_RANK = STATUS_RANK["sent"]
# Message ids per ``IN (...)`` lookup: well under SQLite's limit of bound parameters.
_LOOKUP_CHUNK = 500

# Databases whose INSERT ... ON CONFLICT the statements below use; others catch the unique
# violation or read before they write.
_UPSERT_DIALECTS = ("sqlite", "postgresql")
# SQLAlchemy 1.4 never caches the compiled form of its dialect-specific INSERT ... ON CONFLICT
# (``inherit_cache = False``): built with it, a statement is compiled again on every call. These
# are the same statements in the syntax SQLite (3.24+) and PostgreSQL share, compiled once:
# a sent message's ``accepted`` status, as ``_apply_statuses`` would apply it: insert the row,
# or, if the row is still ``accepted``, only fill in a missing recipient (any later state ranks
# higher and stays as it is).
_ACCEPT = text(
    "INSERT INTO message_statuses (message_id, recipient, status, updated_at) "
    "VALUES (:message_id, :recipient, 'accepted', :now) "
    "ON CONFLICT (message_id) DO UPDATE SET recipient = excluded.recipient, updated_at = excluded.updated_at "
    "WHERE message_statuses.status = 'accepted' AND message_statuses.recipient IS NULL "
    "AND excluded.recipient IS NOT NULL"
).bindparams(bindparam("now", type_=DateTime()))


@dataclass(frozen=True)
class StatusRecord:
    """One delivery status of a sent message (a webhook's, or ``accepted`` when the Graph API took it)."""

    message_id: str
    status: str
    recipient: Optional[str] = None
    error_code: Optional[int] = None
    error_title: Optional[str] = None


# A status INSERT can lose a race against another instance (e.g. "accepted" after a send racing
# the "sent" webhook); the unit of work is tried again, this many times in all.
_STATUS_ATTEMPTS = 3


def record_statuses(records: Iterable[StatusRecord], *, url: Optional[str] = None) -> int:
    """Store delivery statuses in one unit of work, never moving a message's state backwards;
    returns how many records changed a row."""
    records = list(records)
    return retry_on_conflict(lambda: _record_statuses(records, url), _STATUS_ATTEMPTS)


def _record_statuses(records: List[StatusRecord], url: Optional[str]) -> int:
    with connection_scope(url, write=True) as connection:
        return _apply_statuses(connection, records)


_STATUS_FIELDS = ("recipient", "status", "error_code", "error_title")


@functools.lru_cache(maxsize=1)
def _status_statements() -> Tuple[Any, Any, Any]:
    """``_apply_statuses``'s lookup, insert and update, built once."""
    table = MessageStatus.__table__
    lookup = select(table.c.message_id, *(table.c[field] for field in _STATUS_FIELDS)).where(
        table.c.message_id.in_(bindparam("ids", expanding=True))
    )
    # The stored state's rank, checked again when the row is written: on PostgreSQL another
    # instance may have moved the row on since the lookup (its "delivered" committed while this
    # batch holds the "sent"), and a blocked UPDATE re-reads the row it waited for.
    stored_rank = case(STATUS_RANK, value=table.c.status, else_=_UNKNOWN_RANK)
    change = (
        update(table)
        .where(table.c.message_id == bindparam("key"), stored_rank <= bindparam("new_rank"))
        .values({field: bindparam(f"new_{field}") for field in _STATUS_FIELDS})
    )
    return lookup, insert(table), change


def _rank(status: str) -> int:
    """A delivery state's rank (an unknown state ranks as ``sent``)."""
    return STATUS_RANK.get(status, _UNKNOWN_RANK)


def _apply_statuses(connection: Connection, records: List[StatusRecord]) -> int:
    """Apply ``records`` inside the caller's unit of work; returns how many changed a row.

    The rows already stored are read with one ``IN (...)`` query per chunk of ids. Several
    records for one message id (a batch holding its sent, delivered and read webhooks, in any
    order) go through the same row one after the other, so it ends in the highest-ranked state;
    then the new rows are inserted and the changed ones updated, one statement each for the
    whole batch. An update is written only if the row's stored state still ranks no higher
    (another instance may have moved it on since the lookup). Records are applied in message-id
    order (a stable sort: each id's records keep theirs), so two instances writing overlapping
    batches on PostgreSQL lock the rows in the same order and cannot deadlock.
    """
    lookup, insert_rows, update_row = _status_statements()
    ids = list(dict.fromkeys(record.message_id for record in records))
    stored: Dict[str, Dict[str, Any]] = {}
    for start in range(0, len(ids), _LOOKUP_CHUNK):
        found = connection.execute(lookup, {"ids": ids[start : start + _LOOKUP_CHUNK]}).mappings()
        stored.update((row["message_id"], dict(row)) for row in found)
    rows = {message_id: dict(row) for message_id, row in stored.items()}
    new: List[str] = []
    changed = 0
    for record in sorted(records, key=lambda r: r.message_id):
        status = record.status[:20]
        row = rows.get(record.message_id)
        if row is None:
            rows[record.message_id] = {
                "message_id": record.message_id,
                "recipient": record.recipient and record.recipient[:128],
                "status": status,
                "error_code": record.error_code,
                "error_title": record.error_title,
            }
            new.append(record.message_id)
            changed += 1
            continue
        if _rank(status) < _rank(row["status"]):
            continue
        row["status"] = status
        if record.recipient and not row["recipient"]:
            row["recipient"] = record.recipient[:128]
        if record.error_code is not None:
            row["error_code"] = record.error_code
            row["error_title"] = record.error_title
        changed += 1
    if new:
        connection.execute(insert_rows, [{**rows[message_id], "updated_at": utcnow()} for message_id in new])
    updates = [
        {
            "key": message_id,
            "new_rank": _rank(row["status"]),
            **{f"new_{field}": row[field] for field in _STATUS_FIELDS},
        }
        for message_id, row in sorted(rows.items())
        if message_id in stored and row != stored[message_id]
    ]
    if updates:
        connection.execute(update_row, updates)
    return changed


def _accepted(message_id: str, recipient: Optional[str]) -> StatusRecord:
    return StatusRecord(message_id=message_id, status="accepted", recipient=recipient)


def _accept(connection: Connection, message_id: str, recipient: Optional[str]) -> None:
    """A sent message's ``accepted`` status inside the caller's unit of work (one statement where
    the database has upserts; the connector records one for every reply)."""
    if connection.dialect.name not in _UPSERT_DIALECTS:
        _apply_statuses(connection, [_accepted(message_id, recipient)])
        return
    connection.execute(
        _ACCEPT, {"message_id": message_id, "recipient": recipient and recipient[:128], "now": utcnow()}
    )


def record_sent(message_id: str, recipient: Optional[str], *, url: Optional[str] = None) -> None:
    """Note a message the Graph API accepted (status ``accepted`` until its webhooks arrive)."""
    record_statuses([_accepted(message_id, recipient)], url=url)


def record_outbound(
    message_id: str,
    recipient: str,
    text: Optional[str],
    *,
    url: Optional[str] = None,
) -> None:
    """An assistant's reply the Graph API accepted for ``recipient``, in one unit of work: its
    ``accepted`` status (as ``record_sent``) and its line in the conversation staff read (as
    ``conversation_log.log_outbound``). A failure leaves neither."""

    def unit() -> None:
        with connection_scope(url, write=True) as connection:
            _accept(connection, message_id, recipient)
            conversation_log.add(
                connection,
                sender=recipient,
                direction=conversation_log.DIRECTION_OUT,
                text=text,
                actor=conversation_log.ACTOR_ASSISTANT,
                wamid=message_id,
            )

    retry_on_conflict(unit, _STATUS_ATTEMPTS)


def get_status(message_id: str, *, url: Optional[str] = None) -> Optional[StatusRecord]:
    with session_scope(url) as session:
        row = session.get(MessageStatus, message_id)
        if row is None:
            return None
        return StatusRecord(row.message_id, row.status, row.recipient, row.error_code, row.error_title)
