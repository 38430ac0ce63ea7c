"""The daily SLA digest per OPD: ``python -m dashboard digest`` or the dashboard's own scheduler.

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

from layanwarga import calendar, stats
from layanwarga.config import PROJECT_ROOT, Institution, get_institution
from layanwarga.db import session_scope
from layanwarga.staff import agencies

logger = logging.getLogger(__name__)

DIGEST_DIR_ENV = "DASHBOARD_DIGEST_DIR"


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
            if _send_mail(recipients, f"Ringkasan harian {inst.service_name} – {info.name} – {day.isoformat()}", text):
                delivered.append("email: " + ", ".join(recipients))
        except (OSError, smtplib.SMTPException) as exc:
            logger.error("Digest for %s could not be e-mailed: %s", code, exc)
            delivered.append(f"email gagal: {type(exc).__name__}")
        stats.set_delivered(day, code, "; ".join(delivered))
        results[code] = "; ".join(delivered)
        logger.info("Digest for %s (%d overdue) -> %s", code, len(result.overdue), results[code])
    return results


class DigestScheduler(threading.Thread):
    """Runs the digest once a day at ``at`` (local time) on working days, in the background."""

    def __init__(self, at: dt.time, public_url: str = "", check_every: float = 60.0) -> None:
        super().__init__(name="digest-scheduler", daemon=True)
        self.at = at
        self.public_url = public_url
        self.check_every = check_every
        self.stop_event = threading.Event()

    def due(self, now: Optional[dt.datetime] = None) -> Optional[dt.date]:
        inst = get_institution()
        local = calendar.now_local(inst, now)
        if local.time() >= self.at and calendar.is_working_day(inst, local.date()):
            return local.date()
        return None

    def run(self) -> None:
        last_day: Optional[dt.date] = None
        while not self.stop_event.is_set():
            try:
                day = self.due()
                if day is not None and day != last_day:
                    run_digests(day=day, public_url=self.public_url)
                    last_day = day
            except Exception:  # noqa: BLE001 - try again at the next check
                logger.exception("Daily digest failed; retrying later")
            self.stop_event.wait(self.check_every)

    def stop(self) -> None:
        self.stop_event.set()
