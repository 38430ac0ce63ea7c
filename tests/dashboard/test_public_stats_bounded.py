"""The public statistics page computes only the periods it offers (whole months, a few dozen),
each once per cache lifetime: a second visit for the same period runs no query, a range a
visitor types is not computed, and a period the page does not offer gets a clear answer."""

from __future__ import annotations

import datetime as dt
from typing import Iterator, List

import pytest
from sqlalchemy import event

from dashboard.cache import TtlCache
from layanwarga import db, stats
from tests.dashboard.support import World, login

NOW = dt.datetime(2026, 12, 7, 3, 0, tzinfo=dt.timezone.utc)  # 10.00 WIB, Monday 7 December 2026


class FakeClock:
    def __init__(self) -> None:
        self.seconds = 1000.0

    def __call__(self) -> float:
        return self.seconds


@pytest.fixture
def queries(app, world: World) -> Iterator[List[str]]:  # type: ignore[no-untyped-def]
    """Every SQL statement on ticket tables while the test runs (the page's computation)."""
    app.config["LW_NOW"] = lambda: NOW
    seen: List[str] = []

    def record(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        if "tickets" in statement:
            seen.append(statement)

    engine = db.get_engine()
    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def test_a_second_visit_for_the_same_period_runs_no_query(app, queries: List[str]) -> None:  # type: ignore[no-untyped-def]
    visitor, other_visitor = app.test_client(), app.test_client()
    first = visitor.get("/publik/statistik?periode=2026-11")
    assert first.status_code == 200 and 'id="stat-total">5<' in first.get_data(as_text=True)
    assert queries, "the first visit computes"
    queries.clear()
    again = other_visitor.get("/publik/statistik?periode=2026-11")
    assert 'id="stat-total">5<' in again.get_data(as_text=True)
    assert queries == []
    other_kind = visitor.get("/publik/statistik?periode=2026-11&jenis=surat")
    assert 'id="stat-total">1<' in other_kind.get_data(as_text=True) and queries


def test_figures_are_recomputed_after_the_cache_lifetime(app, queries: List[str]) -> None:  # type: ignore[no-untyped-def]
    from dashboard.views.stats import PUBLIC_CACHE_SECONDS

    clock = FakeClock()
    app.extensions["lw_stats_cache"] = {"public": TtlCache(PUBLIC_CACHE_SECONDS, clock=clock)}
    client = app.test_client()
    client.get("/publik/statistik")
    queries.clear()
    clock.seconds += PUBLIC_CACHE_SECONDS - 1
    client.get("/publik/statistik")
    assert queries == []
    clock.seconds += 1
    client.get("/publik/statistik")
    assert queries


def test_a_typed_range_is_not_computed_and_gets_a_clear_answer(app, queries: List[str]) -> None:  # type: ignore[no-untyped-def]
    client = app.test_client()
    client.get("/publik/statistik")  # the default period, computed once
    queries.clear()
    for query in (
        "dari=2026-03-07&sampai=2026-11-29",
        "dari=2020-01-01",
        "periode=2019",
        "periode=2026-13",
        "periode=17-bulan",
        "periode=%27%3B--",
    ):
        response = client.get(f"/publik/statistik?{query}")
        page = response.get_data(as_text=True)
        assert response.status_code == 400, query
        assert "Periode tersebut tidak tersedia" in page and "3 bulan terakhir (Oktober 2026" in page
    assert queries == []  # every one answered from the default period's figures


def test_the_page_offers_whole_months_only(app, world: World) -> None:  # type: ignore[no-untyped-def]
    app.config["LW_NOW"] = lambda: NOW
    page = app.test_client().get("/publik/statistik").get_data(as_text=True)
    assert 'type="date"' not in page and '<option value="2026-11"' in page and '<option value="2025"' in page
    periods = stats.public_periods(dt.date(2026, 12, 7))
    assert len(periods) == len(stats.PUBLIC_RECENT) + stats.PUBLIC_YEARS + stats.PUBLIC_MONTHS
    assert all(p.start.day == 1 for p in periods)
    assert stats.public_period("2026-02", dt.date(2026, 12, 7)).end == dt.date(2026, 2, 28)
    assert stats.public_period("3-bulan", dt.date(2026, 1, 15)).start == dt.date(2025, 11, 1)


def test_staff_keep_free_ranges(app, world: World) -> None:  # type: ignore[no-untyped-def]
    html = login(app, "admin").get("/statistik?dari=2026-11-20&sampai=2026-11-25").get_data(as_text=True)
    assert 'id="stat-total">5<' in html and 'type="date"' in html


def test_the_cache_keeps_at_most_its_size_dropping_the_least_recently_used() -> None:
    clock = FakeClock()
    cache = TtlCache(60, max_entries=2, clock=clock)
    computed: List[str] = []

    def value(key: str):  # type: ignore[no-untyped-def]
        return lambda: computed.append(key) or key.upper()

    assert [cache.get_or_compute(k, value(k)) for k in ("a", "b", "a", "c", "a", "b")] == [
        "A",
        "B",
        "A",
        "C",
        "A",
        "B",
    ]
    assert computed == ["a", "b", "c", "b"]  # "b" was the least recently used when "c" came
