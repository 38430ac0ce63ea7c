"""Test helpers shared by the dashboard and outbox tests: a fake Graph API, sample tickets."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple

import requests
from argon2 import PasswordHasher

from layanwarga import citizens, db, staff, tickets
from layanwarga.config import get_institution

INST = get_institution()
ROOT = Path(__file__).resolve().parents[2]
# The browser tests' Chromium (Debian's, never a downloaded one) and where they save screenshots.
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = ROOT / "results" / "screenshots"
MONDAY_MORNING = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.timezone.utc)  # 09.00 WIB
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PASSWORD = "Rahasia-Kantor-2026"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class FakeGraph:
    """A Graph API stand-in on a real port: records every request and answers from a script
    (default: 200 with a fresh wamid)."""

    def __init__(self) -> None:
        self.requests: List[Dict[str, Any]] = []
        self.script: List[Tuple[int, Dict[str, Any], Dict[str, str]]] = []
        self._lock = threading.Lock()
        self._counter = 0
        graph = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with graph._lock:
                    graph.requests.append({"path": self.path, "headers": dict(self.headers), "json": body})
                    if graph.script:
                        status, payload, headers = graph.script.pop(0)
                    else:
                        graph._counter += 1
                        status, payload, headers = (
                            200,
                            {"messages": [{"id": f"wamid.fake{graph._counter}"}]},
                            {},
                        )
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                return

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fail_next(
        self,
        status: int,
        code: Optional[int] = None,
        message: str = "error",
        headers: Optional[Dict[str, str]] = None,
    ) -> None:
        error: Dict[str, Any] = {"message": message, "type": "OAuthException"}
        if code is not None:
            error["code"] = code
        self.script.append((status, {"error": error}, headers or {}))

    @property
    def bodies(self) -> List[Dict[str, Any]]:
        return [r["json"] for r in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextlib.contextmanager
def running_dashboard(database_url: str, log_dir: Path, **env: str) -> Iterator[str]:
    """The real dashboard server (``python -m dashboard``: waitress, as deployed) on a free port,
    on ``database_url``, with extra environment ``env``; yields its base URL."""
    port = free_port()
    environ: Mapping[str, str] = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DASHBOARD_SECRET_KEY": "browser-test-secret-key-0123456789abcdef",
        "DASHBOARD_PORT": str(port),
        "DASHBOARD_DIGEST_TIME": "off",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        **env,
    }
    log_path = log_dir / f"dashboard-{port}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "dashboard"],
            cwd=ROOT,
            env=dict(environ),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{url}/sehat", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(log_path.read_text())
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def complaint(
    key: str, sender: str = "6281234567890", category: str = "lapor_jalan_rusak", **overrides: Any
) -> tickets.TicketView:
    values = dict(
        category=category,
        description="Jalan berlubang besar di depan SDN 3",
        sender=sender,
        idempotency_key=key,
        reporter_name="Siti Aminah",
        location_text="Jl. Merdeka RT 3 RW 5",
        rt="3",
        rw="5",
    )
    values.update(overrides)
    return tickets.submit_complaint(INST, tickets.ComplaintDraft(**values), now=MONDAY_MORNING)


def letter(key: str, sender: str = "6281298765432", letter_type: str = "sktm") -> tickets.TicketView:
    draft = tickets.LetterDraft(
        letter_type=letter_type,
        sender=sender,
        idempotency_key=key,
        applicant_name="Budi Santoso",
        applicant_nik="6271014506850003",
        applicant_address="Jl. Kenanga No. 5 RT 2 RW 1",
        applicant_phone="081298765432",
        purpose="Berobat / keringanan biaya rumah sakit",
        reporter_name="Budi",
    )
    return tickets.submit_letter_request(INST, draft, now=MONDAY_MORNING)


def ticket_id(number: str) -> int:
    from sqlalchemy import select

    from layanwarga.models import Ticket

    with db.session_scope() as session:
        return int(session.execute(select(Ticket.id).where(Ticket.number == number)).scalar_one())


def open_window(sender: str, at: Optional[dt.datetime] = None) -> None:
    """The citizen wrote recently: free-form messages are allowed."""
    with db.session_scope() as session:
        citizens.upsert_sender(session, sender).last_inbound_at = at or dt.datetime.utcnow().replace(
            microsecond=0
        )


def make_user(username: str, role: str, agency: Optional[str] = None, can_chat: Optional[bool] = None) -> int:
    staff.set_hasher(CHEAP_HASHER)
    with db.session_scope() as session:
        user = staff.create_user(
            session,
            username=username,
            full_name=username.title(),
            password=PASSWORD,
            role=role,
            agency_code=agency,
            can_chat=can_chat,
            agencies=list(INST.agencies),
        )
        return int(user.id)


# -- Flask test client helpers ------------------------------------------------------------------
TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf(client: Any, path: str = "/masuk") -> str:
    html = client.get(path).get_data(as_text=True)
    match = TOKEN_RE.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(app: Any, username: str, password: str = PASSWORD) -> Any:
    client = app.test_client()
    response = client.post(
        "/masuk", data={"username": username, "password": password, "csrf_token": csrf(client)}
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client


def post(client: Any, path: str, data: Dict[str, str], page: str = "/tiket"):  # type: ignore[no-untyped-def]
    return client.post(path, data={**data, "csrf_token": csrf(client, page)})


@dataclass
class World:
    pupr: str  # forwarded to PUPR
    dlh: str  # forwarded to DLH
    anonymous: str  # anonymous, forwarded to PUPR
    pupr_new: str  # routed to PUPR by category, not forwarded yet
    letter: str  # SKTM request


NUMBER_LINK_RE = re.compile(r'<a class="number" href="/tiket/([A-Z]+-\d{4}-\d{5})"')


def listed(html: str) -> List[str]:
    """Ticket numbers in an inbox page's list (not in its search box or links)."""
    return NUMBER_LINK_RE.findall(html)
