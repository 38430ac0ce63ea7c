"""WhatsApp channel settings: credentials.yml first, then environment variables, then defaults.

Rasa substitutes ``${VAR}`` in credentials.yml but raises when the variable is unset, so the
project's credentials.yml leaves the values empty and this module resolves each one in order:

1. the value in credentials.yml, when it is set and not empty;
2. the environment variable of the configuration contract (``WHATSAPP_APP_SECRET`` ...);
3. a default, for optional values only.

Required values (verify token, access token, phone number id) missing everywhere stop the
connector at start-up with a message naming the variable. The app secret is required too, unless
the operator explicitly opts into the insecure development mode.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple

from whatsapp import messages

logger = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://graph.facebook.com"
DEFAULT_API_VERSION = "v21.0"
DEFAULT_MAX_MEDIA_BYTES = 16 * 1024 * 1024
DEFAULT_ALLOWED_MEDIA_TYPES: Tuple[str, ...] = ("image/jpeg", "image/png", "image/webp", "application/pdf")
DEFAULT_MAX_BODY_BYTES = 3 * 1024 * 1024
DEFAULT_TEMPLATE_NAME = "layanwarga_notifikasi"
DEFAULT_TEMPLATE_LANGUAGE = "id"

# credentials.yml key -> environment variable (the fixed names of the configuration contract,
# plus a few LayanWarga-specific ones for tuning).
ENV_VARS: Dict[str, str] = {
    "verify_token": "WHATSAPP_VERIFY_TOKEN",
    "app_secret": "WHATSAPP_APP_SECRET",
    "access_token": "WHATSAPP_ACCESS_TOKEN",
    "phone_number_id": "WHATSAPP_PHONE_NUMBER_ID",
    "api_base": "WHATSAPP_API_BASE",
    "api_version": "WHATSAPP_API_VERSION",
    "insecure_dev_mode": "WHATSAPP_INSECURE_DEV_MODE",
    "media_dir": "LAYANWARGA_MEDIA_DIR",
    "database_url": "DATABASE_URL",
    "instance": "LAYANWARGA_INSTANCE",
    "redis_url": "REDIS_URL",
    "ordering": "LAYANWARGA_ORDERING",
    # Shared with the notifier (layanwarga.notifier), so both send the same approved template.
    "fallback_template_name": "WHATSAPP_TEMPLATE_NAME",
    "fallback_template_language": "WHATSAPP_TEMPLATE_LANGUAGE",
}


class SettingsError(ValueError):
    """The WhatsApp channel is misconfigured; the message names the key and variable to set."""


@dataclass(frozen=True)
class WhatsAppSettings:
    """Everything the WhatsApp channel needs, resolved and validated."""

    verify_token: str
    access_token: str
    phone_number_id: str
    app_secret: Optional[str] = None
    api_base: str = DEFAULT_API_BASE
    api_version: str = DEFAULT_API_VERSION
    insecure_dev_mode: bool = False
    # Ticket database (dedupe, statuses, citizens, media rows); None = layanwarga.db default.
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
    fallback_template_name: Optional[str] = DEFAULT_TEMPLATE_NAME
    fallback_template_language: str = DEFAULT_TEMPLATE_LANGUAGE
    # Whether the fallback template has one body parameter ({{1}}) that carries the reply text.
    fallback_template_text_param: bool = True
    list_button_label: str = "Pilih"
    # HTTP behaviour towards the Graph API.
    request_timeout: float = 20.0
    max_attempts: int = 4
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    # Per-citizen pacing (Meta's pair rate limit, error 131056, is about one message per 6 s
    # sustained with short bursts allowed): a token bucket per recipient.
    pair_rate_burst: int = 20
    pair_rate_per_second: float = 1 / 6
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
        return (
            f"WhatsAppSettings(api_base={self.api_base!r}, api_version={self.api_version!r}, "
            f"phone_number_id={self.phone_number_id!r}, insecure_dev_mode={self.insecure_dev_mode})"
        )

    @property
    def graph_url(self) -> str:
        """``{api_base}/{api_version}``, the prefix of every Graph API call."""
        return f"{self.api_base.rstrip('/')}/{self.api_version.strip('/')}"

    def with_overrides(self, **changes: Any) -> "WhatsAppSettings":
        return replace(self, **changes)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _as_bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on", "ya"):
        return True
    if text in ("0", "false", "no", "off", "tidak", ""):
        return False
    raise SettingsError(f"whatsapp: '{key}' must be true or false, got {value!r}")


def _as_number(key: str, value: Any, kind: type, minimum: float = 0) -> Any:
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise SettingsError(f"whatsapp: '{key}' must be a number, got {value!r}") from None
    if number < minimum:
        raise SettingsError(f"whatsapp: '{key}' must be at least {minimum}, got {value!r}")
    return number


def _as_types(key: str, value: Any) -> Tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else list(value or [])
    types = tuple(str(item).strip().lower() for item in items if str(item).strip())
    for mime in types:
        if "/" not in mime:
            raise SettingsError(f"whatsapp: '{key}' entries must be MIME types like image/jpeg, got {mime!r}")
    return types


def _template_name(value: Any) -> Optional[str]:
    """The fallback template's name; ``none``/``off`` disables the fallback."""
    name = str(value).strip()
    return None if name.lower() in ("none", "off", "false", "-") else name


def load_settings(
    credentials: Optional[Mapping[str, Any]] = None, environ: Optional[Mapping[str, str]] = None
) -> WhatsAppSettings:
    """Resolve the channel's settings (credentials.yml section, then environment, then defaults)."""
    creds = dict(credentials or {})
    env = os.environ if environ is None else environ

    def get(key: str, default: Any = None) -> Any:
        value = creds.get(key)
        if _blank(value) and key in ENV_VARS:
            value = env.get(ENV_VARS[key])
        return default if _blank(value) else value

    def required(key: str) -> str:
        value = get(key)
        if _blank(value):
            raise SettingsError(
                f"whatsapp: '{key}' is not configured. Set the environment variable "
                f"{ENV_VARS[key]} or the '{key}' key of the whatsapp channel in credentials.yml."
            )
        return str(value).strip()

    insecure = _as_bool("insecure_dev_mode", get("insecure_dev_mode", False))
    app_secret = get("app_secret")
    if _blank(app_secret):
        if not insecure:
            raise SettingsError(
                "whatsapp: no app secret configured, so webhook signatures (X-Hub-Signature-256) "
                "cannot be verified and anyone could post fake citizen messages. Set "
                "WHATSAPP_APP_SECRET (Meta app dashboard > App settings > Basic), or for local "
                "development only set WHATSAPP_INSECURE_DEV_MODE=1."
            )
        app_secret = None
    else:
        app_secret = str(app_secret).strip()

    media_dir = get("media_dir")
    settings = WhatsAppSettings(
        verify_token=required("verify_token"),
        access_token=required("access_token"),
        phone_number_id=required("phone_number_id"),
        app_secret=app_secret,
        api_base=str(get("api_base", DEFAULT_API_BASE)).strip().rstrip("/"),
        api_version=str(get("api_version", DEFAULT_API_VERSION)).strip().strip("/"),
        insecure_dev_mode=insecure,
        database_url=get("database_url"),
        max_body_bytes=_as_number("max_body_bytes", get("max_body_bytes", DEFAULT_MAX_BODY_BYTES), int, 1024),
        media_dir=Path(str(media_dir)).expanduser() if media_dir else None,
        max_media_bytes=_as_number("max_media_bytes", get("max_media_bytes", DEFAULT_MAX_MEDIA_BYTES), int, 1),
        allowed_media_types=_as_types(
            "allowed_media_types", get("allowed_media_types", DEFAULT_ALLOWED_MEDIA_TYPES)
        ),
        dedupe_retention_days=_as_number("dedupe_retention_days", get("dedupe_retention_days", 8), int, 7),
        dedupe_backend=str(get("dedupe_backend", "sql")).strip().lower(),
        max_concurrent_senders=_as_number("max_concurrent_senders", get("max_concurrent_senders", 64), int, 1),
        typing_indicator=_as_bool("typing_indicator", get("typing_indicator", True)),
        fallback_template_name=_template_name(get("fallback_template_name", DEFAULT_TEMPLATE_NAME)),
        fallback_template_language=str(get("fallback_template_language", DEFAULT_TEMPLATE_LANGUAGE)).strip(),
        fallback_template_text_param=_as_bool(
            "fallback_template_text_param", get("fallback_template_text_param", True)
        ),
        list_button_label=messages.truncate(str(get("list_button_label", "Pilih")), messages.LIST_BUTTON_LIMIT) or "Pilih",
        request_timeout=_as_number("request_timeout", get("request_timeout", 20.0), float, 0.1),
        max_attempts=_as_number("max_attempts", get("max_attempts", 4), int, 1),
        backoff_base=_as_number("backoff_base", get("backoff_base", 0.5), float, 0),
        backoff_max=_as_number("backoff_max", get("backoff_max", 8.0), float, 0),
        pair_rate_burst=_as_number("pair_rate_burst", get("pair_rate_burst", 20), int, 1),
        pair_rate_per_second=_as_number("pair_rate_per_second", get("pair_rate_per_second", 1 / 6), float, 0.001),
        action_server_url=str(get("action_server_url")).strip() if get("action_server_url") else None,
        health_timeout=_as_number("health_timeout", get("health_timeout", 1.5), float, 0.1),
        replay_interval=_as_number("replay_interval", get("replay_interval", 3.0), float, 0.05),
        instance=str(get("instance")).strip() if get("instance") else None,
        max_messages_per_minute=_as_number("max_messages_per_minute", get("max_messages_per_minute", 20), int, 1),
        max_text_chars=_as_number("max_text_chars", get("max_text_chars", 3000), int, 100),
        redis_url=get("redis_url"),
        ordering=str(get("ordering", "auto")).strip().lower(),
        ordering_prefix=str(get("ordering_prefix", "layanwarga:order")).strip() or "layanwarga:order",
        ordering_lease=_as_number("ordering_lease", get("ordering_lease", 10.0), float, 0.5),
        ordering_max_wait=_as_number("ordering_max_wait", get("ordering_max_wait", 60.0), float, 0),
    )
    if settings.dedupe_backend not in ("sql", "memory"):
        raise SettingsError(f"whatsapp: 'dedupe_backend' must be sql or memory, got {settings.dedupe_backend!r}")
    if settings.ordering not in ("auto", "redis", "local", "off"):
        raise SettingsError(f"whatsapp: 'ordering' must be auto, redis or local, got {settings.ordering!r}")
    if settings.ordering == "redis" and not settings.redis_url:
        raise SettingsError("whatsapp: 'ordering' is redis but REDIS_URL is not set")
    if not settings.api_base.startswith(("http://", "https://")):
        raise SettingsError(f"whatsapp: 'api_base' must be an http(s) URL, got {settings.api_base!r}")
    if settings.insecure_dev_mode and settings.app_secret is None:
        logger.warning(
            "!!! WhatsApp channel in INSECURE DEVELOPMENT MODE: webhook signatures are NOT verified "
            "and anyone who can reach the webhook can impersonate citizens. Never use this in "
            "production: set WHATSAPP_APP_SECRET and unset WHATSAPP_INSECURE_DEV_MODE. !!!"
        )
    return settings
