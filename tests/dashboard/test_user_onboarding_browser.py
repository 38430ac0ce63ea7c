"""In Chromium against the real server: an admin adds a colleague (the form is empty again for
the next one, the temporary password shown once), and the colleague has to choose their own
password at the first login before any other page opens. Screenshots in results/screenshots/."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from tests.dashboard.support import ROOT, running_dashboard
from tests.dashboard.test_dashboard_browser import ADMIN_PASSWORD, CHROMIUM, SHOTS, _login

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Chromium is not installed (scripts/ensure_chromium.sh)"
)

OWN_PASSWORD = "Pilihan-Sendiri-Petugas-7"


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


@pytest.mark.parametrize(
    "viewport", [{"width": 1280, "height": 900}, {"width": 390, "height": 844}], ids=["desktop", "phone"]
)
def test_add_a_user_who_then_chooses_their_own_password(server: str, browser, viewport) -> None:  # type: ignore[no-untyped-def]
    name = "desktop" if viewport["width"] > 800 else "ponsel"
    admin = browser.new_page(viewport=viewport)
    _login(admin, server, "diskominfo", ADMIN_PASSWORD)
    admin.wait_for_url("**/tiket")
    admin.goto(f"{server}/admin/pengguna")
    admin.fill("input[name=username]", "bpbd1")
    admin.fill("input[name=full_name]", "Petugas BPBD")
    admin.select_option("select[name=role]", "opd")
    admin.select_option("select[name=agency_code]", "BPBD")
    admin.click("form.grid button[type=submit]")
    temporary = admin.inner_text("#new-password")
    assert "wajib menggantinya saat pertama masuk" in admin.inner_text("body")
    # The form is ready for the next colleague, not holding the one just created.
    assert (
        admin.input_value("input[name=username]") == "" and admin.input_value("input[name=full_name]") == ""
    )
    assert admin.input_value("select[name=agency_code]") == ""
    assert "bpbd1" in admin.inner_text("table")
    admin.screenshot(path=str(SHOTS / f"06-pengguna-baru-{name}.png"), full_page=True)

    colleague = browser.new_context(viewport=viewport).new_page()
    _login(colleague, server, "bpbd1", temporary)
    colleague.wait_for_url("**/akun/sandi")
    assert colleague.is_visible("#forced-change")
    colleague.goto(f"{server}/tiket")
    assert colleague.url.endswith("/akun/sandi")  # nothing else opens yet
    colleague.screenshot(path=str(SHOTS / f"07-ganti-sandi-wajib-{name}.png"), full_page=True)
    colleague.fill("input[name=current]", temporary)
    colleague.fill("input[name=new]", OWN_PASSWORD)
    colleague.fill("input[name=again]", OWN_PASSWORD)
    colleague.click("form.stack button[type=submit]")
    colleague.wait_for_url("**/tiket")
    assert "Kata sandi berhasil diganti" in colleague.inner_text("body")
    colleague.click("text=Keluar")
    colleague.wait_for_url("**/masuk")
    _login(colleague, server, "bpbd1", OWN_PASSWORD)
    colleague.wait_for_url("**/tiket")
    assert "Tiket dan permohonan" in colleague.inner_text("h1")
