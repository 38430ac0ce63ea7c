"""LayanWarga staff dashboard: a server-rendered Flask app over the ticket database, through the
domain core (``layanwarga``). Bahasa Indonesia, usable on a phone browser.

``python -m dashboard`` serves it with waitress (port ``DASHBOARD_PORT``, default 8080);
``python -m dashboard create-admin`` creates the first admin. See ``dashboard/__main__.py``.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Dict, Optional

from flask import Flask, g, render_template, request
from markupsafe import Markup

from layanwarga import staff, states
from layanwarga.config import get_institution
from layanwarga.db import session_scope
from layanwarga.formatting import MONTH_NAMES
from layanwarga.open311 import Open311Error

from . import security, ticket_details
from .localtime import local
from .settings import DashboardSettings

logger = logging.getLogger(__name__)

SHORT_MONTHS = ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des")
SHORT_DAYS = ("Sen", "Sel", "Rab", "Kam", "Jum", "Sab", "Min")


def create_app(settings: Optional[DashboardSettings] = None) -> Flask:
    settings = settings or DashboardSettings.from_env()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_NAME="lw_sesi",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        PERMANENT_SESSION_LIFETIME=staff.session_lifetime(),
        MAX_CONTENT_LENGTH=256 * 1024,
        LW_SETTINGS=settings,
        TEMPLATES_AUTO_RELOAD=False,
    )
    inst = get_institution()
    app.config["LW_INSTITUTION"] = inst
    security.install(app)

    @app.template_filter("waktu")
    def waktu(value: Optional[dt.datetime]) -> str:
        moment = local(inst, value)
        if moment is None:
            return "-"
        return f"{SHORT_DAYS[moment.weekday()]}, {moment.day} {SHORT_MONTHS[moment.month - 1]} {moment.year} {moment:%H.%M}"

    @app.template_filter("jam")
    def jam(value: Optional[dt.datetime]) -> str:
        moment = local(inst, value)
        return "-" if moment is None else f"{moment.day} {SHORT_MONTHS[moment.month - 1]} {moment:%H.%M}"

    @app.template_filter("tanggal")
    def tanggal(value: Optional[dt.date]) -> str:
        if value is None:
            return "-"
        return f"{value.day} {MONTH_NAMES[value.month - 1]} {value.year}"

    @app.template_filter("angka")
    def angka(value: Any) -> str:
        try:
            return f"{int(value):,}".replace(",", ".")
        except (TypeError, ValueError):
            return str(value)

    @app.template_filter("persen")
    def persen(value: Optional[float]) -> str:
        return "-" if value is None else f"{value * 100:.1f}%".replace(".", ",")

    @app.template_filter("desimal")
    def desimal(value: Optional[float]) -> str:
        return "-" if value is None else f"{value:.1f}".replace(".", ",")

    @app.template_filter("baris")
    def baris(value: Optional[str]) -> Markup:
        """Citizen text with its line breaks, escaped."""
        from markupsafe import escape

        return Markup("<br>".join(escape(line) for line in (value or "").splitlines()))

    @app.template_filter("lampiran")
    def lampiran(kind: Optional[str]) -> str:
        """A conversation line's attachment, named by what it is."""
        return ticket_details.attachment_label(kind)

    @app.context_processor
    def globals_() -> Dict[str, Any]:
        return {
            "inst": inst,
            "state_labels": states.LABELS,
            "role_labels": staff.ROLE_LABELS,
            "user": g.get("user"),
            "live_poll_seconds": settings.live_poll_seconds,
        }

    from . import permissions
    from .views import (
        admin,
        announcements,
        auth,
        catalogue,
        live,
        models,
        open311,
        public,
        public_map,
        review,
        stats,
        tickets,
    )

    for module in (
        auth,
        tickets,
        live,
        stats,
        admin,
        announcements,
        review,
        models,
        public,
        public_map,
        open311,
        catalogue,
    ):
        app.register_blueprint(module.bp)
    # Every route behind its declared rule; a route without one stops the app here.
    permissions.install_route_rules(app)

    @app.errorhandler(400)
    def bad_request(error: Any):  # type: ignore[no-untyped-def]
        if open311_path():
            return open311.error_response(Open311Error(400, "Permintaan tidak sah."))
        return render_template(
            "error.html", code=400, message=getattr(error, "description", "Permintaan tidak sah.")
        ), 400

    @app.errorhandler(403)
    def forbidden(_: Any):  # type: ignore[no-untyped-def]
        return render_template(
            "error.html", code=403, message="Anda tidak memiliki akses ke halaman ini."
        ), 403

    @app.errorhandler(404)
    def not_found(_: Any):  # type: ignore[no-untyped-def]
        if open311_path():
            return open311.error_response(Open311Error(404, "Alamat tidak dikenal di Open311 GeoReport v2."))
        return render_template("error.html", code=404, message="Halaman atau tiket tidak ditemukan."), 404

    @app.errorhandler(413)
    def too_large(_: Any):  # type: ignore[no-untyped-def]
        if open311_path():
            return open311.error_response(Open311Error(413, "Isian terlalu besar."))
        return render_template("error.html", code=413, message="Isian terlalu panjang."), 413

    @app.errorhandler(405)
    def wrong_method(error: Any):  # type: ignore[no-untyped-def]
        if open311_path():
            return open311.error_response(
                Open311Error(400, f"Metode {request.method} tidak didukung di alamat ini.")
            )
        return error

    @app.errorhandler(500)
    def server_error(_: Any):  # type: ignore[no-untyped-def]
        if open311_path():
            return open311.error_response(
                Open311Error(400, "Terjadi gangguan sistem; coba lagi beberapa saat lagi.")
            )
        return render_template(
            "error.html", code=500, message="Terjadi gangguan sistem. Silakan coba lagi."
        ), 500

    return app


def open311_path() -> bool:
    """Errors under the Open311 API are answered in the spec's format, not as a page."""
    return request.path.startswith("/open311/")


def agency_names() -> Dict[str, str]:
    """Agency code -> name for this request (config plus dashboard settings), cached on g."""
    if "agency_names" not in g:
        inst = get_institution()
        with session_scope() as session:
            g.agency_names = {
                code: info.name for code, info in staff.agencies(session, inst, include_inactive=True).items()
            }
    return g.agency_names
