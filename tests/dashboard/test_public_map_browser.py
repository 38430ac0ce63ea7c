"""The public map in Chromium against the real server, with no network: Leaflet and its cluster
plugin come from the dashboard itself, tiles from the tile server the configuration names (here
a local one, proving the URL is configuration), and no request leaves 127.0.0.1. Complaints show
clustered by category and state, without names or phone numbers; an anonymous one without its
text. Screenshots in results/screenshots/."""

from __future__ import annotations

import base64
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator, List
from urllib.parse import urlsplit

import pytest
import yaml

from layanwarga import config, tickets
from tests.dashboard.support import (
    CHROMIUM,
    INST,
    ROOT,
    SHOTS,
    complaint,
    free_port,
    running_dashboard,
    ticket_id,
)

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Chromium is not installed (scripts/ensure_chromium.sh)"
)

# A 1x1 PNG: what the local tile server answers for every tile.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


class TileServer:
    def __init__(self) -> None:
        self.paths: List[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                server.paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(PIXEL)))
                self.end_headers()
                self.wfile.write(PIXEL)

            def log_message(self, *args: Any) -> None:
                return

        self.port = free_port()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def tiles() -> Iterator[TileServer]:
    server = TileServer()
    yield server
    server.httpd.shutdown()


@pytest.fixture
def server(sqlite_url: str, tmp_path: Path, tiles: TileServer) -> Iterator[str]:
    raw = yaml.safe_load((ROOT / "instansi.yml").read_text(encoding="utf-8"))
    raw["publik"]["map"]["tile_url"] = f"http://127.0.0.1:{tiles.port}/ubin/{{z}}/{{x}}/{{y}}.png"
    settings = tmp_path / "instansi.yml"
    settings.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    config.load_institution(settings)  # valid
    lat, lon = INST.latitude, INST.longitude
    for i in range(6):  # a cluster of street lights, close together
        complaint(
            f"peta{i}",
            sender=f"6281200000{i:03d}",
            category="lapor_lampu_padam",
            reporter_name="Siti Aminah",
            description=f"Lampu PJU nomor {i} mati, telp 081234567890",
            latitude=lat + i * 0.0002,
            longitude=lon,
        )
    complaint(
        "peta-anon",
        sender="6281299990000",
        category="lapor_sampah",
        anonymous=True,
        reporter_name="Rahasia Sekali",
        description="Pembuangan sampah liar oleh tetangga",
        latitude=lat - 0.01,
        longitude=lon + 0.01,
    )
    fixed = complaint(
        "peta-selesai", sender="6281288880000", latitude=lat + 0.02, longitude=lon - 0.02
    ).number
    tickets.change_state(ticket_id(fixed), "diteruskan", "staf:admin", agency_code="PUPR")
    tickets.change_state(ticket_id(fixed), "selesai", "staf:admin", "Jalan sudah diperbaiki.")
    with running_dashboard(sqlite_url, tmp_path, LAYANWARGA_INSTANSI=str(settings)) as url:
        yield url


@pytest.mark.parametrize(
    "viewport", [{"width": 390, "height": 844}, {"width": 1280, "height": 900}], ids=["phone", "desktop"]
)
def test_the_public_map_works_offline_and_shows_no_one(
    server: str, tiles: TileServer, browser, viewport
) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport=viewport)
    requested: List[str] = []
    left: List[str] = []

    def watch(route) -> None:  # type: ignore[no-untyped-def]
        url = route.request.url
        requested.append(url)
        if urlsplit(url).hostname not in ("127.0.0.1", "localhost"):
            left.append(url)
            route.abort()
        else:
            route.continue_()

    context.route("**/*", watch)
    page = context.new_page()
    errors: List[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server}/publik/peta")  # no login
    page.wait_for_selector("#peta[data-siap='1']")
    assert page.locator("#jumlah").inner_text() == "8 laporan ditampilkan"
    assert page.locator(".marker-cluster").count() >= 1  # the street lights are clustered
    assert tiles.paths and all(
        p.startswith("/ubin/") for p in tiles.paths
    )  # tiles from the configured server
    assert any("/static/vendor/leaflet/leaflet.js" in u for u in requested)
    body = page.content()
    for secret in ("Siti Aminah", "Rahasia Sekali", "081234567890", "6281200000", "Pembuangan sampah liar"):
        assert secret not in body
    page.select_option("#saring-kategori", "lapor_sampah")
    assert page.locator("#jumlah").inner_text() == "1 laporan ditampilkan"
    page.locator("path.penanda").first.click()
    popup = page.locator(".leaflet-popup-content").inner_text()
    assert "isinya tidak ditampilkan" in popup and "Pembuangan" not in popup
    page.select_option("#saring-kategori", "")
    page.select_option("#saring-status", "selesai")
    assert page.locator("#jumlah").inner_text() == "1 laporan ditampilkan"
    page.select_option("#saring-status", "terbuka")
    assert page.locator("#jumlah").inner_text() == "7 laporan ditampilkan"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(
        path=str(SHOTS / f"09-peta-publik-{'ponsel' if viewport['width'] < 800 else 'desktop'}.png"),
        full_page=True,
    )
    assert left == [] and errors == []
    context.close()
