"""Browser tests in headless Chromium (Debian's, never a downloaded one) against the real
dashboard server (``python -m dashboard`` in a subprocess, waitress, a temporary SQLite
database): login, triage, resolving a ticket, and the live inbox. Screenshots are saved under
``results/screenshots/``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from layanwarga import conversation_log, handoff
from layanwarga.notifier import Notifier
from tests.dashboard.support import (
    CHROMIUM,
    INST,
    PASSWORD,
    ROOT,
    SHOTS,
    FakeGraph,
    complaint,
    make_user,
    open_window,
    running_dashboard,
)
from whatsapp.settings import GraphSettings

ADMIN_PASSWORD = "Admin-Langkai-2026!"

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Chromium is not installed (scripts/ensure_chromium.sh)"
)


@pytest.fixture
def server(sqlite_url: str, tmp_path: Path) -> Iterator[str]:
    created = subprocess.run(
        [
            sys.executable,
            "-m",
            "dashboard",
            "create-admin",
            "--username",
            "diskominfo",
            "--name",
            "Admin Diskominfo",
        ],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": sqlite_url, "DASHBOARD_ADMIN_PASSWORD": ADMIN_PASSWORD},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert created.returncode == 0, created.stderr
    with running_dashboard(sqlite_url, tmp_path) as url:
        yield url


def _login(page, url: str, username: str, password: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{url}/masuk")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def test_login(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
    _login(page, server, "diskominfo", "salah-sandi-sekali")
    assert page.locator(".flash-error").inner_text() == "Nama pengguna atau kata sandi salah."
    page.screenshot(path=str(SHOTS / "01-login-gagal.png"), full_page=True)
    _login(page, server, "diskominfo", ADMIN_PASSWORD)
    page.wait_for_url("**/tiket")
    assert "Tiket dan permohonan" in page.inner_text("h1")
    assert "Admin Diskominfo" in page.inner_text("header")
    page.screenshot(path=str(SHOTS / "02-kotak-masuk-ponsel.png"), full_page=True)
    page.click("text=Keluar")
    page.wait_for_url("**/masuk")
    page.goto(f"{server}/tiket")
    assert "/masuk" in page.url


def test_triage_and_resolve_a_ticket(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    make_user("pupr", "opd", "PUPR")
    number = complaint(
        "b1", reporter_name="Siti Aminah", description="Jalan berlubang besar di depan SDN 3 Langkai"
    ).number
    graph = FakeGraph()
    try:
        admin = browser.new_page(viewport={"width": 1280, "height": 900})
        _login(admin, server, "diskominfo", ADMIN_PASSWORD)
        admin.wait_for_url("**/tiket")
        admin.click(f"text={number}")
        assert admin.inner_text("#ticket-state") == "Baru diterima"
        admin.click("button[data-action=verifikasi]")
        assert admin.inner_text("#ticket-state") == "Sudah diverifikasi"
        admin.select_option("select[name=opd]", "PUPR")
        admin.click("button[data-action=teruskan]")
        assert admin.inner_text("#ticket-state") == "Diteruskan ke instansi terkait"
        assert "Dinas Pekerjaan Umum" in admin.inner_text(".facts")
        admin.screenshot(path=str(SHOTS / "03-triase-diteruskan.png"), full_page=True)

        opd = browser.new_page(viewport={"width": 390, "height": 844})
        _login(opd, server, "pupr", PASSWORD)
        opd.wait_for_url("**/tiket")
        opd.click(f"text={number}")
        opd.click("button[data-action=proses]")
        assert opd.inner_text("#ticket-state") == "Sedang ditindaklanjuti"
        opd.fill(
            "form:has(button[data-action=selesai]) textarea[name=pesan_warga]",
            "Lubang sudah ditambal aspal hotmix.",
        )
        opd.click("button[data-action=selesai]")
        assert opd.inner_text("#ticket-state") == "Selesai"
        assert "Menunggu jawaban warga" in opd.inner_text("body")
        # The outbox worker sends the queued messages; the page shows them as sent.
        open_window("6281234567890")
        worker = Notifier(
            GraphSettings(api_base=graph.base, api_version="v21.0", access_token="t", phone_number_id="1")
        )
        while worker.run_once():
            pass
        assert len(graph.bodies) == 4 and graph.bodies[-1]["type"] == "interactive"
        opd.reload()
        assert opd.locator(".outbox .status").all_inner_texts() == ["Terkirim"] * 4
        opd.screenshot(path=str(SHOTS / "04-selesai-ponsel.png"), full_page=True)
        history = opd.inner_text(".history")
        assert history.count("Pupr") == 2  # two entries by the OPD officer
    finally:
        graph.close()


def test_live_inbox(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    sender = "6287777777777"
    conversation_log.log_inbound(sender, "saya mau bicara dengan petugas")
    handoff.open_handoff(sender, inst=INST, profile_name="Pak Darto")
    page = browser.new_page(viewport={"width": 1024, "height": 800})
    _login(page, server, "diskominfo", ADMIN_PASSWORD)
    page.wait_for_url("**/tiket")
    page.goto(f"{server}/langsung")
    page.click("text=Pak Darto")
    # The citizen writes while the page is open: it appears without a reload.
    conversation_log.log_inbound(sender, "lampu di gang 3 mati sejak Senin")
    page.wait_for_selector("text=lampu di gang 3 mati sejak Senin", timeout=10000)
    # A line that arrived by polling can be flagged for the content staff's review queue too.
    polled = page.locator("li.msg.in", has_text="lampu di gang 3 mati sejak Senin")
    polled.locator("button", has_text="Asisten salah paham").click()
    page.wait_for_selector("text=Pesan ditandai untuk ditinjau staf konten", timeout=10000)
    page.fill("#reply-text", "Baik Pak Darto, kami teruskan ke petugas PJU hari ini.")
    page.click("#reply-form button[type=submit]")
    page.wait_for_selector("li.msg.out >> text=kami teruskan ke petugas PJU", timeout=10000)
    page.screenshot(path=str(SHOTS / "05-obrolan-langsung.png"), full_page=True)
    page.click("#hand-back")
    page.wait_for_url("**/langsung")
    assert "Tidak ada percakapan yang menunggu petugas" in page.inner_text("body")
    assert handoff.is_active(sender) is False
