"""Commands: create-admin, digest, seed; settings refuse to start without a secret key."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from dashboard import __main__ as cli
from dashboard.jobs import Scheduler, run_digests
from dashboard.settings import DashboardSettings, SettingsError
from layanwarga import db, notifications, staff, states, stats
from layanwarga.models import Ticket
from tests.dashboard.support import INST, complaint, ticket_id


def test_secret_key_is_required() -> None:
    with pytest.raises(SettingsError, match="DASHBOARD_SECRET_KEY"):
        DashboardSettings.from_env({})
    with pytest.raises(SettingsError, match="at least 32"):
        DashboardSettings.from_env({"DASHBOARD_SECRET_KEY": "pendek"})
    assert DashboardSettings.from_env({"DASHBOARD_INSECURE_DEV_MODE": "1"}).secret_key
    settings = DashboardSettings.from_env({"DASHBOARD_SECRET_KEY": "k" * 40, "DASHBOARD_PORT": "9000"})
    assert settings.port == 9000 and "k" * 40 not in repr(settings)


def test_create_admin_once(sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DASHBOARD_ADMIN_PASSWORD", "Sandi-Kelurahan-Pertama-1")
    assert cli.main(["create-admin", "--username", "Admin", "--name", "Admin Kelurahan"]) == 0
    with db.session_scope() as session:
        user = staff.find_user(session, "admin")
        assert user.role == staff.ROLE_ADMIN and user.can_chat
    assert cli.main(["create-admin", "--username", "admin2", "--name", "X"]) == 1
    assert cli.main(["create-admin", "--username", "admin2", "--name", "X", "--if-missing"]) == 0
    monkeypatch.setenv("DASHBOARD_ADMIN_PASSWORD", "pendek")
    assert cli.main(["create-admin", "--username", "admin3", "--name", "X", "--another"]) == 1
    assert "minimal" in capsys.readouterr().err


def test_digest_runs_once_per_day_and_lists_overdue(sqlite_url: str, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DASHBOARD_DIGEST_DIR", str(tmp_path))
    number = complaint("d1").number
    notifications.change_state_and_notify(
        INST, ticket_id(number), states.DITERUSKAN, "staf:admin", agency_code="PUPR"
    )
    day = dt.date(2026, 12, 10)  # after the due date (7 December)
    results = run_digests(INST, day)
    text = (tmp_path / "2026-12-10" / "PUPR.txt").read_text()
    assert number in text and "terlambat 3 hari" in text and "MELEWATI TENGGAT" in text
    assert "Siti" not in text  # numbers and categories only
    assert run_digests(INST, day)["PUPR"] == "sudah dikirim"
    assert set(results) >= set(INST.agencies)


def test_digest_scheduler_waits_for_the_time_on_working_days() -> None:
    scheduler = Scheduler(dt.time(7, 0))
    monday_6 = dt.datetime(2026, 11, 23, 6, 0, tzinfo=INST.timezone)
    monday_8 = dt.datetime(2026, 11, 23, 8, 0, tzinfo=INST.timezone)
    sunday_8 = dt.datetime(2026, 11, 22, 8, 0, tzinfo=INST.timezone)
    assert scheduler.digest_due(monday_6) is None
    assert scheduler.digest_due(monday_8) == dt.date(2026, 11, 23)
    assert scheduler.digest_due(sunday_8) is None
    assert Scheduler(None).digest_due(monday_8) is None


def test_seed_generates_consistent_tickets(db_url: str) -> None:
    from dashboard.seed import seed

    complaint("real1")  # a real ticket first: seeded numbers must continue after it
    counts = seed(300, days=60)
    assert counts["tickets"] == 300
    with db.session_scope() as session:
        numbers = session.execute(select(Ticket.number)).scalars().all()
        assert len(numbers) == len(set(numbers)) == 301
        closed_open = session.execute(
            select(func.count(Ticket.id)).where(
                Ticket.closed_at.is_not(None), Ticket.state.in_(["baru", "diproses"])
            )
        ).scalar_one()
        assert closed_open == 0
        result = stats.overview(
            session, INST, stats.Filters(start=dt.date(2026, 1, 1), end=dt.date(2026, 12, 31))
        )
        assert result.total == 301 and result.median_resolution_days is not None
    # New real tickets still get fresh numbers.
    assert complaint("real2").number not in numbers


def test_production_mode_refuses_development_settings(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("LAYANWARGA_ENV", "production")
    monkeypatch.setenv("DASHBOARD_SECRET_KEY", "k" * 48)
    monkeypatch.delenv("DASHBOARD_SECURE_COOKIES", raising=False)
    assert cli.main(["serve"]) == 2
    assert "DASHBOARD_SECURE_COOKIES" in capsys.readouterr().err
    from layanwarga import notifier

    monkeypatch.setenv("WHATSAPP_ACCESS_TOKEN", "simulator-access-token")
    monkeypatch.setenv("WHATSAPP_PHONE_NUMBER_ID", "1")
    assert notifier.main(["--once"]) == 2
    assert "simulator" in capsys.readouterr().err
