"""Content staff's review queue (issue 27): what the assistant misunderstood, grouped by similar
text, and each group with the conversation around its latest message. Staff flag a line for the
queue from a ticket's conversation or a live chat. The rules are ``layanwarga.review_queue``'s."""

from __future__ import annotations

import logging
from typing import Any, Optional
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for

from layanwarga import model_registry, review_queue, teaching
from layanwarga.db import session_scope
from layanwarga.inbound import mask

from .. import permissions

logger = logging.getLogger(__name__)
bp = Blueprint("review", __name__, url_prefix="/konten")


@bp.route("/tinjauan")
def queue():  # type: ignore[no-untyped-def]
    with session_scope() as session:
        groups = review_queue.queue(session)
    return render_template("review_queue.html", groups=groups, reasons=review_queue.REASONS)


@bp.route("/tinjauan/kelompok")
def group():  # type: ignore[no-untyped-def]
    return _group_page((request.args.get("kunci") or "").strip())


def _group_page(key: str, error: Optional[str] = None, form: Optional[Any] = None, status: int = 200) -> Any:
    """A group's page; with ``error`` the refused annotation is shown again as typed."""
    with session_scope() as session:
        found = review_queue.find_group(session, key) if key else None
        if found is None:
            # Decided meanwhile (it left the queue), or a stale link: back to the queue.
            flash("Kelompok pesan ini sudah tidak ada di antrean.", "ok")
            return redirect(url_for("review.queue"))
        latest = found.latest
        lines = review_queue.context(session, latest)
    items = [
        {
            "sender": mask(item.sender),
            "text": review_queue.display_text(item.text),
            "at": item.at,
            "reason": review_queue.REASONS[item.reason],
            "intent": item.intent,
            "confidence": item.confidence,
        }
        for item in sorted(found.items, key=lambda item: item.at, reverse=True)
    ]
    project = teaching.Project()
    intents = teaching.top_intents(teaching.domain_intents(project), found.guesses)
    return render_template(
        "review_group.html",
        group=found,
        items=items,
        lines=lines,
        sender=mask(latest.sender),
        intents=intents,
        entities=teaching.domain_entities(project),
        decisions=teaching.DECISIONS,
        error=error,
        form=form or {},
        project_writes=project.writable(),
    ), status


@bp.route("/tinjauan/anotasi", methods=["POST"])
def annotate() -> Any:
    key = (request.form.get("kunci") or "").strip()
    decision = request.form.get("keputusan") or ""
    try:
        with session_scope(write=True) as session:
            saved = teaching.annotate(
                session,
                teaching.Project(),
                key=key,
                decision=decision,
                actor=g.user.actor,
                intent=request.form.get("intent") or None,
                text=request.form.get("contoh") or "",
            )
    except teaching.AnnotationRefused as refused:
        return _group_page(key, error=str(refused), form=request.form, status=400)
    if decision == teaching.DECIDE_IGNORE:
        flash("Kelompok pesan diabaikan dan tidak akan muncul lagi.", "ok")
    elif saved.written_to:
        flash(f"Contoh disimpan ke {saved.written_to}. Latih ulang asisten agar berlaku.", "ok")
    else:
        flash(
            "Contoh dicatat. Data pelatihan tidak dapat ditulis di server ini: unduh ekspor YAML untuk dimasukkan ke repositori.",
            "ok",
        )
    return redirect(url_for("review.queue"))


@bp.route("/perubahan")
def changes() -> Any:
    """What changed: examples added per intent per week, each published model's evaluation,
    and the misunderstood rate per week (``review_queue.WeekRate``)."""
    with session_scope() as session:
        rates = review_queue.misunderstood_per_week(session)
        added = review_queue.examples_added_per_week(session)
    publications = []
    for entry in reversed(model_registry.state()["history"]):
        try:
            publications.append((entry, model_registry.get(entry["id"])))
        except model_registry.RegistryError:
            logger.warning("Model %s in the publication history is missing from the store", entry.get("id"))
    return render_template("review_changes.html", rates=rates, added=added, publications=publications)


@bp.route("/tinjauan/ekspor.yml")
def export() -> Any:
    with session_scope() as session:
        content = teaching.export_yaml(session)
    return Response(
        content,
        mimetype="application/x-yaml",
        headers={"Content-Disposition": f"attachment; filename={teaching.TAUGHT_FILE}"},
    )


def _back(default: str) -> str:
    """Where the flag button was pressed (a page of this dashboard only)."""
    target: Optional[str] = request.form.get("kembali")
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return default


@bp.route("/tandai", methods=["POST"])
def flag() -> Any:
    back = _back(url_for("tickets.inbox"))
    try:
        line_id = int(request.form.get("pesan") or "")
    except ValueError:
        abort(400, description="Pesan yang ditandai tidak dikenal.")
    with session_scope(write=True) as session:
        if not permissions.may_read_line(session, g.user, line_id):
            abort(404)
        try:
            added = review_queue.flag_line(session, line_id, g.user.actor)
        except review_queue.FlagRefused as refused:
            flash(str(refused), "error")
            return redirect(back)
    logger.info("Line %s flagged for the review queue by %s", line_id, g.user.actor)
    flash(
        "Pesan ditandai untuk ditinjau staf konten." if added else "Pesan ini sudah ada di antrean tinjauan.",
        "ok",
    )
    return redirect(back)
