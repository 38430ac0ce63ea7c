"""A clerk's first day, in headless Chromium against the real dashboard server (see
``test_dashboard_browser``): what the letter page, the forwarding form, the inbox and the phone
layout show. Positions on the phone are measured from the page (bounding boxes at 390×844), not
judged from screenshots; screenshots are still saved under ``results/screenshots/``."""

from __future__ import annotations

from pathlib import Path
from typing import List

from sqlalchemy import select

from layanwarga import conversation_log, db, tickets
from layanwarga.models import Media
from tests.dashboard.support import INST, MONDAY_MORNING
from tests.dashboard.test_dashboard_browser import ADMIN_PASSWORD, SHOTS, _login, server  # noqa: F401

CLERK = "6281277770001"
PHONE = {"width": 390, "height": 844}


def _photo(folder: Path, name: str) -> int:
    path = folder / f"{name}.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0" + name.encode() * 30)
    with db.session_scope() as session:
        row = Media(mime_type="image/jpeg", storage_path=str(path), size_bytes=path.stat().st_size)
        session.add(row)
        session.flush()
        return int(row.id)


def _sktm_with_documents(folder: Path) -> str:
    """An SKTM request sent on WhatsApp: its form, with a photo for every requirement."""
    requirements: List[str] = list(INST.letters["sktm"].requirements)
    conversation_log.log_inbound(CLERK, "mau buat sktm", wamid="wamid.sktm.1")
    conversation_log.start_flow(CLERK, "sktm1", "wamid.sktm.1")
    photos = []
    for index in range(len(requirements)):
        photos.append(_photo(folder, f"doc{index}"))
        conversation_log.log_inbound(
            CLERK, None, kind="image", media_id=photos[-1], wamid=f"wamid.doc.{index}"
        )
    conversation_log.log_inbound(CLERK, "kirim", wamid="wamid.sktm.2")
    draft = tickets.LetterDraft(
        letter_type="sktm",
        sender=CLERK,
        idempotency_key=f"{CLERK}:sktm1",
        applicant_name="Budi Santoso",
        applicant_nik="6271014506850003",
        applicant_address="Jl. Kenanga No. 5 RT 2 RW 1",
        applicant_phone="081298765432",
        purpose="Berobat / keringanan biaya rumah sakit",
        reporter_name="Budi",
        details={
            "dokumen": [{"persyaratan": r, "media_id": m} for r, m in zip(requirements, photos)],
            "nik_dikonfirmasi_pemohon": True,
        },
        media_ids=photos,
    )
    return tickets.submit_letter_request(INST, draft, now=MONDAY_MORNING).number


def test_a_letter_page_reads_as_a_clerk_expects(server: str, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    number = _sktm_with_documents(tmp_path)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    _login(page, server, "diskominfo", ADMIN_PASSWORD)
    page.wait_for_url("**/tiket")
    page.goto(f"{server}/tiket/{number}")
    body = page.inner_text("main")
    for raw in ("[{", "'persyaratan'", "media_id", "None", "True", "Dokumen:", "Nik dikonfirmasi"):
        assert raw not in body, raw
    requirements = list(INST.letters["sktm"].requirements)
    assert page.locator("#media figcaption").all_inner_texts() == requirements
    assert [
        page.locator("#media img").nth(i).get_attribute("alt") for i in range(len(requirements))
    ] == requirements
    assert all(
        page.locator("#media img").nth(i).evaluate("img => img.naturalWidth >= 0")
        for i in range(len(requirements))
    )
    assert "pemohon menyatakan sudah benar" in body
    assert page.inner_text("#citizen h2") == "Pengirim permohonan (WhatsApp)"
    attachments = page.locator(".chat .attachment").all_inner_texts()
    assert attachments == ["📷 Foto"] * len(requirements)
    page.screenshot(path=str(SHOTS / "10-permohonan-surat.png"), full_page=True)
    with db.session_scope() as session:
        stored = session.execute(select(Media.id).where(Media.ticket_id.is_not(None))).scalars().all()
    assert len(stored) == len(requirements)


def test_passing_a_complaint_on_keeps_the_reason_internal_and_names_both_agencies(
    server: str,  # noqa: F811
    browser,
) -> None:  # type: ignore[no-untyped-def]
    from layanwarga import notifications, states
    from tests.dashboard.support import PASSWORD, complaint, make_user, ticket_id

    make_user("pupr", "opd", "PUPR")
    number = complaint("b5", sender=CLERK, reporter_name="Siti", category="lapor_sampah").number
    notifications.change_state_and_notify(
        INST, ticket_id(number), states.DITERUSKAN, "staf:admin", agency_code="PUPR"
    )
    page = browser.new_page(viewport=PHONE)
    _login(page, server, "pupr", PASSWORD)
    page.wait_for_url("**/tiket")
    page.goto(f"{server}/tiket/{number}")
    form = page.locator("form:has(button[data-action=teruskan])")
    assert "tidak dikirim ke warga" in form.locator("label:has(textarea[name=catatan_internal])").inner_text()
    assert "dikirim lewat WhatsApp" in form.locator("label:has(textarea[name=pesan_warga])").inner_text()
    form.locator("select[name=opd]").select_option("DLH")
    form.locator("textarea[name=catatan_internal]").fill("Salah dinas, ini urusan DLH")
    form.locator("button[data-action=teruskan]").click()
    page.wait_for_url("**/tiket")  # it is DLH's now: back to the inbox, not a dead end
    assert f"{number} diteruskan ke Dinas Lingkungan Hidup" in page.inner_text(".flash-ok")
    admin = browser.new_page(viewport={"width": 1280, "height": 900})
    _login(admin, server, "diskominfo", ADMIN_PASSWORD)
    admin.wait_for_url("**/tiket")
    admin.goto(f"{server}/tiket/{number}")
    history = admin.inner_text(".history")
    assert "Dari Dinas Pekerjaan Umum" in history and "ke Dinas Lingkungan Hidup" in history
    assert "Catatan internal: Salah dinas, ini urusan DLH" in history
    told = admin.locator(".outbox .text").all_inner_texts()[-1]
    assert "Dinas Lingkungan Hidup" in told and "Salah dinas" not in told
    admin.screenshot(path=str(SHOTS / "11-pengalihan-opd.png"), full_page=True)


def test_the_inbox_shows_open_work_first_and_marks_reopened_tickets(server: str, browser) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from layanwarga import notifications, states
    from tests.dashboard.support import complaint, ticket_id

    open_one = complaint("i1", sender=CLERK, description="Lampu jalan mati di gang 3").number
    reopened = complaint("i2", sender=CLERK, description="Jalan berlubang di depan SDN 3").number
    closed = complaint("i3", sender=CLERK, description="Sampah menumpuk di TPS").number
    rejected = complaint("i4", sender=CLERK, description="Laporan ganda").number
    for number in (reopened, closed):
        for target, note in (
            (states.DIVERIFIKASI, None),
            (states.DIPROSES, None),
            (states.SELESAI, "Sudah ditangani."),
        ):
            notifications.change_state_and_notify(INST, ticket_id(number), target, "staf:admin", note)
    notifications.change_state_and_notify(
        INST, ticket_id(reopened), states.DIPROSES, "staf:admin", "Warga: belum selesai."
    )
    notifications.change_state_and_notify(
        INST, ticket_id(rejected), states.DITOLAK, "staf:admin", "Laporan ganda."
    )
    page = browser.new_page(viewport=PHONE)
    _login(page, server, "diskominfo", ADMIN_PASSWORD)
    page.wait_for_url("**/tiket")
    numbers = page.locator(".ticket-row .number").all_inner_texts()
    assert sorted(numbers) == sorted([open_one, reopened])
    row = page.locator(".ticket-row", has=page.locator(f"text={reopened}"))
    assert row.locator(".tag.reopened").inner_text() == "Dibuka kembali"
    assert (
        page.locator(".ticket-row", has=page.locator(f"text={open_one}")).locator(".tag.reopened").count()
        == 0
    )
    page.screenshot(path=str(SHOTS / "12-kotak-masuk-terbuka.png"), full_page=True)
    page.click("text=tampilkan juga yang selesai dan ditolak")
    page.wait_for_url("**/tiket?status=semua")
    assert sorted(page.locator(".ticket-row .number").all_inner_texts()) == sorted(
        [open_one, reopened, closed, rejected]
    )


# -- at phone size (390×844): measured from the page's boxes ---------------------------------------
def _box(page, selector: str) -> dict:  # type: ignore[no-untyped-def]
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not shown"
    return box


def test_on_a_phone_the_navigation_is_one_short_band(server: str, browser) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    page = browser.new_page(viewport=PHONE)
    _login(page, server, "diskominfo", ADMIN_PASSWORD)  # the admin has the most menu entries
    page.wait_for_url("**/tiket")
    header = _box(page, "header.top")
    assert header["height"] <= 0.12 * PHONE["height"], header
    links = page.locator("nav.nav a")
    tops = {round(links.nth(i).bounding_box()["y"]) for i in range(links.count())}
    assert len(tops) == 1, f"the menu wraps onto {len(tops)} rows"
    # Everything stays reachable: the menu scrolls sideways, signing out stays in view.
    assert page.locator("nav.nav").evaluate(
        "nav => nav.scrollWidth > nav.clientWidth || nav.scrollWidth <= innerWidth"
    )
    logout = _box(page, "header.top button:has-text('Keluar')")
    assert logout["x"] + logout["width"] <= PHONE["width"] and logout["y"] < header["y"] + header["height"]
    assert (
        page.locator("nav.nav a:has-text('Ganti sandi')").count()
        + page.locator(".who a:has-text('Ganti sandi')").count()
        >= 1
    )
    page.screenshot(path=str(SHOTS / "13-menu-ponsel.png"))


def test_on_a_phone_a_tickets_actions_come_before_its_conversation(server: str, browser) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from tests.dashboard.support import complaint

    conversation_log.log_inbound(CLERK, "jalan depan rumah berlubang besar", wamid="wamid.road.1")
    conversation_log.start_flow(CLERK, "road", "wamid.road.1")
    for i in range(15):
        conversation_log.log_inbound(
            CLERK, f"keterangan tambahan nomor {i}, lubangnya makin dalam", wamid=f"wamid.road.x{i}"
        )
    number = complaint(f"{CLERK}:road", sender=CLERK, reporter_name="Siti").number
    page = browser.new_page(viewport=PHONE)
    _login(page, server, "diskominfo", ADMIN_PASSWORD)
    page.wait_for_url("**/tiket")
    page.goto(f"{server}/tiket/{number}")
    actions, conversation = _box(page, "#actions"), _box(page, "#citizen")
    assert actions["y"] < conversation["y"], (actions, conversation)
    assert actions["y"] < PHONE["height"], "the actions start on the first screen"
    page.screenshot(path=str(SHOTS / "14-tiket-ponsel.png"))


def test_on_a_phone_the_live_chats_reply_box_is_in_view(server: str, browser) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from layanwarga import handoff

    conversation_log.log_inbound(CLERK, "saya mau bicara dengan petugas")
    opened = handoff.open_handoff(CLERK, inst=INST, profile_name="Pak Darto")
    for i in range(40):
        conversation_log.log_inbound(CLERK, f"pesan nomor {i}: lampu di gang {i} mati sejak minggu lalu")
    page = browser.new_page(viewport=PHONE)
    _login(page, server, "diskominfo", ADMIN_PASSWORD)
    page.wait_for_url("**/tiket")
    page.goto(f"{server}/langsung/{opened.id}")
    reply, box = _box(page, "#reply-form"), _box(page, "#reply-text")
    assert 0 <= reply["y"] and box["y"] + box["height"] <= PHONE["height"], reply
    send = _box(page, "#reply-form button[type=submit]")
    assert send["y"] + send["height"] <= PHONE["height"], send
    # The latest message is in view above it, not hidden behind it.
    latest = _box(page, "#chat li:last-child")
    assert latest["y"] >= 0 and latest["y"] + latest["height"] <= reply["y"] + 1, (latest, reply)
    page.screenshot(path=str(SHOTS / "15-obrolan-ponsel.png"))
