"""Fixtures for the dashboard tests: the Flask app on a fresh database, logged-in clients and a
small set of tickets routed to different OPD."""

from __future__ import annotations

from typing import Iterator

import pytest
from flask import Flask

from dashboard import create_app
from dashboard.settings import DashboardSettings
from layanwarga import notifications, staff, states
from tests.dashboard.support import (
    CHEAP_HASHER,
    CHROMIUM,
    INST,
    SHOTS,
    World,
    complaint,
    letter,
    make_user,
    ticket_id,
)


@pytest.fixture(autouse=True)
def cheap_hashes() -> None:
    staff.set_hasher(CHEAP_HASHER)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Chromium for the browser tests of a file (each skips itself when Chromium is
    missing). Started once per file, about 3 s of CPU; each test opens its own pages, and
    ``browser.new_page()`` gives each page its own context (cookies, storage)."""
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def app(db_url: str) -> Iterator[Flask]:
    application = create_app(DashboardSettings(secret_key="x" * 40, digest_time=None))
    application.testing = True
    yield application


@pytest.fixture
def world(db_url: str) -> World:
    make_user("admin", "admin")
    make_user("pupr", "opd", "PUPR")
    make_user("dlh", "opd", "DLH")
    make_user("surat", "surat")
    pupr = complaint("w1", sender="6281111111111", reporter_name="Siti Aminah").number
    dlh = complaint(
        "w2",
        sender="6282222222222",
        category="lapor_sampah",
        reporter_name="Joko Susilo",
        description="Sampah menumpuk di TPS Jalan Kenanga",
    ).number
    anonymous = complaint(
        "w3",
        sender="6283333333333",
        reporter_name="Rahasia Sekali",
        anonymous=True,
        description="Ada pungli di jembatan timbang",
    ).number
    pupr_new = complaint("w4", sender="6284444444444", reporter_name="Belum Diteruskan").number
    for number, agency in ((pupr, "PUPR"), (dlh, "DLH"), (anonymous, "PUPR")):
        notifications.change_state_and_notify(
            INST, ticket_id(number), states.DITERUSKAN, "staf:admin", agency_code=agency
        )
    return World(pupr, dlh, anonymous, pupr_new, letter("w5").number)
