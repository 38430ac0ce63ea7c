"""Statistics when citizens report the same problem: a complaint merged into another counts as a
duplicate ("digabung"), never as rejected, on the staff page, its CSV and the public page; and
every citizen's rating of a resolved complaint counts, the supporters' beside the reporter's."""

from __future__ import annotations

import csv
import datetime as dt
import io

from layanwarga import db, feedback, merging, notifications, states, stats, supporters
from tests.dashboard.support import INST, complaint, login, make_user, ticket_id

NOW = dt.datetime(2026, 12, 7, 3, 0, tzinfo=dt.timezone.utc)  # after the tickets of 23 November
NOVEMBER = stats.Filters(start=dt.date(2026, 11, 1), end=dt.date(2026, 11, 30))
REPORTER, DUPLICATE_REPORTER, NEIGHBOUR = "6281100000001", "6281100000002", "6281100000003"


def _overview() -> stats.Overview:
    with db.session_scope() as session:
        return stats.overview(session, INST, NOVEMBER, now=NOW)


def _merged_and_rejected() -> tuple:
    """A complaint, a duplicate merged into it, and one really rejected."""
    survivor = complaint("s", sender=REPORTER).number
    duplicate = complaint("d", sender=DUPLICATE_REPORTER).number
    rejected = complaint("r", sender="6281100000004").number
    with db.session_scope(write=True) as session:
        merging.merge(INST, session, duplicate, survivor, "staf:admin")
    notifications.change_state_and_notify(
        INST, ticket_id(rejected), states.DITOLAK, "staf:admin", note="Di luar wilayah kelurahan."
    )
    return survivor, duplicate, rejected


def test_a_merged_complaint_counts_as_a_duplicate_not_as_rejected(app, db_url: str) -> None:  # type: ignore[no-untyped-def]
    _merged_and_rejected()
    result = _overview()
    by_state = {code: (label, n) for code, label, n in result.by_state}
    assert by_state[states.DITOLAK] == ("Ditolak", 1)
    assert by_state[stats.MERGED] == ("Laporan ganda digabung", 1)
    assert result.total == 3 == sum(n for _, _, n in result.by_state)
    make_user("admin", "admin")
    rows = list(
        csv.reader(
            io.StringIO(
                login(app, "admin")
                .get("/statistik.csv?dari=2026-11-01&sampai=2026-11-30")
                .get_data(as_text=True)
                .lstrip("\ufeff")
            )
        )
    )
    assert ["status", "ditolak", "Ditolak", "1"] in rows
    assert ["status", "digabung", "Laporan ganda digabung", "1"] in rows
    app.config["LW_NOW"] = lambda: NOW
    page = app.test_client().get("/publik/statistik?periode=2026-11").get_data(as_text=True)
    assert "Laporan ganda digabung" in page and "tidak dihitung sebagai ditolak" in page


def test_a_split_complaint_counts_by_its_state_again(db_url: str) -> None:
    _, duplicate, _ = _merged_and_rejected()
    with db.session_scope(write=True) as session:
        merging.split(INST, session, duplicate, "staf:admin")
    by_state = {code: n for code, _, n in _overview().by_state}
    assert stats.MERGED not in by_state and by_state[states.DITOLAK] == 1 and by_state[states.BARU] == 2


def test_every_citizens_rating_counts_the_supporters_beside_the_reporter(db_url: str) -> None:
    survivor, _, _ = _merged_and_rejected()  # the duplicate's reporter now follows the survivor
    supporters.follow(INST, supporters.FollowDraft(number=survivor, sender=NEIGHBOUR, idempotency_key="n1"))
    tid = ticket_id(survivor)
    notifications.change_state_and_notify(INST, tid, states.DITERUSKAN, "staf:admin", agency_code="PUPR")
    notifications.change_state_and_notify(INST, tid, states.SELESAI, "staf:pupr", note="Sudah ditambal.")
    for sender, rating in ((REPORTER, 5), (DUPLICATE_REPORTER, 2), (NEIGHBOUR, 1)):
        assert feedback.rate(sender, survivor, rating).ok
    result = _overview()
    assert result.rating_count == 3
    assert result.rating_distribution == {1: 1, 2: 1, 3: 0, 4: 0, 5: 1}
    assert result.rating_average == round(8 / 3, 2)
