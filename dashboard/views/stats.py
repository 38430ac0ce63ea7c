"""Statistics for staff (with CSV export) and the public transparency page (no personal data)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any, Callable, Dict, List, Optional, Tuple

from flask import Blueprint, Response, current_app, g, render_template, request

from layanwarga import stats
from layanwarga.config import get_institution
from layanwarga.db import database_url, session_scope
from layanwarga.models import StaffUser
from layanwarga.staff import audit

from .. import agency_names, charts, permissions
from ..cache import TtlCache
from ..security import login_required

bp = Blueprint("stats", __name__)

DEFAULT_DAYS = 90
MAX_DAYS = 3 * 366
# Public figures are at most ten minutes old: aggregates over 100,000 tickets take about a second,
# and the page offers only a few dozen periods (stats.public_periods), so a visitor cannot make
# the server recompute by typing dates.
PUBLIC_CACHE_SECONDS = 600
# Staff see figures at most a minute old.
STAFF_CACHE_SECONDS = 60


def _now() -> dt.datetime:
    """The current time (tests fix it with ``LW_NOW``)."""
    clock: Optional[Callable[[], dt.datetime]] = current_app.config.get("LW_NOW")
    return clock() if clock else dt.datetime.now(dt.timezone.utc)


def _cache(name: str, max_age: float) -> TtlCache:
    caches = current_app.extensions.setdefault("lw_stats_cache", {})
    if name not in caches:
        caches[name] = TtlCache(max_age)
    return caches[name]


def _kind(args: Any) -> Optional[str]:
    kind = (args.get("jenis") or "").strip()
    return kind if kind in ("aduan", "surat") else None


def _staff_filters(args: Any) -> Tuple[stats.Filters, List[str]]:
    inst = get_institution()
    today = stats.today_local(inst, _now())
    errors: List[str] = []

    def parse(name: str, default: dt.date) -> dt.date:
        value = (args.get(name) or "").strip()
        if not value:
            return default
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            errors.append("Tanggal tidak valid (gunakan format TTTT-BB-HH).")
            return default

    end = parse("sampai", today)
    start = parse("dari", end - dt.timedelta(days=DEFAULT_DAYS - 1))
    if start > end:
        start, end = end, start
    if (end - start).days > MAX_DAYS:
        start = end - dt.timedelta(days=MAX_DAYS)
        errors.append("Rentang dibatasi tiga tahun.")
    agency = (args.get("opd") or "").strip() or None
    return stats.Filters(start=start, end=end, kind=_kind(args), agency_code=agency), errors


def _public_filters(args: Any) -> Tuple[stats.Filters, stats.Period, List[str]]:
    """One of the periods the page offers; anything else gets the default and a message."""
    today = stats.today_local(get_institution(), _now())
    errors: List[str] = []
    period = stats.public_period(args.get("periode"), today)
    if period is None or args.get("dari") or args.get("sampai"):
        errors.append(
            "Periode tersebut tidak tersedia. Silakan pilih periode dari daftar; "
            "ditampilkan 3 bulan terakhir."
        )
        period = stats.public_period(None, today)
    assert period is not None
    return stats.Filters(start=period.start, end=period.end, kind=_kind(args)), period, errors


def _overview(
    f: stats.Filters, cache: Optional[TtlCache], user: Optional[StaffUser] = None
) -> stats.Overview:
    """The figures for the public (``user`` None: every ticket) or for a staff account: the
    tickets it may see (``permissions.scope``), cached per kind of account."""
    scope = permissions.scope(user) if user is not None else []
    viewer = (user.role, user.agency_code, user.unit_code, user.upt_name) if user is not None else None

    def compute() -> stats.Overview:
        with session_scope() as session:
            return stats.overview(
                session, get_institution(), f, agency_names=agency_names(), now=_now(), scope=scope
            )

    if cache is None or not current_app.config.get("LW_STATS_CACHE", True):
        return compute()
    return cache.get_or_compute((database_url(), viewer, f.start, f.end, f.kind, f.agency_code), compute)


def _charts(result: stats.Overview) -> Dict[str, Any]:
    labels = [stats.bucket_label(p, result.granularity) for p in result.periods]
    return {
        "trend": charts.stacked_columns(labels, result.created_series, title="Tiket masuk per kategori"),
        "trend_agency": charts.stacked_columns(labels, result.agency_series, title="Aduan per OPD"),
        "resolved": charts.line(labels, result.resolved_series, title="Aduan dan surat diselesaikan"),
        "by_category": charts.hbar([(label, n) for _, label, n in result.by_category], title="Per kategori"),
        "by_state": charts.hbar(
            [(label, n) for _, label, n in result.by_state], title="Per status", color=charts.PALETTE[1]
        ),
        "by_agency": charts.hbar(
            [(label, n) for _, label, n in result.by_agency], title="Per OPD", color=charts.PALETTE[2]
        ),
        "ratings": charts.hbar(
            [(f"{k} bintang", v) for k, v in sorted(result.rating_distribution.items(), reverse=True)],
            title="Penilaian warga",
            color=charts.PALETTE[9],
        ),
        "overdue": charts.share_bar(result.overdue_share, title="Porsi melewati tenggat"),
    }


GRANULARITY_LABELS = {"day": "per hari", "week": "per minggu", "month": "per bulan"}


@bp.route("/statistik")
@login_required
def staff_stats():  # type: ignore[no-untyped-def]
    f, errors = _staff_filters(request.args)
    result = _overview(f, _cache("staff", STAFF_CACHE_SECONDS), g.user)
    return render_template(
        "stats.html",
        r=result,
        f=f,
        errors=errors,
        c=_charts(result),
        public=False,
        agencies=agency_names(),
        granularity=GRANULARITY_LABELS[result.granularity],
    )


@bp.route("/statistik.csv")
@login_required
def stats_csv():  # type: ignore[no-untyped-def]
    f, _ = _staff_filters(request.args)
    result = _overview(f, None, g.user)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in stats.csv_rows(result):
        writer.writerow(row)
    with session_scope() as session:
        audit(session, g.user.actor, "ekspor_statistik", detail=f"{f.start}..{f.end}")
    return Response(
        "\ufeff" + buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="statistik-{f.start}-{f.end}.csv"'},
    )


@bp.route("/publik/statistik")
def public_stats():  # type: ignore[no-untyped-def]
    f, period, errors = _public_filters(request.args)
    result = _overview(f, _cache("public", PUBLIC_CACHE_SECONDS))
    periods = stats.public_periods(stats.today_local(get_institution(), _now()))
    response = render_template(
        "stats.html",
        r=result,
        f=f,
        errors=errors,
        c=_charts(result),
        public=True,
        agencies={},
        granularity=GRANULARITY_LABELS[result.granularity],
        periods=periods,
        period=period,
    )
    return response, (400 if errors else 200)
