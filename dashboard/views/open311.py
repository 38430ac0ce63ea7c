"""The Open311 GeoReport v2 API (``/open311/v2/``) for partner systems: SP4N-LAPOR!'s
coordinators, a city command centre, a neighbourhood app. What it says is decided by
``layanwarga.open311`` and, for what the public may see, ``layanwarga.public_tickets``.

Handling one call:
1. the client's address is counted (``publik.api.requests_per_minute_per_ip``); over the limit,
   429 with ``Retry-After``;
2. a POST is checked for its ``api_key`` (``dashboard.api_auth``, the route's rule in
   ``dashboard/permissions.py``), then counted against the key's own limit, then its body size;
   no CSRF token: the key, not a cookie, is what grants the right;
3. the format is the URL's ending (``.json`` / ``.xml``); anything else is a 400;
4. every refusal is the spec's error list, in the asked format, and creates nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any, Optional

from flask import Blueprint, Response, current_app, g, request
from sqlalchemy.exc import SQLAlchemyError

from layanwarga import open311, public_tickets, tickets
from layanwarga.db import session_scope
from layanwarga.models import utcnow

from .. import api_auth

logger = logging.getLogger(__name__)

bp = Blueprint("open311", __name__, url_prefix="/open311")


def respond(fmt: str, root: str, payload: Any, status: int = 200) -> Response:
    response = Response(
        open311.render(fmt, root, payload), status=status, content_type=open311.CONTENT_TYPES[fmt]
    )
    response.headers["Cache-Control"] = "no-store"
    if request.method == "GET":  # public data: a partner's web page may read it from its own origin
        response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def error_response(error: open311.Open311Error, fmt: Optional[str] = None) -> Response:
    response = respond(fmt or open311.errors_format(request.path), "errors", error.body(), error.status)
    if error.status == 429:
        response.headers["Retry-After"] = str(g.get("retry_after", 60))
    return response


@bp.before_request
def limit_per_address() -> Optional[Response]:
    inst = current_app.config["LW_INSTITUTION"]
    wait = api_auth.limiter().hit(f"ip:{request.remote_addr or '-'}", inst.public.requests_per_minute_per_ip)
    if wait:
        g.retry_after = wait
        return error_response(
            open311.Open311Error(429, "Terlalu banyak permintaan dari alamat ini; coba lagi sebentar lagi.")
        )
    return None


@bp.errorhandler(open311.Open311Error)
def open311_error(error: open311.Open311Error) -> Response:
    return error_response(error)


@bp.errorhandler(SQLAlchemyError)
def database_error(error: SQLAlchemyError) -> Response:
    logger.exception("Open311 %s %s failed on the database", request.method, request.path, exc_info=error)
    return error_response(
        open311.Open311Error(400, "Layanan sedang terganggu; coba lagi beberapa saat lagi.")
    )


def _format_of_path() -> str:
    _, fmt = open311.split_format(request.path)
    return fmt


@bp.route("/discovery.json")
@bp.route("/discovery.xml")
def discovery() -> Response:
    """The spec's service discovery file: where the v2 endpoint is, in which formats, and how
    to get a key. ``changeset`` follows the configuration file the services come from."""
    inst = current_app.config["LW_INSTITUTION"]
    settings = current_app.config["LW_SETTINGS"]
    base = (settings.public_url or request.host_url).rstrip("/")
    return respond(_format_of_path(), "discovery", open311.discovery(inst, f"{base}/open311/v2"))


@bp.route("/v2/services.json")
@bp.route("/v2/services.xml")
def services() -> Response:
    inst = current_app.config["LW_INSTITUTION"]
    return respond(_format_of_path(), "services", open311.services(inst))


@bp.route("/v2/services/<resource>")
def service_definition(resource: str) -> Response:
    inst = current_app.config["LW_INSTITUTION"]
    code, fmt = open311.split_format(resource)
    try:
        return respond(fmt, "service_definition", open311.service_definition(inst, code))
    except open311.Open311Error as error:
        return error_response(error, fmt)


@bp.route("/v2/requests.json")
@bp.route("/v2/requests.xml")
def requests_list() -> Response:
    inst = current_app.config["LW_INSTITUTION"]
    fmt = _format_of_path()
    query = open311.parse_query(request.args, utcnow())
    with session_scope() as session:
        found = public_tickets.search(
            session,
            inst,
            numbers=query.numbers,
            categories=query.categories,
            statuses=query.statuses,
            created_from=query.created_from,
            created_until=query.created_until,
            limit=open311.MAX_REQUESTS,
        )
    extensions = request.args.get("extensions") == "true"
    return respond(fmt, "service_requests", [open311.request_entry(inst, t, extensions) for t in found])


@bp.route("/v2/requests/<resource>")
def request_detail(resource: str) -> Response:
    inst = current_app.config["LW_INSTITUTION"]
    number, fmt = open311.split_format(resource)
    with session_scope() as session:
        found = public_tickets.find(session, inst, number)
    if found is None:
        return error_response(
            open311.Open311Error(404, f"service_request_id {number!r} tidak ditemukan."), fmt
        )
    return respond(
        fmt,
        "service_requests",
        [open311.request_entry(inst, found, request.args.get("extensions") == "true")],
    )


@bp.route("/v2/requests.json", methods=["POST"], endpoint="create_request")
@bp.route("/v2/requests.xml", methods=["POST"], endpoint="create_request")
def create_request() -> Response:
    """A partner's new complaint, after ``api_auth.api_key_required`` let it through."""
    inst = current_app.config["LW_INSTITUTION"]
    fmt = _format_of_path()
    partner = g.api_partner
    wait = api_auth.limiter().hit(f"key:{partner.id}", inst.public.requests_per_minute_per_key)
    if wait:
        g.retry_after = wait
        raise open311.Open311Error(
            429, "Batas permintaan untuk api_key ini tercapai; coba lagi sebentar lagi."
        )
    new = open311.parse_new_request(inst, api_auth.form())
    key = (request.headers.get("Idempotency-Key") or "").strip()[:64] or uuid.uuid4().hex
    draft = tickets.ComplaintDraft(
        category=new.service_code,
        description=new.description,
        sender=None,
        idempotency_key=f"open311:{partner.id}:{key}",
        reporter_name=new.reporter_name,
        location_text=new.address,
        latitude=new.latitude,
        longitude=new.longitude,
        rt=new.rt,
        rw=new.rw,
        area=new.area,
        anonymous=new.anonymous,
        confidential=new.confidential,
        channel=f"Open311 ({partner.name})",
        details={
            k: v
            for k, v in {
                "mitra": partner.name,
                "mitra_account_id": new.account_id,
                "media_url": new.media_url,
            }.items()
            if v
        },
    )
    created = tickets.submit_complaint(inst, draft, now=dt.datetime.now(dt.timezone.utc))
    logger.info(
        "Open311: %s %s by partner %s",
        "created" if created.created else "replayed",
        created.number,
        partner.prefix,
    )
    # The ticket waits for verification; the agency is where the category routes it, not yet told.
    notice = (
        f"Laporan {created.number} diterima; setelah diverifikasi ditangani oleh "
        f"{created.agency_name or 'instansi terkait'}, target selesai {created.due_date:%d-%m-%Y}."
        if created.due_date
        else f"Laporan {created.number} diterima."
    )
    entry = {"service_request_id": created.number, "service_notice": notice, "account_id": new.account_id}
    return respond(fmt, "service_requests", [entry])
