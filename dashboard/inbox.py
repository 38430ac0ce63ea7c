"""The ticket inbox query: filters, search, sorting and keyset pagination.

Keyset ("seek") pagination on (sort column, id) keeps every page as fast as the first at 100,000
tickets: each page is an index range scan of ``page_size + 1`` rows, never an OFFSET that reads
and throws away the pages before it. The total is counted up to a cap (10,000), which is what a
person can use anyway ("10.000+").
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from sqlalchemy import and_, exists, func, or_, select, tuple_
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from layanwarga import numbering, staff_units, states
from layanwarga.config import Institution
from layanwarga.models import KIND_COMPLAINT, KIND_LETTER, Citizen, StaffUser, StateChange, Ticket
from layanwarga.staff import ROLE_ADMIN, ROLE_LETTERS, ROLE_OPD
from layanwarga.stats import utc_bounds

from . import permissions
from .security import is_city_admin

COUNT_CAP = 10000
SORTS = {
    "terbaru": ("created_at", True),
    "terlama": ("created_at", False),
    "tenggat": ("due_date", False),
    "diperbarui": ("updated_at", True),
    "dukungan": ("supporter_count", True),
}
SORT_LABELS = {
    "terbaru": "Terbaru masuk",
    "terlama": "Terlama masuk",
    "tenggat": "Tenggat terdekat",
    "diperbarui": "Terakhir diperbarui",
    "dukungan": "Paling banyak didukung warga",
}
# The inbox opens on the work still to do; "semua" shows closed and rejected tickets too.
OPEN_FILTER = "terbuka"
ALL_FILTER = "semua"
# Overdue: open past the due date (a letter ready for pickup has met its deadline).
OVERDUE_STATES = tuple(
    sorted((states.OPEN_STATES[KIND_COMPLAINT] | states.OPEN_STATES[KIND_LETTER]) - {states.SIAP_DIAMBIL})
)
ALL_OPEN_STATES = tuple(sorted(states.OPEN_STATES[KIND_COMPLAINT] | states.OPEN_STATES[KIND_LETTER]))
CLOSED_STATES = tuple(sorted(set(states.LABELS) - set(ALL_OPEN_STATES)))


@dataclass
class Filters:
    kind: str = ""
    state: str = ""
    category: str = ""
    agency: str = ""
    overdue: bool = False
    date_from: Optional[dt.date] = None
    date_to: Optional[dt.date] = None
    q: str = ""
    unit: str = ""  # a kecamatan or kelurahan of the city's tree (its tickets: ``permissions.in_area``)
    sort: str = "terbaru"
    after: str = ""
    before: str = ""
    errors: List[str] = field(default_factory=list)

    def params(self, **changes: Any) -> Dict[str, str]:
        """Query-string parameters for links (filters kept, cursors replaced)."""
        values = {
            "jenis": self.kind,
            "status": self.state if self.state != OPEN_FILTER else "",
            "kategori": self.category,
            "opd": self.agency,
            "terlambat": "1" if self.overdue else "",
            "dari": self.date_from.isoformat() if self.date_from else "",
            "sampai": self.date_to.isoformat() if self.date_to else "",
            "q": self.q,
            "wilayah": self.unit,
            "urut": self.sort if self.sort != "terbaru" else "",
        }
        values.update(changes)
        return {k: v for k, v in values.items() if v}


def _date(value: str, errors: List[str], label: str) -> Optional[dt.date]:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        errors.append(f"Tanggal {label} tidak valid (gunakan format TTTT-BB-HH).")
        return None


def parse_filters(args: Mapping[str, str], user: StaffUser) -> Filters:
    errors: List[str] = []
    f = Filters(
        kind=(args.get("jenis") or "").strip(),
        state=(args.get("status") if args.get("status") is not None else OPEN_FILTER).strip() or ALL_FILTER,
        category=(args.get("kategori") or "").strip(),
        agency=(args.get("opd") or "").strip(),
        overdue=(args.get("terlambat") or "") == "1",
        date_from=_date((args.get("dari") or "").strip(), errors, "awal"),
        date_to=_date((args.get("sampai") or "").strip(), errors, "akhir"),
        q=(args.get("q") or "").strip()[:100],
        unit=(args.get("wilayah") or "").strip()[:20],
        sort=(args.get("urut") or "terbaru").strip(),
        after=(args.get("setelah") or "").strip(),
        before=(args.get("sebelum") or "").strip(),
        errors=errors,
    )
    if f.kind not in ("", KIND_COMPLAINT, KIND_LETTER):
        f.kind = ""
    if f.state not in (OPEN_FILTER, ALL_FILTER) and f.state not in states.LABELS:
        f.state = OPEN_FILTER
    if f.sort not in SORTS:
        f.sort = "terbaru"
    # Roles see one kind only; their filter follows.
    if user.role == ROLE_OPD:
        f.kind, f.agency = KIND_COMPLAINT, ""
    elif user.role == ROLE_LETTERS:
        f.kind, f.agency = KIND_LETTER, ""
    if f.date_from and f.date_to and f.date_from > f.date_to:
        errors.append("Tanggal awal lebih besar dari tanggal akhir.")
        f.date_from, f.date_to = f.date_to, f.date_from
    return f


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_condition(inst: Institution, user: StaffUser, q: str) -> ColumnElement:
    """Search by number (typed loosely), name or text. OPD staff never find an anonymous
    report by its reporter's name; only admins and letter clerks search by phone."""
    prefixes = ["ADU"] + [letter.prefix for letter in inst.letters.values()]
    number = numbering.normalise(q, prefixes)
    if number:
        return Ticket.number == number
    pattern = f"%{_escape_like(q)}%"
    text_match = or_(
        Ticket.number.ilike(pattern, escape="\\"),
        Ticket.description.ilike(pattern, escape="\\"),
        Ticket.location_text.ilike(pattern, escape="\\"),
        Ticket.purpose.ilike(pattern, escape="\\"),
    )
    names = or_(
        Ticket.reporter_name.ilike(pattern, escape="\\"), Ticket.applicant_name.ilike(pattern, escape="\\")
    )
    if is_city_admin(user):  # the only role that sees anonymous reporters' names
        name_match: ColumnElement = names
    else:
        name_match = and_(Ticket.is_anonymous.is_(False), names)
    conditions = [text_match, name_match]
    digits = "".join(ch for ch in q if ch.isdigit())
    if (
        user.role in (ROLE_ADMIN, ROLE_LETTERS)
        and len(digits) >= 6
        and len(digits) == len(q.replace(" ", "").lstrip("+"))
    ):
        phone = digits[1:] if digits.startswith("0") else digits
        conditions.append(Ticket.citizen.has(Citizen.wa_id.like(f"%{_escape_like(phone)}", escape="\\")))
    return or_(*conditions)


def conditions(
    session: Session, inst: Institution, user: StaffUser, f: Filters, today: dt.date
) -> List[ColumnElement]:
    where = list(permissions.scope(user))
    if f.kind:
        where.append(Ticket.kind == f.kind)
    if f.state == OPEN_FILTER:
        where.append(Ticket.state.in_(ALL_OPEN_STATES))
    elif f.state != ALL_FILTER:
        where.append(Ticket.state == f.state)
    if f.category:
        where.append(Ticket.category == f.category)
    if f.agency:
        where.append(Ticket.agency_code == f.agency)
    if f.overdue:
        where.append(Ticket.state.in_(OVERDUE_STATES))
        where.append(Ticket.due_date < today)
    if f.date_from or f.date_to:
        start, end = utc_bounds(inst, f.date_from or dt.date(2000, 1, 1), f.date_to or dt.date(2100, 1, 1))
        if f.date_from:
            where.append(Ticket.created_at >= start)
        if f.date_to:
            where.append(Ticket.created_at < end)
    if f.q:
        where.append(search_condition(inst, user, f.q))
    if f.unit:
        where.extend(unit_condition(inst, f))
    if f.sort == "tenggat":
        where.append(Ticket.due_date.is_not(None))
    return where


def unit_condition(inst: Institution, f: Filters) -> List[ColumnElement]:
    """The tickets of the kecamatan or kelurahan chosen in the filter (handled there or located
    there, as an account of that unit sees them); within the viewer's scope, which stays. An
    unknown code is said and ignored."""
    tree = inst.units
    if f.unit not in tree:
        f.errors.append("Wilayah tidak dikenal; filter wilayah diabaikan.")
        f.unit = ""
        return []
    codes = staff_units.area_of(tree, f.unit)
    return [] if codes is None else [permissions.in_area(codes)]


def unit_filter_choices(inst: Institution, user: StaffUser) -> List[Tuple[str, str]]:
    """The kecamatan and kelurahan the viewer can filter by: the city's tree within the
    account's own area (none for a single unit, or an account of one kelurahan)."""
    tree = inst.units
    if tree.single:
        return []
    own = permissions.area(user)
    choices = [
        (code, label)
        for code, label in staff_units.unit_choices(tree)
        if code and (own is None or code in own)
    ]
    return choices if len(choices) > 1 else []


# -- cursors ----------------------------------------------------------------------------------------
def encode_cursor(value: Any, ticket_id: int) -> str:
    if isinstance(value, (dt.datetime, dt.date)):
        value = value.isoformat()
    raw = json.dumps([value, ticket_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, column: str) -> Optional[Tuple[Any, int]]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, ticket_id = json.loads(raw)
        if column == "due_date":
            value = dt.date.fromisoformat(value)
        elif column == "supporter_count":
            value = int(value)
        else:
            value = dt.datetime.fromisoformat(value)
        return value, int(ticket_id)
    except (ValueError, TypeError, json.JSONDecodeError):
        return None


def reopened() -> ColumnElement:
    """The ticket was closed once and opened again (a resolved complaint the citizen or staff
    reopened): its history has a move from a closed state back to an open one."""
    return exists().where(
        StateChange.ticket_id == Ticket.id,
        StateChange.from_state.in_(CLOSED_STATES),
        StateChange.to_state.in_(ALL_OPEN_STATES),
    )


LIST_COLUMNS = (
    Ticket.id,
    Ticket.number,
    Ticket.kind,
    Ticket.category,
    Ticket.state,
    Ticket.agency_code,
    Ticket.due_date,
    Ticket.created_at,
    Ticket.updated_at,
    Ticket.is_anonymous,
    Ticket.reporter_name,
    Ticket.applicant_name,
    Ticket.description,
    Ticket.purpose,
    Ticket.rating,
    Ticket.area,
    Ticket.rt,
    Ticket.rw,
    Ticket.supporter_count,
    Ticket.unit_code,
    Ticket.kelurahan_code,
    reopened().label("reopened"),
)


@dataclass
class Page:
    rows: List[Any]
    total: int
    capped: bool
    next_cursor: Optional[str]
    prev_cursor: Optional[str]


def fetch(
    session: Session,
    inst: Institution,
    user: StaffUser,
    f: Filters,
    today: dt.date,
    page_size: int = 50,
    *,
    count: bool = True,
) -> Page:
    where = conditions(session, inst, user, f, today)
    column_name, descending = SORTS[f.sort]
    column = getattr(Ticket, column_name)
    key = tuple_(column, Ticket.id)
    backwards = bool(f.before) and not f.after
    cursor = decode_cursor(f.before if backwards else f.after, column_name) if (f.before or f.after) else None
    query = select(*LIST_COLUMNS).where(*where)
    # Walking backwards flips both the comparison and the order, then the rows are reversed.
    forward_desc = descending != backwards
    if cursor is not None:
        query = query.where(key < tuple_(*cursor) if forward_desc else key > tuple_(*cursor))
    order = (column.desc(), Ticket.id.desc()) if forward_desc else (column.asc(), Ticket.id.asc())
    rows = list(session.execute(query.order_by(*order).limit(page_size + 1)).all())
    more = len(rows) > page_size
    rows = rows[:page_size]
    if backwards:
        rows.reverse()
    next_cursor = prev_cursor = None
    if rows:
        first, last = rows[0], rows[-1]
        if (more and not backwards) or (backwards and cursor is not None):
            next_cursor = encode_cursor(getattr(last, column_name), last.id)
        if (cursor is not None and not backwards) or (backwards and more):
            prev_cursor = encode_cursor(getattr(first, column_name), first.id)
    total, capped = 0, False
    if count:
        limited = select(Ticket.id).where(*where).limit(COUNT_CAP + 1).subquery()
        total = int(session.execute(select(func.count()).select_from(limited)).scalar_one())
        capped = total > COUNT_CAP
        total = min(total, COUNT_CAP)
    return Page(rows, total, capped, next_cursor, prev_cursor)


def all_rows(
    session: Session, inst: Institution, user: StaffUser, f: Filters, today: dt.date, limit: int = 100000
) -> Sequence[Any]:
    """Every row matching the filters (CSV export), newest first, streamed in order."""
    where = conditions(session, inst, user, f, today)
    column_name, descending = SORTS[f.sort]
    column = getattr(Ticket, column_name)
    order = (column.desc(), Ticket.id.desc()) if descending else (column.asc(), Ticket.id.asc())
    return session.execute(
        select(*LIST_COLUMNS, Ticket.closed_at, Ticket.kecamatan_code)
        .where(*where)
        .order_by(*order)
        .limit(limit)
        .execution_options(yield_per=2000)
    )
