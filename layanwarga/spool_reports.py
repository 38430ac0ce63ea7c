"""What waits in the local spools, for staff.

Each spool sits on the disk of the process that owns it (an action server's submissions, a
``rasa run`` instance's messages), which the dashboard cannot see. So every owner reports its
spool's counts to the shared database each time it drains it (``report``), and the dashboard
shows the sum (``waiting``): submissions and messages still waiting, entries set aside that
need staff, entries of another database (never replayed here) and entries no key opens. A
report that stops coming (an instance gone with entries on its disk) keeps counting, with its
time, so nothing waiting is ever hidden; reports of empty spools older than a day are dropped.
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional

from sqlalchemy import delete, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from .db import session_scope
from .models import SpoolReport, utcnow
from .spool import Spool, SpoolStatus

logger = logging.getLogger(__name__)

KIND_SUBMISSIONS, KIND_MESSAGES = "pengajuan", "pesan"
FORGET_EMPTY_AFTER = dt.timedelta(days=1)
_reachable: Dict[Path, bool] = {}


def owner_of(queue: Spool) -> str:
    return f"{socket.gethostname()}:{queue.directory.resolve()}"[:255]


def report(
    kind: str,
    queue: Spool,
    status: Optional[SpoolStatus] = None,
    now: Optional[dt.datetime] = None,
    *,
    url: Optional[str] = None,
) -> bool:
    """Record ``queue``'s counts (``status`` if already taken); False when the database cannot
    be written (the spool itself is what keeps the data; the next pass reports again)."""
    now = now or utcnow()
    status = status or queue.status()
    try:
        with session_scope(url, write=True) as session:
            row = session.get(SpoolReport, owner_of(queue))
            if row is None:
                row = SpoolReport(owner=owner_of(queue))
                session.add(row)
            row.kind, row.reported_at = kind, now
            row.waiting, row.set_aside = status.waiting, status.set_aside
            row.other_database, row.unreadable, row.oldest_at = (
                status.other_database,
                status.unreadable,
                status.oldest,
            )
            session.flush()
            empty = (
                SpoolReport.waiting
                + SpoolReport.set_aside
                + SpoolReport.other_database
                + SpoolReport.unreadable
            ) == 0
            session.execute(
                delete(SpoolReport).where(empty, SpoolReport.reported_at < now - FORGET_EMPTY_AFTER)
            )
    except SQLAlchemyError as error:
        # Once per outage, not at every pass: the database being down is logged elsewhere.
        log = logger.warning if _reachable.get(queue.directory, True) else logger.debug
        log("Spool %s could not be reported to the database: %s", queue.directory, error)
        _reachable[queue.directory] = False
        return False
    _reachable[queue.directory] = True
    return True


@dataclass(frozen=True)
class WaitingOnDisk:
    """Every spool's last report, summed (for the dashboard)."""

    waiting: int
    set_aside: int
    other_database: int
    unreadable: int
    oldest_at: Optional[dt.datetime]
    last_report_at: Optional[dt.datetime]
    spools: int

    @property
    def total(self) -> int:
        return self.waiting + self.set_aside + self.other_database + self.unreadable


def waiting(session: Session, kind: Optional[str] = None) -> WaitingOnDisk:
    """What waits on the instances' disks, as last reported (``kind``: only submissions or only
    messages)."""
    query = select(
        func.coalesce(func.sum(SpoolReport.waiting), 0),
        func.coalesce(func.sum(SpoolReport.set_aside), 0),
        func.coalesce(func.sum(SpoolReport.other_database), 0),
        func.coalesce(func.sum(SpoolReport.unreadable), 0),
        func.min(SpoolReport.oldest_at),
        func.min(SpoolReport.reported_at),
        func.count(SpoolReport.owner),
    )
    if kind is not None:
        query = query.where(SpoolReport.kind == kind)
    ready, aside, other, unreadable, oldest, reported, spools = session.execute(query).one()
    return WaitingOnDisk(int(ready), int(aside), int(other), int(unreadable), oldest, reported, int(spools))
