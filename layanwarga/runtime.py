"""Production mode: refuse to start with development defaults.

``LAYANWARGA_ENV=production`` declares a real deployment. Every process (the WhatsApp channel in
``rasa run``, the action server, the dashboard, the notifier) then checks the settings it relies
on and refuses to start, naming each problem, when one is missing or still a development
default: an unverified webhook, the local simulator's credentials, a throw-away dashboard key,
cookies without ``Secure``, no key for encrypting personal data, or no conversation store for
the processes that erase and purge it (the action server, the retention job).
"""

from __future__ import annotations

import os
from typing import List, Mapping, Optional

ENV_VAR = "LAYANWARGA_ENV"
# The values scripts/defaults.env uses for the local simulator; never valid in production.
DEVELOPMENT_VALUES = {
    "WHATSAPP_APP_SECRET": "simulator-app-secret",
    "WHATSAPP_ACCESS_TOKEN": "simulator-access-token",
    "WHATSAPP_VERIFY_TOKEN": "simulator-verify-token",
}
_ON = ("1", "true", "yes", "on")
# Data keys spelled out in this repository (the tests' and benchmarks' fixed key): anyone could
# decrypt NIKs and phone numbers with them.
PUBLISHED_DATA_KEYS = frozenset({"tCHSjgfCCDUPkeixTqcmRR2ct3IM-4ZxkZQ2YJVlz8o="})


class UnsafeConfiguration(RuntimeError):
    """Production mode with development settings; the message lists every problem."""


def is_production(environ: Optional[Mapping[str, str]] = None) -> bool:
    env = os.environ if environ is None else environ
    return (env.get(ENV_VAR) or "").strip().lower() in ("production", "prod")


def problems(component: str, environ: Optional[Mapping[str, str]] = None) -> List[str]:
    """What is unsafe for ``component`` ("whatsapp", "actions", "dashboard", "notifier",
    "broadcast", "retention"; notifier and broadcast send through the Graph API and share its
    checks)."""
    env = os.environ if environ is None else environ
    found: List[str] = []
    if not (env.get("LAYANWARGA_DATA_KEYS") or "").strip():
        found.append(
            "LAYANWARGA_DATA_KEYS is not set: personal data would be encrypted with a development key"
        )
    if component in ("actions", "retention") and not (env.get("TRACKER_STORE_URL") or "").strip():
        found.append(
            "TRACKER_STORE_URL is not set: erasure and retention could not reach the conversation store "
            "(give it the URL the rasa run instances use)"
        )
    if component in ("whatsapp", "notifier", "broadcast"):
        for name, development in DEVELOPMENT_VALUES.items():
            if (env.get(name) or "").strip() == development:
                found.append(f"{name} still has the local simulator's value")
        if (env.get("WHATSAPP_INSECURE_DEV_MODE") or "").strip().lower() in _ON:
            found.append("WHATSAPP_INSECURE_DEV_MODE is on: webhook signatures would not be checked")
        if component == "whatsapp" and not (env.get("WHATSAPP_APP_SECRET") or "").strip():
            found.append("WHATSAPP_APP_SECRET is not set: webhook signatures cannot be checked")
    if component == "dashboard":
        if not (env.get("DASHBOARD_SECRET_KEY") or "").strip():
            found.append("DASHBOARD_SECRET_KEY is not set")
        if (env.get("DASHBOARD_INSECURE_DEV_MODE") or "").strip().lower() in _ON:
            found.append("DASHBOARD_INSECURE_DEV_MODE is on")
        if (env.get("DASHBOARD_SECURE_COOKIES") or "").strip().lower() not in _ON:
            found.append("DASHBOARD_SECURE_COOKIES is not on: session cookies would travel without HTTPS")
    if PUBLISHED_DATA_KEYS & {key.strip() for key in (env.get("LAYANWARGA_DATA_KEYS") or "").split(",")}:
        found.append(
            "LAYANWARGA_DATA_KEYS holds the key published in this repository's tests: anyone could read personal data"
        )
    return found


def require_safe(component: str, environ: Optional[Mapping[str, str]] = None) -> None:
    """In production mode, raise ``UnsafeConfiguration`` listing every problem; else nothing."""
    if not is_production(environ):
        return
    found = problems(component, environ)
    if found:
        raise UnsafeConfiguration(
            f"{component}: refusing to start in production mode ({ENV_VAR}=production):\n- "
            + "\n- ".join(found)
        )
