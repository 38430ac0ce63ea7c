"""Login attempts (account names, addresses) and ended staff sessions are deleted after their
retention (SECURITY.md) by the dashboard's own scheduler, in the real server process, and by
``python -m dashboard purge``; what a login check or a logged-in officer needs stays."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Dict

from sqlalchemy import func, select

from dashboard import __main__ as cli
from dashboard.jobs import PURGE_INTERVAL, Scheduler
from layanwarga import db, staff
from layanwarga.models import LoginAttempt, StaffSession, utcnow
from tests.dashboard.support import make_user, running_dashboard

NOW = dt.datetime(2026, 11, 23, 3, 0)


def _old_and_recent_rows(now: dt.datetime) -> None:
    """One login attempt and one session past their retention, and one of each still needed."""
    user_id = make_user("pupr", "opd", "PUPR")
    with db.session_scope() as session:
        for when in (now - staff.ATTEMPT_RETENTION - dt.timedelta(minutes=1), now - dt.timedelta(minutes=5)):
            session.add(LoginAttempt(username="pupr", ip="10.0.0.1", succeeded=False, created_at=when))
        staff.start_session(
            session,
            user_id,
            "10.0.0.1",
            "Firefox",
            now=now - staff.session_lifetime() - staff.SESSION_RETENTION - dt.timedelta(minutes=1),
        )
        staff.start_session(session, user_id, "10.0.0.2", "Firefox", now=now - dt.timedelta(hours=1))


def _counts() -> Dict[str, int]:
    with db.session_scope() as session:
        return {
            "attempts": session.execute(select(func.count(LoginAttempt.id))).scalar_one(),
            "sessions": session.execute(select(func.count(StaffSession.id))).scalar_one(),
        }


def test_only_records_past_their_retention_are_deleted(db_url: str) -> None:
    _old_and_recent_rows(NOW)
    with db.session_scope() as session:
        result = staff.purge_login_records(session, NOW)
    assert (result.attempts, result.sessions) == (1, 1)
    assert _counts() == {"attempts": 1, "sessions": 1}
    with db.session_scope() as session:
        assert session.execute(select(StaffSession.ip)).scalar_one() == "10.0.0.2"


def test_the_scheduler_purges_at_start_and_then_hourly(sqlite_url: str) -> None:
    scheduler = Scheduler(None)
    start = NOW.replace(tzinfo=dt.timezone.utc)
    scheduler.run_pending(start)
    _old_and_recent_rows(NOW)
    scheduler.run_pending(start + PURGE_INTERVAL - dt.timedelta(minutes=1))
    assert _counts() == {"attempts": 2, "sessions": 2}
    scheduler.run_pending(start + PURGE_INTERVAL)
    assert _counts() == {"attempts": 1, "sessions": 1}


def test_the_running_dashboard_purges_by_itself(sqlite_url: str, tmp_path: Path) -> None:
    """The scheduler runs in ``python -m dashboard`` even with the digest switched off."""
    _old_and_recent_rows(utcnow())
    with running_dashboard(sqlite_url, tmp_path, DASHBOARD_DIGEST_TIME="off"):
        deadline = time.monotonic() + 60
        while _counts() != {"attempts": 1, "sessions": 1} and time.monotonic() < deadline:
            time.sleep(0.2)
    assert _counts() == {"attempts": 1, "sessions": 1}


def test_purge_command(sqlite_url: str, capsys) -> None:  # type: ignore[no-untyped-def]
    _old_and_recent_rows(utcnow())
    assert cli.main(["purge"]) == 0
    assert "Deleted 1 old login attempts and 1 ended staff sessions" in capsys.readouterr().out
    assert _counts() == {"attempts": 1, "sessions": 1}
