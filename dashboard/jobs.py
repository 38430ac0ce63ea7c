"""The dashboard's periodic jobs, run by its own scheduler thread in every ``python -m dashboard``
process (or by ``python -m dashboard digest`` / ``purge`` from cron when it runs with
``--no-scheduler``):

1. the daily SLA digest per OPD, at ``DASHBOARD_DIGEST_TIME`` on working days;
2. every hour, deleting old login attempts and ended staff sessions (``staff.purge_login_records``:
   retention in SECURITY.md). Several processes doing it at once delete the same rows: harmless.

The digest:

Each OPD's digest is claimed in ``digest_runs`` (unique per day and OPD), so the job runs once a
day even with several dashboard processes or a cron job next to the scheduler. Delivery:

- always a text file ``var/digests/<date>/<OPD>.txt`` (and the dashboard's "Ringkasan harian");
- by e-mail to the OPD's digest recipients when ``DASHBOARD_SMTP_HOST`` is set
  (``DASHBOARD_SMTP_PORT``, ``DASHBOARD_SMTP_USER``, ``DASHBOARD_SMTP_PASSWORD``,
  ``DASHBOARD_SMTP_FROM``, STARTTLS unless ``DASHBOARD_SMTP_STARTTLS=0``).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import smtplib
import threading
from email.message import EmailMessage
from pathlib import Path
from typing import Dict, List, Optional

from layanwarga import calendar, staff, stats
from layanwarga.config import PROJECT_ROOT, Institution, get_institution
from layanwarga.db import session_scope
from layanwarga.models import utcnow
from layanwarga.staff import agencies

logger = logging.getLogger(__name__)

DIGEST_DIR_ENV = "DASHBOARD_DIGEST_DIR"
PURGE_INTERVAL = dt.timedelta(hours=1)


def digest_dir() -> Path:
    return Path(os.environ.get(DIGEST_DIR_ENV) or PROJECT_ROOT / "var" / "digests")


def _send_mail(recipients: List[str], subject: str, body: str) -> bool:
    host = os.environ.get("DASHBOARD_SMTP_HOST")
    if not host or not recipients:
        return False
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = os.environ.get("DASHBOARD_SMTP_FROM") or "layanwarga@localhost"
    message["To"] = ", ".join(recipients)
    message.set_content(body)
    port = int(os.environ.get("DASHBOARD_SMTP_PORT") or 587)
    with smtplib.SMTP(host, port, timeout=30) as smtp:
        if os.environ.get("DASHBOARD_SMTP_STARTTLS", "1") != "0":
            smtp.starttls()
        user = os.environ.get("DASHBOARD_SMTP_USER")
        if user:
            smtp.login(user, os.environ.get("DASHBOARD_SMTP_PASSWORD") or "")
        smtp.send_message(message)
    return True


def run_digests(
    inst: Optional[Institution] = None,
    day: Optional[dt.date] = None,
    *,
    force: bool = False,
    public_url: str = "",
) -> Dict[str, str]:
    """Compose and deliver today's digest for every active OPD; returns code -> where it went
    (OPD already done today are skipped unless ``force``)."""
    inst = inst or get_institution()
    day = day or stats.today_local(inst)
    results: Dict[str, str] = {}
    with session_scope() as session:
        agency_list = agencies(session, inst)
    for code, info in agency_list.items():
        with session_scope() as session:
            result = stats.digest(session, inst, code, info.name, day)
        text = result.text(inst, f"{public_url}/ringkasan" if public_url else "")
        if not stats.claim_digest(day, code, text) and not force:
            results[code] = "sudah dikirim"
            continue
        folder = digest_dir() / day.isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{code}.txt"
        path.write_text(text + "\n", encoding="utf-8")
        delivered = [str(path)]
        recipients = [r.strip() for r in (info.digest_recipients or "").split(",") if "@" in r]
        try:
            if _send_mail(
                recipients, f"Ringkasan harian {inst.service_name} – {info.name} – {day.isoformat()}", text
            ):
                delivered.append("email: " + ", ".join(recipients))
        except (OSError, smtplib.SMTPException) as exc:
            logger.error("Digest for %s could not be e-mailed: %s", code, exc)
            delivered.append(f"email gagal: {type(exc).__name__}")
        stats.set_delivered(day, code, "; ".join(delivered))
        results[code] = "; ".join(delivered)
        logger.info("Digest for %s (%d overdue) -> %s", code, len(result.overdue), results[code])
    return results


def purge_login_records(now: Optional[dt.datetime] = None) -> staff.PurgeResult:
    """Delete login attempts and staff sessions past their retention; logs what went."""
    with session_scope() as session:
        result = staff.purge_login_records(session, now)
    if result.attempts or result.sessions:
        logger.info(
            "Purged %d old login attempts and %d ended staff sessions", result.attempts, result.sessions
        )
    return result


class Scheduler(threading.Thread):
    """The dashboard's periodic jobs in the background: the digest once a day at ``digest_at``
    (local time, working days; None = never) and the login-record purge every ``PURGE_INTERVAL``
    (the first at start-up). ``run_pending`` does what is due at one moment; the thread calls it
    every ``check_every`` seconds."""

    def __init__(self, digest_at: Optional[dt.time], public_url: str = "", check_every: float = 60.0) -> None:
        super().__init__(name="dashboard-jobs", daemon=True)
        self.digest_at = digest_at
        self.public_url = public_url
        self.check_every = check_every
        self.stop_event = threading.Event()
        self.last_digest_day: Optional[dt.date] = None
        self.last_purge: Optional[dt.datetime] = None

    def digest_due(self, now: Optional[dt.datetime] = None) -> Optional[dt.date]:
        """Today's local date once the digest time has passed on a working day (else None)."""
        if self.digest_at is None:
            return None
        inst = get_institution()
        local = calendar.now_local(inst, now)
        if local.time() >= self.digest_at and calendar.is_working_day(inst, local.date()):
            return local.date()
        return None

    def run_pending(self, now: dt.datetime) -> None:
        """Run each job that is due at ``now`` (aware), each failure logged and retried at the next
        check without stopping the other job."""
        utc_now = now.astimezone(dt.timezone.utc).replace(tzinfo=None)
        if self.last_purge is None or utc_now - self.last_purge >= PURGE_INTERVAL:
            try:
                purge_login_records(utc_now)
                self.last_purge = utc_now
            except Exception:  # noqa: BLE001 - try again at the next check
                logger.exception("Purging old login attempts and staff sessions failed; retrying later")
        day = self.digest_due(now)
        if day is not None and day != self.last_digest_day:
            try:
                run_digests(day=day, public_url=self.public_url)
                self.last_digest_day = day
            except Exception:  # noqa: BLE001 - try again at the next check
                logger.exception("Daily digest failed; retrying later")

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.run_pending(utcnow().replace(tzinfo=dt.timezone.utc))
            self.stop_event.wait(self.check_every)

    def stop(self) -> None:
        self.stop_event.set()
