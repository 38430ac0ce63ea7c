"""Retention: personal data is kept only as long as the institution's configuration says.

``python -m layanwarga.retention purge`` (daily from cron or a scheduler) removes:
- photos and documents older than ``retention.media_days`` whose ticket is closed (or that never
  became part of a ticket): the file is deleted when no other ticket still uses it, and the row
  keeps only that a file existed;
- stored conversations older than ``retention.conversation_days``: the staff-facing message log
  and the assistant's conversation store (tracker events, ``layanwarga.conversation_store``),
  and the words of service catalogue questions that found nothing (their count stays);
- entries of the local spools (``layanwarga.spool``) older than ``retention.conversation_days``,
  failed and unreadable ones included, and those of citizens who asked for erasure
  (``maintain_spool``: run here for the spool folders of this machine, and periodically by
  every process that owns a spool, since in a deployment the spools sit on each instance's own
  disk).
Tickets stay, for the archive and the statistics. When the conversation store cannot be
reached, the rest is still purged, the failure is logged and the command exits with status 1,
so a scheduler shows the run as failed instead of a purge that silently did nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
from dataclasses import dataclass
from typing import List, Optional

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from . import conversation_store, media as media_storage, privacy, runtime, spool as spooling
from .config import Institution, get_institution
from .db import session_scope
from .models import ConversationMessage, Media, NluReading, ReviewFlag, ServiceQuestion, Ticket, utcnow

logger = logging.getLogger(__name__)


@dataclass
class PurgeReport:
    media_files_deleted: int = 0
    media_rows_cleared: int = 0
    log_messages_deleted: int = 0
    tracker_events_deleted: int = 0
    erasures_completed: int = 0
    erasures_failed: int = 0
    spool_entries_removed: int = 0
    # Why the conversation store was not purged (None when it was).
    conversation_store_error: Optional[str] = None

    @property
    def complete(self) -> bool:
        return self.conversation_store_error is None and not self.erasures_failed


def purge_media(cutoff: dt.datetime, dry_run: bool = False) -> tuple:
    files = rows = 0
    with session_scope(write=True) as session:
        expired: List[Media] = (
            session.execute(
                select(Media)
                .outerjoin(Ticket, Media.ticket_id == Ticket.id)
                .where(
                    Media.created_at < cutoff,
                    Media.storage_path.isnot(None),
                    or_(
                        Media.ticket_id.is_(None),
                        and_(Ticket.closed_at.isnot(None), Ticket.closed_at < cutoff),
                    ),
                )
            )
            .scalars()
            .all()
        )
        for row in expired:
            path = row.storage_path
            # Files are stored by content hash: another ticket may still use the same file.
            still_used = session.execute(
                select(Media.id).where(Media.storage_path == path, Media.id.notin_([m.id for m in expired]))
            ).first()
            if not dry_run:
                if still_used is None:
                    try:
                        media_storage.resolve(path).unlink()
                        files += 1
                    except FileNotFoundError:
                        pass
                row.storage_path = None
                row.purpose = "dihapus_retensi"
            rows += 1
        if dry_run:
            session.rollback()
    return files, rows


def purge_conversations(
    cutoff: dt.datetime, dry_run: bool = False, tracker_url: Optional[str] = None
) -> tuple:
    """Old lines of the message log and old events of the conversation store; returns the
    counts (log lines, events). Raises ``ConversationStoreUnavailable`` after the log is purged
    when the store cannot be reached."""
    with session_scope(write=True) as session:
        if dry_run:
            logged = session.execute(
                select(func.count(ConversationMessage.id)).where(ConversationMessage.created_at < cutoff)
            ).scalar_one()
        else:
            # The review queue's copies of citizens' words go with the lines (layanwarga.review_queue).
            old_lines = select(ConversationMessage.id).where(ConversationMessage.created_at < cutoff)
            session.execute(
                delete(ReviewFlag)
                .where(or_(ReviewFlag.created_at < cutoff, ReviewFlag.line_id.in_(old_lines)))
                .execution_options(synchronize_session=False)
            )
            session.execute(delete(NluReading).where(NluReading.created_at < cutoff))
            logged = session.execute(
                delete(ConversationMessage).where(ConversationMessage.created_at < cutoff)
            ).rowcount
            session.execute(
                update(ServiceQuestion)
                .where(ServiceQuestion.asked_at < cutoff, ServiceQuestion.text.isnot(None))
                .values(text=None)
            )
    if dry_run:
        return logged, conversation_store.count_before(cutoff, store_url=tracker_url)
    return logged, conversation_store.delete_before(cutoff, store_url=tracker_url)


def maintain_spool(queue: spooling.Spool, inst: Institution, now: Optional[dt.datetime] = None) -> int:
    """Remove from ``queue`` what must not stay: entries of citizens who asked for erasure, and
    every entry older than the conversation retention period; returns how many files went.
    Expiry works without the ticket database; erasure tags need it (skipped, logged, when it is
    down: they are applied at the next run)."""
    now = now or utcnow()
    removed = queue.expire(now - dt.timedelta(days=inst.conversation_retention_days))
    try:
        removed += privacy.erase_spooled(queue)
    except SQLAlchemyError as error:  # the database may be the very thing that is down
        logger.warning(
            "Erasure requests could not be read for spool %s (applied at the next run): %s",
            queue.directory,
            getattr(error, "orig", None) or error,
        )
    return removed


def purge(
    inst: Institution,
    now: Optional[dt.datetime] = None,
    dry_run: bool = False,
    tracker_url: Optional[str] = None,
) -> PurgeReport:
    now = now or utcnow()
    report = PurgeReport()
    report.media_files_deleted, report.media_rows_cleared = purge_media(
        now - dt.timedelta(days=inst.media_retention_days), dry_run
    )
    cutoff = now - dt.timedelta(days=inst.conversation_retention_days)
    try:
        report.log_messages_deleted, report.tracker_events_deleted = purge_conversations(
            cutoff, dry_run, tracker_url
        )
    except conversation_store.ConversationStoreUnavailable as error:
        report.conversation_store_error = str(error)
        logger.error("Retention purge could NOT reach the conversation store: %s", error)
    if not dry_run:
        # Erasure requests whose conversation could not be erased yet (e.g. the action server
        # restarted in between) are completed here too.
        erasure = privacy.erase_conversations(now, tracker_url=tracker_url)
        report.erasures_completed, report.erasures_failed = erasure.completed, erasure.failed
        for folder in spooling.local_folders():
            report.spool_entries_removed += maintain_spool(spooling.Spool(folder), inst, now)
        privacy.forget_spool_tags(cutoff)
    (logger.info if report.complete else logger.error)(
        "Retention purge%s: %s", " (dry run)" if dry_run else "", report
    )
    return report


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m layanwarga.retention")
    parser.add_argument("command", choices=["purge"])
    parser.add_argument("--dry-run", action="store_true", help="count what would be removed, remove nothing")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    runtime.require_safe("retention")
    report = purge(get_institution(), dry_run=args.dry_run)
    print(report)
    return 0 if report.complete else 1


if __name__ == "__main__":
    raise SystemExit(main())
