"""A kelurahan clerk's and a kecamatan's inbox in a city (issue 21), in headless Chromium against
the real dashboard server on the test city (``test_city_permissions``' world, placed by the
routing): Langkai's letter clerk sees Langkai's letter only, with the kelurahan on the row and in
the header, and nothing to filter; the kecamatan's admin narrows its inbox to one kelurahan."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Tuple

import pytest
from city_support import LANGKAI

from layanwarga.config import CONFIG_ENV_VAR, get_institution
from tests.dashboard.support import CHROMIUM, PASSWORD, SHOTS, running_dashboard
from tests.dashboard.test_city_permissions import build_city, write_city_with_subscriptions
from tests.dashboard.test_dashboard_browser import _login

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Chromium is not installed (scripts/ensure_chromium.sh)"
)


@pytest.fixture
def city_server(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Tuple[str, dict]]:
    config = write_city_with_subscriptions(tmp_path)
    monkeypatch.setenv(CONFIG_ENV_VAR, str(config))
    world = build_city(get_institution(), tmp_path)
    with running_dashboard(sqlite_url, tmp_path, **{CONFIG_ENV_VAR: str(config)}) as url:
        yield url, world.tickets


def _listed(page) -> list:  # type: ignore[no-untyped-def]
    return sorted(page.locator("ul.tickets a.number").all_inner_texts())


def test_a_kelurahan_clerk_sees_only_its_kelurahan(city_server: Tuple[str, dict], browser) -> None:  # type: ignore[no-untyped-def]
    url, numbers = city_server
    page = browser.new_page(viewport={"width": 390, "height": 844})  # a clerk's phone
    _login(page, url, "surat_langkai", PASSWORD)
    page.wait_for_url("**/tiket")
    assert _listed(page) == [numbers["sktm_langkai"]]
    assert "Kelurahan Langkai" in page.locator("ul.tickets").inner_text()
    assert (
        page.locator("#work-unit").inner_text() == "Wilayah kerja: Kelurahan Langkai"
    )  # the header's role line is hidden on a phone
    assert page.locator("#filter-unit").count() == 0
    page.screenshot(path=str(SHOTS / "kota-01-petugas-surat-langkai.png"), full_page=True)
    page.goto(f"{url}/tiket/{numbers['sktm_palangka']}")
    assert "404" in page.title() or "tidak ditemukan" in page.inner_text("main").lower()


def test_a_kecamatan_narrows_its_inbox_to_one_kelurahan(city_server: Tuple[str, dict], browser) -> None:  # type: ignore[no-untyped-def]
    url, numbers = city_server
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    _login(page, url, "camat_pahandut", PASSWORD)
    page.wait_for_url("**/tiket")
    assert _listed(page) == sorted(
        [numbers["sktm_langkai"], numbers["sampah_langkai"], numbers["jalan_seberang_anon"]]
    )
    page.locator("details summary").first.click()
    page.select_option("#filter-unit", LANGKAI)
    page.click("text=Terapkan")
    page.wait_for_url(f"**wilayah={LANGKAI}**")
    assert _listed(page) == sorted([numbers["sktm_langkai"], numbers["sampah_langkai"]])
    page.screenshot(path=str(SHOTS / "kota-02-kecamatan-saring-kelurahan.png"), full_page=True)
