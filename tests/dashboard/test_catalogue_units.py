"""The service catalogue in a city (issue 22): a kecamatan's or kelurahan's admin edits, adds and
withdraws the services of its own units only (another unit's service is not found), chooses
among its own units, and waits for the city's approval; the city's admin places and moves
services anywhere; the public page groups services by office, then unit, and filters on a unit
(SQLite and PostgreSQL).

The city is the sample Kota Palangka Raya; the shipped starting set is imported into it, so the
kelurahan services are Kelurahan Langkai's (Kecamatan Pahandut)."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Iterator

import pytest
from city_support import CITY, LANGKAI, MENTENG, PAHANDUT, PAHANDUT_SEBERANG, write_city_config
from flask import Flask

from dashboard import create_app
from dashboard.settings import DashboardSettings
from layanwarga import db, services, staff
from layanwarga.config import CONFIG_ENV_VAR, PROJECT_ROOT, Institution, get_institution
from tests.dashboard.support import CHEAP_HASHER, PASSWORD, csrf, login

SHIPPED = PROJECT_ROOT / "catalogue" / "layanan.yml"
ACCOUNTS = {  # username: (role, agency, unit)
    "diskominfo": ("admin", None, None),
    "camat_pahandut": ("admin", None, PAHANDUT),
    "lurah_langkai": ("admin", None, LANGKAI),
    "lurah_menteng": ("admin", None, MENTENG),
    "dinsos": ("opd", "DINSOS", None),
    "surat_langkai": ("surat", None, LANGKAI),
}


@pytest.fixture
def city(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Institution]:
    monkeypatch.setenv(CONFIG_ENV_VAR, str(write_city_config(tmp_path)))
    inst = get_institution()
    staff.set_hasher(CHEAP_HASHER)
    with db.session_scope() as session:
        services.import_catalogue(session, *services.load_file(SHIPPED), tree=inst.units)
        for username, (role, agency, unit) in ACCOUNTS.items():
            staff.create_user(
                session,
                username=username,
                full_name=username.title(),
                password=PASSWORD,
                role=role,
                agency_code=agency,
                agencies=list(inst.agencies),
                inst=inst,
                unit_code=unit,
            )
    yield inst


def _app(approval: bool = True) -> Flask:
    application = create_app(
        DashboardSettings(secret_key="x" * 40, digest_time=None, catalogue_approval=approval)
    )
    application.testing = True
    return application


def _form(client, code: str, **changes: str) -> Dict[str, str]:  # type: ignore[no-untyped-def]
    with db.session_scope() as session:
        values = services.form_values(services.history(session, code)[-1])
    return {**values, **changes, "csrf_token": csrf(client, f"/katalog/{code}")}


def _new(client, **fields: str):  # type: ignore[no-untyped-def]
    data = {
        "code": "surat-keterangan-janda",
        "agency": "kelurahan",
        "name": "Surat keterangan janda/duda",
        "purpose": "Keterangan status janda atau duda.",
        "requirements": "Pengantar RT/RW\nAkta kematian pasangan",
        "fee": "gratis",
        "processing_time": "1 hari kerja",
        "place": "Loket kelurahan",
        "csrf_token": csrf(client, "/katalog/baru"),
    }
    return client.post("/katalog/baru", data={**data, **fields})


def _place(code: str):  # type: ignore[no-untyped-def]
    with db.session_scope() as session:
        return services.service_place(session, code)


def _revisions(code: str) -> int:
    with db.session_scope() as session:
        return len(services.history(session, code))


def test_a_kelurahan_admin_keeps_its_own_units_services_and_no_other(city: Institution) -> None:
    app = _app()
    langkai, menteng = login(app, "lurah_langkai"), login(app, "lurah_menteng")
    listing = langkai.get("/katalog").get_data(as_text=True)
    assert "/katalog/sktm" in listing and "/katalog/ahli-waris" in listing
    assert "/katalog/skck" not in listing and "<th>Unit</th>" in listing
    assert langkai.get("/katalog/sktm").status_code == 200
    assert langkai.get("/katalog/skck").status_code == 404  # a city OPD's service
    # Kelurahan Menteng's admin cannot see, edit or withdraw Langkai's service.
    assert "/katalog/sktm" not in menteng.get("/katalog").get_data(as_text=True)
    assert menteng.get("/katalog/sktm").status_code == 404
    token = csrf(menteng, "/katalog")
    assert (
        menteng.post(
            "/katalog/sktm", data={**_form(langkai, "sktm", fee="5000"), "csrf_token": token}
        ).status_code
        == 404
    )
    assert (
        menteng.post("/katalog/sktm/tarik", data={"csrf_token": token, "reason": "bukan"}).status_code == 404
    )
    assert menteng.post("/katalog/sktm/terbit-lagi", data={"csrf_token": token}).status_code == 404
    assert _revisions("sktm") == 1 and app.test_client().get("/layanan/sktm").status_code == 200
    # The kecamatan's admin keeps the services of its kelurahan too; approving stays the city's.
    camat = login(app, "camat_pahandut")
    assert camat.get("/katalog/sktm").status_code == 200
    assert (
        camat.post("/katalog/sktm/terbitkan", data={"csrf_token": csrf(camat, "/katalog")}).status_code == 403
    )
    # A letter clerk of the kelurahan does not keep the catalogue.
    assert login(app, "surat_langkai").get("/katalog").status_code == 403


def test_a_kelurahan_admins_edit_waits_for_the_citys_approval(city: Institution) -> None:
    app = _app()
    langkai = login(app, "lurah_langkai")
    saved = langkai.post("/katalog/sktm", data=_form(langkai, "sktm", processing_time="2 jam", publish="1"))
    assert saved.status_code == 302 and "menunggu persetujuan admin" in langkai.get("/katalog/sktm").get_data(
        as_text=True
    )
    with db.session_scope() as session:
        assert services.published_service(session, "sktm").content.processing_time == "1 hari kerja"  # type: ignore[union-attr]
    city_admin = login(app, "diskominfo")
    city_admin.post("/katalog/sktm/terbitkan", data={"csrf_token": csrf(city_admin, "/katalog")})
    with db.session_scope() as session:
        assert services.published_service(session, "sktm").content.processing_time == "2 jam"  # type: ignore[union-attr]


def test_a_new_service_is_placed_in_one_of_the_editors_own_units(city: Institution) -> None:
    app = _app()
    menteng = login(app, "lurah_menteng")
    page = menteng.get("/katalog/baru").get_data(as_text=True)
    offered = page.split('id="f-unit"', 1)[1].split("</select>", 1)[0]
    assert (
        f'value="{MENTENG}"' in offered and f'value="{LANGKAI}"' not in offered and 'value=""' not in offered
    )
    elsewhere = _new(menteng, unit=LANGKAI)
    assert elsewhere.status_code == 400 and 'id="err-unit"' in elsewhere.get_data(as_text=True)
    assert _new(menteng, unit="").status_code == 400  # a kelurahan's service has its unit
    assert _place("surat-keterangan-janda") is None
    assert _new(menteng, unit=MENTENG, publish="1").status_code == 302
    assert _place("surat-keterangan-janda") == ("kelurahan", MENTENG)
    assert app.test_client().get("/layanan/surat-keterangan-janda").status_code == 404  # waits for approval
    camat = login(app, "camat_pahandut").get("/katalog/baru").get_data(as_text=True)
    offered = camat.split('id="f-unit"', 1)[1].split("</select>", 1)[0]
    assert all(f'value="{code}"' in offered for code in (PAHANDUT, LANGKAI, PAHANDUT_SEBERANG))
    assert f'value="{MENTENG}"' not in offered
    # An OPD serves the whole city: its service may have no unit.
    assert _new(login(app, "dinsos"), code="bansos-lansia", unit="").status_code == 302
    assert _place("bansos-lansia") == ("dinsos", None)


def test_moving_a_service_between_units_is_for_those_who_publish_within_their_units(
    city: Institution,
) -> None:
    city_admin = login(_app(), "diskominfo")
    moved = city_admin.post(
        "/katalog/ahli-waris", data=_form(city_admin, "ahli-waris", unit=MENTENG, publish="1")
    )
    assert moved.status_code == 302 and _place("ahli-waris") == ("kelurahan", MENTENG)
    with db.session_scope() as session:
        note = services.history(session, "ahli-waris")[-1].change_note
    assert note == "Unit: Kelurahan Langkai → Kelurahan Menteng"
    city_admin.post("/katalog/ahli-waris", data=_form(city_admin, "ahli-waris", unit=CITY))
    assert _place("ahli-waris") == ("kelurahan", None)  # the city itself: no unit
    # Under approval a kelurahan's admin has no unit choice: a unit sent anyway changes nothing.
    langkai = login(_app(), "lurah_langkai")
    assert 'id="f-unit"' not in langkai.get("/katalog/sktm").get_data(as_text=True)
    langkai.post("/katalog/sktm", data=_form(langkai, "sktm", unit=MENTENG))
    assert _place("sktm") == ("kelurahan", LANGKAI)
    # Without approval it publishes, and chooses among its own units only.
    free = login(_app(approval=False), "lurah_langkai")
    refused = free.post("/katalog/sktm", data=_form(free, "sktm", unit=MENTENG, publish="1"))
    assert refused.status_code == 400 and 'id="err-unit"' in refused.get_data(as_text=True)
    assert _place("sktm") == ("kelurahan", LANGKAI)


def test_the_public_page_groups_by_office_then_unit_and_filters_on_a_unit(city: Institution) -> None:
    client = _app().test_client()
    html = client.get("/layanan").get_data(as_text=True)
    kelurahan = html.split("<h2>Kantor Kelurahan Langkai</h2>", 1)[1].split("</section>", 1)[0]
    assert '<h3 class="unit">Kelurahan Langkai</h3>' in kelurahan and 'href="/layanan/sktm"' in kelurahan
    offered = html.split('id="unit"', 1)[1].split("</select>", 1)[0]
    assert f'value="{PAHANDUT}"' in offered and f'value="{LANGKAI}"' in offered
    assert f'value="{MENTENG}"' not in offered  # offers no service
    assert html.count('href="/layanan/') == len(services.load_file(SHIPPED)[1])
    # A kecamatan shows its own and its kelurahan's services; the city's OPD are not listed.
    pahandut = client.get(f"/layanan?unit={PAHANDUT}").get_data(as_text=True)
    assert 'href="/layanan/sktm"' in pahandut and 'href="/layanan/skck"' not in pahandut
    assert "Kecamatan Pahandut" in pahandut
    searched = client.get(f"/layanan?unit={LANGKAI}&q=skck").get_data(as_text=True)
    results = searched.split('id="hasil"', 1)[1].split("</section>", 1)[0]
    # Langkai's own SKCK letter of introduction, not Polresta's SKCK.
    assert 'href="/layanan/pengantar-skck"' in results and 'href="/layanan/skck"' not in results
    # A unit that is not of the city is no filter.
    unknown = client.get("/layanan?unit=62.71.09.9999").get_data(as_text=True)
    assert unknown.count('href="/layanan/') == html.count('href="/layanan/')
