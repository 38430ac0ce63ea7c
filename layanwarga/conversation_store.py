"""The assistant's conversation store (Rasa's tracker store) as erasure and retention reach it.

The ``rasa run`` instances write conversations to the store named by ``TRACKER_STORE_URL``
(endpoints.production.yml) or, on the embedded default, to ``var/tracker.db`` (endpoints.yml).
The jobs that erase a citizen's conversation (``layanwarga.privacy``, in the action server) and
purge old ones (``layanwarga.retention``) must reach that very store, or personal data stays
where staff believe it is gone. So:

- production (``LAYANWARGA_ENV=production``) without ``TRACKER_STORE_URL`` is an error, never a
  silent fall-back to a local file; development uses the documented default file;
- a SQLite store that does not exist is not created: an empty new file would "erase" nothing
  and look like success;
- a store without Rasa's ``events`` table is not the assistant's store;
- every failure raises ``ConversationStoreUnavailable`` carrying a reason staff can read.

Deleting conversations happens here and nowhere else. Rasa's SQL tracker store keeps a
conversation as rows of its ``events`` table (``EVENTS`` declares the columns deleting needs;
``tests/conversation_store`` checks them against Rasa's own declaration), and this module holds
the only statements that delete them: ``delete_conversations`` (erasure, ``layanwarga.privacy``)
and ``delete_before`` (retention, ``layanwarga.retention``). The project's tracker store
(``rasa_extensions.tracker_store``) writes and reads conversations and never deletes; it notices a
deletion at the sender's next message (its marker: event count, newest id and newest timestamp)
and reads the conversation again instead of handing back what it cached, so deleted events never
come back.

Why not a delete method on the tracker store itself: the jobs that delete run in the action
server and in the retention job, which do not load Rasa (the domain core has no Rasa import), and
Rasa 3.6's tracker stores have no delete operation to extend. A method there would be a second
copy of these statements that no deleting process could call.
"""

from __future__ import annotations

import datetime as dt
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator, Mapping, Optional, Sequence

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, delete, func, select
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.future import create_engine
from sqlalchemy.sql.elements import ColumnElement

from . import runtime
from .config import PROJECT_ROOT
from .db import safe_url

ENV_VAR = "TRACKER_STORE_URL"
DEFAULT_PATH = PROJECT_ROOT / "var" / "tracker.db"
# Rasa's ``SQLTrackerStore.SQLEvent`` table, the columns deleting needs. Its own metadata: the
# table lives in the conversation store, never in the ticket database.
EVENTS = Table(
    "events",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False),
    Column("timestamp", Float),
)
# A store that does not answer must not hold an erasure job (and the ticket database's
# transaction around it) for the operating system's TCP timeout.
CONNECT_TIMEOUT_SECONDS = 10


class ConversationStoreUnavailable(RuntimeError):
    """The conversation store cannot be reached or is not the assistant's.

    ``str(error)`` is for the logs (English, no password); ``staff_reason`` is what staff see
    on the dashboard next to the request it held up.
    """

    def __init__(self, message: str, staff_reason: str) -> None:
        super().__init__(message)
        self.staff_reason = staff_reason


def url(environ: Optional[Mapping[str, str]] = None) -> str:
    """The store's SQLAlchemy URL: ``TRACKER_STORE_URL``; in development the default file."""
    env = os.environ if environ is None else environ
    configured = (env.get(ENV_VAR) or "").strip()
    if configured:
        return configured
    if runtime.is_production(env):
        raise ConversationStoreUnavailable(
            f"{ENV_VAR} is not set: in production the conversation store must be named explicitly "
            "(the same URL the rasa run instances use)",
            f"Alamat penyimpanan percakapan ({ENV_VAR}) belum diatur pada layanan ini.",
        )
    return f"sqlite:///{DEFAULT_PATH}"


@contextmanager
def _connection(store_url: str) -> Iterator[Connection]:
    """A transaction on the store, after checking it is there and is the assistant's."""
    shown = _shown(store_url)
    try:
        parsed = make_url(store_url)
    except ArgumentError as error:
        raise ConversationStoreUnavailable(
            f"{ENV_VAR} is not a valid SQLAlchemy URL: {error}",
            f"Alamat penyimpanan percakapan ({ENV_VAR}) tidak valid.",
        ) from None
    connect_args: Dict[str, int] = {}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:") or not Path(database).is_file():
            raise ConversationStoreUnavailable(
                f"conversation store {shown} does not exist on this machine",
                "Berkas penyimpanan percakapan tidak ditemukan pada layanan ini.",
            )
    elif parsed.get_backend_name() == "postgresql":
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
    try:
        engine = create_engine(parsed, connect_args=connect_args)
    except (ArgumentError, ImportError) as error:
        raise ConversationStoreUnavailable(
            f"conversation store {shown} cannot be opened: {error}",
            f"Alamat penyimpanan percakapan ({ENV_VAR}) tidak dapat dipakai.",
        ) from None
    try:
        with engine.begin() as connection:
            if not engine.dialect.has_table(connection, EVENTS.name):
                raise ConversationStoreUnavailable(
                    f"{shown} has no events table: it is not the assistant's conversation store",
                    "Penyimpanan percakapan yang diatur bukan milik asisten (tidak ada tabel events).",
                )
            yield connection
    except SQLAlchemyError as error:
        raise ConversationStoreUnavailable(
            f"conversation store {shown} unreachable: {type(error).__name__}: {getattr(error, 'orig', None) or error}",
            "Penyimpanan percakapan tidak dapat dihubungi.",
        ) from error
    finally:
        engine.dispose()


def _shown(store_url: str) -> str:
    try:
        return safe_url(store_url)
    except ArgumentError:
        return "<invalid URL>"


def delete_conversations(senders: Sequence[str], *, store_url: Optional[str] = None) -> int:
    """Delete every stored event of ``senders``; returns how many rows went."""
    identities = [s for s in senders if s]
    if not identities:
        return 0
    with _connection(store_url or url()) as connection:
        return int(connection.execute(delete(EVENTS).where(EVENTS.c.sender_id.in_(identities))).rowcount)


def delete_before(cutoff: dt.datetime, *, store_url: Optional[str] = None) -> int:
    """Delete every stored event older than ``cutoff`` (naive UTC or aware); returns how many."""
    with _connection(store_url or url()) as connection:
        return int(connection.execute(delete(EVENTS).where(_older_than(cutoff))).rowcount)


def count_before(cutoff: dt.datetime, *, store_url: Optional[str] = None) -> int:
    """How many stored events are older than ``cutoff`` (a dry run of ``delete_before``)."""
    with _connection(store_url or url()) as connection:
        return int(
            connection.execute(
                select(func.count()).select_from(EVENTS).where(_older_than(cutoff))
            ).scalar_one()
        )


def _older_than(cutoff: dt.datetime) -> ColumnElement:
    """Events stored before ``cutoff`` (naive UTC or aware): Rasa stores epoch seconds."""
    moment = cutoff if cutoff.tzinfo else cutoff.replace(tzinfo=dt.timezone.utc)
    return EVENTS.c.timestamp < moment.timestamp()
