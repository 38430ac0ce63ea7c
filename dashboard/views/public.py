"""Unauthenticated endpoints: health check, and the public service catalogue (every published
service by office and unit, with search and a choice of unit, each with its own shareable
address)."""

from __future__ import annotations

from itertools import groupby
from typing import FrozenSet, List, Sequence, Tuple

from flask import Blueprint, abort, jsonify, render_template, request
from sqlalchemy import text

from layanwarga import service_search, staff_units
from layanwarga.config import get_institution
from layanwarga.db import session_scope
from layanwarga.services import PublishedService
from layanwarga.units import UnitTree

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
    """Every published service grouped by office, then by the unit of the city that offers it
    (services of the whole city first); with ``unit``, only that unit's and its kelurahan's; with
    ``q``, the search's matches, best first (the same search that answers WhatsApp), within the
    chosen unit."""
    index = service_search.published_index()
    tree = get_institution().units
    query = " ".join((request.args.get("q") or "").split())[:QUERY_MAX]
    choices = _unit_choices(tree, index.services)
    unit = tree.get(request.args.get("unit") or "")
    area = _area(tree, unit.code) if unit is not None and unit.code in dict(choices) else None
    found: List[PublishedService] = []
    if query:
        found = [match.service for match in index.search(query, units=area, unplaced=area is None).candidates]
    listed = [s for s in index.services if area is None or s.unit_code in area]
    order = {u.code: position for position, u in enumerate(tree)}
    ordered = sorted(
        listed,
        key=lambda s: (
            s.agency_name,
            -1 if s.unit_code is None else order.get(s.unit_code, len(order)),
            s.content.name.casefold(),
        ),
    )
    offices = [
        (office, [(unit_name, list(items)) for unit_name, items in groupby(group, key=lambda s: s.unit_name)])
        for office, group in groupby(ordered, key=lambda s: s.agency_name)
    ]
    # No shared caching: the page (its layout's CSRF token) may set a session cookie.
    return render_template(
        "services.html",
        query=query,
        found=found,
        offices=offices,
        total=len(ordered),
        unit_choices=choices,
        chosen=unit.code if area is not None and unit is not None else "",
        chosen_title=unit.title if area is not None and unit is not None else "",
    )


def _area(tree: UnitTree, code: str) -> FrozenSet[str]:
    return frozenset([code, *(below.code for below in tree.descendants(code))])


def _unit_choices(tree: UnitTree, published: Sequence[PublishedService]) -> List[Tuple[str, str]]:
    """(code, label) of the units that offer a published service, or whose kelurahan do, in the
    tree's order (a kecamatan before its kelurahan); none in a single-unit deployment."""
    placed = {s.unit_code for s in published if s.unit_code and s.unit_code in tree}
    shown = {
        code for unit_code in placed for code in (unit_code, *(u.code for u in tree.ancestors(unit_code)))
    }
    return [(code, label) for code, label in staff_units.unit_choices(tree) if code and code in shown]


@bp.route("/layanan/<code>")
def service(code: str):  # type: ignore[no-untyped-def]
    found = service_search.published_index().get(code)
    if found is None:
        abort(404)
    return render_template("service.html", s=found)
