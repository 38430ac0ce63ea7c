"""Service statistics and the daily SLA digest per OPD (plain Python, no Rasa import).

Statistics are aggregates only (no names, numbers, NIKs or free text), so the same figures feed
the staff page, the CSV export and the public transparency page.

Definitions:

- *first response*: the first history entry written by staff (``staf:<user>``: a state change or
  a reply) after the ticket was created;
- *resolution*: ``closed_at - created_at`` of complaints in ``selesai``;
- *overdue share*: among tickets with a due date, those still waiting for the office past it
  (open, except letters ready for pick-up, as the inbox's "terlambat" filter counts them) or
  closed as done after it; *still open* counts every open ticket of the period, overdue or not;
- *per state*: the ticket's current state, except that a complaint merged into another
  (``merging``: closed as ``ditolak`` with ``merged_into``) counts as ``digabung`` (``MERGED``),
  never as rejected;
- *ratings*: every citizen's 1–5 rating of a resolved complaint created in the period, the
  reporter's (``tickets.rating``) and each supporter's (``supporters.rating``), one each;
- dates are the institution's local dates (Indonesia has no daylight saving time, so a fixed UTC
  offset per deployment is exact).
"""

from __future__ import annotations

import datetime as dt
import logging
import statistics as pystats
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from sqlalchemy import and_, case, func, literal_column, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from . import calendar, merging, states
from .config import Institution
from .db import session_scope
from .formatting import MONTH_NAMES, format_date
from .models import KIND_COMPLAINT, KIND_LETTER, DigestRun, StateChange, Supporter, Ticket, utcnow
from .units import KECAMATAN_LEVEL, VILLAGE_LEVEL

logger = logging.getLogger(__name__)

STAFF_ACTOR_PREFIX = "staf:"
# How a complaint merged into another ends in the statistics' "per state" (a duplicate, not a rejection).
MERGED = "digabung"
MERGED_LABEL = "Laporan ganda digabung"


# -- helpers --------------------------------------------------------------------------------------
def utc_offset_hours(inst: Institution) -> int:
    offset = dt.datetime.now(inst.timezone).utcoffset() or dt.timedelta(0)
    return int(offset.total_seconds() // 3600)


def local_day(session: Session, inst: Institution, column) -> ColumnElement:  # type: ignore[no-untyped-def]
    """SQL for the local calendar date of a naive-UTC timestamp column (SQLite and PostgreSQL)."""
    hours = utc_offset_hours(inst)
    if session.get_bind().dialect.name == "sqlite":
        return func.date(column, f"{hours:+d} hours")
    return func.date(column + literal_column(f"interval '{hours} hours'"))


def hours_between(session: Session, later, earlier) -> ColumnElement:  # type: ignore[no-untyped-def]
    """SQL for ``later - earlier`` in hours as a number (computed by the database: fetching
    100,000 timestamps into Python would cost more than the query)."""
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 24.0
    return func.extract("epoch", later - earlier) / 3600.0


def _as_date(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def utc_bounds(inst: Institution, start: dt.date, end: dt.date) -> Tuple[dt.datetime, dt.datetime]:
    """Naive UTC instants of local midnight at ``start`` and after ``end``."""
    first = dt.datetime.combine(start, dt.time(0), tzinfo=inst.timezone).astimezone(dt.timezone.utc)
    last = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(0), tzinfo=inst.timezone).astimezone(
        dt.timezone.utc
    )
    return first.replace(tzinfo=None), last.replace(tzinfo=None)


def today_local(inst: Institution, now: Optional[dt.datetime] = None) -> dt.date:
    return calendar.now_local(inst, now).date()


def bucket_of(day: dt.date, granularity: str) -> dt.date:
    if granularity == "month":
        return day.replace(day=1)
    if granularity == "week":
        return day - dt.timedelta(days=day.weekday())
    return day


def bucket_label(day: dt.date, granularity: str) -> str:
    months = ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des")
    if granularity == "month":
        return f"{months[day.month - 1]} {day.year}"
    return f"{day.day} {months[day.month - 1]}"


def buckets(start: dt.date, end: dt.date, granularity: str) -> List[dt.date]:
    result: List[dt.date] = []
    day = bucket_of(start, granularity)
    while day <= end:
        result.append(day)
        if granularity == "month":
            day = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        elif granularity == "week":
            day += dt.timedelta(days=7)
        else:
            day += dt.timedelta(days=1)
    return result


def granularity_for(start: dt.date, end: dt.date) -> str:
    days = (end - start).days + 1
    if days <= 31:
        return "day"
    if days <= 190:
        return "week"
    return "month"


# -- the public page's periods -----------------------------------------------------------------------
PUBLIC_MONTHS = 12  # single months offered, back from the current one
PUBLIC_YEARS = 3  # calendar years offered, back from the current one
PUBLIC_RECENT = (3, 6, 12)  # "the last N months" (whole months, the current one so far)
DEFAULT_PUBLIC_PERIOD = "3-bulan"


@dataclass(frozen=True)
class Period:
    key: str  # what the page sends back (?periode=...)
    label: str
    start: dt.date
    end: dt.date


def _months_back(day: dt.date, months: int) -> dt.date:
    """The first day of the month ``months`` before ``day``'s month."""
    index = day.year * 12 + day.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1)


def public_periods(today: dt.date) -> List[Period]:
    """The periods the public statistics page offers: whole months only (the current one up to
    ``today``), so every visitor asks for one of a few dozen ranges, each computed once and
    cached. Newest first within each group."""
    periods = []
    for months in PUBLIC_RECENT:
        start = _months_back(today, months - 1)
        periods.append(
            Period(
                f"{months}-bulan",
                f"{months} bulan terakhir ({MONTH_NAMES[start.month - 1]} {start.year} – sekarang)",
                start,
                today,
            )
        )
    for back in range(PUBLIC_YEARS):
        year = today.year - back
        periods.append(
            Period(str(year), f"Tahun {year}", dt.date(year, 1, 1), min(today, dt.date(year, 12, 31)))
        )
    for back in range(PUBLIC_MONTHS):
        start = _months_back(today, back)
        end = min(today, _months_back(today, back - 1) - dt.timedelta(days=1))
        periods.append(
            Period(start.strftime("%Y-%m"), f"{MONTH_NAMES[start.month - 1]} {start.year}", start, end)
        )
    return periods


def public_period(key: Optional[str], today: dt.date) -> Optional[Period]:
    """The offered period ``key`` names (the default for none), or None when it is not offered."""
    wanted = (key or "").strip() or DEFAULT_PUBLIC_PERIOD
    return next((p for p in public_periods(today) if p.key == wanted), None)


# -- statistics -------------------------------------------------------------------------------------
@dataclass
class Filters:
    start: dt.date
    end: dt.date
    kind: Optional[str] = None
    agency_code: Optional[str] = None


@dataclass
class Overview:
    filters: Filters
    granularity: str
    total: int = 0
    by_kind: Dict[str, int] = field(default_factory=dict)
    by_category: List[Tuple[str, str, int]] = field(default_factory=list)  # (code, label, count)
    by_state: List[Tuple[str, str, int]] = field(default_factory=list)
    by_agency: List[Tuple[str, str, int]] = field(default_factory=list)
    periods: List[dt.date] = field(default_factory=list)
    created_series: Dict[str, List[int]] = field(default_factory=dict)  # category label -> counts
    agency_series: Dict[str, List[int]] = field(default_factory=dict)
    resolved_series: List[int] = field(default_factory=list)
    median_first_response_hours: Optional[float] = None
    median_resolution_days: Optional[float] = None
    first_response_count: int = 0
    resolution_count: int = 0
    with_due_date: int = 0
    overdue: int = 0
    open_count: int = 0
    open_overdue: int = 0
    rating_count: int = 0
    rating_average: Optional[float] = None
    rating_distribution: Dict[int, int] = field(default_factory=dict)
    by_unit: List["UnitFigures"] = field(default_factory=list)  # a city's comparison of units

    @property
    def overdue_share(self) -> Optional[float]:
        return self.overdue / self.with_due_date if self.with_due_date else None


@dataclass
class UnitFigures:
    """One kecamatan or kelurahan of a city in the comparison of units: tickets created in the
    period and located there (the place reported, the applicant's or citizen's kelurahan, else the
    unit handling it), how long those closed as done took (median, in days, complaints and
    letters alike) and how many of those with a due date kept it (not waiting past it, not
    closed after it: the complement of the overview's overdue share). ``code`` None: placed
    nowhere yet, the city's triage."""

    code: Optional[str]
    name: str
    level: int
    total: int = 0
    with_due_date: int = 0
    late: int = 0
    durations: List[float] = field(default_factory=list, repr=False)

    @property
    def resolved(self) -> int:
        return len(self.durations)

    @property
    def median_resolution_days(self) -> Optional[float]:
        return round(pystats.median(self.durations), 1) if self.durations else None

    @property
    def sla_kept_share(self) -> Optional[float]:
        return (self.with_due_date - self.late) / self.with_due_date if self.with_due_date else None


# Open tickets the office still has to act on: a letter ready for pick-up waits for the citizen.
WAITING_FOR_OFFICE = tuple(
    sorted((states.OPEN_STATES[KIND_COMPLAINT] | states.OPEN_STATES[KIND_LETTER]) - {states.SIAP_DIAMBIL})
)


def _conditions(
    inst: Institution, filters: Filters, extra: Sequence[ColumnElement] = ()
) -> List[ColumnElement]:
    start, end = utc_bounds(inst, filters.start, filters.end)
    conditions: List[ColumnElement] = [Ticket.created_at >= start, Ticket.created_at < end, *extra]
    if filters.kind:
        conditions.append(Ticket.kind == filters.kind)
    if filters.agency_code:
        conditions.append(Ticket.agency_code == filters.agency_code)
    return conditions


def category_label(inst: Institution, kind: str, code: str) -> str:
    if kind == KIND_COMPLAINT:
        category = inst.complaint_categories.get(code)
        return category.label if category else code
    letter = inst.letters.get(code)
    return letter.short_name if letter else code


def overview(
    session: Session,
    inst: Institution,
    filters: Filters,
    *,
    agency_names: Optional[Dict[str, str]] = None,
    now: Optional[dt.datetime] = None,
    scope: Sequence[ColumnElement] = (),
) -> Overview:
    """The period's figures; ``scope`` limits them to the tickets a staff account may see (the
    dashboard's permission rule), none for the public page."""
    granularity = granularity_for(filters.start, filters.end)
    result = Overview(filters=filters, granularity=granularity)
    result.periods = buckets(filters.start, filters.end, granularity)
    index = {period: i for i, period in enumerate(result.periods)}
    agency_names = agency_names or {code: a.name for code, a in inst.agencies.items()}
    where = _conditions(inst, filters, scope)
    day = local_day(session, inst, Ticket.created_at)

    # Created per day x kind x category x agency x outcome (the state, or merged): at most a few
    # thousand groups.
    outcome = case((merging.is_merged(), MERGED), else_=Ticket.state)
    grouped = session.execute(
        select(
            day,
            Ticket.kind,
            Ticket.category,
            Ticket.agency_code,
            outcome,
            func.count(Ticket.id),
            func.count(Ticket.due_date),
        )
        .where(*where)
        .group_by(day, Ticket.kind, Ticket.category, Ticket.agency_code, outcome)
    ).all()
    kinds: Counter = Counter()
    categories: Counter = Counter()
    state_counts: Counter = Counter()
    agency_counts: Counter = Counter()
    series: Dict[str, List[int]] = defaultdict(lambda: [0] * len(result.periods))
    agency_series: Dict[str, List[int]] = defaultdict(lambda: [0] * len(result.periods))
    with_due = 0
    open_count = 0
    for raw_day, kind, category, agency, state, count, dated in grouped:
        count = int(count)
        with_due += int(dated)
        if states.is_open(kind, state):
            open_count += count
        kinds[kind] += count
        categories[(kind, category)] += count
        state_counts[state] += count
        position = index.get(bucket_of(_as_date(raw_day), granularity))
        label = category_label(inst, kind, category)
        if position is not None:
            series[label][position] += count
        if kind == KIND_COMPLAINT and agency:
            agency_counts[agency] += count
            if position is not None:
                agency_series[agency_names.get(agency, agency)][position] += count
    result.total = sum(kinds.values())
    result.by_kind = dict(kinds)
    result.by_category = sorted(
        ((code, category_label(inst, kind, code), n) for (kind, code), n in categories.items()),
        key=lambda item: -item[2],
    )
    order = [
        states.BARU,
        states.DIAJUKAN,
        states.DIVERIFIKASI,
        states.DITERUSKAN,
        states.DIPROSES,
        states.SIAP_DIAMBIL,
        states.SELESAI,
        states.DITOLAK,
        MERGED,
    ]
    labels = {**states.LABELS, MERGED: MERGED_LABEL}
    result.by_state = [(s, labels.get(s, s), state_counts[s]) for s in order if state_counts.get(s)]
    result.by_agency = sorted(
        ((code, agency_names.get(code, code), n) for code, n in agency_counts.items()),
        key=lambda item: -item[2],
    )
    result.created_series = dict(sorted(series.items(), key=lambda kv: -sum(kv[1])))
    result.agency_series = dict(sorted(agency_series.items(), key=lambda kv: -sum(kv[1])))

    # Resolved per period (by the local day of closing, tickets closed as selesai).
    closed_day = local_day(session, inst, Ticket.closed_at)
    start_utc, end_utc = utc_bounds(inst, filters.start, filters.end)
    resolved_where = [
        Ticket.closed_at >= start_utc,
        Ticket.closed_at < end_utc,
        Ticket.state == states.SELESAI,
        *scope,
    ]
    if filters.kind:
        resolved_where.append(Ticket.kind == filters.kind)
    if filters.agency_code:
        resolved_where.append(Ticket.agency_code == filters.agency_code)
    resolved = [0] * len(result.periods)
    for raw_day, count in session.execute(
        select(closed_day, func.count(Ticket.id)).where(*resolved_where).group_by(closed_day)
    ):
        position = index.get(bucket_of(_as_date(raw_day), granularity))
        if position is not None:
            resolved[position] += int(count)
    result.resolved_series = resolved

    # Median time to first staff response: join first, so only this period's histories are read.
    first_at = func.min(StateChange.created_at)
    waits = [
        float(hours)
        for (hours,) in session.execute(
            select(hours_between(session, first_at, Ticket.created_at))
            .join(
                StateChange,
                and_(StateChange.ticket_id == Ticket.id, StateChange.actor.like(f"{STAFF_ACTOR_PREFIX}%")),
            )
            .where(*where)
            .group_by(Ticket.id, Ticket.created_at)
        )
        if hours is not None and hours >= 0
    ]
    result.first_response_count = len(waits)
    result.median_first_response_hours = round(pystats.median(waits), 1) if waits else None

    # Median time to resolution (complaints resolved, created in the period).
    durations = [
        float(hours) / 24
        for (hours,) in session.execute(
            select(hours_between(session, Ticket.closed_at, Ticket.created_at)).where(
                *where,
                Ticket.state == states.SELESAI,
                Ticket.kind == KIND_COMPLAINT,
                Ticket.closed_at.is_not(None),
            )
        )
        if hours is not None
    ]
    result.resolution_count = len(durations)
    result.median_resolution_days = round(pystats.median(durations), 1) if durations else None

    # Overdue share: waiting for the office past the due date, or closed after it.
    today = today_local(inst, now)
    open_overdue = int(
        session.execute(
            select(func.count(Ticket.id)).where(
                *where, Ticket.state.in_(WAITING_FOR_OFFICE), Ticket.due_date < today
            )
        ).scalar_one()
    )
    closed_late = int(
        session.execute(
            select(func.count(Ticket.id)).where(
                *where,
                Ticket.state == states.SELESAI,
                Ticket.closed_at.is_not(None),
                Ticket.due_date.is_not(None),
                local_day(session, inst, Ticket.closed_at) > Ticket.due_date,
            )
        ).scalar_one()
    )
    result.with_due_date = with_due
    result.open_count = open_count
    result.open_overdue = open_overdue
    result.overdue = open_overdue + closed_late

    # Ratings: the reporters' and the supporters'.
    distribution = {value: 0 for value in range(1, 6)}
    for rating, count in session.execute(
        select(Ticket.rating, func.count(Ticket.id))
        .where(*where, Ticket.rating.is_not(None))
        .group_by(Ticket.rating)
    ):
        distribution[int(rating)] += int(count)
    for rating, count in session.execute(
        select(Supporter.rating, func.count(Supporter.id))
        .join(Ticket, Ticket.id == Supporter.ticket_id)
        .where(*where, Supporter.rating.is_not(None))
        .group_by(Supporter.rating)
    ):
        distribution[int(rating)] += int(count)
    result.rating_distribution = distribution
    result.rating_count = sum(distribution.values())
    if result.rating_count:
        result.rating_average = round(sum(k * v for k, v in distribution.items()) / result.rating_count, 2)
    result.by_unit = unit_comparison(session, inst, where, today)
    return result


def unit_comparison(
    session: Session, inst: Institution, where: Sequence[ColumnElement], today: dt.date
) -> List[UnitFigures]:
    """The comparison of a city's units (``UnitFigures``): every kecamatan, each followed by its
    kelurahan that have tickets, then what is placed nowhere. Two grouped queries, whatever the
    number of tickets (a single unit compares nothing: no query)."""
    tree = inst.units
    if tree.single:
        return []
    late = case(
        (and_(Ticket.state.in_(WAITING_FOR_OFFICE), Ticket.due_date < today), 1),
        (
            and_(
                Ticket.state == states.SELESAI,
                Ticket.closed_at.is_not(None),
                Ticket.due_date.is_not(None),
                local_day(session, inst, Ticket.closed_at) > Ticket.due_date,
            ),
            1,
        ),
        else_=0,
    )
    places = (Ticket.kecamatan_code, Ticket.kelurahan_code, Ticket.unit_code)
    figures: Dict[Optional[str], UnitFigures] = {}

    def rows_for(
        kecamatan: Optional[str], kelurahan: Optional[str], unit: Optional[str]
    ) -> List[UnitFigures]:
        """The comparison rows one ticket counts in: its kelurahan and its kecamatan, or triage."""
        found = tree.get(unit) if unit else None
        if kelurahan is None and found is not None and found.level == VILLAGE_LEVEL:
            kelurahan = found.code
        if kecamatan is None and found is not None and found.parent is not None:
            above = tree.kecamatan_of(found.code)
            kecamatan = above.code if above is not None else None
        codes: List[Optional[str]] = [code for code in (kecamatan, kelurahan) if code and code in tree]
        if not codes:
            codes = [None]
        targets = []
        for code in codes:
            if code not in figures:
                known = tree.get(code) if code else None
                figures[code] = UnitFigures(
                    code=known.code if known else None,
                    name=known.title if known else "Belum ditempatkan (triase)",
                    level=known.level if known else 0,
                )
            targets.append(figures[code])
        return targets

    for kecamatan, kelurahan, unit, count, dated, overdue in session.execute(
        select(*places, func.count(Ticket.id), func.count(Ticket.due_date), func.sum(late))
        .where(*where)
        .group_by(*places)
    ):
        for row in rows_for(kecamatan, kelurahan, unit):
            row.total += int(count)
            row.with_due_date += int(dated)
            row.late += int(overdue or 0)
    for kecamatan, kelurahan, unit, hours in session.execute(
        select(*places, hours_between(session, Ticket.closed_at, Ticket.created_at)).where(
            *where, Ticket.state == states.SELESAI, Ticket.closed_at.is_not(None)
        )
    ):
        if hours is not None:
            for row in rows_for(kecamatan, kelurahan, unit):
                row.durations.append(float(hours) / 24)
    ordered: List[UnitFigures] = []
    for kecamatan in tree.at_level(KECAMATAN_LEVEL):
        ordered.append(
            figures.get(kecamatan.code) or UnitFigures(kecamatan.code, kecamatan.title, kecamatan.level)
        )
        ordered.extend(
            figures[child.code] for child in tree.children(kecamatan.code) if child.code in figures
        )
    if None in figures:
        ordered.append(figures[None])
    return ordered


def csv_rows(result: Overview) -> Iterable[List[str]]:
    """The overview as CSV rows (section, key, label, value): aggregates only."""
    yield ["bagian", "kode", "label", "nilai"]
    f = result.filters
    yield ["periode", "mulai", "Mulai", f.start.isoformat()]
    yield ["periode", "selesai", "Selesai", f.end.isoformat()]
    yield ["ringkasan", "total", "Jumlah tiket", str(result.total)]
    for kind, count in sorted(result.by_kind.items()):
        yield ["jenis", kind, "Aduan" if kind == KIND_COMPLAINT else "Surat", str(count)]
    for code, label, count in result.by_category:
        yield ["kategori", code, label, str(count)]
    for code, label, count in result.by_state:
        yield ["status", code, label, str(count)]
    for code, label, count in result.by_agency:
        yield ["opd", code, label, str(count)]
    for i, period in enumerate(result.periods):
        yield [
            "selesai_per_periode",
            period.isoformat(),
            bucket_label(period, result.granularity),
            str(result.resolved_series[i]),
        ]
    for label, values in result.created_series.items():
        for i, period in enumerate(result.periods):
            yield ["masuk_per_periode", period.isoformat(), label, str(values[i])]
    yield [
        "waktu",
        "median_respons_pertama_jam",
        "Median waktu respons pertama (jam)",
        "" if result.median_first_response_hours is None else str(result.median_first_response_hours),
    ]
    yield [
        "waktu",
        "median_penyelesaian_hari",
        "Median waktu penyelesaian (hari)",
        "" if result.median_resolution_days is None else str(result.median_resolution_days),
    ]
    share = result.overdue_share
    yield ["sla", "porsi_terlambat", "Porsi melewati tenggat", "" if share is None else f"{share:.4f}"]
    yield ["sla", "bertenggat", "Tiket dengan tenggat", str(result.with_due_date)]
    yield ["sla", "terlambat", "Tiket melewati tenggat", str(result.overdue)]
    yield ["sla", "masih_terbuka", "Tiket masih terbuka", str(result.open_count)]
    yield ["sla", "terbuka_terlambat", "Tiket terbuka yang terlambat", str(result.open_overdue)]
    yield ["penilaian", "jumlah", "Jumlah penilaian", str(result.rating_count)]
    yield [
        "penilaian",
        "rata_rata",
        "Rata-rata penilaian",
        "" if result.rating_average is None else str(result.rating_average),
    ]
    for value, count in result.rating_distribution.items():
        yield ["penilaian", f"bintang_{value}", f"{value} bintang", str(count)]
    for unit in result.by_unit:
        key = unit.code or "triase"
        median, kept = unit.median_resolution_days, unit.sla_kept_share
        yield ["wilayah_masuk", key, unit.name, str(unit.total)]
        yield ["wilayah_median_hari_selesai", key, unit.name, "" if median is None else str(median)]
        yield ["wilayah_sesuai_tenggat", key, unit.name, "" if kept is None else f"{kept:.4f}"]


# -- daily digest per OPD ---------------------------------------------------------------------------
@dataclass(frozen=True)
class DigestItem:
    number: str
    category: str
    state: str
    due_date: Optional[dt.date]
    days_late: int


@dataclass
class Digest:
    agency_code: str
    agency_name: str
    day: dt.date
    open_count: int = 0
    new_count: int = 0
    resolved_count: int = 0
    reopened_count: int = 0
    overdue: List[DigestItem] = field(default_factory=list)
    due_soon: List[DigestItem] = field(default_factory=list)

    def text(self, inst: Institution, dashboard_url: str = "") -> str:
        lines = [
            f"Ringkasan harian {inst.service_name} — {self.agency_name}",
            f"{format_date(self.day)}",
            "",
            f"Aduan terbuka: {self.open_count}",
            f"Baru diteruskan (24 jam terakhir): {self.new_count}",
            f"Diselesaikan (24 jam terakhir): {self.resolved_count}",
            f"Dibuka kembali oleh warga (24 jam terakhir): {self.reopened_count}",
            f"Melewati tenggat: {len(self.overdue)}",
        ]
        if self.overdue:
            lines += ["", "MELEWATI TENGGAT:"]
            lines += [
                f"- {i.number} ({i.category}), tenggat {format_date(i.due_date)}, terlambat {i.days_late} hari"
                for i in self.overdue[:50]
                if i.due_date
            ]
            if len(self.overdue) > 50:
                lines.append(f"  … dan {len(self.overdue) - 50} lainnya")
        if self.due_soon:
            lines += ["", "TENGGAT DALAM 2 HARI KERJA:"]
            lines += [
                f"- {i.number} ({i.category}), tenggat {format_date(i.due_date)}"
                for i in self.due_soon[:50]
                if i.due_date
            ]
        if dashboard_url:
            lines += ["", f"Buka dasbor: {dashboard_url}"]
        return "\n".join(lines)


FORWARDED_STATES = (states.DITERUSKAN, states.DIPROSES)


def digest(
    session: Session,
    inst: Institution,
    agency_code: str,
    agency_name: str,
    day: dt.date,
    now: Optional[dt.datetime] = None,
) -> Digest:
    """The SLA digest of one OPD for ``day`` (no personal data: numbers and categories only);
    "last 24 hours" counts back from ``now`` (naive UTC, default the current time)."""
    result = Digest(agency_code, agency_name, day)
    base = and_(Ticket.kind == KIND_COMPLAINT, Ticket.agency_code == agency_code)
    result.open_count = int(
        session.execute(
            select(func.count(Ticket.id)).where(base, Ticket.state.in_(FORWARDED_STATES))
        ).scalar_one()
    )
    soon = calendar.add_working_days(inst, day, 2)
    for number, category, state, due in session.execute(
        select(Ticket.number, Ticket.category, Ticket.state, Ticket.due_date)
        .where(
            base, Ticket.state.in_(FORWARDED_STATES), Ticket.due_date.is_not(None), Ticket.due_date <= soon
        )
        .order_by(Ticket.due_date, Ticket.id)
    ):
        item = DigestItem(
            number, category_label(inst, KIND_COMPLAINT, category), state, due, max(0, (day - due).days)
        )
        (result.overdue if due < day else result.due_soon).append(item)
    since = (now or utcnow()) - dt.timedelta(hours=24)
    changes = dict(
        session.execute(
            select(StateChange.to_state, func.count(StateChange.id))
            .join(Ticket, Ticket.id == StateChange.ticket_id)
            .where(
                base,
                StateChange.created_at >= since,
                StateChange.to_state.in_((states.DITERUSKAN, states.SELESAI)),
            )
            .group_by(StateChange.to_state)
        ).all()
    )
    result.new_count = int(changes.get(states.DITERUSKAN, 0))
    result.resolved_count = int(changes.get(states.SELESAI, 0))
    result.reopened_count = int(
        session.execute(
            select(func.count(StateChange.id))
            .join(Ticket, Ticket.id == StateChange.ticket_id)
            .where(
                base,
                StateChange.created_at >= since,
                StateChange.from_state == states.SELESAI,
                StateChange.to_state == states.DIPROSES,
            )
        ).scalar_one()
    )
    return result


def claim_digest(day: dt.date, agency_code: str, content: str, *, url: Optional[str] = None) -> bool:
    """Record today's digest for an OPD; False when another process already did (send nothing)."""
    try:
        with session_scope(url) as session:
            session.add(DigestRun(day=day, agency_code=agency_code, content=content))
            session.flush()
        return True
    except IntegrityError:
        return False


def set_delivered(day: dt.date, agency_code: str, delivered_to: str, *, url: Optional[str] = None) -> None:
    with session_scope(url, write=True) as session:
        row = (
            session.execute(
                select(DigestRun).where(DigestRun.day == day, DigestRun.agency_code == agency_code)
            )
            .scalars()
            .first()
        )
        if row is not None:
            row.delivered_to = delivered_to[:2000]
