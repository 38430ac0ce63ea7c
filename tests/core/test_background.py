"""The action server's background work (actions/background.py) on a real database."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from sqlalchemy import select

from layanwarga import db, pending, privacy, tickets
from layanwarga.models import Ticket

SENDER, OTHER = "6281234567890", "6289876543210"


def draft(sender: str, key: str) -> dict:
    return dataclasses.asdict(
        tickets.ComplaintDraft(
            category="lapor_sampah",
            description="Sampah menumpuk di TPS pasar",
            sender=sender,
            idempotency_key=key,
        )
    )


def test_a_submission_of_a_citizen_who_asked_for_erasure_is_never_stored_afterwards(
    db_url: str,
    tmp_path: Path,
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    """Another action server's spool (its own disk) still holds the citizen's submission from
    an outage: the erasure request's tags remove it before anything is replayed."""
    from actions import background

    monkeypatch.setenv("LAYANWARGA_SPOOL_DIR", str(tmp_path / "replica-1"))
    privacy.erase(SENDER)
    monkeypatch.setenv("LAYANWARGA_SPOOL_DIR", str(tmp_path / "replica-2"))
    pending.spool().put(SENDER, {"kind": pending.COMPLAINT, "draft": draft(SENDER, "erased")})
    pending.spool().put(OTHER, {"kind": pending.COMPLAINT, "draft": draft(OTHER, "kept")})
    background.run_once()
    with db.session_scope() as session:
        stored = session.execute(select(Ticket.idempotency_key)).scalars().all()
    assert stored == ["kept"] and len(pending.spool()) == 0


# -- a spool belongs to one database, and what waits is visible ------------------------------------


def test_an_entry_of_another_database_is_kept_never_stored_and_counted_for_staff(
    db_url: str,
    tmp_path: Path,
    monkeypatch,
    caplog,  # type: ignore[no-untyped-def]
) -> None:
    import logging

    from layanwarga import spool_reports
    from layanwarga.config import get_institution

    monkeypatch.setenv("LAYANWARGA_SPOOL_DIR", str(tmp_path / "spool"))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'another-deployment.db'}")
    path = pending.spool().put(SENDER, {"kind": pending.COMPLAINT, "draft": draft(SENDER, "theirs")})
    monkeypatch.setenv("DATABASE_URL", db_url)
    pending.spool().put(OTHER, {"kind": pending.COMPLAINT, "draft": draft(OTHER, "ours")})
    with caplog.at_level(logging.ERROR, logger="layanwarga"):
        assert pending.drain(get_institution()) == 1
    with db.session_scope() as session:
        assert session.execute(select(Ticket.idempotency_key)).scalars().all() == ["ours"]
        seen = spool_reports.waiting(session)
    assert path.exists() and pending.spool().entries() == []
    assert (seen.waiting, seen.other_database, seen.total) == (0, 1, 1)
    assert any("belongs to another database" in r.getMessage() for r in caplog.records)


def test_what_waits_on_each_instance_is_summed_for_the_dashboard(db_url: str, tmp_path: Path) -> None:
    import datetime as dt

    from layanwarga import spool_reports
    from layanwarga.spool import Spool

    first, second = Spool(tmp_path / "a"), Spool(tmp_path / "b")
    for _ in range(2):
        first.put(SENDER, {"kind": pending.COMPLAINT, "draft": {}})
    second.set_aside(second.put(OTHER, {"kind": pending.COMPLAINT, "draft": {}}))
    now = dt.datetime(2026, 12, 7, 3, 0)
    assert spool_reports.report(spool_reports.KIND_SUBMISSIONS, first, now=now)
    assert spool_reports.report(spool_reports.KIND_SUBMISSIONS, second, now=now)
    with db.session_scope() as session:
        seen = spool_reports.waiting(session)
    assert (seen.waiting, seen.set_aside, seen.spools, seen.last_report_at) == (2, 1, 2, now)
    assert seen.oldest_at is not None


def test_the_action_server_stores_what_waited_through_a_restart_as_soon_as_it_starts(
    sqlite_url: str,
    tmp_path: Path,
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    """Two confirmed complaints sat in the spool for a whole run after a restart: the worker
    only started after the next failure. Now a real ``rasa run actions`` stores them at start."""
    import os
    import socket
    import subprocess
    import sys
    import time

    root = Path(__file__).resolve().parents[2]
    monkeypatch.setenv("LAYANWARGA_SPOOL_DIR", str(tmp_path / "spool"))
    for key in ("before-restart-1", "before-restart-2"):
        pending.keep(pending.COMPLAINT, tickets.ComplaintDraft(**draft(SENDER, key)))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "DATABASE_URL": sqlite_url,
        "LAYANWARGA_SPOOL_DIR": str(tmp_path / "spool"),
        "LAYANWARGA_BACKGROUND": "1",
        "SANIC_HOST": "127.0.0.1",
    }
    log = tmp_path / "actions.log"
    rasa = Path(sys.executable).with_name("rasa")
    process = subprocess.Popen(
        [str(rasa), "run", "actions", "--actions", "actions", "--port", str(port)],
        cwd=root,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        stored: list = []
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and len(stored) < 2 and process.poll() is None:
            time.sleep(0.5)
            with db.session_scope(sqlite_url) as session:
                stored = session.execute(select(Ticket.idempotency_key).order_by(Ticket.id)).scalars().all()
        output = log.read_text(encoding="utf-8")
        assert stored == ["before-restart-1", "before-restart-2"], output[-3000:]
    finally:
        process.terminate()
        process.wait(timeout=30)
    output = log.read_text(encoding="utf-8")
    assert "2 confirmed submissions wait in" in output and output.count("stored as ADU-") == 2
    assert len(pending.spool()) == 0


def test_a_pass_during_a_database_outage_keeps_everything_and_logs_no_traceback(
    tmp_path: Path,
    monkeypatch,
    caplog,  # type: ignore[no-untyped-def]
) -> None:
    import logging

    from actions import background

    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/layanwarga")  # nothing listens
    monkeypatch.setenv("LAYANWARGA_SPOOL_DIR", str(tmp_path / "spool"))
    pending.spool().put(SENDER, {"kind": pending.COMPLAINT, "draft": draft(SENDER, "waits")})
    with caplog.at_level(logging.INFO):
        background.run_once()
    assert len(pending.spool().entries()) == 1
    assert "1 confirmed submissions wait in" in caplog.text
    assert not [r for r in caplog.records if r.exc_info]
    db.dispose_engines()
