"""Retention: personal data is kept only as long as the institution's configuration says.

``python -m layanwarga.retention purge`` (daily from cron or a scheduler) removes:
- photos and documents older than ``retention.media_days`` whose ticket is closed (or that never
  became part of a ticket): the file is deleted when no other ticket still uses it, and the row
  keeps only that a file existed;
- stored conversations older than ``retention.conversation_days``: the staff-facing message log
  and the assistant's conversation store (tracker events).
Tickets stay, for the archive and the statistics.
"""
from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
from dataclasses import dataclass
from typing import List, Optional

from sqlalchemy import and_, delete, or_, select, text
from sqlalchemy.future import create_engine

from . import media as media_storage
from . import privacy
from .config import PROJECT_ROOT, Institution, get_institution
from .conversation_log import ConversationMessage
from .db import session_scope
from .models import Media, Ticket, utcnow

logger = logging.getLogger(__name__)

DEFAULT_TRACKER_URL = f"sqlite:///{PROJECT_ROOT / 'var' / 'tracker.db'}"


def tracker_store_url() -> str:
    """The assistant's conversation store (``TRACKER_STORE_URL``; the embedded SQLite file)."""
    return os.environ.get("TRACKER_STORE_URL") or DEFAULT_TRACKER_URL


@dataclass
class PurgeReport:
    media_files_deleted: int = 0
    media_rows_cleared: int = 0
    log_messages_deleted: int = 0
    tracker_events_deleted: int = 0
    erasures_completed: int = 0


def purge_media(cutoff: dt.datetime, dry_run: bool = False) -> tuple:
    files = rows = 0
    with session_scope(write=True) as session:
        expired: List[Media] = session.execute(
            select(Media)
            .outerjoin(Ticket, Media.ticket_id == Ticket.id)
            .where(
                Media.created_at < cutoff,
                Media.storage_path.isnot(None),
                or_(Media.ticket_id.is_(None), and_(Ticket.closed_at.isnot(None), Ticket.closed_at < cutoff)),
            )
        ).scalars().all()
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


def purge_conversations(cutoff: dt.datetime, dry_run: bool = False, tracker_url: Optional[str] = None) -> tuple:
    with session_scope(write=True) as session:
        query = delete(ConversationMessage).where(ConversationMessage.created_at < cutoff)
        logged = 0 if dry_run else session.execute(query).rowcount
    engine = create_engine(tracker_url or tracker_store_url())
    events = 0
    try:
        with engine.begin() as conn:
            has_events = engine.dialect.has_table(conn, "events")
            if has_events and not dry_run:
                epoch = cutoff.replace(tzinfo=dt.timezone.utc).timestamp()
                events = conn.execute(text("DELETE FROM events WHERE timestamp < :t"), {"t": epoch}).rowcount
    finally:
        engine.dispose()
    return logged, events


def purge(inst: Institution, now: Optional[dt.datetime] = None, dry_run: bool = False,
          tracker_url: Optional[str] = None) -> PurgeReport:
    now = now or utcnow()
    report = PurgeReport()
    report.media_files_deleted, report.media_rows_cleared = purge_media(
        now - dt.timedelta(days=inst.media_retention_days), dry_run
    )
    report.log_messages_deleted, report.tracker_events_deleted = purge_conversations(
        now - dt.timedelta(days=inst.conversation_retention_days), dry_run, tracker_url
    )
    if not dry_run:
        # Erasure requests whose conversation could not be erased yet (e.g. the action server
        # restarted in between) are completed here too.
        report.erasures_completed = privacy.erase_conversations(now, tracker_url=tracker_url)
    logger.info("Retention purge%s: %s", " (dry run)" if dry_run else "", report)
    return report


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m layanwarga.retention")
    parser.add_argument("command", choices=["purge"])
    parser.add_argument("--dry-run", action="store_true", help="count what would be removed, remove nothing")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    report = purge(get_institution(), dry_run=args.dry_run)
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
