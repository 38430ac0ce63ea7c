"""Staff accounts of the dashboard: users, roles, sessions, login throttling, OPD settings, audit.

Roles (issue 8):

- ``admin``: everything, including users and OPD settings (Diskominfo / the kelurahan front desk);
- ``opd``: staff of one agency (OPD): only complaints forwarded to that agency;
- ``surat``: letter clerks: letter requests (SKTM, SKU, domisili).

Passwords are hashed with Argon2id (argon2-cffi, RFC 9106 low-memory profile). Sessions live in
the database (a signed cookie carries only a random token; the table keeps its SHA-256), so they
expire on the server, survive nothing they should not (logout, deactivation, password change)
and work across several dashboard processes. Failed logins are counted in the database for the
same reason, per account *from one client address* and per address: someone who types an
officer's name with wrong passwords, or fails twenty times, locks out only their own address,
never the officer at their desk nor everyone behind the same proxy (the dashboard must see the
real client address: ``DASHBOARD_TRUST_PROXY``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import secrets
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from .catalogue import Agency
from .config import Institution
from .models import AgencySetting, AuditEntry, LoginAttempt, StaffSession, StaffUser, utcnow
from .models.staff import USERNAME_MAX
from .staff_units import AccountUnit, check_account_unit

logger = logging.getLogger(__name__)

ROLE_ADMIN = "admin"
ROLE_OPD = "opd"
ROLE_LETTERS = "surat"
# Content staff keep the assistant's training data (issue 27): the review queue of messages it
# misunderstood, never tickets or live chats.
ROLE_CONTENT = "konten"
ROLES = (ROLE_ADMIN, ROLE_OPD, ROLE_LETTERS, ROLE_CONTENT)
ROLE_LABELS = {
    ROLE_ADMIN: "Admin",
    ROLE_OPD: "Petugas OPD",
    ROLE_LETTERS: "Petugas surat",
    ROLE_CONTENT: "Staf konten asisten",
}

MIN_PASSWORD_LENGTH = 10

# Login throttling: failures counted over a sliding window, for one account from one address
# (reset by a success there) and for one address whatever the account.
THROTTLE_WINDOW = dt.timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_IP = 20

# How long personal data of logins is kept (SECURITY.md, "Data rights and retention"): login
# attempts (account name, address) for investigating an attack, and ended sessions (address,
# browser) after their expiry. ``purge_login_records`` deletes older rows; the dashboard runs it.
ATTEMPT_RETENTION = dt.timedelta(days=2)
SESSION_RETENTION = dt.timedelta(days=1)

# Sessions: idle timeout and absolute lifetime (environment overrides for operators).
DEFAULT_IDLE_MINUTES = 30
DEFAULT_SESSION_HOURS = 12
# How often last_seen_at is written (not on every request: fewer writes, same security).
TOUCH_INTERVAL = dt.timedelta(seconds=60)


# -- passwords ------------------------------------------------------------------------------------
_hasher = PasswordHasher()
# Verified against when the username does not exist, so timing does not reveal valid accounts.
_DUMMY_HASH: Optional[str] = None


def set_hasher(hasher: PasswordHasher) -> None:
    """Replace the Argon2 parameters (tests use a cheap profile)."""
    global _hasher, _DUMMY_HASH
    _hasher = hasher
    _DUMMY_HASH = None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _dummy_verify(password: str) -> None:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _hasher.hash(secrets.token_hex(16))
    verify_password(_DUMMY_HASH, password)


def password_problem(password: str, username: str = "") -> Optional[str]:
    """Why a new password is refused (Indonesian, shown to staff), or None when it is fine."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Kata sandi minimal {MIN_PASSWORD_LENGTH} karakter."
    if username and username.lower() in password.lower():
        return "Kata sandi tidak boleh memuat nama pengguna."
    if len(set(password)) < 5:
        return "Kata sandi terlalu mudah ditebak; gunakan kombinasi huruf, angka dan tanda baca."
    return None


# -- users ------------------------------------------------------------------------------------------
class UserError(ValueError):
    """A user could not be created or changed; the message is Indonesian, for staff."""


def normalise_username(username: str) -> str:
    return (username or "").strip().lower()[:USERNAME_MAX]


def _check_role(role: str, agency_code: Optional[str], agencies: Sequence[str]) -> None:
    if role not in ROLES:
        raise UserError("Peran tidak dikenal.")
    if role == ROLE_OPD and not agency_code:
        raise UserError("Petugas OPD harus terhubung ke satu OPD.")
    if agency_code and agency_code not in agencies:
        raise UserError("OPD tidak dikenal.")


def _check_unit(
    inst: Optional[Institution],
    role: str,
    agency_code: Optional[str],
    unit_code: Optional[str],
    upt_name: Optional[str],
) -> AccountUnit:
    """The account's unit and field unit, checked against the organisation tree (none given: the
    whole deployment, as every account before units existed)."""
    if inst is None:
        if unit_code or upt_name:
            raise UserError("Unit kerja tidak dapat diperiksa tanpa konfigurasi instansi.")
        return AccountUnit(None, None)
    place, problem = check_account_unit(
        inst, role_is_opd=role == ROLE_OPD, agency_code=agency_code, unit_code=unit_code, upt_name=upt_name
    )
    if problem or place is None:
        raise UserError(problem or "Unit kerja tidak dikenal.")
    return place


def create_user(
    session: Session,
    *,
    username: str,
    full_name: str,
    password: str,
    role: str,
    agency_code: Optional[str] = None,
    can_chat: Optional[bool] = None,
    agencies: Sequence[str] = (),
    temporary: bool = False,
    inst: Optional[Institution] = None,
    unit_code: Optional[str] = None,
    upt_name: Optional[str] = None,
) -> StaffUser:
    """A new account; ``temporary`` when someone else chose the password (an admin adding a
    colleague): the user then has to replace it at the first login."""
    username = normalise_username(username)
    if not username or not username.replace(".", "").replace("_", "").replace("-", "").isalnum():
        raise UserError(
            "Nama pengguna hanya boleh berisi huruf, angka, titik, garis bawah atau tanda hubung."
        )
    if not (full_name or "").strip():
        raise UserError("Nama lengkap wajib diisi.")
    _check_role(role, agency_code, agencies)
    place = _check_unit(inst, role, agency_code, unit_code, upt_name)
    problem = password_problem(password, username)
    if problem:
        raise UserError(problem)
    if session.execute(select(StaffUser.id).where(StaffUser.username == username)).first():
        raise UserError("Nama pengguna sudah dipakai.")
    now = utcnow()
    user = StaffUser(
        username=username,
        full_name=full_name.strip()[:200],
        role=role,
        agency_code=agency_code if role == ROLE_OPD else None,
        can_chat=(role == ROLE_ADMIN) if can_chat is None else bool(can_chat),
        password_hash=hash_password(password),
        is_active=True,
        created_at=now,
        updated_at=now,
        password_changed_at=now,
        must_change_password=temporary,
        unit_code=place.unit_code,
        upt_name=place.upt_name,
    )
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, user: StaffUser, password: str, *, temporary: bool = False) -> None:
    """A new password for ``user``, ending all their sessions; ``temporary`` when an admin reset
    it (the user must replace it at the next login)."""
    problem = password_problem(password, user.username)
    if problem:
        raise UserError(problem)
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    user.must_change_password = temporary
    revoke_sessions(session, user.id)


def change_own_password(session: Session, user: StaffUser, current: str, new: str, again: str) -> None:
    """A user replacing their own password (also the forced change after a temporary one)."""
    if not verify_password(user.password_hash, current):
        raise UserError("Kata sandi saat ini salah.")
    if new != again:
        raise UserError("Kata sandi baru dan ulangannya tidak sama.")
    if new == current:
        raise UserError("Kata sandi baru harus berbeda dari kata sandi saat ini.")
    set_password(session, user, new)


def update_user(
    session: Session,
    user: StaffUser,
    *,
    full_name: str,
    role: str,
    agency_code: Optional[str],
    can_chat: bool,
    is_active: bool,
    agencies: Sequence[str] = (),
    inst: Optional[Institution] = None,
    unit_code: Optional[str] = None,
    upt_name: Optional[str] = None,
) -> None:
    _check_role(role, agency_code, agencies)
    place = _check_unit(inst, role, agency_code, unit_code, upt_name)
    if not (full_name or "").strip():
        raise UserError("Nama lengkap wajib diisi.")
    if (
        user.role == ROLE_ADMIN
        and (role != ROLE_ADMIN or not is_active)
        and count_active_admins(session) <= 1
    ):
        raise UserError("Harus tetap ada minimal satu admin aktif.")
    changed_access = (role, agency_code, is_active, place.unit_code, place.upt_name) != (
        user.role,
        user.agency_code,
        user.is_active,
        user.unit_code,
        user.upt_name,
    )
    user.full_name = full_name.strip()[:200]
    user.role = role
    user.agency_code = agency_code if role == ROLE_OPD else None
    user.unit_code = place.unit_code
    user.upt_name = place.upt_name
    user.can_chat = bool(can_chat)
    user.is_active = bool(is_active)
    if changed_access:
        # A user whose access changed logs in again, so no page keeps the old rights.
        revoke_sessions(session, user.id)


def count_active_admins(session: Session) -> int:
    return int(
        session.execute(
            select(func.count(StaffUser.id)).where(
                StaffUser.role == ROLE_ADMIN, StaffUser.is_active.is_(True)
            )
        ).scalar_one()
    )


def find_user(session: Session, username: str) -> Optional[StaffUser]:
    return (
        session.execute(select(StaffUser).where(StaffUser.username == normalise_username(username)))
        .scalars()
        .first()
    )


def list_users(session: Session) -> List[StaffUser]:
    return list(session.execute(select(StaffUser).order_by(StaffUser.role, StaffUser.username)).scalars())


# -- login throttling -----------------------------------------------------------------------------
@dataclass(frozen=True)
class LoginResult:
    user_id: Optional[int]
    error: Optional[str]
    retry_after_minutes: int = 0


def _failure_times(session: Session, since: dt.datetime, *conditions) -> List[dt.datetime]:  # type: ignore[no-untyped-def]
    return list(
        session.execute(
            select(LoginAttempt.created_at)
            .where(*conditions, LoginAttempt.succeeded.is_(False), LoginAttempt.created_at >= since)
            .order_by(LoginAttempt.created_at)
        ).scalars()
    )


def throttle_wait(
    session: Session, username: str, ip: Optional[str], now: Optional[dt.datetime] = None
) -> int:
    """Minutes to wait before another login attempt for this account from this address, or from
    this address at all (0 = go). Never a lock on an account as such: whoever fails only
    slows down their own address."""
    now = now or utcnow()
    since = now - THROTTLE_WINDOW
    address = (ip or "")[:64] or None
    same_address = LoginAttempt.ip.is_(None) if address is None else LoginAttempt.ip == address
    account = [LoginAttempt.username == normalise_username(username), same_address]
    last_success = session.execute(
        select(func.max(LoginAttempt.created_at)).where(*account, LoginAttempt.succeeded.is_(True))
    ).scalar_one()
    wait = dt.timedelta(0)
    account_failures = _failure_times(session, max(since, last_success) if last_success else since, *account)
    if len(account_failures) >= MAX_FAILURES_PER_ACCOUNT:
        wait = max(wait, account_failures[-MAX_FAILURES_PER_ACCOUNT] + THROTTLE_WINDOW - now)
    if address is not None:
        # Per address only failures count; a success from a shared office NAT does not reset it.
        address_failures = _failure_times(session, since, same_address)
        if len(address_failures) >= MAX_FAILURES_PER_IP:
            wait = max(wait, address_failures[-MAX_FAILURES_PER_IP] + THROTTLE_WINDOW - now)
    if wait <= dt.timedelta(0):
        return 0
    return max(1, int((wait.total_seconds() + 59) // 60))


def authenticate(
    session: Session, username: str, password: str, ip: Optional[str], now: Optional[dt.datetime] = None
) -> LoginResult:
    """Check a login, counting it for throttling. One generic error for every failure, so the
    answer never tells whether an account exists."""
    now = now or utcnow()
    name = normalise_username(username)
    wait = throttle_wait(session, name, ip, now)
    if wait:
        logger.warning("Login throttled for account %r from %s (%d min)", name, ip or "-", wait)
        return LoginResult(
            None, f"Terlalu banyak percobaan masuk yang gagal. Silakan coba lagi dalam {wait} menit.", wait
        )
    user = find_user(session, name) if name else None
    if user is None:
        _dummy_verify(password)
        ok = False
    else:
        ok = verify_password(user.password_hash, password) and bool(user.is_active)
    session.add(LoginAttempt(username=name or None, ip=(ip or "")[:64] or None, succeeded=ok, created_at=now))
    if not ok:
        logger.info("Failed login for account %r from %s", name, ip or "-")
        return LoginResult(None, "Nama pengguna atau kata sandi salah.")
    assert user is not None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = now
    session.flush()
    return LoginResult(int(user.id), None)


# -- sessions ---------------------------------------------------------------------------------------
def _minutes_env(name: str, default: int) -> int:
    try:
        value = int(os.environ.get(name, default))
    except ValueError:
        return default
    return max(1, value)


def idle_timeout() -> dt.timedelta:
    return dt.timedelta(minutes=_minutes_env("DASHBOARD_IDLE_MINUTES", DEFAULT_IDLE_MINUTES))


def session_lifetime() -> dt.timedelta:
    return dt.timedelta(hours=_minutes_env("DASHBOARD_SESSION_HOURS", DEFAULT_SESSION_HOURS))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class NewSession:
    token: str
    csrf_token: str


def start_session(
    session: Session,
    user_id: int,
    ip: Optional[str],
    user_agent: Optional[str],
    now: Optional[dt.datetime] = None,
) -> NewSession:
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    session.add(
        StaffSession(
            id=_digest(token),
            user_id=user_id,
            csrf_token=csrf,
            created_at=now,
            last_seen_at=now,
            expires_at=now + session_lifetime(),
            ip=(ip or "")[:64] or None,
            user_agent=(user_agent or "")[:200] or None,
        )
    )
    session.flush()
    return NewSession(token, csrf)


@dataclass(frozen=True)
class ActiveSession:
    user: StaffUser
    csrf_token: str
    session_id: str
    needs_touch: bool


def load_session(
    session: Session, token: Optional[str], now: Optional[dt.datetime] = None
) -> Optional[ActiveSession]:
    """The logged-in user of a cookie token, or None when it is unknown, revoked or expired
    (idle too long or past its absolute lifetime). Read-only: ``touch_session`` records activity
    when ``needs_touch`` says so (a separate, write-only unit of work)."""
    if not token:
        return None
    now = now or utcnow()
    row = session.get(StaffSession, _digest(token))
    if row is None or row.revoked_at is not None:
        return None
    if now >= row.expires_at or now - row.last_seen_at >= idle_timeout():
        return None
    user = session.get(StaffUser, row.user_id)
    if user is None or not user.is_active:
        return None
    return ActiveSession(user, row.csrf_token, row.id, now - row.last_seen_at >= TOUCH_INTERVAL)


def touch_session(session: Session, session_id: str, now: Optional[dt.datetime] = None) -> None:
    session.execute(
        update(StaffSession).where(StaffSession.id == session_id).values(last_seen_at=now or utcnow())
    )


def end_session(session: Session, token: Optional[str]) -> None:
    if token:
        session.execute(
            update(StaffSession).where(StaffSession.id == _digest(token)).values(revoked_at=utcnow())
        )


def revoke_sessions(session: Session, user_id: int) -> None:
    session.execute(
        update(StaffSession)
        .where(StaffSession.user_id == user_id, StaffSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


@dataclass(frozen=True)
class PurgeResult:
    attempts: int
    sessions: int


def purge_login_records(session: Session, now: Optional[dt.datetime] = None) -> PurgeResult:
    """Delete login attempts older than ``ATTEMPT_RETENTION`` and sessions that expired more than
    ``SESSION_RETENTION`` ago (a revoked session expires at most ``session_lifetime()`` after it
    started, so this covers those too). Older than the throttle window and every session's life,
    so nothing a login check or a logged-in officer needs is touched."""
    now = now or utcnow()
    attempts = session.execute(
        delete(LoginAttempt).where(LoginAttempt.created_at < now - ATTEMPT_RETENTION)
    ).rowcount
    sessions = session.execute(
        delete(StaffSession).where(StaffSession.expires_at < now - SESSION_RETENTION)
    ).rowcount
    return PurgeResult(int(attempts or 0), int(sessions or 0))


# -- agencies (OPD) ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class AgencyInfo:
    code: str
    name: str
    contact: str
    digest_recipients: str
    is_active: bool
    from_config: bool


def agencies(session: Session, inst: Institution, include_inactive: bool = False) -> Dict[str, AgencyInfo]:
    """The OPD list: instansi.yml's agencies with the dashboard's overrides and additions."""
    settings = {row.code: row for row in session.execute(select(AgencySetting)).scalars()}
    result: Dict[str, AgencyInfo] = {}
    for code, agency in inst.agencies.items():
        row = settings.pop(code, None)
        result[code] = _agency_info(code, agency, row)
    for code, row in sorted(settings.items()):
        result[code] = _agency_info(code, None, row)
    if not include_inactive:
        result = {code: info for code, info in result.items() if info.is_active}
    return result


def _agency_info(code: str, agency: Optional[Agency], row: Optional[AgencySetting]) -> AgencyInfo:
    return AgencyInfo(
        code=code,
        name=(row.name if row and row.name else (agency.name if agency else code)),
        contact=(row.contact if row and row.contact is not None else (agency.contact if agency else "")),
        digest_recipients=(row.digest_recipients or "") if row else "",
        is_active=row.is_active if row else True,
        from_config=agency is not None,
    )


def save_agency(
    session: Session,
    inst: Institution,
    *,
    code: str,
    name: str,
    contact: str,
    digest_recipients: str,
    is_active: bool,
) -> AgencySetting:
    code = (code or "").strip().upper()
    if not code or not code.replace("_", "").isalnum() or len(code) > 40:
        raise UserError("Kode OPD hanya boleh berisi huruf, angka atau garis bawah (maksimal 40).")
    if not (name or "").strip() and code not in inst.agencies:
        raise UserError("Nama OPD wajib diisi.")
    if not is_active and any(c.agency == code for c in inst.complaint_categories.values()):
        raise UserError(
            "OPD ini masih menjadi tujuan kategori aduan di instansi.yml; ubah pengaturan kategori terlebih dahulu."
        )
    row = session.get(AgencySetting, code)
    if row is None:
        row = AgencySetting(code=code)
        session.add(row)
    row.name = (name or "").strip()[:200] or None
    row.contact = (contact or "").strip()[:200]
    row.digest_recipients = (digest_recipients or "").strip() or None
    row.is_active = bool(is_active)
    session.flush()
    return row


def audit(
    session: Session, actor: str, action: str, target: Optional[str] = None, detail: Optional[str] = None
) -> None:
    session.add(
        AuditEntry(actor=actor[:120], action=action[:60], target=(target or "")[:200] or None, detail=detail)
    )
