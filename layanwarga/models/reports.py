"""What processes leave for staff: the daily SLA digests (``layanwarga.stats``) and the counts of
each local spool (``layanwarga.spool_reports``)."""
from __future__ import annotations

from sqlalchemy import Column, Date, DateTime, Integer, String, Text, UniqueConstraint

from .base import Base, utcnow


class DigestRun(Base):
    """One daily digest per OPD and day (the unique key makes the scheduled job run once even
    when several dashboard processes try)."""

    __tablename__ = "digest_runs"

    id = Column(Integer, primary_key=True)
    day = Column(Date, nullable=False)
    agency_code = Column(String(40), nullable=False)
    content = Column(Text, nullable=False)
    delivered_to = Column(Text, nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)

    __table_args__ = (UniqueConstraint("day", "agency_code", name="uq_digest_runs_day_agency"),)


class SpoolReport(Base):
    """What waits in one process's local spool (``layanwarga.spool_reports``), as last reported:
    spools sit on each instance's own disk, the dashboard reads this."""

    __tablename__ = "spool_reports"

    owner = Column(String(255), primary_key=True)  # host and spool folder
    kind = Column(String(20), nullable=False)
    waiting = Column(Integer, nullable=False, default=0)
    set_aside = Column(Integer, nullable=False, default=0)
    other_database = Column(Integer, nullable=False, default=0)
    unreadable = Column(Integer, nullable=False, default=0)
    oldest_at = Column(DateTime, nullable=True)
    reported_at = Column(DateTime, nullable=False, default=utcnow)
