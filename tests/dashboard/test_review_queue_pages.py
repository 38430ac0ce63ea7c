"""The content staff's review queue in the dashboard (issue 27): the ``konten`` role lands on it
and sees grouped messages with their conversation, masked; staff flag a line they can read from
a ticket's conversation, and nobody flags a line they cannot read."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import update

from layanwarga import conversation_log, db, review_queue, teaching
from layanwarga.models import ConversationMessage, utcnow
from layanwarga.review_queue import Reading
from tests.dashboard.support import World, csrf, login, make_user, ticket_id

ROOT = Path(__file__).resolve().parents[2]
CITIZEN = "6281111111111"  # the reporter of world.pupr


def ticket_line(world: World, text: str) -> int:
    line = conversation_log.log_inbound(CITIZEN, text)
    with db.session_scope() as session:
        session.execute(
            update(ConversationMessage)
            .where(ConversationMessage.id == line)
            .values(ticket_id=ticket_id(world.pupr))
        )
    return line


def test_content_staff_see_grouped_misunderstood_messages_masked(app: Flask, world: World) -> None:
    make_user("konten", "konten")
    conversation_log.log_inbound("6285550000001", "halo")
    conversation_log.log_inbound(
        "6285550000001", "lampu jalan kedip2 nik 6271014506850003 wa 0812 3456 7890", wamid="wamid.k1"
    )
    conversation_log.log_outbound("6285550000001", "Maaf, saya belum mengerti.")
    now = utcnow()
    for sender, text, wamid in (
        ("6285550000001", "lampu jalan kedip2 nik 6271014506850003 wa 0812 3456 7890", "wamid.k1"),
        ("6285550000002", "lampu jalan kedip kedip nik 6271014506850999 wa 0813 1111 2222", None),
    ):
        review_queue.record_reading(
            sender,
            Reading(
                text=text,
                intent="nlu_fallback",
                confidence=0.2,
                fell_back=True,
                message_id=wamid,
                guesses=[("nlu_fallback", 0.7), ("lapor_lampu_padam", 0.28), ("lapor_jalan_rusak", 0.2)],
            ),
            at=now - dt.timedelta(minutes=5),
        )
    client = login(app, "konten")
    assert client.get("/").headers["Location"].endswith("/konten/tinjauan")
    page = client.get("/konten/tinjauan").get_data(as_text=True)
    assert "2 pesan · 2 warga" in page and "lapor_lampu_padam" in page
    assert "6271014506850003" not in page and "0812 3456 7890" not in page
    group = client.get(
        "/konten/tinjauan/kelompok",
        query_string={"kunci": review_queue.group_key("lampu jalan kedip kedip nik 1 wa 2")},
    )
    html = group.get_data(as_text=True)
    assert group.status_code == 200
    assert "Maaf, saya belum mengerti." in html and "halo" in html  # the conversation around it
    assert "6271********0003" in html and "0812****7890" in html and "6285550000001" not in html
    assert (
        client.get("/tiket").headers["Location"].endswith("/konten/tinjauan")
    )  # no tickets for content staff
    assert "Siti Aminah" not in client.get("/tiket.csv").get_data(as_text=True)


def test_opd_and_letter_staff_never_reach_the_queue(app: Flask, world: World) -> None:
    for username in ("pupr", "surat"):
        assert login(app, username).get("/konten/tinjauan").status_code == 403


def test_staff_flag_a_line_they_can_read_and_only_that(app: Flask, world: World) -> None:
    make_user("konten", "konten")
    line = ticket_line(world, "jalannya amblas sampe ke got")
    pupr = login(app, "pupr")
    page = pupr.get(f"/tiket/{world.pupr}").get_data(as_text=True)
    assert "Asisten salah paham" in page
    token = csrf(pupr, f"/tiket/{world.pupr}")
    answer = pupr.post(
        "/konten/tandai", data={"pesan": str(line), "kembali": f"/tiket/{world.pupr}", "csrf_token": token}
    )
    assert answer.status_code == 302 and answer.headers["Location"].endswith(f"/tiket/{world.pupr}")
    for outsider in ("dlh", "konten"):  # another OPD's ticket; content staff see no conversations
        client = login(app, outsider)
        assert (
            client.post(
                "/konten/tandai", data={"pesan": str(line), "csrf_token": csrf(client, "/akun/sandi")}
            ).status_code
            == 404
        )
    queue = login(app, "konten").get("/konten/tinjauan").get_data(as_text=True)
    assert "jalannya amblas sampe ke got" in queue and review_queue.REASONS[review_queue.FLAGGED] in queue


def test_a_flag_off_site_goes_back_to_the_dashboard_not_elsewhere(app: Flask, world: World) -> None:
    line = ticket_line(world, "jalan rusak dkt pasar")
    admin = login(app, "admin")
    answer = admin.post(
        "/konten/tandai",
        data={"pesan": str(line), "kembali": "//contoh.id/x", "csrf_token": csrf(admin, "/tiket")},
    )
    assert answer.headers["Location"].endswith("/tiket")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the training data the dashboard teaches (never this checkout's)."""
    for name in ("data", "domain"):
        shutil.copytree(ROOT / name, tmp_path / "proj" / name)
    shutil.copy(ROOT / "config.yml", tmp_path / "proj" / "config.yml")
    (tmp_path / "proj" / "tests" / "nlu").mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "nlu" / "holdout.yml", tmp_path / "proj" / "tests" / "nlu" / "holdout.yml")
    monkeypatch.setenv(teaching.ROOT_ENV_VAR, str(tmp_path / "proj"))
    return tmp_path / "proj"


def queued(text: str, guesses: list) -> str:
    review_queue.record_reading(
        "6285550000003",
        Reading(text=text, intent="nlu_fallback", confidence=0.2, fell_back=True, guesses=guesses),
        at=utcnow() - dt.timedelta(minutes=1),
    )
    return review_queue.group_key(text)


def test_content_staff_annotate_a_group_and_bad_input_comes_back_with_the_reason(
    app: Flask, world: World, project: Path
) -> None:
    make_user("konten", "konten")
    key = queued("lampu pju gang kenari byarpet", [("nlu_fallback", 0.6), ("lapor_lampu_padam", 0.25)])
    client = login(app, "konten")
    page = client.get("/konten/tinjauan/kelompok", query_string={"kunci": key}).get_data(as_text=True)
    # The assistant's top guess is offered first.
    assert page.index('<option value="lapor_lampu_padam"') < page.index('<option value="greet"')
    token = csrf(client, "/konten/tinjauan")
    refused = client.post(
        "/konten/tinjauan/anotasi",
        data={
            "kunci": key,
            "keputusan": "example",
            "intent": "lapor_pohon",
            "contoh": "pju kedip",
            "csrf_token": token,
        },
    )
    assert refused.status_code == 400
    assert "tidak ada di domain" in refused.get_data(as_text=True) and "pju kedip" in refused.get_data(
        as_text=True
    )
    refused = client.post(
        "/konten/tinjauan/anotasi",
        data={
            "kunci": key,
            "keputusan": "intent",
            "intent": "lapor_lampu_padam",
            "contoh": "<b>pju</b>",
            "csrf_token": token,
        },
    )
    assert refused.status_code == 400 and "HTML" in refused.get_data(as_text=True)
    # An entity marked by hand (or by the page's script) must be one of the domain's.
    assert 'src="/static/annotate.js"' in page and '<option value="layanan">' in page
    refused = client.post(
        "/konten/tinjauan/anotasi",
        data={
            "kunci": key,
            "keputusan": "intent",
            "intent": "lapor_lampu_padam",
            "contoh": "[pju](lampu) gang kenari byarpet",
            "csrf_token": token,
        },
    )
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "pada [pju] tidak ada di domain asisten" in html
    assert "[pju](lampu) gang kenari byarpet</textarea>" in html  # kept as typed
    saved = client.post(
        "/konten/tinjauan/anotasi",
        data={
            "kunci": key,
            "keputusan": "intent",
            "intent": "lapor_lampu_padam",
            "contoh": "lampu pju gang kenari byarpet",
            "csrf_token": token,
        },
    )
    assert saved.status_code == 302
    assert "lampu pju gang kenari byarpet" in (project / "data" / "nlu" / "diajarkan.yml").read_text(
        encoding="utf-8"
    )
    assert "lampu pju gang kenari byarpet" not in client.get("/konten/tinjauan").get_data(
        as_text=True
    )  # decided


def test_the_export_holds_what_a_read_only_deployment_recorded(
    app: Flask, world: World, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(teaching.WRITES_ENV_VAR, "0")
    key = queued("tong sampah rt 4 udh luber seminggu", [("lapor_sampah", 0.28)])
    client = login(app, "admin")
    answer = client.post(
        "/konten/tinjauan/anotasi",
        data={
            "kunci": key,
            "keputusan": "intent",
            "intent": "lapor_sampah",
            "contoh": "tong sampah rt 4 udh luber seminggu",
            "csrf_token": csrf(client, "/tiket"),
        },
    )
    assert answer.status_code == 302 and not (project / "data" / "nlu" / "diajarkan.yml").exists()
    exported = client.get("/konten/tinjauan/ekspor.yml")
    assert "attachment" in exported.headers["Content-Disposition"]
    assert "tong sampah rt 4 udh luber seminggu" in exported.get_data(as_text=True)


def test_what_changed_shows_the_weekly_rate_and_the_examples_added(
    app: Flask, world: World, project: Path
) -> None:
    key = queued("pju gang kenari byarpet", [("lapor_lampu_padam", 0.25)])
    client = login(app, "admin")
    client.post(
        "/konten/tinjauan/anotasi",
        data={
            "kunci": key,
            "keputusan": "intent",
            "intent": "lapor_lampu_padam",
            "contoh": "pju gang kenari byarpet",
            "csrf_token": csrf(client, "/tiket"),
        },
    )
    page = client.get("/konten/perubahan").get_data(as_text=True)
    assert "lapor_lampu_padam" in page
    assert "100,0%" in page  # one message this week, and it fell back
