"""A city's dashboard (issue 21): the inbox filters by kecamatan and kelurahan within the
account's own area, and the staff and public statistics compare the units (volume, median time
to resolution, share that kept its due date), each account's figures limited to what it may
see. The world is ``test_city_permissions``' city: tickets placed by the real routing."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path
from typing import Dict, Tuple

from city_support import JEKAN_RAYA, LANGKAI, MENTENG, PAHANDUT, PAHANDUT_SEBERANG, PALANGKA
from flask import Flask
from sqlalchemy import update

from layanwarga import db, staff, states
from layanwarga.config import Institution
from layanwarga.models import Ticket
from tests.dashboard.support import PASSWORD, listed, login, post
from tests.dashboard.test_city_permissions import (  # noqa: F401  (city, city_app: fixtures)
    ACCOUNTS,
    Account,
    add_account,
    build_city,
    city,
    city_app,
)

NOW = dt.datetime(2026, 12, 7, 3, 0, tzinfo=dt.timezone.utc)  # 10.00 WIB; tickets came on 23 November
ROW = re.compile(
    r'data-unit="([^"]+)">.*?unit-total">([\d.]+)<.*?unit-median">([^<]*)<.*?unit-sla">([^<]*)', re.S
)


def comparison(html: str) -> Dict[str, Tuple[int, str, str]]:
    """The comparison table: unit code (or ``triase``) -> (tickets, median, share kept)."""
    assert 'id="unit-comparison"' in html
    return {
        code: (int(total.replace(".", "")), median.strip(), sla.strip())
        for code, total, median, sla in ROW.findall(html)
    }


def test_the_inbox_filters_by_kecamatan_and_kelurahan_within_the_accounts_area(
    city_app: Flask,  # noqa: F811
    city: Institution,  # noqa: F811
    tmp_path: Path,
) -> None:
    world = build_city(city, tmp_path)
    numbers = world.tickets
    admin = login(city_app, "diskominfo")
    jekan = set(listed(admin.get(f"/tiket?wilayah={JEKAN_RAYA}").get_data(as_text=True)))
    assert jekan == {numbers["sktm_palangka"], numbers["sampah_menteng"], numbers["aspirasi_menteng"]}
    menteng = set(listed(admin.get(f"/tiket?wilayah={MENTENG}").get_data(as_text=True)))
    assert menteng == {numbers["sampah_menteng"], numbers["aspirasi_menteng"]}
    page = admin.get("/tiket?wilayah=62.71.99.9999").get_data(as_text=True)
    assert "Wilayah tidak dikenal" in page and len(listed(page)) == len(numbers)

    camat = login(city_app, "camat_pahandut")
    page = camat.get("/tiket").get_data(as_text=True)
    assert (
        f'value="{LANGKAI}"' in page
        and f'value="{PAHANDUT_SEBERANG}"' in page
        and f'value="{MENTENG}"' not in page
    )
    assert set(listed(camat.get(f"/tiket?wilayah={LANGKAI}").get_data(as_text=True))) == {
        numbers["sktm_langkai"],
        numbers["sampah_langkai"],
    }
    assert listed(camat.get(f"/tiket?wilayah={MENTENG}").get_data(as_text=True)) == []  # the scope stays
    exported = list(
        csv.DictReader(
            io.StringIO(camat.get(f"/tiket.csv?wilayah={LANGKAI}").get_data(as_text=True).lstrip("\ufeff"))
        )
    )
    assert {(row["nomor"], row["kelurahan_kode"], row["kecamatan_kode"]) for row in exported} == {
        (numbers["sktm_langkai"], LANGKAI, PAHANDUT),
        (numbers["sampah_langkai"], LANGKAI, PAHANDUT),
    }
    clerk_page = login(city_app, "surat_langkai").get("/tiket").get_data(as_text=True)
    assert 'id="filter-unit"' not in clerk_page  # one kelurahan: nothing to choose
    assert "Kelurahan Langkai" in clerk_page  # each row names its kelurahan


def _close(number: str, closed: dt.datetime, due: dt.date) -> None:
    with db.session_scope() as session:
        session.execute(
            update(Ticket)
            .where(Ticket.number == number)
            .values(state=states.SELESAI, closed_at=closed, due_date=due)
        )


def _due(number: str, due: dt.date) -> None:
    with db.session_scope() as session:
        session.execute(update(Ticket).where(Ticket.number == number).values(due_date=due))


def test_statistics_compare_units_on_the_public_and_staff_pages(
    city_app: Flask,  # noqa: F811
    city: Institution,  # noqa: F811
    tmp_path: Path,
) -> None:
    city_app.config["LW_NOW"] = lambda: NOW
    world = build_city(city, tmp_path)
    numbers = world.tickets
    created = dt.datetime(2026, 11, 23, 2, 0)
    later = dt.date(2026, 12, 10)
    _close(numbers["sampah_menteng"], created + dt.timedelta(days=2), later)  # in time
    _close(numbers["sampah_langkai"], created + dt.timedelta(days=4), dt.date(2026, 11, 24))  # late
    for variant in ("sktm_langkai", "aspirasi_menteng", "sktm_palangka", "jalan_seberang_anon"):
        _due(numbers[variant], later)

    public = city_app.test_client().get("/publik/statistik?periode=2026-11").get_data(as_text=True)
    units = comparison(public)
    assert units[PAHANDUT] == (3, "4,0 hari", "66,7%")
    assert units[LANGKAI] == (2, "4,0 hari", "50,0%")
    assert units[PAHANDUT_SEBERANG][0] == 1
    assert units[JEKAN_RAYA] == (3, "2,0 hari", "100,0%")
    assert units[MENTENG] == (2, "2,0 hari", "100,0%")
    assert units[PALANGKA] == (1, "-", "100,0%")
    assert units["triase"][0] == 1
    assert list(units)[:4] == [
        PAHANDUT,
        LANGKAI,
        PAHANDUT_SEBERANG,
        "62.71.02",
    ]  # each kecamatan, then its kelurahan

    admin_page = login(city_app, "diskominfo").get("/statistik").get_data(as_text=True)
    assert 'id="stat-total">7<' in admin_page and comparison(admin_page)[PAHANDUT][0] == 3
    lurah = login(city_app, "lurah_langkai")
    own = lurah.get("/statistik").get_data(as_text=True)
    assert 'id="stat-total">2<' in own
    figures = comparison(own)
    assert (
        figures[LANGKAI] == (2, "4,0 hari", "50,0%")
        and figures[JEKAN_RAYA][0] == 0
        and MENTENG not in figures
    )
    exported = lurah.get("/statistik.csv").get_data(as_text=True)
    assert (
        f"wilayah_masuk,{LANGKAI},Kelurahan Langkai,2" in exported
        and f"wilayah_masuk,{MENTENG}" not in exported
    )


def test_a_single_unit_compares_nothing(app: Flask, world) -> None:  # type: ignore[no-untyped-def]
    page = app.test_client().get("/publik/statistik").get_data(as_text=True)
    assert 'id="unit-comparison"' not in page


def test_the_city_admin_gives_accounts_a_unit_and_a_upt(city_app: Flask, city: Institution) -> None:  # noqa: F811
    add_account(city, "diskominfo", ACCOUNTS["diskominfo"])
    admin = login(city_app, "diskominfo")
    form = admin.get("/admin/pengguna").get_data(as_text=True)
    assert f'value="{LANGKAI}"' in form and 'value="UPT Persampahan Wilayah Jekan Raya"' in form
    created = post(
        admin,
        "/admin/pengguna",
        {
            "username": "lurah.langkai",
            "full_name": "Surat Langkai",
            "role": "surat",
            "unit_code": LANGKAI,
            "password": PASSWORD,
        },
        page="/admin/pengguna",
    )
    assert created.status_code == 302
    refused = post(
        admin,
        "/admin/pengguna",
        {
            "username": "dlh.langkai",
            "full_name": "DLH Langkai",
            "role": "opd",
            "agency_code": "DLH",
            "unit_code": LANGKAI,
            "password": PASSWORD,
        },
        page="/admin/pengguna",
    )
    assert refused.status_code == 400 and "Petugas OPD bekerja untuk seluruh kota" in refused.get_data(
        as_text=True
    )
    opd_id = add_account(city, "dlh.kota", Account("opd", agency="DLH"))
    edited = post(
        admin,
        f"/admin/pengguna/{opd_id}",
        {
            "full_name": "DLH Jekan",
            "role": "opd",
            "agency_code": "DLH",
            "upt_name": "UPT Persampahan Wilayah Jekan Raya",
            "is_active": "1",
        },
        page=f"/admin/pengguna/{opd_id}",
    )
    assert edited.status_code == 302
    with db.session_scope() as session:
        clerk, officer = staff.find_user(session, "lurah.langkai"), staff.find_user(session, "dlh.kota")
        assert clerk is not None and officer is not None
        assert (clerk.unit_code, officer.upt_name) == (LANGKAI, "UPT Persampahan Wilayah Jekan Raya")
    listing = admin.get("/admin/pengguna").get_data(as_text=True)
    assert "Kelurahan Langkai" in listing and "(UPT Persampahan Wilayah Jekan Raya)" in listing
