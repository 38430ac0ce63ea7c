"""Unauthenticated endpoints: health check."""
from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from layanwarga.db import session_scope

bp = Blueprint("public", __name__)


@bp.route("/sehat")
def health():  # type: ignore[no-untyped-def]
    try:
        with session_scope() as session:
            session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - report, do not raise
        return jsonify({"status": "database_unavailable"}), 503
    return jsonify({"status": "ok"})
