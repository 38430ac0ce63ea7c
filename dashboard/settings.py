"""Dashboard settings from the environment (the run script exports development values)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import math
import os
import secrets
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional

from layanwarga import runtime

logger = logging.getLogger(__name__)

MIN_SECRET_LENGTH = 32
# Session keys published in this repository (scripts/defaults.env, the tests): anyone can sign a
# staff session cookie with them, so production refuses them. tests/dashboard/test_production_keys.py
# finds every key the repository spells out and fails when one is missing here.
PUBLISHED_SECRET_KEYS = frozenset(
    {
        "dev-only-change-me-0123456789abcdefghij",
        "browser-test-secret-key-0123456789abcdef",
    }
)
# Words that mark a value someone was meant to replace.
PLACEHOLDER_MARKERS = (
    "change-me",
    "changeme",
    "change_me",
    "example",
    "dev-only",
    "development",
    "insecure",
    "placeholder",
    "replace",
    "secret-key",
    "your-",
)
# A key of random characters has far more; repeated or few distinct characters ("x" * 48) do not.
MIN_SECRET_BITS = 128
GENERATE_HINT = "python -c 'import secrets; print(secrets.token_urlsafe(48))'"


class SettingsError(RuntimeError):
    """The dashboard cannot start; the message names the variable to set."""


def _flag(value: Optional[str]) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on", "ya")


def secret_key_problem(secret: str) -> Optional[str]:
    """Why ``secret`` must not sign production sessions (published, a placeholder or weak), or None."""
    if secret in PUBLISHED_SECRET_KEYS:
        return "is a key published in this repository (scripts/defaults.env or the tests): anyone could forge a staff login"
    lowered = secret.lower()
    marker = next((m for m in PLACEHOLDER_MARKERS if m in lowered), None)
    if marker:
        return f"looks like a placeholder (contains {marker!r})"
    if len(secret) * math.log2(max(1, len(set(secret)))) < MIN_SECRET_BITS:
        return "is too weak (too few different characters)"
    return None


def _digest_time(value: Optional[str]) -> Optional[dt.time]:
    text = (value if value is not None else "07:00").strip().lower()
    if text in ("", "off", "none", "0", "false"):
        return None
    try:
        hours, minutes = text.split(":")
        return dt.time(int(hours), int(minutes))
    except ValueError:
        raise SettingsError(
            f"DASHBOARD_DIGEST_TIME must look like 07:00 or be 'off', got {value!r}"
        ) from None


# What the HTTPS proxy in front tells the dashboard (waitress reads these only from that proxy).
PROXY_HEADERS = frozenset({"x-forwarded-for", "x-forwarded-proto"})


def _trusted_proxy(value: Optional[str]) -> Optional[str]:
    """``DASHBOARD_TRUST_PROXY``: the address the HTTPS proxy connects from, ``*`` for any peer
    (only when nothing but the proxy can reach the port), or empty for none."""
    text = (value or "").strip()
    if not text:
        return None
    if text == "*":
        return text
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise SettingsError(
            f"DASHBOARD_TRUST_PROXY must be the address the HTTPS proxy connects from (e.g. 10.0.0.5), "
            f"or * when only the proxy can reach the dashboard's port; got {value!r}"
        ) from None


@dataclass(frozen=True)
class DashboardSettings:
    secret_key: str
    host: str = "127.0.0.1"
    port: int = 8080
    threads: int = 8
    secure_cookies: bool = False
    trusted_proxy: Optional[str] = None
    proxy_count: int = 1
    database_url: Optional[str] = None
    page_size: int = 50
    live_poll_seconds: int = 3
    digest_time: Optional[dt.time] = dt.time(7, 0)
    public_url: str = ""
    insecure_dev_mode: bool = False
    # Service catalogue: an OPD's edits wait for an admin's approval (DASHBOARD_CATALOGUE_APPROVAL=0:
    # each OPD publishes its own).
    catalogue_approval: bool = True

    def __repr__(self) -> str:  # never print the secret key
        return (
            f"DashboardSettings(host={self.host!r}, port={self.port}, secure_cookies={self.secure_cookies}, "
            f"trusted_proxy={self.trusted_proxy!r})"
        )

    def server_options(self) -> Dict[str, Any]:
        """waitress options for the proxy: behind a trusted one, the client's address comes from
        the last ``proxy_count`` hops of X-Forwarded-For (what the proxies added, not what the
        client wrote); forwarding headers from anyone else are removed."""
        if self.trusted_proxy is None:
            return {"clear_untrusted_proxy_headers": True}
        return {
            "trusted_proxy": self.trusted_proxy,
            "trusted_proxy_count": self.proxy_count,
            "trusted_proxy_headers": set(PROXY_HEADERS),
            "clear_untrusted_proxy_headers": True,
            "log_untrusted_proxy_headers": True,
        }

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> "DashboardSettings":
        env = os.environ if environ is None else environ
        insecure = _flag(env.get("DASHBOARD_INSECURE_DEV_MODE"))
        secret = (env.get("DASHBOARD_SECRET_KEY") or "").strip()
        if not secret:
            if not insecure or runtime.is_production(env):
                raise SettingsError(
                    "DASHBOARD_SECRET_KEY is not set. The dashboard signs its session cookies with it and "
                    f"refuses to start without one: set it to a long random value, e.g. `{GENERATE_HINT}` "
                    "(for local development only, DASHBOARD_INSECURE_DEV_MODE=1 uses a throw-away key)."
                )
            secret = secrets.token_urlsafe(48)
            logger.warning(
                "!!! DASHBOARD_SECRET_KEY not set: using a throw-away key (development mode only) !!!"
            )
        elif len(secret) < MIN_SECRET_LENGTH:
            raise SettingsError(f"DASHBOARD_SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters long.")
        elif runtime.is_production(env):
            problem = secret_key_problem(secret)
            if problem:
                raise SettingsError(
                    f"DASHBOARD_SECRET_KEY {problem}; refusing to start in production mode. "
                    f"Set a long random value of your own, e.g. `{GENERATE_HINT}`."
                )
        try:
            port = int(env.get("DASHBOARD_PORT") or 8080)
            threads = int(env.get("DASHBOARD_THREADS") or 8)
            proxy_count = int(env.get("DASHBOARD_PROXY_COUNT") or 1)
        except ValueError:
            raise SettingsError(
                "DASHBOARD_PORT, DASHBOARD_THREADS and DASHBOARD_PROXY_COUNT must be whole numbers"
            ) from None
        if proxy_count < 1:
            raise SettingsError(
                "DASHBOARD_PROXY_COUNT is the number of proxies in front of the dashboard: 1 or more"
            )
        return cls(
            secret_key=secret,
            host=(env.get("DASHBOARD_HOST") or "127.0.0.1").strip(),
            port=port,
            threads=max(2, threads),
            secure_cookies=_flag(env.get("DASHBOARD_SECURE_COOKIES")),
            trusted_proxy=_trusted_proxy(env.get("DASHBOARD_TRUST_PROXY")),
            proxy_count=proxy_count,
            database_url=env.get("DATABASE_URL") or None,
            digest_time=_digest_time(env.get("DASHBOARD_DIGEST_TIME")),
            catalogue_approval=(env.get("DASHBOARD_CATALOGUE_APPROVAL") or "1").strip()
            not in ("0", "false", "no", "tidak"),
            public_url=(env.get("DASHBOARD_PUBLIC_URL") or "").strip().rstrip("/"),
            insecure_dev_mode=insecure,
        )
