"""Staff actions over HTTP: each one changes the ticket through the workflow, lands in the
history, and queues the citizen's WhatsApp message in the outbox; failures show and retry."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from dashboard.views import tickets as ticket_views
from layanwarga import conversation_log, db, handoff, notifications, states, supporters
from layanwarga.models import StateChange, Ticket
from tests.dashboard.support import (
    INST,
    MONDAY_MORNING,
    World,
    complaint,
    listed,
    login,
    make_user,
    post,
    ticket_id,
)


def _ticket(number: str) -> Ticket:
    with db.session_scope() as session:
        query = select(Ticket).options(selectinload(Ticket.history)).where(Ticket.number == number)
        return session.execute(query).scalars().one()


def _outbox(number: str):  # type: ignore[no-untyped-def]
    with db.session_scope() as session:
        return notifications.for_ticket(session, ticket_id(number))


def test_triage_forward_process_resolve(app, world: World) -> None:  # type: ignore[no-untyped-def]
    admin = login(app, "admin")
    number = world.pupr_new
    assert post(admin, f"/tiket/{number}/aksi", {"aksi": "verifikasi", "pesan_warga": ""}).status_code == 302
    response = post(admin, f"/tiket/{number}/aksi", {"aksi": "teruskan", "opd": "PUPR"})
    assert response.status_code == 302
    assert f"{number} diteruskan ke Dinas Pekerjaan Umum" in admin.get(f"/tiket/{number}").get_data(
        as_text=True
    )
    opd = login(app, "pupr")
    assert number in listed(opd.get("/tiket").get_data(as_text=True))
    post(opd, f"/tiket/{number}/aksi", {"aksi": "proses", "pesan_warga": "Tim survei Kamis"})
    # Resolving needs a note the citizen can read.
    post(opd, f"/tiket/{number}/aksi", {"aksi": "selesai", "pesan_warga": ""})
    assert _ticket(number).state == states.DIPROSES
    post(opd, f"/tiket/{number}/aksi", {"aksi": "selesai", "pesan_warga": "Lubang sudah ditambal aspal."})
    ticket = _ticket(number)
    assert ticket.state == states.SELESAI and ticket.resolution_note == "Lubang sudah ditambal aspal."
    assert [(h.to_state, h.actor) for h in ticket.history] == [
        ("baru", "warga"),
        ("diverifikasi", "staf:admin"),
        ("diteruskan", "staf:admin"),
        ("diproses", "staf:pupr"),
        ("selesai", "staf:pupr"),
    ]
    rows = _outbox(number)
    assert [r.kind for r in rows] == ["status"] * 4
    assert rows[-1].interactive is not None  # "is it really resolved?" with buttons
    page = opd.get(f"/tiket/{number}").get_data(as_text=True)
    assert "Menunggu dikirim" in page and "Menunggu jawaban warga" in page


def test_reject_needs_a_reason_and_tells_the_citizen(app, world: World) -> None:  # type: ignore[no-untyped-def]
    clerk = login(app, "surat")
    post(clerk, f"/tiket/{world.letter}/aksi", {"aksi": "tolak", "pesan_warga": ""})
    assert _ticket(world.letter).state == states.DIAJUKAN
    post(
        clerk,
        f"/tiket/{world.letter}/aksi",
        {"aksi": "tolak", "pesan_warga": "Surat pengantar RT belum ada."},
    )
    assert _ticket(world.letter).state == states.DITOLAK
    assert "Surat pengantar RT belum ada." in _outbox(world.letter)[-1].text


def test_letter_ready_for_pickup(app, world: World) -> None:  # type: ignore[no-untyped-def]
    clerk = login(app, "surat")
    post(clerk, f"/tiket/{world.letter}/aksi", {"aksi": "verifikasi"})
    post(clerk, f"/tiket/{world.letter}/aksi", {"aksi": "siap_diambil"})
    assert _ticket(world.letter).state == states.SIAP_DIAMBIL
    assert INST.letters["sktm"].pickup in _outbox(world.letter)[-1].text
    post(clerk, f"/tiket/{world.letter}/aksi", {"aksi": "serahkan"})
    assert _ticket(world.letter).state == states.SELESAI


def test_opd_reassigns_with_an_internal_reason_the_citizen_never_reads(app, world: World) -> None:  # type: ignore[no-untyped-def]
    opd = login(app, "pupr")
    post(
        opd,
        f"/tiket/{world.pupr}/aksi",
        {"aksi": "teruskan", "opd": "DLH", "pesan_warga": "", "catatan_internal": ""},
    )
    assert _ticket(world.pupr).agency_code == "PUPR"
    post(
        opd,
        f"/tiket/{world.pupr}/aksi",
        {"aksi": "teruskan", "opd": "DLH", "catatan_internal": "Salah dinas, ini urusan sampah"},
    )
    ticket = _ticket(world.pupr)
    assert ticket.agency_code == "DLH" and ticket.state == states.DITERUSKAN
    change = ticket.history[-1]
    assert (change.from_agency, change.to_agency, change.note, change.internal_note) == (
        "PUPR",
        "DLH",
        None,
        "Salah dinas, ini urusan sampah",
    )
    told = _outbox(world.pupr)[-1].text
    assert "kami alihkan" in told and "Dinas Lingkungan Hidup" in told and "Salah dinas" not in told
    # Now it belongs to DLH: PUPR no longer sees it, DLH does, with the reason and both agencies.
    assert opd.get(f"/tiket/{world.pupr}").status_code == 404
    page = login(app, "dlh").get(f"/tiket/{world.pupr}").get_data(as_text=True)
    assert "Catatan internal: Salah dinas, ini urusan sampah" in page
    assert "Dari Dinas Pekerjaan Umum" in page and "ke Dinas Lingkungan Hidup" in page


@pytest.mark.parametrize(
    "username, ticket, steps",
    [
        ("admin", "pupr_new", ["verifikasi", "teruskan", "proses", "selesai"]),
        ("admin", "pupr_new", ["tolak"]),
        ("surat", "letter", ["verifikasi", "siap_diambil", "serahkan"]),
    ],
)
def test_what_staff_mark_internal_never_reaches_the_citizen(
    app, world: World, username: str, ticket: str, steps
) -> None:  # type: ignore[no-untyped-def]
    """Every action form: the message for the citizen goes out with the change's WhatsApp
    message, the internal note stays in the history."""
    client = login(app, username)
    number = getattr(world, ticket)
    for step in steps:
        data = {
            "aksi": step,
            "pesan_warga": f"Untuk warga {step}",
            "catatan_internal": f"Internal {step}",
            "opd": "PUPR",
        }
        assert post(client, f"/tiket/{number}/aksi", data).status_code == 302
        change = _ticket(number).history[-1]
        assert (change.note, change.internal_note) == (f"Untuk warga {step}", f"Internal {step}"), step
        told = _outbox(number)[-1].text
        assert f"Untuk warga {step}" in told and "Internal" not in told, step
    page = client.get(f"/tiket/{number}").get_data(as_text=True)
    for step in steps:
        assert (
            f"Dikirim ke warga: Untuk warga {step}" in page and f"Catatan internal: Internal {step}" in page
        )


def test_reply_is_recorded_in_history_and_queued(app, world: World) -> None:  # type: ignore[no-untyped-def]
    opd = login(app, "pupr")
    post(
        opd,
        f"/tiket/{world.pupr}/aksi",
        {"aksi": "balas", "pesan": "Mohon kirim foto lokasi lebih dekat, Bu."},
    )
    ticket = _ticket(world.pupr)
    last: StateChange = ticket.history[-1]
    assert (last.from_state, last.to_state, last.actor) == ("diteruskan", "diteruskan", "staf:pupr")
    reply = _outbox(world.pupr)[-1]
    assert (
        reply.kind == notifications.KIND_REPLY
        and "Mohon kirim foto" in reply.text
        and world.pupr in reply.text
    )
    assert "membalas warga" in opd.get(f"/tiket/{world.pupr}").get_data(as_text=True)


def test_a_reply_goes_to_the_supporters_too_unless_staff_choose_the_reporter_only(app, world: World) -> None:  # type: ignore[no-untyped-def]
    for key, sender in (("f1", "6289000000001"), ("f2", "6289000000002")):
        supporters.follow(
            INST, supporters.FollowDraft(number=world.anonymous, sender=sender, idempotency_key=key)
        )
    opd = login(app, "pupr")
    form = opd.get(f"/tiket/{world.anonymous}").get_data(as_text=True)
    assert 'value="semua" checked> Pelapor dan 2 warga pengikut' in form and "Hanya pelapor" in form
    before = len(_outbox(world.anonymous))
    post(opd, f"/tiket/{world.anonymous}/aksi", {"aksi": "balas", "pesan": "Petugas datang besok pagi."})
    post(
        opd,
        f"/tiket/{world.anonymous}/aksi",
        {"aksi": "balas", "pesan": "Mohon kirim foto lebih dekat.", "penerima": "pelapor"},
    )
    # A choice the form does not offer is refused with a message; nothing is queued.
    refused = post(
        opd, f"/tiket/{world.anonymous}/aksi", {"aksi": "balas", "pesan": "Halo", "penerima": "opd"}
    )
    assert "Pilih penerima balasan" in opd.get(refused.headers["Location"]).get_data(as_text=True)
    replies = _outbox(world.anonymous)[before:]
    assert [r.text.endswith("Petugas datang besok pagi.") for r in replies] == [True, True, True, False]
    assert sum("laporan yang Bapak/Ibu ikuti" in r.text for r in replies) == 2
    assert all("Rahasia" not in r.text for r in replies)
    page = opd.get(f"/tiket/{world.anonymous}").get_data(as_text=True)
    assert "membalas pelapor dan 2 warga pengikut" in page and "membalas pelapor saja" in page
    assert "Dikirim ke pelapor dan 2 warga pengikut: Petugas datang besok pagi." in page
    assert "Dikirim ke pelapor saja: Mohon kirim foto lebih dekat." in page
    assert page.count("untuk warga pengikut") == 2


def test_failed_message_is_visible_and_retried_from_the_ticket(app, world: World) -> None:  # type: ignore[no-untyped-def]
    [row] = _outbox(world.pupr)
    notifications.claim_due(10)
    notifications.mark_error(row.id, "HTTP 400, kode 131026, Message undeliverable", retryable=False)
    opd = login(app, "pupr")
    page = opd.get(f"/tiket/{world.pupr}").get_data(as_text=True)
    assert "Gagal dikirim" in page and "131026" in page
    assert "Pesan WA gagal" in opd.get("/tiket").get_data(as_text=True)
    post(opd, f"/tiket/{world.pupr}/aksi", {"aksi": "kirim_ulang", "notifikasi": str(row.id)})
    assert _outbox(world.pupr)[0].status == notifications.PENDING
    # Another ticket's message cannot be retried through this one.
    other = _outbox(world.anonymous)[0]
    assert (
        post(
            opd, f"/tiket/{world.pupr}/aksi", {"aksi": "kirim_ulang", "notifikasi": str(other.id)}
        ).status_code
        == 404
    )


def test_inbox_filters_search_sort_and_pages(app, world: World, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    # The tickets are made on Monday 23 November 2026; the inbox's "today" is that day, then later
    # (the overdue filter compares due dates with today, so the real date must not decide).
    monkeypatch.setattr(ticket_views, "today_local", lambda inst, now=None: MONDAY_MORNING.date())
    for i in range(7):
        complaint(
            f"extra{i}", sender=f"62855500000{i}", category="lapor_banjir", description=f"Banjir nomor {i}"
        )
    app.config["LW_SETTINGS"] = type(app.config["LW_SETTINGS"])(
        secret_key="x" * 40, page_size=3, digest_time=None
    )
    admin = login(app, "admin")
    seen = []
    html = admin.get("/tiket?kategori=lapor_banjir").get_data(as_text=True)
    assert "7 tiket ditemukan" in html
    while True:
        seen += listed(html)
        match = re.search(r'rel="next" href="([^"]+)"', html)
        if not match:
            break
        html = admin.get(match.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert len(seen) == 7 == len(set(seen))
    assert seen == sorted(seen, reverse=True)  # newest first; same minute, so by number
    # Back one page.
    match = re.search(r'rel="prev" href="([^"]+)"', html)
    previous = listed(admin.get(match.group(1).replace("&amp;", "&")).get_data(as_text=True))
    assert previous == seen[3:6]
    assert listed(admin.get("/tiket?q=adu 2026 2").get_data(as_text=True)) == [world.dlh]
    assert listed(admin.get("/tiket?q=Kenanga").get_data(as_text=True)) == [world.dlh]
    assert world.dlh in listed(admin.get("/tiket?opd=DLH").get_data(as_text=True))
    assert listed(admin.get("/tiket?jenis=surat").get_data(as_text=True)) == [world.letter]
    assert listed(admin.get("/tiket?status=diteruskan&urut=terlama").get_data(as_text=True)) == [
        world.pupr,
        world.dlh,
        world.anonymous,
    ]
    assert listed(admin.get("/tiket?terlambat=1").get_data(as_text=True)) == []
    # Two weeks later the floods (3 working days, due 26 November) are all past due.
    monkeypatch.setattr(ticket_views, "today_local", lambda inst, now=None: dt.date(2026, 12, 7))
    overdue_csv = admin.get("/tiket.csv?terlambat=1&kategori=lapor_banjir").get_data(as_text=True)
    assert overdue_csv.count("ADU-") == 7
    assert "7 tiket ditemukan" in admin.get("/tiket?terlambat=1&kategori=lapor_banjir").get_data(as_text=True)
    assert listed(admin.get("/tiket?dari=2020-01-01&sampai=2020-12-31").get_data(as_text=True)) == []
    csv_text = admin.get("/tiket.csv?kategori=lapor_banjir").get_data(as_text=True)
    assert csv_text.count("ADU-") == 7


def test_live_inbox_reply_poll_and_hand_back(app, world: World) -> None:  # type: ignore[no-untyped-def]
    sender = "6287777777777"
    conversation_log.log_inbound(sender, "saya mau bicara dengan petugas")
    opened = handoff.open_handoff(sender, inst=INST, profile_name="Pak Darto")
    conversation_log.log_inbound(sender, "lampu gang mati")
    admin = login(app, "admin")
    page = admin.get("/langsung").get_data(as_text=True)
    assert "Pak Darto" in page and "2 baru" in page
    html = admin.get(f"/langsung/{opened.id}").get_data(as_text=True)
    assert "lampu gang mati" in html
    poll = admin.get(f"/langsung/{opened.id}/pesan.json?after=0").get_json()
    assert [m["text"] for m in poll["messages"]] == [
        "saya mau bicara dengan petugas",
        "lampu gang mati",
    ] and poll["open"]
    from tests.dashboard.support import csrf

    token = csrf(admin, f"/langsung/{opened.id}")
    response = admin.post(
        f"/langsung/{opened.id}/balas",
        data={"pesan": "Baik Pak, kami cek."},
        headers={"Accept": "application/json", "X-CSRF-Token": token},
    )
    assert response.get_json() == {"ok": True}
    last = poll["messages"][-1]["id"]
    new = admin.get(f"/langsung/{opened.id}/pesan.json?after={last}").get_json()["messages"]
    assert [(m["direction"], m["text"], m["status"]) for m in new] == [
        ("out", "Baik Pak, kami cek.", "Menunggu dikirim")
    ]
    assert admin.get("/langsung/ringkas.json").get_json()["open"] == 1
    post(admin, f"/langsung/{opened.id}/tutup", {}, page=f"/langsung/{opened.id}")
    assert handoff.is_active(sender) is False
    assert admin.get(f"/langsung/{opened.id}/pesan.json").get_json()["open"] is False


def test_chat_permission_can_be_granted(app, world: World) -> None:  # type: ignore[no-untyped-def]
    make_user("loket", "surat", can_chat=True)
    assert login(app, "loket").get("/langsung").status_code == 200
    assert login(app, "surat").get("/langsung").status_code == 403


def test_admin_manages_users_and_opd(app, world: World) -> None:  # type: ignore[no-untyped-def]
    admin = login(app, "admin")
    response = post(
        admin,
        "/admin/pengguna",
        {
            "username": "bpbd1",
            "full_name": "Petugas BPBD",
            "role": "opd",
            "agency_code": "BPBD",
            "password": "",
        },
        page="/admin/pengguna",
    )
    html = response.get_data(as_text=True)
    import re

    password = re.search(r'<code id="new-password">([^<]+)</code>', html).group(1)
    first_page = login(app, "bpbd1", password).get("/tiket")
    assert (
        first_page.status_code == 302 and first_page.headers["Location"] == "/akun/sandi"
    )  # own password first
    response = post(
        admin,
        "/admin/opd",
        {
            "code": "DISHUB",
            "name": "Dinas Perhubungan",
            "contact": "",
            "digest_recipients": "",
            "is_active": "1",
        },
        page="/admin/opd",
    )
    assert response.status_code == 302
    assert "Dinas Perhubungan" in admin.get("/admin/opd").get_data(as_text=True)
    assert "Dinas Perhubungan" in admin.get(f"/tiket/{world.pupr_new}").get_data(
        as_text=True
    )  # a forwarding choice


def test_statistics_pages_and_csv(app, world: World) -> None:  # type: ignore[no-untyped-def]
    admin = login(app, "admin")
    html = admin.get("/statistik?dari=2026-11-01&sampai=2026-11-30").get_data(as_text=True)
    assert 'id="stat-total">5<' in html and "<svg" in html
    csv_text = admin.get("/statistik.csv?dari=2026-11-01&sampai=2026-11-30").get_data(as_text=True)
    assert "ringkasan,total,Jumlah tiket,5" in csv_text
    assert "Siti" not in csv_text


def test_digest_page_for_opd(app, world: World) -> None:  # type: ignore[no-untyped-def]
    html = login(app, "pupr").get("/ringkasan").get_data(as_text=True)
    assert "aduan terbuka" in html


def _resolve(number: str) -> None:
    for target, note in ((states.DIPROSES, None), (states.SELESAI, "Sudah ditambal.")):
        notifications.change_state_and_notify(INST, ticket_id(number), target, "staf:admin", note)


def test_the_inbox_opens_on_open_tickets_and_shows_the_rest_on_request(app, world: World) -> None:  # type: ignore[no-untyped-def]
    _resolve(world.pupr)
    notifications.change_state_and_notify(
        INST, ticket_id(world.dlh), states.DITOLAK, "staf:admin", "Bukan wewenang kami."
    )
    admin = login(app, "admin")
    default = admin.get("/tiket").get_data(as_text=True)
    assert sorted(listed(default)) == sorted([world.anonymous, world.pupr_new, world.letter])
    assert "tampilkan juga yang selesai dan ditolak" in default
    everything = admin.get("/tiket?status=semua").get_data(as_text=True)
    assert sorted(listed(everything)) == sorted(
        [world.pupr, world.dlh, world.anonymous, world.pupr_new, world.letter]
    )
    assert 'href="/tiket.csv?status=semua"' in everything  # the export and the pages keep the choice
    assert listed(admin.get("/tiket?status=selesai").get_data(as_text=True)) == [world.pupr]


def test_a_reopened_ticket_stands_out_in_the_inbox_and_on_its_page(app, world: World) -> None:  # type: ignore[no-untyped-def]
    _resolve(world.pupr)
    _resolve(world.anonymous)
    notifications.change_state_and_notify(
        INST, ticket_id(world.pupr), states.DIPROSES, "staf:pupr", "Warga: lubang masih ada."
    )
    opd = login(app, "pupr")
    rows = re.findall(
        r'<li class="ticket-row[^"]*">.*?</li>', opd.get("/tiket?status=semua").get_data(as_text=True), re.S
    )
    tagged = {number for row in rows for number in listed(row) if "Dibuka kembali" in row}
    assert tagged == {world.pupr}
    assert 'id="reopened"' in opd.get(f"/tiket/{world.pupr}").get_data(as_text=True)
    assert 'id="reopened"' not in opd.get(f"/tiket/{world.anonymous}").get_data(as_text=True)
