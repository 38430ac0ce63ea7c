"""Login, logout and changing one's own password."""

from __future__ import annotations

import logging

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for

from layanwarga import staff
from layanwarga.db import session_scope
from layanwarga.models import StaffUser

from ..security import client_ip, login_required, safe_next

logger = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)


@bp.route("/masuk", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    if g.user is not None:
        return redirect(safe_next(request.args.get("next")))
    error = None
    status = 200
    username = ""
    if request.method == "POST":
        username = (request.form.get("username") or "").strip()[: staff.USERNAME_MAX]
        password = request.form.get("password") or ""
        ip = client_ip()
        with session_scope(write=True) as db:
            result = staff.authenticate(db, username, password, ip)
            if result.user_id is not None:
                new = staff.start_session(db, result.user_id, ip, request.headers.get("User-Agent"))
                staff.audit(db, f"staf:{staff.normalise_username(username)}", "masuk", detail=f"ip={ip}")
        if result.user_id is not None:
            # A fresh cookie: nothing from before the login survives (session fixation).
            session.clear()
            session.permanent = True
            session["t"] = new.token
            return redirect(safe_next(request.form.get("next") or request.args.get("next")))
        error = result.error
        status = 429 if result.retry_after_minutes else 401
    return render_template(
        "login.html", error=error, username=username, next=request.args.get("next", "")
    ), status


@bp.route("/keluar", methods=["POST"])
def logout():  # type: ignore[no-untyped-def]
    token = session.get("t")
    if token:
        with session_scope() as db:
            staff.end_session(db, token)
    session.clear()
    flash("Anda telah keluar.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/akun/sandi", methods=["GET", "POST"])
@login_required
def change_password():  # type: ignore[no-untyped-def]
    error = None
    if request.method == "POST":
        try:
            with session_scope(write=True) as db:
                user = db.get(StaffUser, g.user.id)
                staff.change_own_password(
                    db,
                    user,
                    request.form.get("current") or "",
                    request.form.get("new") or "",
                    request.form.get("again") or "",
                )
                staff.audit(db, user.actor, "ganti_sandi")
                new_session = staff.start_session(db, user.id, client_ip(), request.headers.get("User-Agent"))
        except staff.UserError as exc:
            error = str(exc)
        else:
            session.clear()
            session.permanent = True
            session["t"] = new_session.token
            flash("Kata sandi berhasil diganti. Sesi di perangkat lain telah diakhiri.", "ok")
            return redirect(url_for("tickets.inbox"))
    return render_template("password.html", error=error, forced=bool(g.user.must_change_password)), (
        400 if error else 200
    )
