"""The public service catalogue: no login, every published service by office, the same search as
WhatsApp, each service at its own shareable address, drafts never shown, and anything typed into
a field shown as text (SQLite and PostgreSQL)."""

from __future__ import annotations

from flask import Flask

from layanwarga import db, services
from layanwarga.config import PROJECT_ROOT

SHIPPED = PROJECT_ROOT / "catalogue" / "layanan.yml"


def _import() -> None:
    with db.session_scope() as session:
        services.import_catalogue(session, *services.load_file(SHIPPED))


def test_every_published_service_is_listed_by_office_without_login(app: Flask) -> None:
    _import()
    page = app.test_client().get("/layanan")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Masuk" not in html.split("<main", 1)[1][:200]
    assert "Dinas Kependudukan dan Pencatatan Sipil Kota Palangka Raya" in html
    assert html.count('href="/layanan/') == len(services.load_file(SHIPPED)[1])
    assert 'name="viewport"' in html


def test_the_search_finds_a_service_by_its_old_name(app: Flask) -> None:
    _import()
    html = app.test_client().get("/layanan?q=imb+rumah").get_data(as_text=True)
    results = html.split('id="hasil"', 1)[1].split("</section>", 1)[0]
    assert 'href="/layanan/pbg"' in results and 'href="/layanan/skck"' not in results


def test_a_search_that_finds_nothing_says_so_and_never_echoes_markup(app: Flask) -> None:
    _import()
    html = app.test_client().get("/layanan?q=<script>alert(1)</script>paspor").get_data(as_text=True)
    assert "Belum ada layanan yang cocok" in html
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html


def test_each_service_has_its_own_address_with_requirements_fee_and_link(app: Flask) -> None:
    _import()
    html = app.test_client().get("/layanan/skck").get_data(as_text=True)
    assert "Surat Keterangan Catatan Kepolisian (SKCK)" in html
    assert "Rp30.000 (PNBP)" in html and 'href="https://skck.polri.go.id"' in html
    assert "Pas foto berwarna 4x6 latar merah enam lembar" in html


def test_an_unknown_or_unpublished_service_is_not_found(app: Flask) -> None:
    _import()
    client = app.test_client()
    assert client.get("/layanan/tidak-ada").status_code == 404
    with db.session_scope() as session:
        services.save_draft(
            session,
            "paspor",
            services.content_from_mapping(
                {
                    "name": "Paspor",
                    "purpose": "x",
                    "requirements": ["KTP"],
                    "processing_time": "4 hari",
                    "place": "Imigrasi",
                }
            ),
            "staf:x",
            agency_code="polres",
        )
    assert client.get("/layanan/paspor").status_code == 404
    # A letter code is not a service's address (only the service's own code is).
    assert client.get("/layanan/sktm").status_code == 200 and client.get("/layanan/SKTM").status_code == 404


def test_an_edit_is_on_the_page_at_once_and_markup_shows_as_text(app: Flask) -> None:
    _import()
    with db.session_scope() as session:
        services.save_draft(
            session,
            "kia",
            services.content_from_mapping(
                {
                    "name": "Kartu Identitas Anak (KIA)",
                    "purpose": "<img src=x onerror=alert(1)>",
                    "place": "Loket",
                    "processing_time": "1 hari",
                    "requirements": ["<b>Akta</b>"],
                    "fee": 0,
                }
            ),
            "staf:dukcapil",
        )
        services.publish(session, "kia", "staf:admin")
    html = app.test_client().get("/layanan/kia").get_data(as_text=True)
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<b>Akta</b>" not in html and "&lt;b&gt;Akta&lt;/b&gt;" in html
    assert "versi 2" in html


def test_an_empty_catalogue_says_so(app: Flask) -> None:
    html = app.test_client().get("/layanan").get_data(as_text=True)
    assert "Katalog layanan belum diisi" in html
