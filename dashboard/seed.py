"""Generated demo data: ``python -m dashboard seed --tickets 100000``.

Realistic-looking complaints and letter requests spread over the last two years, each with a
consistent history (states in order, staff actors, closing times), due dates from the
institution's SLA configuration, ratings for some resolved complaints, and numbers that never
collide with real ones (each prefix-year continues from its counter, which is moved past the
seeded numbers). Inserted in bulk (executemany per batch), so 100,000 tickets take well under a
minute on SQLite or PostgreSQL. For demos and benchmarks only: never on a production database.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections import defaultdict
from typing import Any, Dict, List, Optional, Tuple

from sqlalchemy import func, insert, select, text

from layanwarga import calendar, numbering, states
from layanwarga.config import Institution, get_institution
from layanwarga.db import session_scope
from layanwarga.models import KIND_COMPLAINT, KIND_LETTER, Citizen, NumberCounter, StateChange, Ticket

logger = logging.getLogger(__name__)

FIRST_NAMES = (
    "Siti",
    "Budi",
    "Agus",
    "Dewi",
    "Rina",
    "Ahmad",
    "Yusuf",
    "Putri",
    "Nur",
    "Eko",
    "Sri",
    "Andi",
    "Rudi",
    "Fitri",
    "Hendra",
    "Maria",
    "Yohanes",
    "Lestari",
    "Bayu",
    "Wulan",
    "Dimas",
    "Intan",
)
LAST_NAMES = (
    "Aminah",
    "Santoso",
    "Saputra",
    "Lestari",
    "Wijaya",
    "Hidayat",
    "Pratama",
    "Sari",
    "Nugroho",
    "Kurniawan",
    "Rahayu",
    "Siregar",
    "Simanjuntak",
    "Tambunan",
    "Ngabut",
    "Dohong",
    "Anggen",
)
STREETS = (
    "Jl. Tjilik Riwut",
    "Jl. Ahmad Yani",
    "Jl. Diponegoro",
    "Jl. RTA Milono",
    "Jl. G. Obos",
    "Jl. Kinibalu",
    "Jl. Seth Adji",
    "Jl. Beliang",
    "Jl. Temanggung Tilung",
    "Jl. Rajawali",
    "Jl. Mahir Mahar",
)
DESCRIPTIONS = {
    "lapor_jalan_rusak": (
        "Jalan berlubang besar, sudah ada motor jatuh",
        "Aspal mengelupas sepanjang 50 meter",
        "Jembatan kayu di gang mulai lapuk",
        "Paving block amblas depan sekolah",
    ),
    "lapor_lampu_padam": (
        "Lampu jalan mati sudah seminggu, gelap sekali malam hari",
        "PJU berkedip terus",
        "Tiang lampu miring mau roboh",
        "Tiga lampu berturut-turut padam",
    ),
    "lapor_sampah": (
        "Sampah tidak diangkut sudah 5 hari",
        "TPS penuh sampai ke jalan",
        "Ada pembuangan sampah liar di lahan kosong",
    ),
    "lapor_banjir": (
        "Selokan tersumbat, air meluap ke rumah warga",
        "Banjir setinggi lutut tiap hujan",
        "Gorong-gorong tertutup sampah",
    ),
    "lapor_pelayanan": (
        "Pelayanan KTP lambat sekali, sudah 3 minggu",
        "Petugas loket tidak ramah",
        "Diminta biaya tambahan tanpa kuitansi",
    ),
    "lapor_ketertiban": (
        "Balap liar tiap malam minggu",
        "Parkir liar menutup jalan",
        "Suara musik keras sampai tengah malam",
    ),
    "lapor_sosial": (
        "Ada lansia tinggal sendiri tidak terurus",
        "Keluarga miskin belum dapat bantuan",
        "Ada ODGJ berkeliaran di pasar",
    ),
    "sampaikan_aspirasi": (
        "Mohon dibangun taman bermain anak",
        "Usul pelatihan UMKM untuk ibu-ibu",
        "Mohon tambah tempat sampah di pasar",
    ),
}


def _name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def _nik(rng: random.Random, born: dt.date, female: bool) -> str:
    day = born.day + (40 if female else 0)
    return f"627101{day:02d}{born.month:02d}{born.year % 100:02d}{rng.randint(1, 9999):04d}"


class _DueCache:
    def __init__(self, inst: Institution) -> None:
        self.inst = inst
        self.cache: Dict[Tuple[dt.date, int], dt.date] = {}

    def __call__(self, day: dt.date, days: int) -> dt.date:
        key = (day, days)
        if key not in self.cache:
            try:
                self.cache[key] = calendar.add_working_days(self.inst, day, days)
            except ValueError:
                # No holiday data for that year (lokal-id covers recent years only): weekdays.
                result, left = day, days
                while left:
                    result += dt.timedelta(days=1)
                    if result.weekday() < 5:
                        left -= 1
                self.cache[key] = result
        return self.cache[key]


def _lifecycle(
    rng: random.Random,
    kind: str,
    created: dt.datetime,
    now: dt.datetime,
    category: str,
    agencies: List[str],
    routed: str,
) -> Tuple[List[Tuple[str, str, dt.datetime, Optional[str]]], str]:
    """(to_state, actor, at, note) steps after creation, stopping at ``now``; and the agency."""
    steps: List[Tuple[str, str, dt.datetime, Optional[str]]] = []
    at = created
    agency = routed
    opd_actor = f"staf:opd_{agency.lower()}"

    def step(state: str, actor: str, hours: Tuple[float, float], note: Optional[str] = None) -> bool:
        nonlocal at
        at = at + dt.timedelta(hours=rng.uniform(*hours))
        if at > now:
            return False
        steps.append((state, actor, at, note))
        return True

    if kind == KIND_COMPLAINT:
        if not step(states.DIVERIFIKASI, "staf:admin_demo", (0.3, 30)):
            return steps, agency
        if rng.random() < 0.05:
            step(states.DITOLAK, "staf:admin_demo", (0.1, 4), "Laporan di luar kewenangan pemerintah kota.")
            return steps, agency
        if rng.random() < 0.08:
            agency = rng.choice(agencies)
            opd_actor = f"staf:opd_{agency.lower()}"
        if not step(states.DITERUSKAN, "staf:admin_demo", (0.2, 20)):
            return steps, agency
        if rng.random() < 0.05:
            return steps, agency  # stalls at the OPD
        if not step(states.DIPROSES, opd_actor, (1, 72), "Tim sudah dijadwalkan ke lokasi."):
            return steps, agency
        if not step(states.SELESAI, opd_actor, (4, 24 * 14), "Sudah ditangani oleh petugas lapangan."):
            return steps, agency
    else:
        if not step(states.DIVERIFIKASI, "staf:surat_demo", (0.3, 24)):
            return steps, agency
        if rng.random() < 0.05:
            step(states.DITOLAK, "staf:surat_demo", (0.1, 2), "Foto KK tidak terbaca, mohon kirim ulang.")
            return steps, agency
        if not step(states.SIAP_DIAMBIL, "staf:surat_demo", (1, 48)):
            return steps, agency
        step(states.SELESAI, "staf:surat_demo", (2, 24 * 5))
    return steps, agency


def seed(
    tickets: int, *, days: int = 300, seed_value: int = 8, batch: int = 5000, url: Optional[str] = None
) -> Dict[str, int]:
    """Insert ``tickets`` generated tickets (and their citizens and histories)."""
    inst = get_institution()
    rng = random.Random(seed_value)
    now = dt.datetime.utcnow().replace(microsecond=0)
    due = _DueCache(inst)
    categories = list(inst.complaint_categories)
    letters = list(inst.letters)
    agency_codes = list(inst.agencies)
    citizens_wanted = max(10, tickets // 4)

    with session_scope(url) as session:
        citizen_start = int(session.execute(select(func.coalesce(func.max(Citizen.id), 0))).scalar_one()) + 1
        ticket_start = int(session.execute(select(func.coalesce(func.max(Ticket.id), 0))).scalar_one()) + 1
        change_start = (
            int(session.execute(select(func.coalesce(func.max(StateChange.id), 0))).scalar_one()) + 1
        )
        counters = {
            (c.prefix, c.year): c.last_value for c in session.execute(select(NumberCounter)).scalars()
        }
        existing_phones = set(
            session.execute(select(Citizen.wa_id).where(Citizen.wa_id.like("62899%"))).scalars()
        )

    # Citizens: phones in a demo range (62899...), unique.
    citizen_rows: List[Dict[str, Any]] = []
    phones = set(existing_phones)
    for i in range(citizens_wanted):
        while True:
            phone = f"62899{rng.randint(0, 99_999_999):08d}"
            if phone not in phones:
                phones.add(phone)
                break
        created = now - dt.timedelta(days=days, hours=rng.uniform(0, 24))
        citizen_rows.append(
            {
                "id": citizen_start + i,
                "wa_id": phone,
                "user_id": None,
                "profile_name": _name(rng),
                "last_inbound_at": now - dt.timedelta(hours=rng.uniform(1, 24 * 60)),
                "created_at": created,
                "updated_at": created,
            }
        )

    # Tickets in creation order, so numbers grow with time.
    created_times = sorted(now - dt.timedelta(seconds=rng.uniform(0, days * 86400)) for _ in range(tickets))
    sequence: Dict[Tuple[str, int], int] = defaultdict(int)
    ticket_rows: List[Dict[str, Any]] = []
    change_rows: List[Dict[str, Any]] = []
    change_id = change_start
    for i, created in enumerate(created_times):
        created = created.replace(microsecond=0)
        local_day = calendar.now_local(inst, created.replace(tzinfo=dt.timezone.utc)).date()
        citizen = citizen_rows[rng.randrange(len(citizen_rows))]
        kind = KIND_COMPLAINT if rng.random() < 0.8 else KIND_LETTER
        tid = ticket_start + i
        if kind == KIND_COMPLAINT:
            category = rng.choice(categories)
            spec = inst.complaint_categories[category]
            prefix = numbering.COMPLAINT_PREFIX
            due_date = due(local_day, inst.verification_days + spec.sla_days)
            routed = spec.agency
        else:
            category = rng.choice(letters)
            prefix = inst.letters[category].prefix
            due_date = due(local_day, max(1, inst.letters[category].processing_days))
            routed = None
        key = (prefix, local_day.year)
        if key not in sequence:
            sequence[key] = counters.get(key, 0)
        sequence[key] += 1
        if sequence[key] >= 10**numbering.SEQUENCE_DIGITS:
            raise RuntimeError(f"too many tickets for {prefix}-{local_day.year}; use more --days")
        steps, agency = _lifecycle(rng, kind, created, now, category, agency_codes, routed or "")
        state = steps[-1][0] if steps else states.INITIAL_STATE[kind]
        closed = steps[-1][2] if steps and not states.is_open(kind, state) else None
        name = _name(rng)
        anonymous = kind == KIND_COMPLAINT and rng.random() < 0.1
        row: Dict[str, Any] = {
            "id": tid,
            "number": numbering.format_number(prefix, local_day.year, sequence[key]),
            "kind": kind,
            "category": category,
            "state": state,
            "citizen_id": citizen["id"],
            "reporter_name": citizen["profile_name"],
            "description": None,
            "location_text": None,
            "latitude": None,
            "longitude": None,
            "rt": str(rng.randint(1, 20)),
            "rw": str(rng.randint(1, 8)),
            "area": "Langkai",
            "is_anonymous": anonymous,
            "is_confidential": kind == KIND_COMPLAINT and rng.random() < 0.03,
            "agency_code": agency or None,
            "due_date": due_date,
            "applicant_name": None,
            "applicant_nik": None,
            "applicant_address": None,
            "applicant_phone": None,
            "on_behalf": False,
            "relationship_to_sender": None,
            "purpose": None,
            "details": {},
            "resolution_note": None,
            "rejection_reason": None,
            "rating": None,
            "idempotency_key": None,
            "created_at": created,
            "updated_at": steps[-1][2] if steps else created,
            "closed_at": closed,
        }
        if kind == KIND_COMPLAINT:
            row["description"] = rng.choice(DESCRIPTIONS.get(category, ("Mohon ditindaklanjuti",)))
            row["location_text"] = f"{rng.choice(STREETS)} RT {row['rt']} RW {row['rw']}"
            if rng.random() < 0.6:
                row["latitude"] = -2.2096 + rng.uniform(-0.03, 0.03)
                row["longitude"] = 113.9135 + rng.uniform(-0.03, 0.03)
            if state == states.SELESAI:
                row["resolution_note"] = steps[-1][3]
                if rng.random() < 0.6:
                    row["rating"] = rng.choices((1, 2, 3, 4, 5), weights=(3, 5, 15, 40, 37))[0]
        else:
            born = dt.date(rng.randint(1950, 2004), rng.randint(1, 12), rng.randint(1, 28))
            row.update(
                {
                    "applicant_name": name,
                    "applicant_nik": _nik(rng, born, rng.random() < 0.5),
                    "applicant_address": f"{rng.choice(STREETS)} No. {rng.randint(1, 150)}",
                    "applicant_phone": "08" + "".join(str(rng.randint(0, 9)) for _ in range(10)),
                    "purpose": rng.choice(inst.letters[category].purposes),
                }
            )
        if state == states.DITOLAK:
            row["rejection_reason"] = steps[-1][3]
        ticket_rows.append(row)
        previous = None
        first_note = (
            "Laporan diterima melalui WhatsApp."
            if kind == KIND_COMPLAINT
            else "Permohonan diajukan melalui WhatsApp."
        )
        for to_state, actor, at, note in [(states.INITIAL_STATE[kind], "warga", created, first_note)] + steps:
            change_rows.append(
                {
                    "id": change_id,
                    "ticket_id": tid,
                    "from_state": previous,
                    "to_state": to_state,
                    "actor": actor,
                    "note": note,
                    "created_at": at,
                }
            )
            change_id += 1
            previous = to_state

    table_rows = ((Citizen, citizen_rows), (Ticket, ticket_rows), (StateChange, change_rows))
    for model, rows in table_rows:
        for start in range(0, len(rows), batch):
            with session_scope(url) as session:
                session.execute(insert(model.__table__), rows[start : start + batch])
        logger.info("Seeded %d %s", len(rows), model.__tablename__)

    with session_scope(url, write=True) as session:
        for (prefix, year), value in sequence.items():
            counter = session.get(NumberCounter, {"prefix": prefix, "year": year})
            if counter is None:
                session.add(NumberCounter(prefix=prefix, year=year, last_value=value))
            elif counter.last_value < value:
                counter.last_value = value
        if session.get_bind().dialect.name == "postgresql":
            for table in ("citizens", "tickets", "state_changes"):
                session.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM {table}))"
                    )
                )
    # Fresh planner statistics, so the first queries on the new rows use the right indexes.
    with session_scope(url) as session:
        session.execute(text("ANALYZE"))
    return {"citizens": len(citizen_rows), "tickets": len(ticket_rows), "state_changes": len(change_rows)}
