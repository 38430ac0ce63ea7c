"""Unauthenticated endpoints: health check, and the public service catalogue (every published
service by office, with search, each with its own shareable address)."""

from __future__ import annotations

from itertools import groupby
from typing import List

from flask import Blueprint, abort, jsonify, render_template, request
from sqlalchemy import text

from layanwarga import service_search
from layanwarga.db import session_scope
from layanwarga.services import PublishedService

bp = Blueprint("public", __name__)

QUERY_MAX = 200


@bp.route("/sehat")
def health():  # type: ignore[no-untyped-def]
    try:
        with session_scope() as session:
            session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - report, do not raise
        return jsonify({"status": "database_unavailable"}), 503
    return jsonify({"status": "ok"})


@bp.route("/layanan")
def services():  # type: ignore[no-untyped-def]
    """Every published service grouped by office; with ``q``, the search's matches, best first
    (the same search that answers WhatsApp)."""
    index = service_search.published_index()
    query = " ".join((request.args.get("q") or "").split())[:QUERY_MAX]
    found: List[PublishedService] = []
    if query:
        found = [match.service for match in index.search(query).candidates]
    ordered = sorted(index.services, key=lambda s: (s.agency_name, s.content.name.casefold()))
    offices = [(name, list(group)) for name, group in groupby(ordered, key=lambda s: s.agency_name)]
    # No shared caching: the page (its layout's CSRF token) may set a session cookie.
    return render_template("services.html", query=query, found=found, offices=offices, total=len(ordered))


@bp.route("/layanan/<code>")
def service(code: str):  # type: ignore[no-untyped-def]
    found = service_search.published_index().find(code)
    if found is None or found.code != code:
        abort(404)
    return render_template("service.html", s=found)
