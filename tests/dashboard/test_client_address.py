"""Behind the HTTPS proxy the dashboard sees each client's own address (through the real server,
waitress, with forwarding headers), so failed logins slow down only the address they come
from: an attacker's twenty failures never lock out the officers behind the same proxy, and
audit rows and sessions carry the real address."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import pytest
import requests
from sqlalchemy import select

from dashboard.settings import DashboardSettings, SettingsError
from layanwarga import db, staff
from layanwarga.models import AuditEntry, LoginAttempt, StaffSession
from tests.dashboard.support import PASSWORD, TOKEN_RE, make_user, running_dashboard

ATTACKER = "203.0.113.66"
OFFICER = "198.51.100.10"


def _login(url: str, username: str, password: str, forwarded_for: Optional[str] = None) -> requests.Response:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    browser = requests.Session()
    page = browser.get(f"{url}/masuk", headers=headers, timeout=30)
    token = TOKEN_RE.search(page.text)
    assert token, page.text[:300]
    return browser.post(
        f"{url}/masuk",
        data={"username": username, "password": password, "csrf_token": token.group(1)},
        headers=headers,
        allow_redirects=False,
        timeout=30,
    )


def _attempt_addresses() -> List[str]:
    with db.session_scope() as session:
        return list(session.execute(select(LoginAttempt.ip).order_by(LoginAttempt.id)).scalars())


def test_behind_the_trusted_proxy_one_attacker_locks_out_only_itself(sqlite_url: str, tmp_path: Path) -> None:
    make_user("admin", "admin")
    make_user("pupr", "opd", "PUPR")
    # The test client connects from 127.0.0.1: it plays the proxy, which appends the address it
    # saw to whatever X-Forwarded-For the client sent (nginx's $proxy_add_x_forwarded_for).
    with running_dashboard(sqlite_url, tmp_path, DASHBOARD_TRUST_PROXY="127.0.0.1") as url:
        guesses = ["admin"] * staff.MAX_FAILURES_PER_ACCOUNT + [
            f"tebak{i}" for i in range(staff.MAX_FAILURES_PER_IP)
        ]
        statuses = [
            _login(url, username, "salah-sandi-123", forwarded_for=f"10.{i}.0.1, {ATTACKER}").status_code
            for i, username in enumerate(guesses + ["admin"])
        ]
        # Twenty failures from the attacker's address stop that address, whatever first hop it
        # wrote itself; five of them for "admin" stopped "admin" from there earlier.
        assert statuses == [401] * staff.MAX_FAILURES_PER_IP + [429] * (
            len(guesses) + 1 - staff.MAX_FAILURES_PER_IP
        )
        officer = _login(url, "admin", PASSWORD, forwarded_for=OFFICER)
        assert officer.status_code == 302, officer.text[:300]
        other_officer = _login(url, "pupr", PASSWORD, forwarded_for="198.51.100.11")
        assert other_officer.status_code == 302
    addresses = _attempt_addresses()
    assert set(addresses) == {ATTACKER, OFFICER, "198.51.100.11"}
    with db.session_scope() as session:
        assert set(session.execute(select(StaffSession.ip)).scalars()) == {OFFICER, "198.51.100.11"}
        details = session.execute(select(AuditEntry.detail).where(AuditEntry.action == "masuk")).scalars()
        assert sorted(details) == [f"ip={OFFICER}", "ip=198.51.100.11"]


@pytest.mark.parametrize("trusted", ["", "10.9.9.9"], ids=["no proxy", "another proxy"])
def test_forwarding_headers_from_anyone_else_are_ignored(
    sqlite_url: str, tmp_path: Path, trusted: str
) -> None:
    make_user("admin", "admin")
    with running_dashboard(sqlite_url, tmp_path, DASHBOARD_TRUST_PROXY=trusted) as url:
        assert _login(url, "admin", "salah-sandi-123", forwarded_for=OFFICER).status_code == 401
    assert _attempt_addresses() == ["127.0.0.1"]


def test_the_proxy_setting_takes_an_address() -> None:
    base = {"DASHBOARD_SECRET_KEY": "k" * 40}
    assert DashboardSettings.from_env(base).server_options() == {"clear_untrusted_proxy_headers": True}
    options = DashboardSettings.from_env(
        {**base, "DASHBOARD_TRUST_PROXY": " 10.0.0.5 ", "DASHBOARD_PROXY_COUNT": "2"}
    ).server_options()
    assert options["trusted_proxy"] == "10.0.0.5" and options["trusted_proxy_count"] == 2
    assert options["trusted_proxy_headers"] == {"x-forwarded-for", "x-forwarded-proto"}
    assert DashboardSettings.from_env({**base, "DASHBOARD_TRUST_PROXY": "*"}).trusted_proxy == "*"
    for wrong in ("1", "yes", "proxy.example", "10.0.0"):
        with pytest.raises(SettingsError, match="DASHBOARD_TRUST_PROXY"):
            DashboardSettings.from_env({**base, "DASHBOARD_TRUST_PROXY": wrong})
    with pytest.raises(SettingsError, match="DASHBOARD_PROXY_COUNT"):
        DashboardSettings.from_env(
            {**base, "DASHBOARD_TRUST_PROXY": "10.0.0.5", "DASHBOARD_PROXY_COUNT": "0"}
        )
