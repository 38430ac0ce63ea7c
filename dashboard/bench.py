"""Page times of the dashboard on the current database: ``python -m dashboard bench``.

Runs in-process through Flask's test client (the server's own work: queries and rendering, no
network), logged in as a temporary admin and a temporary OPD officer, each page several times;
prints the median and the slowest run. Seed first: ``python -m dashboard seed --tickets 100000``.
"""

from __future__ import annotations

import re
import secrets
import statistics
import time
from typing import Any, List, Tuple

from sqlalchemy import delete, func, select

from layanwarga import staff
from layanwarga.config import get_institution
from layanwarga.db import database_url, safe_url, session_scope
from layanwarga.models import KIND_COMPLAINT, StaffSession, Ticket

from . import create_app, inbox
from .settings import DashboardSettings

TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def _client(app: Any, username: str, password: str) -> Any:
    client = app.test_client()
    token = TOKEN_RE.search(client.get("/masuk").get_data(as_text=True)).group(1)
    response = client.post("/masuk", data={"username": username, "password": password, "csrf_token": token})
    assert response.status_code == 302, "benchmark login failed"
    return client


def _time(client: Any, path: str, runs: int) -> Tuple[float, float, int]:
    client.get(path)  # warm-up (template compilation, first plan)
    times = []
    status = 0
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        status = response.status_code
    return statistics.median(times), max(times), status


def run(runs: int = 5) -> List[Tuple[str, str, float, float, int]]:
    inst = get_institution()
    app = create_app(DashboardSettings(secret_key=secrets.token_urlsafe(40), digest_time=None))
    app.config["LW_STATS_CACHE"] = False  # time the work, not the cache
    password = secrets.token_urlsafe(16) + "!Aa1"
    admin_name, opd_name = f"bench_admin_{secrets.token_hex(3)}", f"bench_opd_{secrets.token_hex(3)}"
    with session_scope(write=True) as session:
        staff.create_user(
            session,
            username=admin_name,
            full_name="Bench Admin",
            password=password,
            role="admin",
            agencies=list(inst.agencies),
        )
        staff.create_user(
            session,
            username=opd_name,
            full_name="Bench OPD",
            password=password,
            role="opd",
            agency_code="PUPR",
            agencies=list(inst.agencies),
        )
        total = int(session.execute(select(func.count(Ticket.id))).scalar_one())
        number = session.execute(
            select(Ticket.number).order_by(Ticket.id).offset(total // 2).limit(1)
        ).scalar_one()
        complaint = session.execute(
            select(Ticket.number)
            .where(Ticket.kind == KIND_COMPLAINT)
            .order_by(Ticket.id)
            .offset(total // 3)
            .limit(1)
        ).scalar_one()
        middle = session.execute(
            select(Ticket.created_at, Ticket.id)
            .order_by(Ticket.created_at.desc(), Ticket.id.desc())
            .offset(total // 2)
            .limit(1)
        ).one()
    deep = inbox.encode_cursor(middle[0], middle[1])
    try:
        admin = _client(app, admin_name, password)
        opd = _client(app, opd_name, password)
        public = app.test_client()
        pages: List[Tuple[str, Any, str]] = [
            ("Inbox, first page (admin, all tickets)", admin, "/tiket"),
            (f"Inbox, page at row {total // 2:,} (keyset cursor)", admin, f"/tiket?setelah={deep}"),
            ("Inbox, open tickets", admin, "/tiket?status=terbuka"),
            ("Inbox, overdue only", admin, "/tiket?terlambat=1"),
            ("Inbox, one category by due date", admin, "/tiket?kategori=lapor_sampah&urut=tenggat"),
            ("Inbox, date range (one month)", admin, "/tiket?dari=2026-06-01&sampai=2026-06-30"),
            ("Inbox, search by number", admin, f"/tiket?q={number}"),
            ('Inbox, search by text ("lampu")', admin, "/tiket?q=lampu"),
            ('Inbox, search by name ("Siti")', admin, "/tiket?q=Siti"),
            ("Inbox, OPD officer (PUPR scope)", opd, "/tiket"),
            ("Inbox, OPD officer, overdue", opd, "/tiket?terlambat=1"),
            ("Ticket detail", admin, f"/tiket/{number}"),
            ("Statistics, last 90 days", admin, "/statistik"),
            ("Statistics, whole year", admin, "/statistik?dari=2026-01-01&sampai=2026-12-31"),
            (
                "Public statistics, last 90 days (uncached; served from a 10-minute cache)",
                admin,
                "/publik/statistik",
            ),
            ("OPD daily digest page", opd, "/ringkasan"),
            ("Open311 requests.json, last 90 days (at most 1,000)", public, "/open311/v2/requests.json"),
            (
                "Open311 requests.xml, open, one service",
                public,
                "/open311/v2/requests.xml?status=open&service_code=lapor_sampah",
            ),
            ("Open311 one request", public, f"/open311/v2/requests/{complaint}.xml"),
            ("Public map data (uncached; served from a 1-minute cache)", public, "/publik/peta.json"),
        ]
        results = []
        for label, client, path in pages:
            median, worst, status = _time(client, path, runs)
            results.append((label, path, median, worst, status))
        return results
    finally:
        with session_scope() as session:
            for name in (admin_name, opd_name):
                user = staff.find_user(session, name)
                if user is not None:
                    session.execute(delete(StaffSession).where(StaffSession.user_id == user.id))
                    session.delete(user)


def main(runs: int = 5) -> int:
    with session_scope() as session:
        total = int(session.execute(select(func.count(Ticket.id))).scalar_one())
    print(
        f"Database: {safe_url(database_url())} — {total:,} tickets; {runs} runs per page (after one warm-up)"
    )
    print("| page | median ms | slowest ms |\n|---|---:|---:|")
    for label, _path, median, worst, status in run(runs):
        flag = "" if status == 200 else f" (HTTP {status})"
        print(f"| {label}{flag} | {median:.0f} | {worst:.0f} |")
    return 0
