"""Statistics for staff (with CSV export) and the public transparency page (no personal data)."""
from __future__ import annotations

import csv
import datetime as dt
import io
import threading
import time
from typing import Any, Dict, Tuple

from flask import Blueprint, Response, current_app, g, render_template, request

from layanwarga import stats
from layanwarga.config import get_institution
from layanwarga.db import database_url, session_scope
from layanwarga.staff import audit

from .. import agency_names, charts
from ..security import login_required

bp = Blueprint("stats", __name__)

DEFAULT_DAYS = 90
MAX_DAYS = 3 * 366
PUBLIC_CACHE_SECONDS = 600
# Staff see figures at most a minute old: aggregates over 100,000 tickets take about a second.
STAFF_CACHE_SECONDS = 60
_cache: Dict[Tuple, Tuple[float, Any]] = {}
_cache_lock = threading.Lock()


def _filters(args: Any, public: bool) -> Tuple[stats.Filters, list]:
    inst = get_institution()
    today = stats.today_local(inst)
    errors = []

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
    kind = (args.get("jenis") or "").strip()
    kind = kind if kind in ("aduan", "surat") else None
    agency = None if public else ((args.get("opd") or "").strip() or None)
    return stats.Filters(start=start, end=end, kind=kind, agency_code=agency), errors


def _overview(f: stats.Filters, *, max_age: float) -> stats.Overview:
    key = (database_url(), f.start, f.end, f.kind, f.agency_code)
    cached = max_age > 0 and current_app.config.get("LW_STATS_CACHE", True)
    if cached:
        with _cache_lock:
            hit = _cache.get(key)
            if hit and time.monotonic() - hit[0] < max_age:
                return hit[1]
    inst = get_institution()
    with session_scope() as session:
        result = stats.overview(session, inst, f, agency_names=agency_names())
    if cached:
        with _cache_lock:
            if len(_cache) > 100:
                _cache.clear()
            _cache[key] = (time.monotonic(), result)
    return result


def _charts(result: stats.Overview) -> Dict[str, Any]:
    labels = [stats.bucket_label(p, result.granularity) for p in result.periods]
    return {
        "trend": charts.stacked_columns(labels, result.created_series, title="Tiket masuk per kategori"),
        "trend_agency": charts.stacked_columns(labels, result.agency_series, title="Aduan per OPD"),
        "resolved": charts.line(labels, result.resolved_series, title="Aduan dan surat diselesaikan"),
        "by_category": charts.hbar([(label, n) for _, label, n in result.by_category], title="Per kategori"),
        "by_state": charts.hbar([(label, n) for _, label, n in result.by_state], title="Per status", color=charts.PALETTE[1]),
        "by_agency": charts.hbar([(label, n) for _, label, n in result.by_agency], title="Per OPD", color=charts.PALETTE[2]),
        "ratings": charts.hbar([(f"{k} bintang", v) for k, v in sorted(result.rating_distribution.items(), reverse=True)], title="Penilaian warga", color=charts.PALETTE[9]),
        "overdue": charts.share_bar(result.overdue_share, title="Porsi melewati tenggat"),
    }


GRANULARITY_LABELS = {"day": "per hari", "week": "per minggu", "month": "per bulan"}


@bp.route("/statistik")
@login_required
def staff_stats():  # type: ignore[no-untyped-def]
    f, errors = _filters(request.args, public=False)
    result = _overview(f, max_age=STAFF_CACHE_SECONDS)
    return render_template("stats.html", r=result, f=f, errors=errors, c=_charts(result), public=False,
                           agencies=agency_names(), granularity=GRANULARITY_LABELS[result.granularity])


@bp.route("/statistik.csv")
@login_required
def stats_csv():  # type: ignore[no-untyped-def]
    f, _ = _filters(request.args, public=False)
    result = _overview(f, max_age=0)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in stats.csv_rows(result):
        writer.writerow(row)
    with session_scope() as session:
        audit(session, g.user.actor, "ekspor_statistik", detail=f"{f.start}..{f.end}")
    return Response("\ufeff" + buffer.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="statistik-{f.start}-{f.end}.csv"'})


@bp.route("/publik/statistik")
def public_stats():  # type: ignore[no-untyped-def]
    f, errors = _filters(request.args, public=True)
    result = _overview(f, max_age=PUBLIC_CACHE_SECONDS)
    response = render_template("stats.html", r=result, f=f, errors=errors, c=_charts(result), public=True,
                               agencies={}, granularity=GRANULARITY_LABELS[result.granularity])
    return response
