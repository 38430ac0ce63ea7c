"""The chat page shows every message type and component the business sends as WhatsApp does
(headless Chromium): an announcement template with its image header, body, footer and
'Berhenti langganan' button (whose tap reaches the webhook as Meta sends it), the notification
template, documents, videos, voice notes, stickers, an interactive message's image header and
footer, and a link button. The simulator runs on its own (``python -m simulator``) with a small
webhook receiver in place of the connector."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, Iterator, List
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from PIL import Image

from layanwarga.config import get_institution
from layanwarga.subscriptions import Rendered, template_object
from simulator.stack import ROOT, free_port, wait_for
from whatsapp.messages import template_message

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Chromium is not installed (scripts/ensure_chromium.sh)"
)

TOKEN = "page-test-token"
PHONE_NUMBER_ID = "100000000000001"
CITIZEN = "6281234500001"  # one of the simulator's default citizens (Budi Santoso)
SCREENSHOTS = ROOT / "results" / "screenshots"
TIMEOUT_MS = 30_000


class Webhook:
    """The connector's place: answers Meta's handshake and records every POST."""

    def __init__(self) -> None:
        self.bodies: List[Dict[str, Any]] = []
        self.arrived = threading.Condition()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                query = parse_qs(urlparse(self.path).query)
                challenge = (query.get("hub.challenge") or [""])[0].encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(challenge)))
                self.end_headers()
                self.wfile.write(challenge)

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                with hook.arrived:
                    hook.bodies.append(body)
                    hook.arrived.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def messages(self) -> List[Dict[str, Any]]:
        return [
            m
            for b in self.bodies
            for e in b["entry"]
            for c in e["changes"]
            for m in c["value"].get("messages", [])
        ]

    def wait_for_message(self, kind: str, timeout: float = 30.0) -> Dict[str, Any]:
        with self.arrived:
            self.arrived.wait_for(lambda: any(m["type"] == kind for m in self.messages()), timeout=timeout)
        found = [m for m in self.messages() if m["type"] == kind]
        assert found, f"no {kind} message reached the webhook; got {self.messages()}"
        return found[-1]


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[str, Any]]:
    webhook = Webhook()
    port = free_port()
    env = {
        **os.environ,
        "SIMULATOR_HOST": "127.0.0.1",
        "SIMULATOR_PORT": str(port),
        "SIMULATOR_WEBHOOK_URL": f"http://127.0.0.1:{webhook.port}/webhook",
        "WHATSAPP_ACCESS_TOKEN": TOKEN,
        "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
        "SIMULATOR_AUTO_READ": "0",
    }
    log = tmp_path_factory.mktemp("simulator") / "simulator.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "simulator", "--log-level", "WARNING"],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/sim/api/state", process, log, timeout=30)
        yield {"base": base, "webhook": webhook}
    finally:
        process.terminate()
        process.wait(timeout=10)
        webhook.server.shutdown()


def send(base: str, message: Dict[str, Any]) -> str:
    response = requests.post(
        f"{base}/v21.0/{PHONE_NUMBER_ID}/messages",
        timeout=10,
        headers={"Authorization": f"Bearer {TOKEN}"},
        json={"messaging_product": "whatsapp", "to": CITIZEN, **message},
    )
    assert response.status_code == 200, response.text
    return response.json()["messages"][0]["id"]


def upload(base: str, data: bytes, mime: str, name: str) -> str:
    response = requests.post(
        f"{base}/v21.0/{PHONE_NUMBER_ID}/media",
        timeout=10,
        headers={"Authorization": f"Bearer {TOKEN}"},
        data={"messaging_product": "whatsapp", "type": mime},
        files={"file": (name, data, mime)},
    )
    assert response.status_code == 200, response.text
    return response.json()["id"]


def poster() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 180), (30, 120, 200)).save(buffer, "JPEG")
    return buffer.getvalue()


def test_every_message_type_and_component_is_shown_and_the_stop_button_works(simulator) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect, sync_playwright

    base, webhook = simulator["base"], simulator["webhook"]
    requests.post(f"{base}/sim/api/citizens/{CITIZEN}/text", json={"text": "halo"}, timeout=10)
    template = get_institution().subscriptions.template
    image_id = upload(base, poster(), "image/jpeg", "poster.jpg")
    rendered = Rendered(
        topic_label="Info bencana",
        text_parameter="Waspada banjir malam ini, Bapak/Ibu.",
        body="",
        footer=template.footer,
        stop_button=template.stop_button,
        has_image=True,
        template_name=template.image_name,
        template_language=template.language,
    )
    announcement_id = send(base, {"type": "template", "template": template_object(rendered, image_id)})
    send(
        base,
        template_message("layanwarga_notifikasi", "id", "Laporan ADU-2026-00001 telah ditandai selesai."),
    )
    pdf_id = upload(base, b"%PDF-1.4\n%surat\n", "application/pdf", "surat.pdf")
    send(
        base,
        {
            "type": "document",
            "document": {"id": pdf_id, "filename": "SKTM-2026-00007.pdf", "caption": "Surat Bapak/Ibu"},
        },
    )
    send(
        base,
        {"type": "video", "video": {"id": upload(base, b"\x00\x00\x00\x18ftypmp42", "video/mp4", "v.mp4")}},
    )
    send(base, {"type": "audio", "audio": {"id": upload(base, b"OggS", "audio/ogg", "a.ogg")}})
    send(base, {"type": "sticker", "sticker": {"id": upload(base, poster(), "image/webp", "s.webp")}})
    send(
        base,
        {
            "type": "interactive",
            "interactive": {
                "type": "button",
                "header": {"type": "image", "image": {"id": image_id}},
                "body": {"text": "Lokasi posko banjir"},
                "footer": {"text": "Kelurahan Langkai"},
                "action": {"buttons": [{"type": "reply", "reply": {"id": "/affirm", "title": "Oke"}}]},
            },
        },
    )
    send(
        base,
        {
            "type": "interactive",
            "interactive": {
                "type": "cta_url",
                "body": {"text": "Formulir lengkap ada di sini."},
                "action": {
                    "name": "cta_url",
                    "parameters": {"display_text": "Buka formulir", "url": "https://example.org/f"},
                },
            },
        },
    )

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1100, "height": 1400})
        page.set_default_timeout(TIMEOUT_MS)
        expect.set_options(timeout=TIMEOUT_MS)
        page.goto(base)
        page.locator(".chat-item", has_text="Budi Santoso").click()
        bot = page.locator(".msg.bot")

        announcement = bot.filter(has_text="Waspada banjir malam ini")
        header = announcement.locator("img.header-media")
        expect(header).to_be_visible()
        page.wait_for_function("img => img.complete && img.naturalWidth === 320", arg=header.element_handle())
        expect(announcement.locator(".text b")).to_have_text("Info bencana")
        expect(announcement.locator(".text")).to_contain_text("– Kelurahan Langkai")
        expect(announcement.locator(".footer-text")).to_have_text(template.footer)
        stop = announcement.locator(".reply-button.quick-reply")
        expect(stop).to_have_text(template.stop_button)

        expect(bot.filter(has_text="Laporan ADU-2026-00001 telah ditandai selesai.")).to_be_visible()
        expect(bot.locator(".doc-card")).to_contain_text("SKTM-2026-00007.pdf")
        expect(bot.filter(has_text="Surat Bapak/Ibu")).to_be_visible()
        expect(bot.locator("video.body-media")).to_have_count(1)
        expect(bot.locator("audio.body-media")).to_have_count(1)
        expect(bot.locator("img.sticker")).to_be_visible()
        posko = bot.filter(has_text="Lokasi posko banjir")
        expect(posko.locator("img.header-media")).to_be_visible()
        expect(posko.locator(".footer-text")).to_have_text("Kelurahan Langkai")
        expect(posko.locator(".reply-button")).to_have_text("Oke")
        expect(bot.locator(".cta-button")).to_have_attribute("href", "https://example.org/f")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "simulator_message_types.png"), full_page=True)

        stop.click()
        tapped = webhook.wait_for_message("button")
        expect(page.locator(".msg.citizen").last).to_contain_text(template.stop_button)
        browser.close()
    assert tapped["button"] == {"payload": "/berhenti_langganan", "text": template.stop_button}
    assert tapped["context"]["id"] == announcement_id
