"""Open311 GeoReport v2 over the complaint tickets: the services, their definitions, the
requests (public view: ``layanwarga.public_tickets``), a partner's new request, and both wire
formats (XML, required by the spec; JSON, its Spark-convention mapping).

Mapping (README, "Open311 untuk mitra"):
- a service is a complaint category of ``instansi.yml`` (``service_code`` = the category's intent,
  ``group`` = the agency it is routed to); every service has the same optional attributes
  (``rt``, ``rw``, ``kelurahan``, ``anonim``, ``rahasia``), so ``metadata`` is true;
- ``service_request_id`` is the ticket number (``ADU-2026-00042``); ``status`` is ``open`` for
  the open states, ``closed`` for ``selesai`` and ``ditolak``; ``status_notes`` is the state's
  label (staff notes are written to the citizen and may name them);
- a POST creates a ticket through ``tickets.submit_complaint``, numbered, routed and given its
  SLA exactly as a WhatsApp complaint; ``type`` is ``realtime``.
Errors are the spec's array of ``{code, description}``: 404 for an unknown resource, 403 for a
missing or wrong ``api_key``, 400 for everything else (413 for an oversized body).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

from .config import Institution
from .public_tickets import CLOSED, OPEN, PublicTicket

MAX_DESCRIPTION = 4000  # the spec's limit
MAX_FIELD = 500
DEFAULT_WINDOW = dt.timedelta(days=90)  # the spec's default and longest range
MAX_REQUESTS = 1000  # the spec's default query limit
EARTH_RADIUS_KM = 6371.0
YES, NO = "ya", "tidak"


class Open311Error(Exception):
    """One or more errors in the spec's format, with the HTTP status to answer."""

    def __init__(self, status: int, *descriptions: str) -> None:
        super().__init__("; ".join(descriptions))
        self.status = status
        self.descriptions = descriptions

    def body(self) -> List[Dict[str, Any]]:
        return [{"code": self.status, "description": text} for text in self.descriptions]


@dataclass(frozen=True)
class Attribute:
    code: str
    description: str
    datatype: str = "string"
    values: Tuple[Tuple[str, str], ...] = ()
    pattern: Optional[str] = None


ATTRIBUTES: Tuple[Attribute, ...] = (
    Attribute("rt", "Nomor RT lokasi (angka, mis. 3)", pattern=r"\d{1,3}"),
    Attribute("rw", "Nomor RW lokasi (angka, mis. 5)", pattern=r"\d{1,3}"),
    Attribute("kelurahan", "Nama kelurahan/desa lokasi"),
    Attribute(
        "anonim",
        "Sembunyikan identitas pelapor dari instansi dan publik",
        "singlevaluelist",
        ((YES, "Ya, anonim"), (NO, "Tidak")),
    ),
    Attribute(
        "rahasia",
        "Isi laporan tidak ditampilkan kepada publik",
        "singlevaluelist",
        ((YES, "Ya, rahasia"), (NO, "Tidak")),
    ),
)
_ATTRIBUTES = {a.code: a for a in ATTRIBUTES}


# -- services ---------------------------------------------------------------------------------------
def services(inst: Institution) -> List[Dict[str, Any]]:
    result = []
    for code, category in inst.complaint_categories.items():
        agency = inst.agencies.get(category.agency)
        result.append(
            {
                "service_code": code,
                "service_name": category.label,
                "description": f"{category.label}. Ditangani {agency.name if agency else category.agency}; "
                f"target selesai {category.sla_days} hari kerja setelah diverifikasi.",
                "metadata": True,
                "type": "realtime",
                "keywords": category.label.lower(),
                "group": agency.name if agency else category.agency,
            }
        )
    return result


def service_definition(inst: Institution, code: str) -> Dict[str, Any]:
    if code not in inst.complaint_categories:
        raise Open311Error(404, f"service_code {code!r} tidak dikenal.")
    return {
        "service_code": code,
        "attributes": [
            {
                "variable": True,
                "code": a.code,
                "datatype": a.datatype,
                "required": False,
                "datatype_description": None,
                "order": order,
                "description": a.description,
                **({"values": [{"key": k, "name": n} for k, n in a.values]} if a.values else {}),
            }
            for order, a in enumerate(ATTRIBUTES, start=1)
        ],
    }


def discovery(inst: Institution, endpoint_url: str) -> Dict[str, Any]:
    """Service Discovery (required by GeoReport v2): one production endpoint, XML and JSON."""
    try:
        changed = dt.datetime.fromtimestamp(inst.source.stat().st_mtime, dt.timezone.utc)
    except OSError:
        changed = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    changeset = changed.astimezone(inst.timezone).strftime("%Y-%m-%d %H:%M")
    contact = f"{inst.name}, {inst.address}" + (f", telepon {inst.phone}" if inst.phone else "")
    return {
        "changeset": changeset,
        "contact": contact,
        "key_service": f"Kunci API diberikan oleh admin {inst.name} kepada mitra resmi; hubungi {contact}.",
        "endpoints": [
            {
                "specification": "http://wiki.open311.org/GeoReport_v2",
                "url": endpoint_url,
                "changeset": changeset,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }


# -- requests -----------------------------------------------------------------------------------------
def w3_datetime(inst: Institution, moment: Optional[dt.datetime]) -> Optional[str]:
    """A stored (naive UTC) time in the spec's W3C format, with the institution's offset."""
    if moment is None:
        return None
    return moment.replace(tzinfo=dt.timezone.utc).astimezone(inst.timezone).replace(microsecond=0).isoformat()


def _expected(inst: Institution, due: Optional[dt.date]) -> Optional[str]:
    if due is None:
        return None
    return dt.datetime.combine(due, dt.time(23, 59, 59), tzinfo=inst.timezone).isoformat()


def request_entry(inst: Institution, ticket: PublicTicket, extensions: bool = False) -> Dict[str, Any]:
    """One service request in the spec's fields; with ``extensions`` (``?extensions=true``, the
    convention of Chicago's and FixMyStreet's Open311 servers) also ``extended_attributes`` with
    how many citizens follow it besides the reporter."""
    entry: Dict[str, Any] = {
        "service_request_id": ticket.number,
        "status": ticket.status,
        "status_notes": ticket.state_label,
        "service_name": ticket.service_name,
        "service_code": ticket.service_code,
        "description": ticket.description,
        "agency_responsible": ticket.agency_name,
        "service_notice": None,
        "requested_datetime": w3_datetime(inst, ticket.created_at),
        "updated_datetime": w3_datetime(inst, ticket.updated_at),
        "expected_datetime": _expected(inst, ticket.due_date),
        "address": ticket.address,
        "address_id": None,
        "zipcode": None,
        "lat": ticket.latitude,
        "long": ticket.longitude,
        "media_url": None,
    }
    if extensions:
        entry["extended_attributes"] = {"supporter_count": ticket.supporters}
    return entry


def parse_w3(value: str, name: str) -> dt.datetime:
    """A W3C datetime with its zone (``2010-01-01T00:00:00Z``) as naive UTC."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise Open311Error(400, f"{name} harus berformat W3C, mis. 2026-01-01T00:00:00Z.") from None
    if moment.tzinfo is None:
        raise Open311Error(400, f"{name} harus menyertakan zona waktu (Z atau +07:00).")
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None)


def _list(value: Optional[str]) -> List[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


@dataclass(frozen=True)
class RequestQuery:
    numbers: Tuple[str, ...] = ()
    categories: Tuple[str, ...] = ()
    statuses: Tuple[str, ...] = ()
    created_from: Optional[dt.datetime] = None
    created_until: Optional[dt.datetime] = None


def parse_query(args: Mapping[str, str], now: dt.datetime) -> RequestQuery:
    """GET requests' filters (``now``: naive UTC). ``service_request_id`` overrides the others;
    without dates the window is the last 90 days; a range longer than 90 days is refused."""
    numbers = _list(args.get("service_request_id"))
    if numbers:
        return RequestQuery(numbers=tuple(numbers))
    statuses = _list(args.get("status"))
    wrong = [s for s in statuses if s not in (OPEN, CLOSED)]
    if wrong:
        raise Open311Error(400, f"status {wrong[0]!r} tidak dikenal: gunakan open atau closed.")
    start = parse_w3(args["start_date"], "start_date") if args.get("start_date") else None
    end = parse_w3(args["end_date"], "end_date") if args.get("end_date") else None
    if start is None and end is None:
        start, end = now - DEFAULT_WINDOW, None
    elif start is None and end is not None:
        start = end - DEFAULT_WINDOW
    elif start is not None and end is None:
        end = start + DEFAULT_WINDOW
    if start is not None and end is not None:
        if end < start:
            raise Open311Error(400, "end_date lebih awal daripada start_date.")
        if end - start > DEFAULT_WINDOW:
            raise Open311Error(400, "Rentang start_date sampai end_date paling lama 90 hari.")
    return RequestQuery(
        categories=tuple(_list(args.get("service_code"))),
        statuses=tuple(statuses),
        created_from=start,
        created_until=end,
    )


# -- a partner's new request ------------------------------------------------------------------------------
@dataclass(frozen=True)
class NewRequest:
    service_code: str
    description: str
    latitude: Optional[float]
    longitude: Optional[float]
    address: Optional[str]
    reporter_name: Optional[str]
    account_id: Optional[str]
    media_url: Optional[str]
    rt: Optional[str] = None
    rw: Optional[str] = None
    area: Optional[str] = None
    anonymous: bool = False
    confidential: bool = False
    problems: Tuple[str, ...] = field(default=())


def _distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def in_service_area(inst: Institution, latitude: float, longitude: float) -> bool:
    """Inside one of the city's kelurahan when boundaries are configured, else within
    ``publik.area_radius_km`` of the institution's coordinates (anywhere on Earth without them)."""
    if inst.units.boundaries is not None:
        return inst.units.unit_at(latitude, longitude) is not None
    if inst.latitude is None or inst.longitude is None:
        return True
    return _distance_km(inst.latitude, inst.longitude, latitude, longitude) <= inst.public.area_radius_km


def _number(form: Mapping[str, str], name: str, low: float, high: float) -> float:
    try:
        value = float(form[name])
    except ValueError:
        raise Open311Error(
            400, f"{name} harus berupa angka (derajat WGS84), diterima {form[name][:40]!r}."
        ) from None
    if not math.isfinite(value) or not low <= value <= high:
        raise Open311Error(400, f"{name} harus antara {low:g} dan {high:g}.")
    return value


def _clean(value: Optional[str], limit: int = MAX_FIELD) -> Optional[str]:
    text = (value or "").strip()
    return text[:limit] if text else None


def _attributes(form: Mapping[str, str]) -> Dict[str, str]:
    found: Dict[str, str] = {}
    for key, value in form.items():
        match = re.fullmatch(r"attribute\[([^\]]+)\](\[\])?", key)
        if match is None:
            continue
        code = match.group(1)
        attribute = _ATTRIBUTES.get(code)
        if attribute is None:
            raise Open311Error(400, f"attribute[{code}] tidak dikenal (lihat services/{{service_code}}).")
        value = (value or "").strip()
        if attribute.values and value not in {k for k, _ in attribute.values}:
            raise Open311Error(
                400, f"attribute[{code}] harus salah satu dari: {', '.join(k for k, _ in attribute.values)}."
            )
        if attribute.pattern and value and not re.fullmatch(attribute.pattern, value):
            raise Open311Error(400, f"attribute[{code}]: {attribute.description}.")
        if len(value) > MAX_FIELD:
            raise Open311Error(400, f"attribute[{code}] terlalu panjang.")
        found[code] = value
    return found


def parse_new_request(inst: Institution, form: Mapping[str, str]) -> NewRequest:
    """Validate a POST's fields (the key is checked before, by the caller); every problem with
    the location, description and attributes is reported, an unknown service first (404)."""
    code = (form.get("service_code") or "").strip()
    if not code:
        raise Open311Error(400, "service_code wajib diisi.")
    if code not in inst.complaint_categories:
        raise Open311Error(404, f"service_code {code!r} tidak dikenal.")
    problems: List[str] = []
    latitude = longitude = None
    has_lat, has_long = bool((form.get("lat") or "").strip()), bool((form.get("long") or "").strip())
    address = _clean(form.get("address_string"))
    if has_lat != has_long:
        problems.append("lat dan long harus dikirim bersama.")
    elif has_lat:
        try:
            latitude, longitude = _number(form, "lat", -90, 90), _number(form, "long", -180, 180)
        except Open311Error as exc:
            problems.extend(exc.descriptions)
        else:
            if not in_service_area(inst, latitude, longitude):
                problems.append(
                    f"Lokasi (lat {latitude}, long {longitude}) di luar wilayah layanan {inst.name}."
                )
    elif address is None:
        if (form.get("address_id") or "").strip():
            problems.append("address_id tidak didukung: kirim lat & long atau address_string.")
        else:
            problems.append("Lokasi wajib: kirim lat & long atau address_string.")
    description = (form.get("description") or "").strip()
    if not description:
        problems.append("description wajib diisi: apa masalahnya?")
    elif len(description) > MAX_DESCRIPTION:
        problems.append(
            f"description paling banyak {MAX_DESCRIPTION} karakter (diterima {len(description)})."
        )
    media_url = _clean(form.get("media_url"), 1000)
    if media_url and not re.match(r"https?://", media_url):
        problems.append("media_url harus berupa URL http(s).")
    try:
        attributes = _attributes(form)
    except Open311Error as exc:
        problems.extend(exc.descriptions)
        attributes = {}
    if problems:
        raise Open311Error(400, *problems)
    name = " ".join(p for p in (_clean(form.get("first_name"), 100), _clean(form.get("last_name"), 100)) if p)
    return NewRequest(
        service_code=code,
        description=description,
        latitude=latitude,
        longitude=longitude,
        address=address,
        reporter_name=name or None,
        account_id=_clean(form.get("account_id"), 100),
        media_url=media_url,
        rt=attributes.get("rt") or None,
        rw=attributes.get("rw") or None,
        area=attributes.get("kelurahan") or None,
        anonymous=attributes.get("anonim") == YES,
        confidential=attributes.get("rahasia") == YES,
    )


# -- wire formats ---------------------------------------------------------------------------------------
FORMATS = ("json", "xml")
CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
# XML roots and the element each list item becomes (the spec's examples).
ROOTS = {"services": "service", "service_requests": "request", "errors": "error"}
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _XML_INVALID.sub("", str(value))


def _append(parent: ET.Element, name: str, value: Any) -> None:
    element = ET.SubElement(parent, name)
    if isinstance(value, dict):
        for key, item in value.items():
            _append(element, key, item)
    elif isinstance(value, list):
        child = {"attributes": "attribute", "values": "value"}.get(name, name.rstrip("s"))
        for item in value:
            _append(element, child, item)
    elif value is not None:
        element.text = _xml_text(value)


def render(fmt: str, root: str, payload: Any) -> str:
    """``payload`` (a list for ``services``/``service_requests``/``errors``, a mapping for
    ``service_definition``) in ``fmt``."""
    if fmt == "json":
        return json.dumps(payload, ensure_ascii=False)
    element = ET.Element(root)
    if isinstance(payload, list):
        for item in payload:
            _append(element, ROOTS[root], item)
    else:
        for key, value in payload.items():
            _append(element, key, value)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(element, encoding="unicode")


def split_format(resource: str) -> Tuple[str, str]:
    """``"ADU-2026-00001.json"`` -> (``"ADU-2026-00001"``, ``"json"``); an unknown format is a 400."""
    name, dot, fmt = resource.rpartition(".")
    if not dot or fmt not in FORMATS:
        raise Open311Error(400, "Format tidak dikenal: akhiri alamat dengan .json atau .xml.")
    return name, fmt


def errors_format(path: str) -> str:
    """The format an error is answered in: the one the URL asks for, XML (the spec's) otherwise."""
    return "json" if path.endswith(".json") else "xml"
