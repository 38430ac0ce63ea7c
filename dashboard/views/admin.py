"""Administration (admin role only): users, OPD, the notification outbox, blocked senders, and
citizens' data requests."""

from __future__ import annotations

import logging
import secrets
from typing import Any, Dict

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from layanwarga import api_keys, blocklist, inbound, notifications, spool_reports, staff, staff_units
from layanwarga.config import Institution, get_institution
from layanwarga.db import session_scope
from layanwarga.inbound import mask
from layanwarga.models import DataRequest, Notification, StaffUser, Ticket

from ..security import roles_required

logger = logging.getLogger(__name__)
bp = Blueprint("admin", __name__, url_prefix="/admin")


def _form_bool(name: str) -> bool:
    return request.form.get(name) in ("1", "on", "ya")


def _unit_options(inst: Institution) -> Dict[str, Any]:
    """The account form's unit list (only when the configuration has a tree) and field units."""
    tree = inst.units
    upts = [(code, upt.name) for code, agency in inst.agencies.items() for upt in agency.upts]
    return {
        "unit_choices": [] if tree.single else staff_units.unit_choices(tree),
        "upt_choices": upts,
        "unit_label": lambda code: staff_units.unit_label(tree, code),
    }


@bp.route("/pengguna", methods=["GET", "POST"])
@roles_required(staff.ROLE_ADMIN)
def users():  # type: ignore[no-untyped-def]
    inst = get_institution()
    error = None
    created_password = None
    form = request.form if request.method == "POST" else {}
    if request.method == "POST":
        password = request.form.get("password") or ""
        generated = not password
        if generated:
            password = secrets.token_urlsafe(12)
        try:
            with session_scope(write=True) as session:
                agency_codes = list(staff.agencies(session, inst))
                user = staff.create_user(
                    session,
                    username=request.form.get("username") or "",
                    full_name=request.form.get("full_name") or "",
                    password=password,
                    role=request.form.get("role") or "",
                    agency_code=(request.form.get("agency_code") or None),
                    can_chat=_form_bool("can_chat"),
                    agencies=agency_codes,
                    temporary=True,
                    inst=inst,
                    unit_code=request.form.get("unit_code") or None,
                    upt_name=request.form.get("upt_name") or None,
                )
                staff.audit(
                    session,
                    g.user.actor,
                    "buat_pengguna",
                    target=user.username,
                    detail=f"peran={user.role} opd={user.agency_code or '-'} unit={user.unit_code or '-'} upt={user.upt_name or '-'}",
                )
                username = user.username
        except staff.UserError as exc:
            error = str(exc)
        else:
            flash(f"Pengguna {username} dibuat. Kata sandi awalnya wajib diganti saat pertama masuk.", "ok")
            if not generated:
                return redirect(url_for("admin.users"))
            # Shown once on this page (never stored in a cookie); the form is empty for the next user.
            created_password = (username, password)
            form = {}
    with session_scope() as session:
        rows = staff.list_users(session)
        agencies = staff.agencies(session, inst)
    return render_template(
        "admin_users.html",
        users=rows,
        agencies=agencies,
        error=error,
        form=form,
        created_password=created_password,
        roles=staff.ROLES,
        **_unit_options(inst),
    ), (400 if error else 200)


@bp.route("/pengguna/<int:user_id>", methods=["GET", "POST"])
@roles_required(staff.ROLE_ADMIN)
def edit_user(user_id: int):  # type: ignore[no-untyped-def]
    inst = get_institution()
    error = None
    new_password = None
    if request.method == "POST":
        try:
            with session_scope(write=True) as session:
                user = session.get(StaffUser, user_id)
                if user is None:
                    abort(404)
                if request.form.get("reset_password"):
                    new_password = secrets.token_urlsafe(12)
                    staff.set_password(session, user, new_password, temporary=True)
                    staff.audit(session, g.user.actor, "reset_sandi", target=user.username)
                else:
                    staff.update_user(
                        session,
                        user,
                        full_name=request.form.get("full_name") or "",
                        role=request.form.get("role") or "",
                        agency_code=request.form.get("agency_code") or None,
                        can_chat=_form_bool("can_chat"),
                        is_active=_form_bool("is_active"),
                        agencies=list(staff.agencies(session, inst, include_inactive=True)),
                        inst=inst,
                        unit_code=request.form.get("unit_code") or None,
                        upt_name=request.form.get("upt_name") or None,
                    )
                    staff.audit(
                        session,
                        g.user.actor,
                        "ubah_pengguna",
                        target=user.username,
                        detail=f"peran={user.role} opd={user.agency_code or '-'} unit={user.unit_code or '-'}"
                        f" upt={user.upt_name or '-'} aktif={user.is_active}",
                    )
        except staff.UserError as exc:
            error = str(exc)
        else:
            if new_password is None:
                flash("Perubahan disimpan.", "ok")
                return redirect(url_for("admin.users"))
    with session_scope() as session:
        user = session.get(StaffUser, user_id)
        if user is None:
            abort(404)
        agencies = staff.agencies(session, inst)
    return render_template(
        "admin_user_edit.html",
        u=user,
        agencies=agencies,
        error=error,
        roles=staff.ROLES,
        new_password=new_password,
        **_unit_options(inst),
    ), (400 if error else 200)


@bp.route("/opd", methods=["GET", "POST"])
@roles_required(staff.ROLE_ADMIN)
def agencies():  # type: ignore[no-untyped-def]
    inst = get_institution()
    error = None
    if request.method == "POST":
        try:
            with session_scope(write=True) as session:
                row = staff.save_agency(
                    session,
                    inst,
                    code=request.form.get("code") or "",
                    name=request.form.get("name") or "",
                    contact=request.form.get("contact") or "",
                    digest_recipients=request.form.get("digest_recipients") or "",
                    is_active=_form_bool("is_active"),
                )
                staff.audit(session, g.user.actor, "simpan_opd", target=row.code)
        except staff.UserError as exc:
            error = str(exc)
        else:
            flash("Data OPD disimpan.", "ok")
            return redirect(url_for("admin.agencies"))
    with session_scope() as session:
        rows = staff.agencies(session, inst, include_inactive=True)
        routed = {}
        for category in inst.complaint_categories.values():
            routed.setdefault(category.agency, []).append(category.label)
    return render_template("admin_agencies.html", agencies=rows, routed=routed, error=error), (
        400 if error else 200
    )


@bp.route("/notifikasi")
@roles_required(staff.ROLE_ADMIN)
def outbox():  # type: ignore[no-untyped-def]
    with session_scope() as session:
        counts = notifications.counts_by_status(session)
        failed = list(
            session.execute(
                select(Notification, Ticket.number)
                .outerjoin(Ticket, Ticket.id == Notification.ticket_id)
                .where(Notification.status == notifications.FAILED)
                .order_by(Notification.id.desc())
                .limit(100)
            ).all()
        )
        on_disk = spool_reports.waiting(session, spool_reports.KIND_SUBMISSIONS)
        unanswered = inbound.unfinished_messages(session)
    return render_template(
        "admin_outbox.html",
        counts=counts,
        failed=failed,
        labels=notifications.STATUS_LABELS,
        on_disk=on_disk,
        unanswered=unanswered,
    )


@bp.route("/notifikasi/<int:notification_id>/ulang", methods=["POST"])
@roles_required(staff.ROLE_ADMIN)
def retry(notification_id: int):  # type: ignore[no-untyped-def]
    with session_scope(write=True) as session:
        if notifications.retry(session, notification_id, g.user.actor):
            staff.audit(session, g.user.actor, "kirim_ulang", detail=f"notifikasi {notification_id}")
            flash("Pesan dimasukkan kembali ke antrean.", "ok")
        else:
            flash("Pesan ini tidak dalam status gagal.", "info")
    return redirect(url_for("admin.outbox"))


@bp.route("/blokir", methods=["GET", "POST"])
@roles_required(staff.ROLE_ADMIN)
def blocked():  # type: ignore[no-untyped-def]
    """Senders blocked for abuse: their WhatsApp messages are neither answered nor processed."""
    error = None
    form = request.form if request.method == "POST" else {}
    if request.method == "POST":
        try:
            with session_scope(write=True) as session:
                row = blocklist.block(
                    session, request.form.get("nomor") or "", request.form.get("alasan") or "", g.user.actor
                )
                staff.audit(session, g.user.actor, "blokir", target=mask(row.sender), detail=row.reason)
                sender = row.sender
        except blocklist.BlockError as exc:
            error = str(exc)
        else:
            flash(f"Nomor {mask(sender)} diblokir: pesan WhatsApp darinya tidak akan dijawab.", "ok")
            return redirect(url_for("admin.blocked"))
    with session_scope() as session:
        rows = [(row, mask(row.sender)) for row in blocklist.all_blocked(session)]
    return render_template("admin_blocked.html", rows=rows, error=error, form=form), (400 if error else 200)


@bp.route("/blokir/<path:sender>/buka", methods=["POST"])
@roles_required(staff.ROLE_ADMIN)
def unblock(sender: str):  # type: ignore[no-untyped-def]
    with session_scope(write=True) as session:
        if blocklist.unblock(session, sender):
            staff.audit(session, g.user.actor, "buka_blokir", target=mask(sender))
            flash(f"Blokir {mask(sender)} dibuka.", "ok")
    return redirect(url_for("admin.blocked"))


@bp.route("/permintaan-data")
@roles_required(staff.ROLE_ADMIN)
def data_requests():  # type: ignore[no-untyped-def]
    """Citizens' data access and erasure requests (UU PDP), without their phone numbers."""
    with session_scope() as session:
        rows = session.execute(select(DataRequest).order_by(DataRequest.id.desc()).limit(200)).scalars().all()
    return render_template("admin_data_requests.html", rows=rows)


@bp.route("/kunci-api", methods=["GET", "POST"])
@roles_required(staff.ROLE_ADMIN)
def api_keys_page():  # type: ignore[no-untyped-def]
    """Open311 partners' keys: issue (the key is shown once), see the last use, revoke."""
    error = None
    issued = None
    actor = g.user.actor
    if request.method == "POST":
        try:
            with session_scope(write=True) as session:
                issued = api_keys.issue(session, request.form.get("nama") or "", actor)
                staff.audit(session, actor, "buat_kunci_api", issued.name)
        except ValueError as exc:
            error = str(exc)
    with session_scope() as session:
        rows = api_keys.listed(session)
        session.expunge_all()
    status = 400 if error else 200
    return render_template(
        "admin_api_keys.html", rows=rows, issued=issued, error=error, form=request.form if error else {}
    ), status


@bp.route("/kunci-api/<int:key_id>/cabut", methods=["POST"])
@roles_required(staff.ROLE_ADMIN)
def revoke_api_key(key_id: int):  # type: ignore[no-untyped-def]
    actor = g.user.actor
    with session_scope(write=True) as session:
        row = api_keys.revoke(session, key_id, actor)
        if row is None:
            abort(404)
        staff.audit(session, actor, "cabut_kunci_api", row.name)
        flash(f"Kunci {row.prefix}… untuk {row.name} dicabut.", "success")
    return redirect(url_for("admin.api_keys_page"))
