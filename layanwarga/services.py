"""The service catalogue's rules: what a valid service is, drafts and publishing with an editor and
date on each change, withdrawing a published service, reading what is published, who may edit
what, and importing a starting set from YAML or CSV.

A service belongs to an office (OPD) and, in a city, optionally to a unit of its tree (a
kelurahan's own service, a kecamatan's PATEN service). A single-unit deployment has no units:
its services belong to offices only, whatever a file says.

Every writer (the importer, the dashboard editor) goes through ``save_draft``, ``publish`` and
``withdraw``, so validation and history are written once here. Tables:
``layanwarga/models/services.py``.
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, FrozenSet, Iterable, List, Mapping, Optional, Sequence, Set, Tuple, Union

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .models import Service, ServiceAgency, ServiceQuestion, ServiceRevision, utcnow
from .models.services import (
    AGENCY_CODE_MAX,
    QUESTION_TEXT_MAX,
    REVISION_DRAFT,
    REVISION_PUBLISHED,
    REVISION_SUPERSEDED,
    REVISION_WITHDRAWN,
    SERVICE_CODE_MAX,
)
from .redaction import mask_identifiers
from .staff_units import area_of
from .units import UnitTree

logger = logging.getLogger(__name__)

FREE_WORDS = frozenset({"gratis", "0", "tidak dipungut biaya", "free"})
# A fee computed per case (a tax rate, a levy per square metre): allowed only with a note saying how.
COMPUTED_FEE = "dihitung"
NAME_MAX = 200
ALIASES_MAX = 40
REASON_MAX = 500
_CODE = re.compile(rf"^[a-z0-9][a-z0-9_-]{{0,{SERVICE_CODE_MAX - 1}}}$")
_AGENCY_CODE = re.compile(rf"^[a-z0-9][a-z0-9_-]{{0,{AGENCY_CODE_MAX - 1}}}$")
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
_RUPIAH = re.compile(r"^(?:rp\.?\s*)?(\d{1,3}(?:[.,]\d{3})+|\d+)(?:,-|,00|\.00)?$", re.IGNORECASE)


class InvalidService(ValueError):
    """A service's content that cannot be saved; ``errors`` names each field with its reason in
    Indonesian, as the editor shows it next to the field."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{key}: {reason}" for key, reason in errors.items()))
        self.errors = dict(errors)


@dataclass(frozen=True)
class ServiceContent:
    """What an editor writes about one service (one revision)."""

    name: str
    purpose: str
    requirements: Tuple[str, ...]
    processing_time: str
    place: str
    aliases: Tuple[str, ...] = ()
    steps: Tuple[str, ...] = ()
    fee_amount: Optional[int] = 0
    fee_note: str = ""
    legal_basis: str = ""
    hours: str = ""
    online_url: str = ""
    contact: str = ""

    @property
    def fee_text(self) -> str:
        """The fee as citizens read it."""
        if self.fee_amount is None:
            return self.fee_note
        amount = "Gratis" if self.fee_amount == 0 else "Rp" + f"{self.fee_amount:,}".replace(",", ".")
        return f"{amount} ({self.fee_note})" if self.fee_note else amount


@dataclass(frozen=True)
class PublishedService:
    """A published service with its office: what search, WhatsApp and the public page read."""

    code: str
    agency_code: str
    agency_name: str
    agency_short_name: str
    letter_code: Optional[str]
    revision: int
    published_at: Optional[dt.datetime]
    content: ServiceContent
    # The unit of the city's tree that offers it, and that unit's title ("Kelurahan Langkai").
    unit_code: Optional[str] = None
    unit_name: str = ""

    @property
    def office(self) -> str:
        """Who offers it, as citizens read it: the office, and the unit when it has one and the
        office's name does not say it already ("Kantor Kelurahan Langkai")."""
        return _with_unit(self.agency_name, self.unit_name, ", ")

    @property
    def office_short(self) -> str:
        return _with_unit(self.agency_short_name, self.unit_name, " · ")


def _with_unit(office: str, unit_name: str, separator: str) -> str:
    if not unit_name or unit_name.casefold() in office.casefold():
        return office
    return f"{office}{separator}{unit_name}"


@dataclass
class ImportReport:
    created: List[str] = field(default_factory=list)
    updated: List[str] = field(default_factory=list)
    unchanged: List[str] = field(default_factory=list)
    # Services changed in the dashboard since they were imported: the file does not overwrite them.
    kept: List[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{len(self.created)} baru, {len(self.updated)} diperbarui, {len(self.unchanged)} sama, "
            f"{len(self.kept)} dibiarkan (sudah diubah di dasbor)"
        )


def parse_fee(value: Any) -> Optional[int]:
    """Rupiah from ``gratis``, ``0``, ``50000``, ``Rp50.000``; None for ``dihitung``.

    Raises ValueError for anything else (the editor refuses it with the reason)."""
    if isinstance(value, bool):
        raise ValueError("Biaya harus berupa angka rupiah atau 'gratis'.")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("Biaya tidak boleh negatif.")
        return value
    text = str(value or "").strip().lower()
    if text in FREE_WORDS:
        return 0
    if text == COMPUTED_FEE:
        return None
    match = _RUPIAH.match(text.replace(" ", ""))
    if not match:
        raise ValueError("Biaya harus berupa angka rupiah (misalnya 50000) atau 'gratis'.")
    return int(re.sub(r"[.,]", "", match.group(1)))


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _items(value: Any) -> Tuple[str, ...]:
    """A list field from a list or from text with one item per line."""
    if value is None:
        return ()
    if isinstance(value, str):
        raw: Iterable[Any] = value.splitlines()
    elif isinstance(value, (list, tuple)):
        raw = value
    else:
        raw = [value]
    return tuple(item for item in (_text(v) for v in raw) if item)


def content_from_mapping(data: Mapping[str, Any]) -> ServiceContent:
    """Checked content from a form, a YAML entry or a CSV row; InvalidService names every bad field."""
    errors: Dict[str, str] = {}
    name = _text(data.get("name"))
    if not name:
        errors["name"] = "Nama layanan wajib diisi."
    elif len(name) > NAME_MAX:
        errors["name"] = f"Nama layanan paling panjang {NAME_MAX} karakter."
    requirements = _items(data.get("requirements"))
    if not requirements:
        errors["requirements"] = (
            "Persyaratan tidak boleh kosong; tulis 'Tidak ada persyaratan khusus' bila memang tidak ada."
        )
    aliases = _items(data.get("aliases"))
    if len(aliases) > ALIASES_MAX:
        errors["aliases"] = f"Paling banyak {ALIASES_MAX} nama lain."
    fee_amount: Optional[int] = 0
    fee_note = _text(data.get("fee_note"))
    try:
        fee_amount = parse_fee(data.get("fee", 0) if data.get("fee") is not None else 0)
    except ValueError as error:
        errors["fee"] = str(error)
    if fee_amount is None and not fee_note:
        errors["fee_note"] = "Biaya 'dihitung' perlu keterangan cara menghitungnya."
    url = _text(data.get("online_url"))
    if url and not _URL.match(url):
        errors["online_url"] = "Tautan harus diawali http:// atau https://."
    for key, label in (
        ("purpose", "Kegunaan"),
        ("processing_time", "Lama proses"),
        ("place", "Tempat layanan"),
    ):
        if not _text(data.get(key)):
            errors[key] = f"{label} wajib diisi."
    if errors:
        raise InvalidService(errors)
    return ServiceContent(
        name=name,
        purpose=_text(data.get("purpose")),
        requirements=requirements,
        processing_time=_text(data.get("processing_time")),
        place=_text(data.get("place")),
        aliases=aliases,
        steps=_items(data.get("steps")),
        fee_amount=fee_amount,
        fee_note=fee_note,
        legal_basis=_text(data.get("legal_basis")),
        hours=_text(data.get("hours")),
        online_url=url,
        contact=_text(data.get("contact")),
    )


def _content_of(revision: ServiceRevision) -> ServiceContent:
    return ServiceContent(
        name=revision.name,
        purpose=revision.purpose,
        requirements=tuple(revision.requirements or ()),
        processing_time=revision.processing_time,
        place=revision.place,
        aliases=tuple(revision.aliases or ()),
        steps=tuple(revision.steps or ()),
        fee_amount=revision.fee_amount,
        fee_note=revision.fee_note,
        legal_basis=revision.legal_basis,
        hours=revision.hours,
        online_url=revision.online_url,
        contact=revision.contact,
    )


def _columns(content: ServiceContent) -> Dict[str, Any]:
    values = asdict(content)
    for key in ("aliases", "requirements", "steps"):
        values[key] = list(values[key])
    return values


def save_agency(
    session: Session, code: str, name: str, short_name: str, address: str = "", contact: str = ""
) -> ServiceAgency:
    """Create or update an office of the catalogue."""
    if not _AGENCY_CODE.match(code):
        raise InvalidService(
            {"agency": f"Kode instansi '{code}' hanya boleh huruf kecil, angka, '-' dan '_'."}
        )
    agency = session.get(ServiceAgency, code)
    if agency is None:
        agency = ServiceAgency(code=code)
        session.add(agency)
    agency.name, agency.short_name, agency.address, agency.contact = name, short_name, address, contact
    return agency


def _service(session: Session, code: str) -> Optional[Service]:
    return session.execute(select(Service).where(Service.code == code)).scalar_one_or_none()


def _revisions(session: Session, service: Service) -> List[ServiceRevision]:
    return list(
        session.execute(
            select(ServiceRevision)
            .where(ServiceRevision.service_id == service.id)
            .order_by(ServiceRevision.number)
        ).scalars()
    )


def save_draft(
    session: Session,
    code: str,
    content: ServiceContent,
    editor: str,
    *,
    agency_code: Optional[str] = None,
    unit_code: Optional[str] = None,
    letter_code: Optional[str] = None,
    note: str = "",
) -> ServiceRevision:
    """A new draft revision of the service ``code`` (the service is created with ``agency_code``
    and ``unit_code``, checked by the caller (``service_unit``), when it does not exist yet).
    Earlier drafts stay in the history."""
    service = _service(session, code)
    if service is None:
        if not _CODE.match(code):
            raise InvalidService({"code": "Kode layanan hanya boleh huruf kecil, angka, '-' dan '_'."})
        if not agency_code or session.get(ServiceAgency, agency_code) is None:
            raise InvalidService({"agency": f"Instansi '{agency_code}' belum terdaftar di katalog."})
        service = Service(
            code=code, agency_code=agency_code, unit_code=unit_code, letter_code=letter_code, version=0
        )
        session.add(service)
        session.flush()
    elif letter_code is not None:
        service.letter_code = letter_code or None
    number = (
        session.execute(
            select(func.max(ServiceRevision.number)).where(ServiceRevision.service_id == service.id)
        ).scalar()
        or 0
    ) + 1
    revision = ServiceRevision(
        service_id=service.id,
        number=number,
        status=REVISION_DRAFT,
        edited_by=editor,
        edited_at=utcnow(),
        change_note=note,
        **_columns(content),
    )
    session.add(revision)
    _touch(service)
    session.flush()
    return revision


def publish(session: Session, code: str, publisher: str, number: Optional[int] = None) -> ServiceRevision:
    """Publish a revision of the service (the latest one unless ``number`` is given); the previously
    published one becomes superseded, so exactly one revision is what citizens see. A withdrawn
    revision keeps its record: ``publish_again`` publishes its content as a new revision."""
    service = _service(session, code)
    if service is None:
        raise LookupError(f"no service {code!r}")
    revisions = _revisions(session, service)
    chosen = revisions[-1] if number is None else next((r for r in revisions if r.number == number), None)
    if chosen is None:
        raise LookupError(f"service {code!r} has no revision {number}")
    if chosen.status == REVISION_WITHDRAWN:
        raise InvalidService({"publish": "Versi ini sudah ditarik; terbitkan lagi sebagai versi baru."})
    for revision in revisions:
        if revision.status == REVISION_PUBLISHED and revision is not chosen:
            revision.status = REVISION_SUPERSEDED
    chosen.status = REVISION_PUBLISHED
    chosen.published_by, chosen.published_at = publisher, utcnow()
    _touch(service)
    session.flush()
    return chosen


def withdraw(session: Session, code: str, actor: str, reason: str) -> ServiceRevision:
    """Take the service off the public page and WhatsApp at once: its published revision becomes
    ``withdrawn`` with who, when and why, and nothing of the service is published any more (until
    ``publish_again`` or a new revision is published). InvalidService (key ``reason``) without a
    reason or when nothing is published."""
    service = _service(session, code)
    if service is None:
        raise LookupError(f"no service {code!r}")
    reason = " ".join((reason or "").split())[:REASON_MAX]
    if not reason:
        raise InvalidService({"reason": "Tuliskan alasan penarikan, misalnya 'layanan dipindah ke MPP'."})
    published = next((r for r in _revisions(session, service) if r.status == REVISION_PUBLISHED), None)
    if published is None:
        raise InvalidService({"reason": "Layanan ini sedang tidak terbit; tidak ada yang perlu ditarik."})
    published.status = REVISION_WITHDRAWN
    published.withdrawn_by, published.withdrawn_at, published.withdrawal_reason = actor, utcnow(), reason
    _touch(service)
    session.flush()
    logger.info("catalogue %s revision %d withdrawn by %s", code, published.number, actor)
    return published


def withdrawn_revision(session: Session, code: str) -> Optional[ServiceRevision]:
    """The revision last withdrawn, when the service has nothing published now (None otherwise)."""
    service = _service(session, code)
    revisions = _revisions(session, service) if service else []
    if any(r.status == REVISION_PUBLISHED for r in revisions):
        return None
    withdrawn = [r for r in revisions if r.status == REVISION_WITHDRAWN]
    return max(withdrawn, key=lambda r: (r.withdrawn_at or dt.datetime.min, r.number)) if withdrawn else None


def publish_again(session: Session, code: str, editor: str, *, publish_now: bool) -> ServiceRevision:
    """The withdrawn service's last published content as a new revision: published at once
    (``publish_now``: an editor who may publish) or a draft waiting for approval. The withdrawn
    revision keeps its record. InvalidService (key ``publish``) when the service is not withdrawn."""
    withdrawn = withdrawn_revision(session, code)
    if withdrawn is None:
        raise InvalidService({"publish": "Layanan ini tidak sedang ditarik."})
    revision = save_draft(
        session, code, _content_of(withdrawn), editor, note=f"Terbit lagi (isi versi {withdrawn.number})"
    )
    return publish(session, code, editor) if publish_now else revision


def _touch(service: Service) -> None:
    service.version = (service.version or 0) + 1
    service.updated_at = utcnow()


def history(session: Session, code: str) -> List[ServiceRevision]:
    """Every revision of the service, oldest first."""
    service = _service(session, code)
    return _revisions(session, service) if service else []


def catalogue_stamp(session: Session) -> Tuple[int, int]:
    """Changes whenever any service or revision changes: (number of services, sum of versions)."""
    count, total = session.execute(
        select(func.count(Service.id), func.coalesce(func.sum(Service.version), 0))
    ).one()
    return int(count), int(total)


def published_services(
    session: Session, agency_code: Optional[str] = None, unit_names: Optional[Mapping[str, str]] = None
) -> List[PublishedService]:
    """Every published service with its office, by office then name; each unit named from
    ``unit_names`` (``unit_titles``; a unit the tree no longer has is shown by its code)."""
    query = (
        select(Service, ServiceRevision, ServiceAgency)
        .join(
            ServiceRevision,
            (ServiceRevision.service_id == Service.id) & (ServiceRevision.status == REVISION_PUBLISHED),
        )
        .join(ServiceAgency, ServiceAgency.code == Service.agency_code)
        .order_by(ServiceAgency.name, ServiceRevision.name)
    )
    if agency_code:
        query = query.where(Service.agency_code == agency_code)
    return [
        PublishedService(
            code=service.code,
            agency_code=agency.code,
            agency_name=agency.name,
            agency_short_name=agency.short_name,
            letter_code=service.letter_code,
            revision=revision.number,
            published_at=revision.published_at,
            content=_content_of(revision),
            unit_code=service.unit_code,
            unit_name=(unit_names or {}).get(service.unit_code, service.unit_code)
            if service.unit_code
            else "",
        )
        for service, revision, agency in session.execute(query)
    ]


def published_service(session: Session, code: str) -> Optional[PublishedService]:
    return next((s for s in published_services(session) if s.code == code), None)


# ---------------------------------------------------------------------------------------- units
def unit_titles(tree: UnitTree) -> Dict[str, str]:
    """Code -> title of every unit below the root: the units a service may belong to."""
    return {unit.code: unit.title for unit in tree.descendants(tree.root.code)}


def unit_chain(tree: UnitTree, unit_code: Optional[str]) -> Optional[FrozenSet[str]]:
    """The units whose services serve a citizen of ``unit_code``: that unit and the units above it
    (a kelurahan's own, its kecamatan's). None when the unit is unknown or the deployment is one
    unit: every service then serves the citizen."""
    unit = tree.get(unit_code) if unit_code and not tree.single else None
    if unit is None:
        return None
    return frozenset([unit.code, *(above.code for above in tree.ancestors(unit.code))])


def service_unit(tree: UnitTree, raw: Optional[str], area: Optional[FrozenSet[str]] = None) -> Optional[str]:
    """The unit a service belongs to, from a chosen or imported code, checked: None for no unit
    or the root (the whole deployment), and always in a single-unit deployment (it has no
    units). InvalidService (key ``unit``) for a unit not in the tree, or one outside ``area`` (the
    units an editor acts for; None: every unit), or no unit when the editor acts for some only."""
    code = _text(raw)
    if tree.single:
        return None
    unit = tree.get(code) if code else None
    if code and unit is None:
        raise InvalidService({"unit": f"Unit '{code}' tidak ada dalam daftar unit {tree.root.title}."})
    chosen = None if unit is None or unit.parent is None else unit.code
    if area is not None and (chosen is None or chosen not in area):
        raise InvalidService({"unit": "Pilih unit kerja Anda sendiri (atau unit di bawahnya)."})
    return chosen


# ---------------------------------------------------------------------------------------- editing
ROLE_ADMIN = "admin"
ROLE_OPD = "opd"


@dataclass(frozen=True)
class Editor:
    """Who edits the catalogue: the account's role, its OPD, and the units it acts for
    (``area``: None for the whole deployment; a kecamatan's or kelurahan's admin acts for its unit
    and the units below, ``layanwarga.staff_units``)."""

    role: str
    agency_code: Optional[str] = None
    area: Optional[FrozenSet[str]] = None

    @classmethod
    def of(cls, tree: UnitTree, role: str, agency_code: Optional[str], unit_code: Optional[str]) -> "Editor":
        return cls(role, agency_code, area_of(tree, unit_code))

    @property
    def whole_deployment(self) -> bool:
        """An admin of the whole deployment: edits everything and approves publication."""
        return self.role == ROLE_ADMIN and self.area is None


def may_edit(editor: Editor, service_agency: str, service_unit_code: Optional[str]) -> bool:
    """Admins of the whole deployment edit every service; a kecamatan's or kelurahan's admin the
    services of its units (whatever their office); an OPD account its own office's (the catalogue
    office whose code is the account's agency code, compared without case: ``DINSOS`` keeps
    ``dinsos``)."""
    if editor.role == ROLE_ADMIN:
        return editor.area is None or (service_unit_code is not None and service_unit_code in editor.area)
    return (
        editor.role == ROLE_OPD
        and bool(editor.agency_code)
        and (editor.agency_code or "").lower() == service_agency.lower()
    )


def may_publish(
    editor: Editor, service_agency: str, service_unit_code: Optional[str], approval_required: bool
) -> bool:
    """Admins of the whole deployment publish; any other editor publishes its own edits itself
    only when the city does not want to approve them first."""
    if editor.whole_deployment:
        return True
    return not approval_required and may_edit(editor, service_agency, service_unit_code)


@dataclass(frozen=True)
class EditableService:
    code: str
    agency_code: str
    agency_short_name: str
    unit_code: Optional[str]
    latest: ServiceRevision
    published_number: Optional[int]
    withdrawn: bool = False

    @property
    def waiting(self) -> bool:
        """A draft newer than what is published (waiting for publication)."""
        return self.latest.status == REVISION_DRAFT


def editable_services(session: Session, editor: Editor) -> List[EditableService]:
    """The services this editor may edit, each with its latest revision, by office then name."""
    rows = session.execute(
        select(Service, ServiceRevision, ServiceAgency)
        .join(ServiceRevision, ServiceRevision.service_id == Service.id)
        .join(ServiceAgency, ServiceAgency.code == Service.agency_code)
        .order_by(ServiceAgency.short_name, Service.code, ServiceRevision.number)
    ).all()
    latest: Dict[str, Tuple[Service, ServiceRevision, ServiceAgency]] = {}
    published: Dict[str, int] = {}
    withdrawn: Set[str] = set()
    for service, revision, agency in rows:
        latest[service.code] = (service, revision, agency)
        if revision.status == REVISION_PUBLISHED:
            published[service.code] = revision.number
        elif revision.status == REVISION_WITHDRAWN:
            withdrawn.add(service.code)
    result = [
        EditableService(
            service.code,
            service.agency_code,
            agency.short_name,
            service.unit_code,
            revision,
            published.get(service.code),
            service.code in withdrawn and service.code not in published,
        )
        for service, revision, agency in latest.values()
        if may_edit(editor, service.agency_code, service.unit_code)
    ]
    return sorted(result, key=lambda e: (e.agency_short_name, e.latest.name.casefold()))


def create_service(
    session: Session,
    code: str,
    agency_code: str,
    content: ServiceContent,
    editor: str,
    unit_code: Optional[str] = None,
) -> ServiceRevision:
    """A new service of ``agency_code`` (at ``unit_code``) as a first draft; a code already in use
    is refused (it would otherwise add a revision to another office's service)."""
    if _service(session, code) is not None:
        raise InvalidService({"code": f"Kode '{code}' sudah dipakai layanan lain; pilih kode lain."})
    return save_draft(
        session, code, content, editor, agency_code=agency_code, unit_code=unit_code, note="Layanan baru"
    )


def move_to_unit(session: Session, code: str, unit_code: Optional[str]) -> Optional[str]:
    """Give the service another unit (checked by the caller: ``service_unit``); the unit it had."""
    service = _service(session, code)
    if service is None:
        raise LookupError(f"no service {code!r}")
    before = service.unit_code
    if before != unit_code:
        service.unit_code = unit_code
        _touch(service)
    return before


def service_agency_exists(session: Session, code: str) -> bool:
    return session.get(ServiceAgency, code) is not None


def agency_choices(session: Session) -> List[Tuple[str, str]]:
    """(code, name) of every office of the catalogue, by name."""
    return [
        (a.code, a.name)
        for a in session.execute(select(ServiceAgency).order_by(ServiceAgency.name)).scalars()
    ]


def service_place(session: Session, code: str) -> Optional[Tuple[str, Optional[str]]]:
    """The office and the unit of the service ``code`` (None: no such service)."""
    row = session.execute(select(Service.agency_code, Service.unit_code).where(Service.code == code)).first()
    return (str(row[0]), row[1]) if row is not None else None


def service_agency(session: Session, code: str) -> Optional[str]:
    """The office that owns the service ``code`` (None: no such service)."""
    place = service_place(session, code)
    return place[0] if place is not None else None


def form_values(revision: ServiceRevision) -> Dict[str, str]:
    """A revision as the editor's form shows it (lists one item per line)."""
    content = _content_of(revision)
    fee = (
        COMPUTED_FEE
        if content.fee_amount is None
        else ("gratis" if content.fee_amount == 0 else str(content.fee_amount))
    )
    values = {key: value for key, value in asdict(content).items() if isinstance(value, str)}
    values.update({key: "\n".join(getattr(content, key)) for key in ("aliases", "requirements", "steps")})
    values["fee"] = fee
    return values


# ---------------------------------------------------------------------------------------- statistics
OUTCOMES = ("one", "several", "none")


def record_question(session: Session, outcome: str, service_code: Optional[str], text: str) -> None:
    """Count a question: the service answered, or, when nothing was found, its text with NIKs
    masked (never the sender), so offices see what citizens look for and do not find."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    kept = None
    if outcome == "none":
        kept = " ".join(mask_identifiers(text).split())[:QUESTION_TEXT_MAX] or None
    session.add(
        ServiceQuestion(outcome=outcome, service_code=service_code if outcome == "one" else None, text=kept)
    )


@dataclass(frozen=True)
class QuestionStats:
    most_asked: List[Tuple[str, int]]  # service code, questions answered with it
    not_found: List[Tuple[str, int, dt.datetime]]  # text (lower case), times asked, last asked
    several: int  # questions answered with a list to choose from
    total: int


def question_stats(
    session: Session, since: dt.datetime, service_codes: Optional[Sequence[str]] = None, limit: int = 20
) -> QuestionStats:
    """What citizens asked since ``since``: the services asked about most (only ``service_codes``
    when given, for an OPD), and the questions that found nothing, most repeated first."""
    recent = ServiceQuestion.asked_at >= since
    asked = select(ServiceQuestion.service_code, func.count()).where(recent, ServiceQuestion.outcome == "one")
    if service_codes is not None:
        asked = asked.where(ServiceQuestion.service_code.in_(list(service_codes)))
    most = session.execute(
        asked.group_by(ServiceQuestion.service_code)
        .order_by(func.count().desc(), ServiceQuestion.service_code)
        .limit(limit)
    ).all()
    text = func.lower(ServiceQuestion.text)
    missing = session.execute(
        select(text, func.count(), func.max(ServiceQuestion.asked_at))
        .where(recent, ServiceQuestion.outcome == "none", ServiceQuestion.text.isnot(None))
        .group_by(text)
        .order_by(func.count().desc(), func.max(ServiceQuestion.asked_at).desc())
        .limit(limit)
    ).all()
    counts = dict(
        session.execute(
            select(ServiceQuestion.outcome, func.count()).where(recent).group_by(ServiceQuestion.outcome)
        ).all()
    )
    return QuestionStats(
        most_asked=[(str(code), int(count)) for code, count in most],
        not_found=[(str(words), int(count), last) for words, count, last in missing],
        several=int(counts.get("several", 0)),
        total=int(sum(counts.values())),
    )


# ---------------------------------------------------------------------------------------- import
IMPORT_EDITOR = "impor"
CSV_LIST_SEPARATOR = "|"


def load_file(path: Union[str, Path]) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    """(agencies, services) from a catalogue YAML file (``catalogue/layanan.yml``'s shape) or a CSV
    file with one service per row (list fields separated by ``|``; the office named in columns
    ``agency``, ``agency_name``, ``agency_short_name``). An entry's ``unit`` (optional) is the
    Kemendagri code of the unit of the city that offers it."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        return _load_csv(path)
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict) or not isinstance(data.get("services"), list):
        raise InvalidService({"file": f"{path}: perlu kunci 'agencies' dan 'services' (daftar)."})
    agencies = [{"code": code, **(value or {})} for code, value in (data.get("agencies") or {}).items()]
    return agencies, list(data["services"])


def _load_csv(path: Path) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    agencies: Dict[str, Dict[str, Any]] = {}
    services: List[Dict[str, Any]] = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            entry: Dict[str, Any] = {key: (value or "").strip() for key, value in row.items() if key}
            for key in ("aliases", "requirements", "steps"):
                entry[key] = [
                    item.strip() for item in entry.get(key, "").split(CSV_LIST_SEPARATOR) if item.strip()
                ]
            code = entry.get("agency", "")
            if entry.get("agency_name"):
                agencies[code] = {
                    "code": code,
                    "name": entry["agency_name"],
                    "short_name": entry.get("agency_short_name") or entry["agency_name"],
                }
            services.append(entry)
    return list(agencies.values()), services


def preview(
    agencies: Sequence[Mapping[str, Any]], entries: Sequence[Mapping[str, Any]]
) -> List[PublishedService]:
    """The services of a catalogue file as they would be published, without a database and
    without units (for the search benchmark and tests). InvalidService on a bad entry."""
    offices = {str(agency["code"]): agency for agency in agencies}
    return [
        PublishedService(
            code=_text(entry.get("code")),
            agency_code=_text(entry.get("agency")),
            agency_name=_text(offices[_text(entry.get("agency"))].get("name")),
            agency_short_name=_text(offices[_text(entry.get("agency"))].get("short_name")),
            letter_code=_text(entry.get("letter")) or None,
            revision=1,
            published_at=None,
            content=content_from_mapping(entry),
        )
        for entry in entries
    ]


def import_catalogue(
    session: Session,
    agencies: Sequence[Mapping[str, Any]],
    services: Sequence[Mapping[str, Any]],
    *,
    source: str = "",
    tree: Optional[UnitTree] = None,
) -> ImportReport:
    """Import offices and services, published at once; running it again changes nothing.

    A service already in the database gets a new published revision only when the file differs
    from it and nobody but the importer has changed it since: an office's own edits win over the
    file. An entry's ``unit`` must be a unit of ``tree`` (the deployment's); a single-unit
    deployment (or no ``tree``) has no units, so it imports every service without one. Every
    bad entry is named (code and field) before anything is written."""
    errors: Dict[str, str] = {}
    parsed: List[Tuple[Mapping[str, Any], ServiceContent, Optional[str]]] = []
    known_agencies = {str(a.get("code")) for a in agencies} | set(
        session.execute(select(ServiceAgency.code)).scalars()
    )
    seen: set = set()
    for index, entry in enumerate(services, 1):
        code = _text(entry.get("code"))
        label = code or f"#{index}"
        if not _CODE.match(code):
            errors[f"{label}.code"] = "Kode layanan hanya boleh huruf kecil, angka, '-' dan '_'."
        elif code in seen:
            errors[f"{label}.code"] = "Kode layanan ganda."
        seen.add(code)
        if _text(entry.get("agency")) not in known_agencies:
            errors[f"{label}.agency"] = f"Instansi '{entry.get('agency')}' tidak ada di daftar instansi."
        try:
            unit = service_unit(tree, entry.get("unit")) if tree is not None else None
            parsed.append((entry, content_from_mapping(entry), unit))
        except InvalidService as invalid:
            errors.update({f"{label}.{key}": reason for key, reason in invalid.errors.items()})
    if errors:
        raise InvalidService(errors)
    for agency in agencies:
        save_agency(
            session,
            str(agency["code"]),
            _text(agency.get("name")),
            _text(agency.get("short_name") or agency.get("name")),
            _text(agency.get("address")),
            _text(agency.get("contact")),
        )
    session.flush()
    editor = f"{IMPORT_EDITOR}:{source}" if source else IMPORT_EDITOR
    report = ImportReport()
    for entry, content, unit in parsed:
        code = _text(entry["code"])
        letter_code = _text(entry.get("letter")) or None
        service = _service(session, code)
        if service is None:
            save_draft(
                session,
                code,
                content,
                editor,
                agency_code=_text(entry["agency"]),
                unit_code=unit,
                letter_code=letter_code,
                note="Impor awal",
            )
            publish(session, code, editor)
            report.created.append(code)
            continue
        revisions = _revisions(session, service)
        if any(not r.edited_by.startswith(IMPORT_EDITOR) for r in revisions):
            report.kept.append(code)
        elif (
            _content_of(revisions[-1]) == content
            and revisions[-1].status == REVISION_PUBLISHED
            and service.letter_code == letter_code
            and service.agency_code == _text(entry["agency"])
            and service.unit_code == unit
        ):
            report.unchanged.append(code)
        else:
            service.agency_code, service.unit_code = _text(entry["agency"]), unit
            save_draft(
                session, code, content, editor, letter_code=letter_code or "", note="Impor ulang dari berkas"
            )
            publish(session, code, editor)
            report.updated.append(code)
    logger.info("service catalogue import %s: %s", source or "(data)", report.summary())
    return report


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m layanwarga.services import FILE``: import a catalogue file into the ticket
    database named by ``DATABASE_URL``; every bad entry is named and nothing is written."""
    import argparse

    from . import db, migrate
    from .config import get_institution

    parser = argparse.ArgumentParser(prog="python -m layanwarga.services")
    commands = parser.add_subparsers(dest="command", required=True)
    importer = commands.add_parser("import", help="import services from a YAML or CSV file")
    importer.add_argument("path", type=Path)
    args = parser.parse_args(argv)
    migrate.require_current("the catalogue import", db.database_url())
    try:
        agencies, entries = load_file(args.path)
        with db.session_scope(write=True) as session:
            report = import_catalogue(
                session, agencies, entries, source=args.path.name, tree=get_institution().units
            )
    except InvalidService as invalid:
        for key, reason in invalid.errors.items():
            print(f"{args.path}: {key}: {reason}")
        return 1
    print(f"{args.path}: {report.summary()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
