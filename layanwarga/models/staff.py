"""Staff accounts of the dashboard: users, sessions, login attempts, OPD settings, audit
(``layanwarga.staff``)."""
from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, Column, DateTime, ForeignKey, Index, Integer, String, Text, false

from .base import Base, utcnow

USERNAME_MAX = 64


class StaffUser(Base):
    __tablename__ = "staff_users"

    id = Column(Integer, primary_key=True)
    username = Column(String(USERNAME_MAX), nullable=False, unique=True)
    full_name = Column(String(200), nullable=False)
    role = Column(String(20), nullable=False)
    agency_code = Column(String(40), nullable=True)
    can_chat = Column(Boolean, nullable=False, default=False)
    password_hash = Column(String(255), nullable=False)
    is_active = Column(Boolean, nullable=False, default=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)
    last_login_at = Column(DateTime, nullable=True)
    password_changed_at = Column(DateTime, nullable=True)
    # Set by an admin's new or reset password (which the admin knows): the user must choose their
    # own before the dashboard opens anything else.
    must_change_password = Column(Boolean, nullable=False, default=False, server_default=false())
    # The unit of a city's tree the account works for (issue 21, ``layanwarga.staff_units``):
    # none (or the root) is the whole deployment, as every account of a single unit; an OPD
    # account may be limited to one of its agency's field units (UPT) by name.
    unit_code = Column(String(20), nullable=True)
    upt_name = Column(String(200), nullable=True)

    __table_args__ = (
        CheckConstraint("role IN ('admin', 'opd', 'surat', 'konten')", name="role"),
        CheckConstraint("role <> 'opd' OR agency_code IS NOT NULL", name="opd_has_agency"),
    )

    @property
    def actor(self) -> str:
        """How the user appears in ticket histories (never a password or a token)."""
        return f"staf:{self.username}"


class StaffSession(Base):
    __tablename__ = "staff_sessions"

    id = Column(String(64), primary_key=True)  # SHA-256 of the cookie's token
    user_id = Column(Integer, ForeignKey("staff_users.id", ondelete="CASCADE"), nullable=False, index=True)
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    last_seen_at = Column(DateTime, nullable=False, default=utcnow)
    expires_at = Column(DateTime, nullable=False)
    ip = Column(String(64), nullable=True)
    user_agent = Column(String(200), nullable=True)
    revoked_at = Column(DateTime, nullable=True)


class LoginAttempt(Base):
    __tablename__ = "login_attempts"

    id = Column(Integer, primary_key=True)
    username = Column(String(USERNAME_MAX), nullable=True)
    ip = Column(String(64), nullable=True)
    succeeded = Column(Boolean, nullable=False, default=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)

    __table_args__ = (
        Index("ix_login_attempts_username_created", "username", "created_at"),
        Index("ix_login_attempts_ip_created", "ip", "created_at"),
    )


class AgencySetting(Base):
    """Dashboard-side settings of an OPD: extra agencies, name/contact overrides, digest
    recipients, deactivation. Complaint routing stays in instansi.yml."""

    __tablename__ = "agency_settings"

    code = Column(String(40), primary_key=True)
    name = Column(String(200), nullable=True)
    contact = Column(String(200), nullable=True)
    digest_recipients = Column(Text, nullable=True)
    is_active = Column(Boolean, nullable=False, default=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)


class AuditEntry(Base):
    """Who did what outside ticket histories: user management, NIK views, exports, logins."""

    __tablename__ = "staff_audit"

    id = Column(Integer, primary_key=True)
    actor = Column(String(120), nullable=False)
    action = Column(String(60), nullable=False)
    target = Column(String(200), nullable=True)
    detail = Column(Text, nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow, index=True)
