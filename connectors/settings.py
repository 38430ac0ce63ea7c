"""WhatsApp channel settings: credentials.yml first, then environment variables, then defaults.

Rasa substitutes ``${VAR}`` in credentials.yml but raises when the variable is unset, so the
project's credentials.yml leaves the values empty and each one is resolved in order:

1. the value in credentials.yml, when it is set and not empty;
2. the environment variable of the configuration contract (``WHATSAPP_APP_SECRET`` ...);
3. a default, for optional values only.

The Graph API part (token, number, base URL, version, template, timeouts, retries, pacing) is
``whatsapp.settings.GraphSettings``, resolved the same way by the notification and announcement
workers; this module adds what only the channel needs (webhook secrets, journal, limits, order).
Required values (verify token, access token, phone number id) missing everywhere stop the
connector at start-up with a message naming the variable. The app secret is required too, unless
the operator explicitly opts into the insecure development mode.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple

from whatsapp import messages
from whatsapp.settings import (
    ENV_VARS as GRAPH_ENV_VARS,
    GraphSettings,
    Resolver,
    SettingsError,
    load_graph_settings,
)

logger = logging.getLogger(__name__)

DEFAULT_MAX_MEDIA_BYTES = 16 * 1024 * 1024
DEFAULT_ALLOWED_MEDIA_TYPES: Tuple[str, ...] = ("image/jpeg", "image/png", "image/webp", "application/pdf")
DEFAULT_MAX_BODY_BYTES = 3 * 1024 * 1024

# credentials.yml key -> environment variable (the fixed names of the configuration contract,
# plus a few LayanWarga-specific ones for tuning), the Graph API's included.
ENV_VARS: Dict[str, str] = {
    **GRAPH_ENV_VARS,
    "verify_token": "WHATSAPP_VERIFY_TOKEN",
    "app_secret": "WHATSAPP_APP_SECRET",
    "insecure_dev_mode": "WHATSAPP_INSECURE_DEV_MODE",
    "media_dir": "LAYANWARGA_MEDIA_DIR",
    "database_url": "DATABASE_URL",
    "instance": "LAYANWARGA_INSTANCE",
    "redis_url": "REDIS_URL",
    "ordering": "LAYANWARGA_ORDERING",
}


@dataclass(frozen=True)
class WhatsAppSettings:
    """Everything the WhatsApp channel needs, resolved and validated."""

    verify_token: str
    graph: GraphSettings
    app_secret: Optional[str] = None
    insecure_dev_mode: bool = False
    # Ticket database (journal, statuses, citizens, media rows); None = layanwarga.db default.
    database_url: Optional[str] = None
    # Inbound limits.
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    media_dir: Optional[Path] = None
    max_media_bytes: int = DEFAULT_MAX_MEDIA_BYTES
    allowed_media_types: Tuple[str, ...] = DEFAULT_ALLOWED_MEDIA_TYPES
    # Processed message ids are kept this long (Meta redelivers for up to 7 days).
    dedupe_retention_days: int = 8
    dedupe_backend: str = "sql"
    max_concurrent_senders: int = 64
    # Outbound.
    typing_indicator: bool = True
    list_button_label: str = "Pilih"
    # Resilience: the action server's webhook (its /health is probed before each turn). Inside
    # `rasa run` it is always the action_endpoint of endpoints.yml (``WebhookProcessor.
    # use_action_endpoint``); this key only serves the channel run without a Rasa agent (tests,
    # benchmarks). How often
    # waiting messages are retried and the journal's leases renewed; this instance's name, unique
    # among the instances sharing the database and the same across its restarts, so a restarted
    # instance takes back at once what it left unfinished (unset: others' leases run out first).
    action_server_url: Optional[str] = None
    # How long the health probe may take before the action server counts as down (a hung server
    # holds messages in the journal rather than every turn waiting for Rasa's 5-minute timeout).
    health_timeout: float = 1.5
    replay_interval: float = 3.0
    instance: Optional[str] = None
    # Abuse limits: messages per citizen per minute, characters per text message. REDIS_URL
    # shares the counters between instances.
    max_messages_per_minute: int = 20
    max_text_chars: int = 3000
    redis_url: Optional[str] = None
    # Per-citizen order across instances (connectors/ordering.py): "auto" = in Redis when
    # REDIS_URL is set, else in this process; "redis"; "local" (in-process only, e.g. to measure).
    ordering: str = "auto"
    ordering_prefix: str = "layanwarga:order"
    # A ticket's lease (renewed while its message waits or runs; a crashed instance's tickets
    # stop blocking after it) and the longest a message waits for earlier ones of its citizen.
    ordering_lease: float = 10.0
    ordering_max_wait: float = 60.0
    extra: Dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __repr__(self) -> str:  # never print secrets
        return f"WhatsAppSettings({self.graph!r}, insecure_dev_mode={self.insecure_dev_mode})"

    def with_overrides(self, **changes: Any) -> "WhatsAppSettings":
        return replace(self, **changes)


def _as_types(key: str, value: Any) -> Tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else list(value or [])
    types = tuple(str(item).strip().lower() for item in items if str(item).strip())
    for mime in types:
        if "/" not in mime:
            raise SettingsError(f"whatsapp: '{key}' entries must be MIME types like image/jpeg, got {mime!r}")
    return types


def load_settings(
    credentials: Optional[Mapping[str, Any]] = None, environ: Optional[Mapping[str, str]] = None
) -> WhatsAppSettings:
    """Resolve the channel's settings (credentials.yml section, then environment, then defaults)."""
    values = Resolver(credentials, environ, ENV_VARS)
    get, number = values.get, values.number

    insecure = values.flag("insecure_dev_mode", False)
    app_secret = get("app_secret")
    if app_secret is None:
        if not insecure:
            raise SettingsError(
                "whatsapp: no app secret configured, so webhook signatures (X-Hub-Signature-256) "
                "cannot be verified and anyone could post fake citizen messages. Set "
                "WHATSAPP_APP_SECRET (Meta app dashboard > App settings > Basic), or for local "
                "development only set WHATSAPP_INSECURE_DEV_MODE=1."
            )
    else:
        app_secret = str(app_secret).strip()

    verify_token = values.required("verify_token")
    media_dir = get("media_dir")
    settings = WhatsAppSettings(
        verify_token=verify_token,
        graph=load_graph_settings(credentials, environ),
        app_secret=app_secret,
        insecure_dev_mode=insecure,
        database_url=get("database_url"),
        max_body_bytes=number("max_body_bytes", DEFAULT_MAX_BODY_BYTES, int, 1024),
        media_dir=Path(str(media_dir)).expanduser() if media_dir else None,
        max_media_bytes=number("max_media_bytes", DEFAULT_MAX_MEDIA_BYTES, int, 1),
        allowed_media_types=_as_types(
            "allowed_media_types", get("allowed_media_types", DEFAULT_ALLOWED_MEDIA_TYPES)
        ),
        dedupe_retention_days=number("dedupe_retention_days", 8, int, 7),
        dedupe_backend=str(get("dedupe_backend", "sql")).strip().lower(),
        max_concurrent_senders=number("max_concurrent_senders", 64, int, 1),
        typing_indicator=values.flag("typing_indicator", True),
        list_button_label=messages.truncate(
            str(get("list_button_label", "Pilih")), messages.LIST_BUTTON_LIMIT
        )
        or "Pilih",
        action_server_url=str(get("action_server_url")).strip() if get("action_server_url") else None,
        health_timeout=number("health_timeout", 1.5, float, 0.1),
        replay_interval=number("replay_interval", 3.0, float, 0.05),
        instance=str(get("instance")).strip() if get("instance") else None,
        max_messages_per_minute=number("max_messages_per_minute", 20, int, 1),
        max_text_chars=number("max_text_chars", 3000, int, 100),
        redis_url=get("redis_url"),
        ordering=str(get("ordering", "auto")).strip().lower(),
        ordering_prefix=str(get("ordering_prefix", "layanwarga:order")).strip() or "layanwarga:order",
        ordering_lease=number("ordering_lease", 10.0, float, 0.5),
        ordering_max_wait=number("ordering_max_wait", 60.0, float, 0),
    )
    if settings.dedupe_backend not in ("sql", "memory"):
        raise SettingsError(
            f"whatsapp: 'dedupe_backend' must be sql or memory, got {settings.dedupe_backend!r}"
        )
    if settings.ordering not in ("auto", "redis", "local", "off"):
        raise SettingsError(f"whatsapp: 'ordering' must be auto, redis or local, got {settings.ordering!r}")
    if settings.ordering == "redis" and not settings.redis_url:
        raise SettingsError("whatsapp: 'ordering' is redis but REDIS_URL is not set")
    if settings.insecure_dev_mode and settings.app_secret is None:
        logger.warning(
            "!!! WhatsApp channel in INSECURE DEVELOPMENT MODE: webhook signatures are NOT verified "
            "and anyone who can reach the webhook can impersonate citizens. Never use this in "
            "production: set WHATSAPP_APP_SECRET and unset WHATSAPP_INSECURE_DEV_MODE. !!!"
        )
    return settings
