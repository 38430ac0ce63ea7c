"""The service catalogue editor: each office keeps its own services. An OPD account edits only its
office's; in a city, a kecamatan's or kelurahan's admin edits the services of its units and
places new ones there; admins of the whole deployment edit all and approve publication when
``DASHBOARD_CATALOGUE_APPROVAL`` is on, the default. Every save is a new revision with the
editor and date; an office withdraws a published service at once, with a reason, and it can be
published again (``layanwarga.services``)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Dict, List, Optional, Tuple

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for

from layanwarga import services, staff_units
from layanwarga.config import get_institution
from layanwarga.db import session_scope
from layanwarga.units import UnitTree

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


def _tree() -> UnitTree:
    return get_institution().units


def _editor() -> services.Editor:
    return services.Editor.of(_tree(), g.user.role, g.user.agency_code, g.user.unit_code)


def _unit_choices(tree: UnitTree, editor: services.Editor) -> List[Tuple[str, str]]:
    """The units this editor may give a service: every unit (or none, the whole deployment) for
    an editor of the whole deployment; its own units for a kecamatan's or kelurahan's admin;
    nothing to choose in a single-unit deployment."""
    if tree.single:
        return []
    return [
        (code, label)
        for code, label in staff_units.unit_choices(tree)
        if editor.area is None or code in editor.area
    ]


def _unit_label(unit_code: Optional[str]) -> str:
    tree = _tree()
    unit = tree.get(unit_code) if unit_code else None
    return unit.title if unit is not None else (unit_code or f"Seluruh {tree.root.title}")


@bp.route("")
def index():  # type: ignore[no-untyped-def]
    editor = _editor()
    with session_scope() as session:
        rows = services.editable_services(session, editor)
    return render_template(
        "catalogue_index.html",
        rows=rows,
        approval=_approval_required(),
        editor=editor,
        units=None if _tree().single else services.unit_titles(_tree()),
    )


@bp.route("/statistik")
def question_stats():  # type: ignore[no-untyped-def]
    """What citizens ask the catalogue: the services asked about most (an OPD or a unit: its own)
    and the questions that found nothing, so offices know what to add."""
    try:
        days = int(request.args.get("hari") or 30)
    except ValueError:
        days = 30
    days = days if days in STATS_PERIODS else 30
    since = dt.datetime.utcnow() - dt.timedelta(days=days)
    editor = _editor()
    with session_scope() as session:
        rows = services.editable_services(session, editor)
        names = {row.code: row.latest.name for row in rows}
        own = None if editor.whole_deployment else list(names)
        result = services.question_stats(session, since, own)
    return render_template("catalogue_stats.html", r=result, names=names, days=days, periods=STATS_PERIODS)


@bp.route("/baru", methods=["GET", "POST"])
def create():  # type: ignore[no-untyped-def]
    """A new service: an admin chooses its office; an OPD adds to its own (its office joins the
    catalogue with the name the dashboard knows it by, the first time). In a city the service
    may be given a unit; a kecamatan's or kelurahan's admin must give it one of its own."""
    editor = _editor()
    own = None if editor.role == services.ROLE_ADMIN else (g.user.agency_code or "").lower()
    errors: Dict[str, str] = {}
    status = 200
    form = {key: request.form.get(key) or "" for key in (*FIELDS, "code", "agency", "unit")}
    if request.method == "POST":
        code = form["code"].strip().lower()
        agency = own or form["agency"].strip()
        unit: Optional[str] = None
        try:
            content = services.content_from_mapping({key: form[key][:FORM_TEXT_MAX] for key in FIELDS})
        except services.InvalidService as invalid:
            errors = dict(invalid.errors)
        try:
            unit = services.service_unit(_tree(), form["unit"], editor.area)
        except services.InvalidService as invalid:
            errors.update(invalid.errors)
        if not errors:
            office_name = agency_names().get(g.user.agency_code or "", g.user.agency_code or own or "")
            try:
                with session_scope(write=True) as session:
                    if own and not services.service_agency_exists(session, own):
                        services.save_agency(session, own, office_name, g.user.agency_code or own)
                    services.create_service(session, code, agency, content, g.user.actor, unit_code=unit)
                    if (
                        services.may_publish(editor, agency, unit, _approval_required())
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
    return render_template(
        "catalogue_new.html",
        creating=True,
        form=form,
        errors=errors,
        choices=choices,
        own=own,
        unit_choices=_unit_choices(_tree(), editor),
        can_publish=editor.whole_deployment or not _approval_required(),
        approval=_approval_required(),
    ), status


def _owned(code: str) -> Tuple[str, Optional[str]]:
    """The service's office and unit, or 404 when there is no such service or this account may
    not edit it (another office's, another unit's)."""
    with session_scope() as session:
        place = services.service_place(session, code)
    if place is None or not services.may_edit(_editor(), *place):
        abort(404)
    return place


@bp.route("/<code>", methods=["GET", "POST"])
def edit(code: str):  # type: ignore[no-untyped-def]
    agency, unit = _owned(code)
    editor = _editor()
    can_publish = services.may_publish(editor, agency, unit, _approval_required())
    # Moving a service to another unit changes what citizens see at once: for those who publish.
    unit_choices = _unit_choices(_tree(), editor) if can_publish else []
    errors: Dict[str, str] = {}
    status = 200
    if request.method == "POST":
        values = {key: (request.form.get(key) or "")[:FORM_TEXT_MAX] for key in FIELDS}
        new_unit = unit
        try:
            content = services.content_from_mapping(values)
        except services.InvalidService as invalid:
            errors = dict(invalid.errors)
        if unit_choices and "unit" in request.form:
            try:
                new_unit = services.service_unit(_tree(), request.form.get("unit"), editor.area)
            except services.InvalidService as invalid:
                errors.update(invalid.errors)
        if errors:
            status = 400
        else:
            note = (request.form.get("change_note") or "").strip()[:500]
            if new_unit != unit:
                moved = f"Unit: {_unit_label(unit)} → {_unit_label(new_unit)}"
                note = f"{note} · {moved}" if note else moved
            publish = can_publish and request.form.get("publish") == "1"
            with session_scope(write=True) as session:
                services.move_to_unit(session, code, new_unit)
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
        withdrawn = services.withdrawn_revision(session, code)
    typed = {key: request.form.get(key) or "" for key in FIELDS} if errors else {}
    if errors and "unit" in request.form:
        typed["unit"] = request.form.get("unit") or ""
    form = {**current, "unit": unit or "", **typed}
    return render_template(
        "catalogue_edit.html",
        code=code,
        form=form,
        errors=errors,
        history=history,
        can_publish=can_publish,
        can_approve=editor.whole_deployment,
        approval=_approval_required(),
        unit_choices=unit_choices,
        unit_label=None if _tree().single else _unit_label(unit),
        published=any(r.status == services.REVISION_PUBLISHED for r in history),
        withdrawn=withdrawn,
    ), status


@bp.route("/<code>/terbitkan", methods=["POST"])
def publish(code: str):  # type: ignore[no-untyped-def]
    """An admin approves the latest revision: it becomes what citizens see."""
    _owned(code)
    try:
        with session_scope(write=True) as session:
            number = services.publish(session, code, g.user.actor).number
    except services.InvalidService as invalid:
        flash(invalid.errors["publish"], "error")
        return redirect(url_for("catalogue.edit", code=code))
    flash(f"Versi {number} sudah terbit.", "ok")
    return redirect(url_for("catalogue.edit", code=code))


@bp.route("/<code>/tarik", methods=["POST"])
def withdraw(code: str):  # type: ignore[no-untyped-def]
    """The office takes its published service off the public page and WhatsApp at once, saying
    why; the withdrawn version stays in the history."""
    _owned(code)
    try:
        with session_scope(write=True) as session:
            number = services.withdraw(session, code, g.user.actor, request.form.get("reason") or "").number
    except services.InvalidService as invalid:
        flash(invalid.errors["reason"], "error")
        return redirect(url_for("catalogue.edit", code=code))
    flash(f"Versi {number} ditarik: layanan ini tidak lagi tampil di halaman publik dan WhatsApp.", "ok")
    return redirect(url_for("catalogue.edit", code=code))


@bp.route("/<code>/terbit-lagi", methods=["POST"])
def publish_again(code: str):  # type: ignore[no-untyped-def]
    """A withdrawn service's last published content, again: published at once by those who
    publish, otherwise a draft waiting for the admin."""
    agency, unit = _owned(code)
    publish_now = services.may_publish(_editor(), agency, unit, _approval_required())
    try:
        with session_scope(write=True) as session:
            number = services.publish_again(session, code, g.user.actor, publish_now=publish_now).number
    except services.InvalidService as invalid:
        flash(invalid.errors["publish"], "error")
        return redirect(url_for("catalogue.edit", code=code))
    flash(
        f"Versi {number} "
        + (
            "sudah terbit lagi." if publish_now else "diajukan untuk terbit lagi, menunggu persetujuan admin."
        ),
        "ok",
    )
    return redirect(url_for("catalogue.edit", code=code))
