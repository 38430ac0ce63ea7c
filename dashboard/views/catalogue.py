"""The service catalogue editor: each office keeps its own services (an OPD account edits only its
office's; admins edit all and approve publication when ``DASHBOARD_CATALOGUE_APPROVAL`` is on, the
default). Every save is a new revision with the editor and date (``layanwarga.services``)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Dict

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for

from layanwarga import services
from layanwarga.db import session_scope

from .. import agency_names

logger = logging.getLogger(__name__)
bp = Blueprint("catalogue", __name__, url_prefix="/katalog")

FIELDS = (
    "name",
    "aliases",
    "purpose",
    "requirements",
    "steps",
    "fee",
    "fee_note",
    "legal_basis",
    "processing_time",
    "place",
    "hours",
    "online_url",
    "contact",
)
FORM_TEXT_MAX = 5000
STATS_PERIODS = (7, 30, 90)


def _approval_required() -> bool:
    return bool(current_app.config["LW_SETTINGS"].catalogue_approval)


@bp.route("")
def index():  # type: ignore[no-untyped-def]
    with session_scope() as session:
        rows = services.editable_services(session, g.user.role, g.user.agency_code)
    return render_template("catalogue_index.html", rows=rows, approval=_approval_required())


@bp.route("/statistik")
def question_stats():  # type: ignore[no-untyped-def]
    """What citizens ask the catalogue: the services asked about most (an OPD: its own) and the
    questions that found nothing, so offices know what to add."""
    try:
        days = int(request.args.get("hari") or 30)
    except ValueError:
        days = 30
    days = days if days in STATS_PERIODS else 30
    since = dt.datetime.utcnow() - dt.timedelta(days=days)
    with session_scope() as session:
        rows = services.editable_services(session, g.user.role, g.user.agency_code)
        names = {row.code: row.latest.name for row in rows}
        own = None if g.user.role == services.ROLE_ADMIN else list(names)
        result = services.question_stats(session, since, own)
    return render_template("catalogue_stats.html", r=result, names=names, days=days, periods=STATS_PERIODS)


@bp.route("/baru", methods=["GET", "POST"])
def create():  # type: ignore[no-untyped-def]
    """A new service: an admin chooses its office; an OPD adds to its own (its office joins the
    catalogue with the name the dashboard knows it by, the first time)."""
    own = None if g.user.role == services.ROLE_ADMIN else (g.user.agency_code or "").lower()
    errors: Dict[str, str] = {}
    status = 200
    form = {key: request.form.get(key) or "" for key in (*FIELDS, "code", "agency")}
    if request.method == "POST":
        code = form["code"].strip().lower()
        agency = own or form["agency"].strip()
        try:
            content = services.content_from_mapping({key: form[key][:FORM_TEXT_MAX] for key in FIELDS})
        except services.InvalidService as invalid:
            errors = dict(invalid.errors)
        if not errors:
            office_name = agency_names().get(g.user.agency_code or "", g.user.agency_code or own or "")
            try:
                with session_scope(write=True) as session:
                    if own and not services.service_agency_exists(session, own):
                        services.save_agency(session, own, office_name, g.user.agency_code or own)
                    services.create_service(session, code, agency, content, g.user.actor)
                    if (
                        services.may_publish(g.user.role, g.user.agency_code, agency, _approval_required())
                        and request.form.get("publish") == "1"
                    ):
                        services.publish(session, code, g.user.actor)
            except services.InvalidService as invalid:
                errors = dict(invalid.errors)
        if not errors:
            flash("Layanan baru disimpan.", "ok")
            return redirect(url_for("catalogue.edit", code=code))
        status = 400
    with session_scope() as session:
        choices = services.agency_choices(session)
    can_publish = g.user.role == services.ROLE_ADMIN or not _approval_required()
    return render_template(
        "catalogue_new.html",
        form=form,
        errors=errors,
        choices=choices,
        own=own,
        can_publish=can_publish,
        approval=_approval_required(),
    ), status


def _owned(code: str) -> str:
    """The service's office, or 404 when there is no such service or it is another office's."""
    with session_scope() as session:
        agency = services.service_agency(session, code)
    if agency is None or not services.may_edit(g.user.role, g.user.agency_code, agency):
        abort(404)
    return agency


@bp.route("/<code>", methods=["GET", "POST"])
def edit(code: str):  # type: ignore[no-untyped-def]
    agency = _owned(code)
    can_publish = services.may_publish(g.user.role, g.user.agency_code, agency, _approval_required())
    errors: Dict[str, str] = {}
    status = 200
    if request.method == "POST":
        values = {key: (request.form.get(key) or "")[:FORM_TEXT_MAX] for key in FIELDS}
        try:
            content = services.content_from_mapping(values)
        except services.InvalidService as invalid:
            errors, status = invalid.errors, 400
        else:
            note = (request.form.get("change_note") or "").strip()[:500]
            publish = can_publish and request.form.get("publish") == "1"
            with session_scope(write=True) as session:
                revision = services.save_draft(session, code, content, g.user.actor, note=note)
                if publish:
                    services.publish(session, code, g.user.actor)
                number = revision.number
            logger.info(
                "catalogue %s revision %d saved by %s (published: %s)", code, number, g.user.actor, publish
            )
            flash(
                f"Perubahan disimpan sebagai versi {number}"
                + (" dan sudah terbit." if publish else ", menunggu persetujuan admin."),
                "ok",
            )
            return redirect(url_for("catalogue.edit", code=code))
    with session_scope() as session:
        history = services.history(session, code)
        current = services.form_values(history[-1])
    form = {**current, **({key: request.form.get(key) or "" for key in FIELDS} if errors else {})}
    return render_template(
        "catalogue_edit.html",
        code=code,
        form=form,
        errors=errors,
        history=history,
        can_publish=can_publish,
        approval=_approval_required(),
    ), status


@bp.route("/<code>/terbitkan", methods=["POST"])
def publish(code: str):  # type: ignore[no-untyped-def]
    """An admin approves the latest revision: it becomes what citizens see."""
    _owned(code)
    with session_scope(write=True) as session:
        revision = services.publish(session, code, g.user.actor)
        number = revision.number
    flash(f"Versi {number} sudah terbit.", "ok")
    return redirect(url_for("catalogue.edit", code=code))
