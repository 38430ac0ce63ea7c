"""Staff see on the dashboard when anything waits for the system to recover: citizens' messages
the assistant has not answered yet (the connector's journal) and submissions an action server
keeps on its disk while the ticket database was down (issue 26 item 2)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from sqlalchemy import update

from connectors import journal
from layanwarga import db, spool_reports
from layanwarga.models import ProcessedMessage, utcnow
from layanwarga.spool import Spool
from tests.dashboard.support import World, login


def waiting_cards(page: str) -> list:
    block = page[page.index('id="waiting"') : page.index("<h2>Gagal dikirim</h2>")]
    return [int(v) for v in re.findall(r'<div class="value">(\d+)</div>', block)]


def test_the_outbox_page_counts_what_waits(app, world: World, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    admin = login(app, "admin")
    assert waiting_cards(admin.get("/admin/notifikasi").get_data(as_text=True)) == [0, 0]

    url = db.database_url()
    entries = [journal.Entry(f"wamid.w{i}|1|6281", "6281", {"id": f"wamid.w{i}"}, float(i)) for i in range(3)]
    journal.take_in_rows(entries, "rasa-1/abc", journal.DEFAULT_LEASE, url=url)
    journal.finish_row("wamid.w2|1|6281", journal.DONE, url=url)
    with db.session_scope(write=True) as session:  # taken in five minutes ago, still unanswered
        session.execute(update(ProcessedMessage).values(received_at=utcnow() - dt.timedelta(minutes=5)))
    spool = Spool(tmp_path / "spool")
    spool.put("6281", {"kind": "aduan", "draft": {"description": "jalan rusak"}})
    assert spool_reports.report(spool_reports.KIND_SUBMISSIONS, spool)

    page = admin.get("/admin/notifikasi").get_data(as_text=True)
    assert waiting_cards(page) == [2, 1]
    assert "pesan warga belum dijawab asisten" in page
