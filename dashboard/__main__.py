"""``python -m dashboard``: run the staff dashboard, or one of its commands.

python -m dashboard                      serve on DASHBOARD_HOST:DASHBOARD_PORT (127.0.0.1:8080)
python -m dashboard create-admin         create the first admin (asks for the password)
python -m dashboard digest [--date D]    write/send today's SLA digest per OPD
python -m dashboard purge                delete old login attempts and ended staff sessions
python -m dashboard seed --tickets N     generated demo data (never on production)
python -m dashboard bench                time the main pages on the current database
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import logging
import os
import sys
from typing import List, Optional

from layanwarga import migrate, staff, teach_root
from layanwarga.config import get_institution
from layanwarga.db import database_url, safe_url, session_scope

logger = logging.getLogger("dashboard")


def _require_schema() -> Optional[int]:
    """The same refusal as every other service's (``migrate.require_current``)."""
    try:
        migrate.require_current("the dashboard")
    except migrate.SchemaNotCurrent as error:
        print(error, file=sys.stderr)
        return 2
    return None


def cmd_serve(args: argparse.Namespace) -> int:
    from waitress import serve

    from layanwarga import runtime

    from . import create_app
    from .jobs import Scheduler
    from .settings import DashboardSettings, SettingsError

    try:
        runtime.require_safe("dashboard")
        settings = DashboardSettings.from_env()
    except (SettingsError, runtime.UnsafeConfiguration) as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2
    if args.port:
        settings = type(settings)(**{**settings.__dict__, "port": args.port})
    missing = _require_schema()
    if missing:
        return missing
    try:
        teach_root.refresh_from_environment()
    except (teach_root.TeachRootError, OSError):
        # The inbox serves on; teaching and retraining then refuse with their own messages.
        logger.exception("The teach root could not be refreshed from the release (LAYANWARGA_TEACH_SOURCE)")
    app = create_app(settings)
    scheduler = None
    if not args.no_scheduler:
        scheduler = Scheduler(settings.digest_time, settings.public_url)
        scheduler.start()
    with session_scope() as session:
        admins = staff.count_active_admins(session)
    if not admins:
        logger.warning("No admin account yet: create one with `python -m dashboard create-admin`")
    logger.info(
        "Dashboard on http://%s:%d (database %s, client addresses %s)",
        settings.host,
        settings.port,
        safe_url(database_url()),
        f"from the proxy at {settings.trusted_proxy}"
        if settings.trusted_proxy
        else "as connected, no proxy trusted",
    )
    try:
        serve(
            app,
            host=settings.host,
            port=settings.port,
            threads=settings.threads,
            ident="LayanWarga",
            **settings.server_options(),
        )
    finally:
        if scheduler is not None:
            scheduler.stop()
    return 0


def cmd_create_admin(args: argparse.Namespace) -> int:
    missing = _require_schema()
    if missing:
        return missing
    inst = get_institution()
    with session_scope() as session:
        if staff.count_active_admins(session) and not args.another:
            if args.if_missing:
                print("An admin already exists; nothing to do.")
                return 0
            print(
                "An admin already exists. Add further accounts in the dashboard (Admin > Pengguna), "
                "or pass --another to add one more admin here.",
                file=sys.stderr,
            )
            return 1
    username = args.username or input("Nama pengguna admin: ").strip()
    full_name = args.name or input("Nama lengkap: ").strip() or username
    password = os.environ.get("DASHBOARD_ADMIN_PASSWORD") or ""
    if not password:
        password = getpass.getpass("Kata sandi (minimal 10 karakter): ")
        if password != getpass.getpass("Ulangi kata sandi: "):
            print("The passwords differ.", file=sys.stderr)
            return 1
    try:
        with session_scope(write=True) as session:
            user = staff.create_user(
                session,
                username=username,
                full_name=full_name,
                password=password,
                role=staff.ROLE_ADMIN,
                agencies=list(inst.agencies),
            )
            staff.audit(session, "cli", "buat_admin", target=user.username)
    except staff.UserError as exc:
        print(f"Not created: {exc}", file=sys.stderr)
        return 1
    print(f"Admin {username!r} created. Log in at the dashboard with this account.")
    return 0


def cmd_digest(args: argparse.Namespace) -> int:
    from .jobs import run_digests

    missing = _require_schema()
    if missing:
        return missing
    day = dt.date.fromisoformat(args.date) if args.date else None
    results = run_digests(
        day=day, force=args.force, public_url=(os.environ.get("DASHBOARD_PUBLIC_URL") or "").rstrip("/")
    )
    for code, where in results.items():
        print(f"{code}: {where}")
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    from .jobs import purge_login_records

    missing = _require_schema()
    if missing:
        return missing
    result = purge_login_records()
    print(f"Deleted {result.attempts} old login attempts and {result.sessions} ended staff sessions.")
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    from .seed import seed

    missing = _require_schema()
    if missing:
        return missing
    from layanwarga import runtime

    if runtime.is_production() and not args.yes_really:
        print(
            "Refusing to seed demo data into a production deployment (LAYANWARGA_ENV=production).",
            file=sys.stderr,
        )
        return 1
    counts = seed(args.tickets, days=args.days, seed_value=args.seed)
    print(
        f"Seeded {counts['tickets']} tickets, {counts['citizens']} citizens, {counts['state_changes']} history entries "
        f"into {safe_url(database_url())}"
    )
    if args.demo_users:
        _demo_users()
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import main as bench_main

    missing = _require_schema()
    if missing:
        return missing
    return bench_main(args.runs)


def _demo_users() -> None:
    import secrets

    inst = get_institution()
    accounts = [
        ("admin_demo", "Admin Demo", staff.ROLE_ADMIN, None),
        ("surat_demo", "Petugas Surat Demo", staff.ROLE_LETTERS, None),
    ]
    accounts += [(f"opd_{code.lower()}", f"Petugas {code}", staff.ROLE_OPD, code) for code in inst.agencies]
    with session_scope(write=True) as session:
        for username, name, role, agency in accounts:
            if staff.find_user(session, username):
                continue
            password = secrets.token_urlsafe(12)
            staff.create_user(
                session,
                username=username,
                full_name=name,
                password=password,
                role=role,
                agency_code=agency,
                agencies=list(inst.agencies),
            )
            print(f"  {username:<20} {password}")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboard", description="LayanWarga staff dashboard")
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="run the dashboard (default)")
    serve.add_argument("--port", type=int, default=0)
    serve.add_argument(
        "--no-scheduler",
        action="store_true",
        help="do not run the periodic jobs (daily digest, login-record purge) in this process",
    )
    admin = sub.add_parser("create-admin", help="create the first admin account")
    admin.add_argument("--username")
    admin.add_argument("--name")
    admin.add_argument("--if-missing", action="store_true", help="do nothing (exit 0) when an admin exists")
    admin.add_argument("--another", action="store_true", help="add an admin even if one exists")
    digest = sub.add_parser("digest", help="write and send the daily SLA digest per OPD")
    digest.add_argument("--date")
    digest.add_argument("--force", action="store_true", help="again, even if already sent today")
    sub.add_parser(
        "purge", help="delete old login attempts and ended staff sessions (the server does it hourly)"
    )
    seed = sub.add_parser("seed", help="generate demo tickets (benchmarks, demos)")
    seed.add_argument("--tickets", type=int, default=1000)
    seed.add_argument("--days", type=int, default=300, help="spread over this many past days (default 300)")
    seed.add_argument("--seed", type=int, default=8)
    seed.add_argument(
        "--demo-users",
        action="store_true",
        help="also create one demo account per role/OPD (prints passwords)",
    )
    seed.add_argument("--yes-really", action="store_true", help=argparse.SUPPRESS)
    bench = sub.add_parser("bench", help="time the main pages on the current database")
    bench.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from layanwarga.redaction import install_log_masking

    install_log_masking()
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    command = args.command or "serve"
    if command == "serve" and args.command is None:
        args.port, args.no_scheduler = 0, False
    return {
        "serve": cmd_serve,
        "create-admin": cmd_create_admin,
        "digest": cmd_digest,
        "purge": cmd_purge,
        "seed": cmd_seed,
        "bench": cmd_bench,
    }[command](args)


if __name__ == "__main__":
    sys.exit(main())
