"""In Chromium against the real server: a citizen on a phone searches the public catalogue by an
old name and opens the service's own page; in a city, lists one kelurahan's services; an OPD
officer edits a fee, is refused with the reason next to the field, saves, and the admin approves
it onto the public page. Screenshots in results/screenshots/."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from city_support import LANGKAI, write_city_config

from layanwarga import db, services
from layanwarga.config import CONFIG_ENV_VAR, get_institution
from tests.dashboard.support import PASSWORD, ROOT, make_user, running_dashboard
from tests.dashboard.test_dashboard_browser import CHROMIUM, SHOTS, _login

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Chromium is not installed (scripts/ensure_chromium.sh)"
)

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def server(sqlite_url: str, tmp_path: Path) -> Iterator[str]:
    with db.session_scope(sqlite_url, write=True) as session:
        services.import_catalogue(session, *services.load_file(ROOT / "catalogue" / "layanan.yml"))
    make_user("admin", "admin")
    make_user("dinsos", "opd", "DINSOS")
    with running_dashboard(sqlite_url, tmp_path) as url:
        yield url


def _fits_the_screen(page) -> bool:  # type: ignore[no-untyped-def]
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_a_citizen_finds_a_service_by_its_old_name_on_a_phone(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport=PHONE)
    page.goto(f"{server}/layanan")
    assert "Dinas Kependudukan" in page.inner_text("main") and _fits_the_screen(page)
    page.fill("#q", "imb rumah")
    page.click("form.search-form button[type=submit]")
    page.click("#hasil a")
    page.wait_for_url("**/layanan/pbg")
    assert "Persetujuan Bangunan Gedung" in page.inner_text("h1")
    assert "Retribusi PBG dihitung" in page.inner_text("#biaya") and _fits_the_screen(page)
    page.screenshot(path=str(SHOTS / "20-katalog-layanan-ponsel.png"), full_page=True)


def test_an_opd_edits_a_fee_and_the_admin_approves_it(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    officer = browser.new_page(viewport=PHONE)
    _login(officer, server, "dinsos", PASSWORD)
    officer.wait_for_url("**/tiket")
    officer.goto(f"{server}/katalog")
    assert "Surat Keterangan Catatan Kepolisian" not in officer.inner_text("#katalog")
    officer.click("text=BPJS Kesehatan gratis (PBI JK dan PBI daerah)")
    officer.fill("#f-fee", "murah")
    officer.fill("#f-requirements", "")
    officer.click("button[name=publish][value='0']")
    assert "gratis" in officer.inner_text("#err-fee") and officer.is_visible("#err-requirements")
    assert officer.input_value("#f-fee") == "murah"  # what was typed is kept
    officer.screenshot(path=str(SHOTS / "21-katalog-isian-ditolak.png"), full_page=True)
    officer.fill("#f-fee", "gratis")
    officer.fill("#f-fee_note", "iuran ditanggung APBD")
    officer.fill("#f-requirements", "KTP-el dan KK\nSurat rekomendasi Dinas Sosial")
    officer.fill("#f-change_note", "perjelas biaya")
    officer.click("button[name=publish][value='0']")
    assert "menunggu persetujuan admin" in officer.inner_text(".flash")

    admin = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    _login(admin, server, "admin", PASSWORD)
    admin.wait_for_url("**/tiket")
    admin.goto(f"{server}/katalog/pbi-jk")
    assert "perjelas biaya" in admin.inner_text("#riwayat")
    admin.click("#setujui")
    assert "sudah terbit" in admin.inner_text(".flash")
    admin.screenshot(path=str(SHOTS / "22-katalog-disetujui.png"), full_page=True)
    admin.goto(f"{server}/layanan/pbi-jk")
    assert admin.inner_text("#biaya") == "Gratis (iuran ditanggung APBD)"


@pytest.fixture
def city_server(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The sample city, whose kelurahan services (the starting set's) are Kelurahan Langkai's."""
    config = write_city_config(tmp_path)
    monkeypatch.setenv(CONFIG_ENV_VAR, str(config))
    with db.session_scope(sqlite_url, write=True) as session:
        services.import_catalogue(
            session, *services.load_file(ROOT / "catalogue" / "layanan.yml"), tree=get_institution().units
        )
    with running_dashboard(sqlite_url, tmp_path, **{CONFIG_ENV_VAR: str(config)}) as url:
        yield url


def test_a_citizen_lists_one_kelurahans_services_on_a_phone(city_server: str, browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport=PHONE)
    page.goto(f"{city_server}/layanan")
    office = page.locator("section.office", has_text="Kantor Kelurahan Langkai")
    assert office.locator("h3.unit").all_inner_texts() == ["Kelurahan Langkai"]
    assert _fits_the_screen(page)
    page.select_option("#unit", LANGKAI)
    page.click("form.search-form button[type=submit]")
    page.wait_for_url(f"**/layanan?q=&unit={LANGKAI}")
    offices = page.locator("section.office h2").all_inner_texts()
    assert offices == ["Kantor Kelurahan Langkai"] and _fits_the_screen(page)
    assert "Surat Keterangan Tidak Mampu (SKTM)" in page.inner_text("main")
    assert "Kepolisian" not in page.inner_text("main")
    page.screenshot(path=str(SHOTS / "23-katalog-per-kelurahan-ponsel.png"), full_page=True)
    page.click("text=Surat Keterangan Tidak Mampu (SKTM)")
    page.wait_for_url("**/layanan/sktm")
    assert "Kelurahan Langkai" in page.inner_text("article .muted")
