"""Announcements in headless Chromium against the real dashboard server: compose with a picture,
preview, send, then the progress page after the broadcast worker ran and WhatsApp reported
deliveries. Screenshots go to ``results/screenshots/``."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest
import requests
from sqlalchemy import select, update

from layanwarga import db, subscriptions
from layanwarga.broadcast import Broadcaster, BroadcastOptions
from layanwarga.models import Announcement, AnnouncementDelivery
from tests.dashboard.support import INST, FakeGraph, free_port
from tests.dashboard.test_announcements import png
from whatsapp import statuses as wa_statuses
from whatsapp.settings import GraphSettings

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "results" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ADMIN_PASSWORD = "Admin-Langkai-2026!"

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Chromium is not installed (scripts/ensure_chromium.sh)"
)


@pytest.fixture
def server(sqlite_url: str, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": sqlite_url,
        "DASHBOARD_SECRET_KEY": "browser-test-secret-key-0123456789abcdef",
        "DASHBOARD_PORT": str(port),
        "DASHBOARD_DIGEST_TIME": "off",
        "DASHBOARD_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "LAYANWARGA_MEDIA_DIR": str(tmp_path / "media"),
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    }
    created = subprocess.run(
        [sys.executable, "-m", "dashboard", "create-admin", "--username", "humas", "--name", "Admin Humas"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert created.returncode == 0, created.stderr
    log = (tmp_path / "dashboard.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "dashboard"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{url}/sehat", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((tmp_path / "dashboard.log").read_text())
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()


def test_compose_preview_send_and_follow_an_announcement(
    server: str, browser, sqlite_url: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    for i in range(5):
        subscriptions.subscribe(INST, f"628125550{i:04d}", "bencana", "panarung" if i < 4 else "langkai")
    poster = tmp_path / "peta-banjir.png"
    poster.write_bytes(png(2048))

    page = browser.new_page(viewport={"width": 390, "height": 844})  # an officer's phone
    page.goto(f"{server}/masuk")
    page.fill("input[name=username]", "humas")
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/tiket")
    page.click("#nav-announcements")
    page.wait_for_url("**/pengumuman/")
    assert "5" in page.inner_text("#subscriber-counts")
    page.click("#new-announcement")
    page.fill("input[name=judul]", "Siaga banjir Panarung")
    page.select_option("select[name=topik]", "bencana")
    page.select_option("select[name=wilayah]", "panarung")
    page.fill(
        "textarea[name=isi]",
        "Bapak/Ibu warga Panarung, debit Sungai Kahayan naik.\nMohon waspada dan amankan dokumen penting.",
    )
    page.set_input_files("input[name=gambar]", str(poster))
    page.screenshot(path=str(SHOTS / "pengumuman-01-tulis.png"), full_page=True)
    page.click("#save-draft")
    page.wait_for_selector("#preview")

    preview = page.inner_text("#preview")
    assert "Info bencana" in preview and "debit Sungai Kahayan naik. Mohon waspada" in preview
    assert "Ketik BERHENTI LANGGANAN untuk berhenti" in preview and "Berhenti langganan" in preview
    assert page.locator("#preview img").evaluate("img => img.naturalWidth") == 1
    assert page.inner_text("#would-reach") == "4"
    page.screenshot(path=str(SHOTS / "pengumuman-02-pratinjau.png"), full_page=True)

    page.check("#confirm-preview")
    page.click("#send-announcement")
    page.wait_for_selector("#progress")
    assert page.inner_text("#announcement-status") == "Sedang dikirim"
    assert page.inner_text("#sum-waiting") == "4"

    # The picture's upload to WhatsApp is tested against the simulator (tests/core/test_broadcast.py).
    with db.session_scope() as session:
        session.execute(
            update(Announcement).values(
                whatsapp_media_id="MEDIA-POSTER", whatsapp_media_uploaded_at=dt.datetime.utcnow()
            )
        )
    graph = FakeGraph()
    try:
        graph.fail_next(400, 131026, "Message undeliverable")
        settings = GraphSettings(
            api_base=graph.base, api_version="v21.0", access_token="t", phone_number_id="1"
        )
        worker = Broadcaster(
            INST, settings, BroadcastOptions(messages_per_second=50, concurrency=1), url=sqlite_url
        )
        try:
            worker.run_until_idle(30)
        finally:
            worker.close()
    finally:
        graph.close()
    sends = [b for b in graph.bodies if b.get("type") == "template"]
    assert (
        len(sends) == 4
        and sends[0]["template"]["components"][0]["parameters"][0]["image"]["id"] == "MEDIA-POSTER"
    )
    with db.session_scope() as session:
        wamids = (
            session.execute(select(AnnouncementDelivery.wamid).where(AnnouncementDelivery.wamid.isnot(None)))
            .scalars()
            .all()
        )
    # WhatsApp's status webhooks, as the connector records them.
    wa_statuses.record_statuses(
        [
            wa_statuses.StatusRecord(wamids[0], "read"),
            wa_statuses.StatusRecord(wamids[1], "delivered"),
            wa_statuses.StatusRecord(wamids[2], "delivered"),
        ]
    )

    page.reload()
    assert page.inner_text("#announcement-status") == "Selesai"
    assert [
        page.inner_text(f"#sum-{key}") for key in ("total", "sent", "delivered", "read", "failed", "waiting")
    ] == ["4", "3", "3", "1", "1", "0"]
    page.screenshot(path=str(SHOTS / "pengumuman-03-ringkasan.png"), full_page=True)
    page.click("#recipients >> text=Gagal")
    assert page.locator(".recipient-row").count() == 1
    assert "131026" in page.inner_text("#recipients")
    assert "6281255500" not in page.inner_text("body")  # numbers masked
