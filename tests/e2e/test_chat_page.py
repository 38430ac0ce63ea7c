"""The simulator's chat page in headless Chromium (Debian's package, driven by Playwright):
a citizen creates their phone, greets, opens list messages, taps reply buttons, sends a pin and
a photo, files a complaint, and switches to a second citizen; read receipts turn blue.
Screenshots go to results/screenshots/."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Iterator

import pytest

from .conftest import WhatsAppStack
from .support import media_rows, new_phone, photo, tickets_of

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Chromium is not installed (scripts/ensure_chromium.sh)"
)

TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def browser() -> Iterator["object"]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()


def test_chat_page_complaint_with_pin_photo_buttons_and_lists(
    whatsapp_stack: WhatsAppStack,
    browser,
    screenshots: Path,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    from playwright.sync_api import expect

    url = whatsapp_stack.database_url
    phone = new_phone("62813880")
    picture = tmp_path / "lampu.jpg"
    picture.write_bytes(photo("tiang lampu", (40, 40, 60)))

    page = browser.new_page(viewport={"width": 1280, "height": 860})
    page.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    page.goto(whatsapp_stack.simulator_url)
    expect(page.locator("#webhook-banner")).to_have_attribute("data-verified", "true")

    # A new citizen (phone) from the page.
    page.click("#new-citizen-btn")
    page.fill("#citizen-name", "Dewi Anggraini")
    page.fill("#citizen-phone", phone)
    page.click("#citizen-save")
    expect(page.locator("#as-citizen")).to_contain_text("Dewi Anggraini")

    bot = page.locator(".msg.bot")
    composer = page.locator("#composer-input")

    def send(text: str) -> None:
        composer.fill(text)
        composer.press("Enter")

    def wait_bot(pattern: str) -> None:
        expect(bot.filter(has_text=re.compile(pattern)).last).to_be_visible()

    send("halo")
    wait_bot("Silakan pilih layanan")
    # The citizen's message: read by the assistant (blue ticks) and typing shown while it works.
    expect(page.locator(".msg.citizen .ticks").last).to_have_attribute("data-status", "read")
    page.screenshot(path=str(screenshots / "chat_1_menu.png"))

    # The menu is a list message: its button opens a sheet of rows.
    bot.filter(has_text="Silakan pilih layanan").last.locator(".list-open").click()
    expect(page.locator("#list-sheet")).to_be_visible()
    page.locator("#list-sheet .sheet").evaluate("el => Promise.all(el.getAnimations().map(a => a.finished))")
    page.screenshot(path=str(screenshots / "chat_2_list_sheet.png"))
    page.locator(".list-row", has_text="Lapor masalah").click()
    page.click("#list-send")
    wait_bot("Masalah apa yang ingin")
    bot.filter(has_text="Masalah apa yang ingin").last.locator(".list-open").click()
    page.locator(".list-row", has_text="Lampu jalan padam").click()
    page.click("#list-send")
    wait_bot("ceritakan masalahnya")

    send("lampu jalan di depan masjid mati sudah tiga hari, gelap sekali kalau malam")
    wait_bot("Di mana lokasinya")

    # Location: the attach menu, a preset place.
    page.click("#attach-btn")
    page.click("#attach-location")
    page.locator(".location-preset", has_text="Pasar Besar").click()
    page.screenshot(path=str(screenshots / "chat_3_location_dialog.png"))
    page.click("#location-send")
    expect(page.locator(".msg.citizen .location-card").last).to_contain_text("Pasar Besar")
    wait_bot("kirim foto kondisinya")

    # Photo with a caption-free send: preview dialog, then the image bubble.
    page.click("#attach-btn")
    page.set_input_files("#photo-input", str(picture))
    expect(page.locator("#photo-dialog")).to_be_visible()
    page.click("#photo-send")
    expect(page.locator(".msg.citizen img").last).to_be_visible()
    wait_bot("1 foto sudah kami terima")

    # Reply buttons under the message.
    bot.filter(has_text="1 foto sudah kami terima").last.locator(".reply-button", has_text="Selesai").click()
    wait_bot("dirahasiakan")
    bot.filter(has_text="dirahasiakan").last.locator(".reply-button", has_text="Ya, rahasiakan").click()
    wait_bot("dari publik")
    bot.filter(has_text="dari publik").last.locator(".reply-button", has_text="Boleh publik").click()
    wait_bot("Apakah sudah benar")
    page.screenshot(path=str(screenshots / "chat_4_summary.png"), full_page=True)
    bot.filter(has_text="Apakah sudah benar").last.locator(".reply-button", has_text="Kirim").click()
    wait_bot(r"ADU-\d{4}-\d{5}")
    expect(page.locator(".msg.citizen .ticks").last).to_have_attribute("data-status", "read")
    page.screenshot(path=str(screenshots / "chat_5_submitted.png"))

    (ticket,) = tickets_of(url, phone)
    assert ticket.category == "lapor_lampu_padam" or "lampu" in ticket.category
    assert ticket.is_anonymous is True
    assert abs(ticket.latitude - -2.2051) < 1e-6
    assert len(media_rows(url, ticket.id)) == 1
    number = ticket.number
    expect(bot.filter(has_text=number).last).to_be_visible()

    # The conversation is on screen, so the citizen has read every reply: Meta's "read" status
    # went back to the connector for each of them.
    chat_messages = whatsapp_stack.simulator.messages(phone)["messages"]
    replies = [m for m in chat_messages if m["author"] == "bot"]
    assert replies
    whatsapp_stack.simulator.wait_until(
        phone,
        lambda ms: all(m["status"] == "read" for m in ms if m["author"] == "bot"),
        describe="every reply read on the page",
    )

    # A second citizen, then back: each phone keeps its own conversation.
    page.locator(".chat-item", has_text="Siti Aminah").click()
    expect(page.locator("#as-citizen")).to_contain_text("Siti Aminah")
    send("alamat kantor lurah dimana")
    expect(page.locator(".msg.bot .location-card").last).to_be_visible()
    wait_bot("Tjilik Riwut")
    page.screenshot(path=str(screenshots / "chat_6_second_citizen.png"))
    page.locator(".chat-item", has_text="Dewi Anggraini").click()
    expect(bot.filter(has_text=number).last).to_be_visible()

    # Phone-sized screen: one pane at a time, with a back button.
    page.set_viewport_size({"width": 400, "height": 780})
    expect(page.locator("#back-btn")).to_be_visible()
    page.screenshot(path=str(screenshots / "chat_7_phone.png"))
    page.close()
