"""Simulator settings: the same names the connector reads (``WHATSAPP_*``), plus its own."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

from whatsapp.settings import DEFAULT_API_VERSION

DEFAULT_PORT = 8090


def _bool(value: Optional[str], default: bool) -> bool:
    if value is None or not value.strip():
        return default
    return value.strip().lower() in ("1", "true", "yes", "on", "ya")


# The citizens the chat page starts with (phone, profile name); more can be added on the page.
DEFAULT_CITIZENS: Tuple[Tuple[str, str], ...] = (
    ("6281234500001", "Budi Santoso"),
    ("6281234500002", "Siti Aminah"),
    ("6285600000003", "Pak Yohanes"),
)


@dataclass
class SimulatorConfig:
    """Everything the simulator needs; ``from_env`` reads the environment."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    # Where the simulated Meta posts webhooks: the connector on `rasa run`.
    webhook_url: str = "http://localhost:5005/webhooks/whatsapp/webhook"
    # Shared with the connector (scripts/defaults.env holds the local values).
    app_secret: str = "simulator-app-secret"
    access_token: str = "simulator-access-token"
    verify_token: str = "simulator-verify-token"
    phone_number_id: str = "100000000000001"
    api_version: str = DEFAULT_API_VERSION
    # The business number as citizens see it, and its WhatsApp Business Account id.
    display_phone_number: str = "6285100000000"
    waba_id: str = "100000000000009"
    business_name: str = "LayanWarga"
    # Base URL the simulator is reachable at (media download URLs); default http://host:port.
    public_url: Optional[str] = None
    # Status webhooks (sent, delivered, read) for the business's messages, like Meta.
    send_statuses: bool = True
    status_delay: float = 0.05
    # Citizens read the business's messages at once (tests, benchmark). Off for the chat page:
    # there a message is read when its conversation is open on screen.
    auto_read: bool = False
    # Meta redelivers a webhook that got no 200 (with backoff), here for this long.
    retry_for: float = 600.0
    retry_base: float = 1.0
    retry_max: float = 60.0
    webhook_timeout: float = 20.0
    # Messages outside the 24-h window (no citizen message in the last 24 h) fail with 131047.
    enforce_window: bool = True
    window_seconds: float = 24 * 3600
    typing_seconds: float = 25.0
    media_url_ttl: float = 300.0
    # Try Meta's verification handshake (GET hub.challenge) until the connector answers.
    verify_on_start: bool = True
    citizens: List[Tuple[str, str]] = field(default_factory=lambda: list(DEFAULT_CITIZENS))
    # Upper bound of concurrent webhook POSTs (Meta's own concurrency is bounded too).
    max_concurrent_posts: int = 256
    # Approved message templates by (name, language); None: the project's own
    # (simulator.templates.project_templates, from the environment and instansi.yml).
    templates: Optional[Dict[Tuple[str, str], Any]] = None

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "localhost" if self.host in ("0.0.0.0", "127.0.0.1", "::") else self.host
        return f"http://{host}:{self.port}"

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> "SimulatorConfig":
        env = os.environ if env is None else env
        port = int(env.get("SIMULATOR_PORT") or DEFAULT_PORT)
        rasa_port = env.get("RASA_PORT") or "5005"
        return cls(
            host=env.get("SIMULATOR_HOST") or "127.0.0.1",
            port=port,
            webhook_url=env.get("SIMULATOR_WEBHOOK_URL")
            or f"http://localhost:{rasa_port}/webhooks/whatsapp/webhook",
            app_secret=env.get("WHATSAPP_APP_SECRET") or cls.app_secret,
            access_token=env.get("WHATSAPP_ACCESS_TOKEN") or cls.access_token,
            verify_token=env.get("WHATSAPP_VERIFY_TOKEN") or cls.verify_token,
            phone_number_id=env.get("WHATSAPP_PHONE_NUMBER_ID") or cls.phone_number_id,
            api_version=env.get("WHATSAPP_API_VERSION") or cls.api_version,
            display_phone_number=env.get("SIMULATOR_DISPLAY_PHONE") or cls.display_phone_number,
            business_name=env.get("SIMULATOR_BUSINESS_NAME") or cls.business_name,
            public_url=env.get("SIMULATOR_PUBLIC_URL") or None,
            send_statuses=_bool(env.get("SIMULATOR_STATUSES"), True),
            auto_read=_bool(env.get("SIMULATOR_AUTO_READ"), False),
            verify_on_start=_bool(env.get("SIMULATOR_VERIFY_WEBHOOK"), True),
        )
