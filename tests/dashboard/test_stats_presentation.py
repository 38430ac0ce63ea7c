"""What staff read in statistics and exports: CSV times in the institution's zone (WIB here),
named in the header, as every screen shows them; count axes in whole numbers; the overdue line
counting open tickets and late ones (by the same rule as the inbox's "terlambat" filter)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from sqlalchemy import update

from dashboard import inbox
from dashboard.charts import count_ticks, line, stacked_columns
from layanwarga import db, states, stats
from layanwarga.models import Ticket
from tests.dashboard.support import World, login

AXIS_LABEL_RE = re.compile(r'<text x="38" y="[\d.]+" text-anchor="end" fill="#556">([^<]+)</text>')


def _csv(client, path: str):  # type: ignore[no-untyped-def]
    return list(csv.DictReader(io.StringIO(client.get(path).get_data(as_text=True).lstrip("\ufeff"))))


def test_ticket_export_is_in_the_institutions_zone_and_says_so(app, world: World) -> None:  # type: ignore[no-untyped-def]
    # Closed at 17:30 UTC on 7 December: 00.30 WIB on the 8th, the day after the due date.
    with db.session_scope() as session:
        session.execute(
            update(Ticket)
            .where(Ticket.number == world.dlh)
            .values(state=states.SELESAI, closed_at=dt.datetime(2026, 12, 7, 17, 30))
        )
    rows = {row["nomor"]: row for row in _csv(login(app, "admin"), "/tiket.csv?status=semua")}
    pupr = rows[world.pupr]
    assert "dibuat (WIB, UTC+07:00)" in pupr and "ditutup (WIB, UTC+07:00)" in pupr
    assert pupr["dibuat (WIB, UTC+07:00)"] == "2026-11-23 09:00:00"  # created 02:00 UTC
    closed = rows[world.dlh]
    assert closed["ditutup (WIB, UTC+07:00)"] == "2026-12-08 00:30:00"
    assert (
        closed["tenggat"] < "2026-12-08"
        and int(closed["terlambat_hari"])
        == (dt.date(2026, 12, 8) - dt.date.fromisoformat(closed["tenggat"])).days
    )


@pytest.mark.parametrize(
    "largest, ticks",
    [
        (0, [0, 1]),
        (1, [0, 1]),
        (2, [0, 1, 2]),
        (5, [0, 1, 2, 3, 4, 5]),
        (7, [0, 2, 4, 6, 8]),
        (13, [0, 5, 10, 15]),
        (99, [0, 20, 40, 60, 80, 100]),
        (123, [0, 25, 50, 75, 100, 125]),
    ],
)
def test_count_axes_have_whole_number_ticks(largest: int, ticks: list) -> None:
    assert count_ticks(largest) == ticks


def test_no_chart_labels_a_count_with_a_fraction() -> None:
    labels = ["1 Des", "2 Des", "3 Des"]
    for chart in (
        stacked_columns(labels, {"Jalan rusak": [1, 2, 0]}, title="t"),
        line(labels, [0, 2, 1], title="t"),
    ):
        assert AXIS_LABEL_RE.findall(str(chart)) == ["0", "1", "2"]


def test_the_statistics_page_axes_are_whole_numbers(app, world: World) -> None:  # type: ignore[no-untyped-def]
    html = login(app, "admin").get("/statistik?dari=2026-11-01&sampai=2026-11-30").get_data(as_text=True)
    labels = AXIS_LABEL_RE.findall(html)
    assert labels and all(label.isdigit() for label in labels), labels


def _overdue_line(app, now: dt.datetime) -> str:  # type: ignore[no-untyped-def]
    app.config["LW_NOW"] = lambda: now
    html = login(app, "admin").get("/statistik?dari=2026-11-01&sampai=2026-11-30").get_data(as_text=True)
    return re.search(r'id="overdue-line">([^<]+)<', html).group(1)


def test_the_overdue_line_counts_open_tickets_before_their_due_date(app, world: World) -> None:  # type: ignore[no-untyped-def]
    # The morning after the tickets came in: five open, none late yet.
    assert _overdue_line(app, dt.datetime(2026, 11, 24, 2, 0, tzinfo=dt.timezone.utc)) == (
        "melewati tenggat: 0 dari 5 tiket bertenggat · 5 masih terbuka, 0 di antaranya sudah lewat tenggat"
    )


def test_the_overdue_line_counts_open_tickets_past_their_due_date(app, world: World) -> None:  # type: ignore[no-untyped-def]
    with db.session_scope() as session:  # the letter is ready for pick-up: the office has done its part
        session.execute(update(Ticket).where(Ticket.number == world.letter).values(state=states.SIAP_DIAMBIL))
    late = _overdue_line(app, dt.datetime(2027, 1, 20, 2, 0, tzinfo=dt.timezone.utc))
    assert (
        late
        == "melewati tenggat: 4 dari 5 tiket bertenggat · 5 masih terbuka, 4 di antaranya sudah lewat tenggat"
    )


def test_statistics_and_the_inbox_count_the_same_states_as_late() -> None:
    assert stats.WAITING_FOR_OFFICE == inbox.OVERDUE_STATES
