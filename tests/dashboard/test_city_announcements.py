"""Announcements to a kecamatan or kelurahan of a city's tree (issue 21): they reach the topic's
subscribers who live there (the kelurahan remembered for them), in the preview's count, the
queue and the worker's last check before sending; everyone else, and subscribers whose
kelurahan is not known, are left out. Composed on the dashboard by the city's admin."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Dict

from city_support import LANGKAI, MENTENG, PAHANDUT, PAHANDUT_SEBERANG
from flask import Flask
from sqlalchemy import select

from layanwarga import citizens, db, subscriptions
from layanwarga.config import Institution
from layanwarga.models import Announcement, AnnouncementDelivery
from tests.dashboard.support import csrf, login
from tests.dashboard.test_city_permissions import ACCOUNTS, add_account, city, city_app  # noqa: F401  (fixtures)

# sender: (kelurahan remembered for them, topic, area subscribed to)
SUBSCRIBERS = {
    "6281300000001": (LANGKAI, "pengumuman", subscriptions.ALL),
    "6281300000002": (MENTENG, "pengumuman", subscriptions.ALL),
    "6281300000003": (PAHANDUT_SEBERANG, subscriptions.ALL, "langkai"),
    "6281300000004": (None, "pengumuman", subscriptions.ALL),  # kelurahan never known
    "6281300000005": (LANGKAI, "bencana", subscriptions.ALL),  # another topic
}


def subscribe_all(inst: Institution) -> Dict[str, int]:
    ids = {}
    for sender, (unit, topic, area) in SUBSCRIBERS.items():
        assert subscriptions.subscribe(inst, sender, topic, area, message_id=f"wamid.{sender}")
        with db.session_scope() as session:
            citizen = citizens.upsert_sender(session, sender)
            if unit:
                citizens.remember_unit(citizen, unit, "pilih", dt.datetime(2026, 11, 20, 8, 0))
            ids[sender] = int(citizen.id)
    return ids


def test_a_unit_target_reaches_the_subscribers_who_live_there(city: Institution) -> None:  # noqa: F811
    ids = subscribe_all(city)
    with db.session_scope() as session:
        assert (
            subscriptions.count_recipients(session, "pengumuman", PAHANDUT) == 2
        )  # Langkai and Pahandut Seberang
        assert subscriptions.count_recipients(session, "pengumuman", LANGKAI) == 1
        assert subscriptions.count_recipients(session, "pengumuman", MENTENG) == 1
        assert subscriptions.count_recipients(session, "pengumuman", subscriptions.ALL) == 4
        wanted = subscriptions.subscribed_among(session, list(ids.values()), "pengumuman", PAHANDUT)
    assert wanted == {ids["6281300000001"], ids["6281300000003"]}
    assert subscriptions.area_label(city, PAHANDUT) == "Kecamatan Pahandut"


def test_a_unit_target_must_be_below_the_city(city: Institution) -> None:  # noqa: F811
    for area in ("62.71", "62.71.09.9999"):
        try:
            subscriptions.validate_draft(
                city, "Posyandu", "pengumuman", area, "Posyandu buka hari Sabtu pukul 08.00."
            )
        except subscriptions.AnnouncementError as exc:
            assert "kecamatan atau kelurahan" in str(exc)
        else:
            raise AssertionError(f"{area} accepted")


def test_the_city_admin_composes_and_sends_to_a_kecamatan(city_app: Flask, city: Institution) -> None:  # noqa: F811
    ids = subscribe_all(city)
    add_account(city, "diskominfo", ACCOUNTS["diskominfo"])
    client = login(city_app, "diskominfo")
    form = client.get("/pengumuman/baru").get_data(as_text=True)
    assert f'value="{PAHANDUT}"' in form and f'value="{MENTENG}"' in form
    response = client.post(
        "/pengumuman/baru",
        data={
            "csrf_token": csrf(client, "/pengumuman/baru"),
            "judul": "Posyandu Pahandut",
            "topik": "pengumuman",
            "wilayah": PAHANDUT,
            "isi": "Posyandu buka hari Sabtu pukul 08.00 di balai kelurahan.",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    page_url = response.headers["Location"]
    page = client.get(page_url).get_data(as_text=True)
    assert "Kecamatan Pahandut" in page and re.search(r'id="would-reach">2<', page)
    sent = client.post(
        f"{page_url}/kirim", data={"csrf_token": csrf(client, page_url), "sudah_diperiksa": "1"}
    )
    assert sent.status_code == 302
    with db.session_scope() as session:
        row = session.execute(select(Announcement)).scalars().one()
        queued = set(
            session.execute(
                select(AnnouncementDelivery.citizen_id).where(AnnouncementDelivery.announcement_id == row.id)
            ).scalars()
        )
    assert (row.area, queued) == (PAHANDUT, {ids["6281300000001"], ids["6281300000003"]})


def test_a_kelurahan_admin_does_not_send_announcements(
    city_app: Flask,  # noqa: F811
    city: Institution,  # noqa: F811
    tmp_path: Path,
) -> None:
    add_account(city, "lurah_langkai", ACCOUNTS["lurah_langkai"])
    assert login(city_app, "lurah_langkai").get("/pengumuman/baru").status_code == 403
