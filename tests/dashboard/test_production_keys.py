"""Production mode refuses every secret this repository publishes (scripts/defaults.env, the
tests, docs and compose examples) and weak or placeholder dashboard keys; development keeps
working with the published development key."""

from __future__ import annotations

import hashlib
import re
import subprocess
from typing import Set

import pytest

from dashboard import __main__ as cli
from dashboard.settings import DashboardSettings, SettingsError
from layanwarga import runtime
from tests.dashboard.support import ROOT

PRODUCTION = {"LAYANWARGA_ENV": "production"}
# A value after DASHBOARD_SECRET_KEY: `=`, `: `, `": "`, or a shell default `:-`.
DASHBOARD_KEY_RE = re.compile(r"""DASHBOARD_SECRET_KEY["']?\s*(?::-|[:=,])\s*["']?([^"'\s}$]{32,})""")
FERNET_KEY_RE = re.compile(r"[A-Za-z0-9_-]{43}=")
OWN_KEY = hashlib.sha256(b"a key of the city's own").hexdigest()


def _published(pattern: "re.Pattern[str]", near: str) -> Set[str]:
    """Every match of ``pattern`` on a line mentioning ``near``, in every file git tracks."""
    files = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    found: Set[str] = set()
    for name in files:
        try:
            text = (ROOT / name).read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue
        for line in text.splitlines():
            if near in line:
                found.update(pattern.findall(line))
    return found


def test_every_dashboard_key_the_repository_publishes_is_refused_in_production() -> None:
    published = _published(DASHBOARD_KEY_RE, "DASHBOARD_SECRET_KEY")
    assert "dev-only-change-me-0123456789abcdefghij" in published  # scripts/defaults.env: the scan works
    for key in published:
        with pytest.raises(SettingsError, match="DASHBOARD_SECRET_KEY .*refusing to start in production"):
            DashboardSettings.from_env({**PRODUCTION, "DASHBOARD_SECRET_KEY": key})
        assert DashboardSettings.from_env({"DASHBOARD_SECRET_KEY": key}).secret_key == key  # development


@pytest.mark.parametrize(
    "key, problem",
    [
        ("k" * 48, "too weak"),
        ("x" * 40, "too weak"),
        ("ab" * 24, "too weak"),
        ("change-me-to-a-long-random-value-0123456789", "placeholder"),
        ("Your-Dashboard-Secret-Key-Goes-Here-0123456789", "placeholder"),
        ("an-EXAMPLE-value-for-the-docs-0123456789abcdef", "placeholder"),
    ],
)
def test_weak_or_placeholder_keys_are_refused_in_production(key: str, problem: str) -> None:
    with pytest.raises(SettingsError, match=problem):
        DashboardSettings.from_env({**PRODUCTION, "DASHBOARD_SECRET_KEY": key})


def test_a_random_key_of_ones_own_is_accepted_in_production() -> None:
    assert DashboardSettings.from_env({**PRODUCTION, "DASHBOARD_SECRET_KEY": OWN_KEY}).secret_key == OWN_KEY


def test_no_throw_away_key_in_production() -> None:
    with pytest.raises(SettingsError, match="DASHBOARD_SECRET_KEY is not set"):
        DashboardSettings.from_env({**PRODUCTION, "DASHBOARD_INSECURE_DEV_MODE": "1"})


def test_the_dashboard_server_refuses_the_development_key(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("LAYANWARGA_ENV", "production")
    monkeypatch.setenv("DASHBOARD_SECURE_COOKIES", "1")
    monkeypatch.setenv("DASHBOARD_SECRET_KEY", "dev-only-change-me-0123456789abcdefghij")
    assert cli.main(["serve"]) == 2
    err = capsys.readouterr().err
    assert "published in this repository" in err and "dev-only" not in err


@pytest.mark.parametrize("component", ["whatsapp", "actions", "dashboard", "notifier", "broadcast"])
def test_every_data_key_the_repository_publishes_is_refused_in_production(component: str) -> None:
    published = _published(FERNET_KEY_RE, "DATA_KEYS") | _published(FERNET_KEY_RE, "KEYS_ENV")
    assert published  # tests/conftest.py sets one: the scan works
    for key in published:
        problems = runtime.problems(component, {**PRODUCTION, "LAYANWARGA_DATA_KEYS": f"{OWN_KEY}, {key}"})
        assert any("LAYANWARGA_DATA_KEYS holds the key published" in p for p in problems), key
