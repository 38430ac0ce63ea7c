"""How every LayanWarga process reaches the Graph API: one settings object, resolved one way.

The connector (inside ``rasa run``), the notification worker and the announcement worker all
build ``GraphSettings`` with ``load_graph_settings`` (the workers through
``load_worker_settings``), each value in this order:

1. the WhatsApp channel's section of credentials.yml (``connectors.whatsapp.WhatsAppInput``),
   when the key is set and not empty: Rasa hands the connector its section, the workers read
   the file themselves (``read_credentials``, ``${VAR}`` substituted as Rasa does);
2. the environment variable of the configuration contract (``WHATSAPP_ACCESS_TOKEN`` ...);
3. a default, for optional values only.

A required value missing everywhere is a ``SettingsError`` naming the variable and the key.
``Resolver`` is that order, shared with the connector's own channel settings.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

import yaml

logger = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://graph.facebook.com"
DEFAULT_API_VERSION = "v21.0"
DEFAULT_TEMPLATE_NAME = "layanwarga_notifikasi"
DEFAULT_TEMPLATE_LANGUAGE = "id"
DEFAULT_TIMEOUT = 20.0

CREDENTIALS_FILE = "credentials.yml"
CREDENTIALS_SECTION = "connectors.whatsapp.WhatsAppInput"
# The workers' own variable for ``request_timeout`` (seconds per Graph API call).
WORKER_TIMEOUT_VARIABLE = "LAYANWARGA_NOTIFIER_TIMEOUT"

# credentials.yml key -> environment variable (the configuration contract's names).
ENV_VARS: Dict[str, str] = {
    "access_token": "WHATSAPP_ACCESS_TOKEN",
    "phone_number_id": "WHATSAPP_PHONE_NUMBER_ID",
    "api_base": "WHATSAPP_API_BASE",
    "api_version": "WHATSAPP_API_VERSION",
    # The approved template sent outside the 24-hour window, by the connector and the notifier.
    "fallback_template_name": "WHATSAPP_TEMPLATE_NAME",
    "fallback_template_language": "WHATSAPP_TEMPLATE_LANGUAGE",
}


class SettingsError(ValueError):
    """WhatsApp is misconfigured; the message names the key and variable to set."""


@dataclass(frozen=True)
class GraphSettings:
    """Everything needed to call the Graph API as the institution's business number."""

    access_token: str
    phone_number_id: str
    api_base: str = DEFAULT_API_BASE
    api_version: str = DEFAULT_API_VERSION
    # The approved template outside the 24-hour window (None: no fallback), and whether its body
    # has one parameter ({{1}}) that carries the message text.
    template_name: Optional[str] = DEFAULT_TEMPLATE_NAME
    template_language: str = DEFAULT_TEMPLATE_LANGUAGE
    template_text_param: bool = True
    timeout: float = DEFAULT_TIMEOUT
    # Tries per call (the async client retries what is retryable), with exponential backoff.
    max_attempts: int = 4
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    # Per-citizen pacing (Meta's pair rate limit, error 131056, is about one message per 6 s
    # sustained with short bursts allowed): a token bucket per recipient.
    pair_rate_burst: int = 20
    pair_rate_per_second: float = 1 / 6

    def __repr__(self) -> str:  # never print the token
        return (
            f"GraphSettings(api_base={self.api_base!r}, api_version={self.api_version!r}, "
            f"phone_number_id={self.phone_number_id!r})"
        )

    @property
    def graph_url(self) -> str:
        """``{api_base}/{api_version}``, the prefix of every Graph API call."""
        return f"{self.api_base.rstrip('/')}/{self.api_version.strip('/')}"

    def with_overrides(self, **changes: Any) -> "GraphSettings":
        return replace(self, **changes)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class Resolver:
    """One value: the credentials.yml section's, else its environment variable's, else a default."""

    def __init__(
        self,
        credentials: Optional[Mapping[str, Any]],
        environ: Optional[Mapping[str, str]],
        env_vars: Mapping[str, str],
    ) -> None:
        self.credentials = dict(credentials or {})
        self.environ = os.environ if environ is None else environ
        self.env_vars = env_vars

    def get(self, key: str, default: Any = None) -> Any:
        value = self.credentials.get(key)
        if _blank(value) and key in self.env_vars:
            value = self.environ.get(self.env_vars[key])
        return default if _blank(value) else value

    def required(self, key: str) -> str:
        value = self.get(key)
        if _blank(value):
            raise SettingsError(
                f"whatsapp: '{key}' is not configured. Set the environment variable "
                f"{self.env_vars[key]} or the '{key}' key of the whatsapp channel in credentials.yml."
            )
        return str(value).strip()

    def flag(self, key: str, default: bool) -> bool:
        value = self.get(key, default)
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on", "ya"):
            return True
        if text in ("0", "false", "no", "off", "tidak", ""):
            return False
        raise SettingsError(f"whatsapp: '{key}' must be true or false, got {value!r}")

    def number(self, key: str, default: Any, kind: type, minimum: float = 0) -> Any:
        value = self.get(key, default)
        try:
            number = kind(value)
        except (TypeError, ValueError):
            raise SettingsError(f"whatsapp: '{key}' must be a number, got {value!r}") from None
        if number < minimum:
            raise SettingsError(f"whatsapp: '{key}' must be at least {minimum}, got {value!r}")
        return number


def _template_name(value: Any) -> Optional[str]:
    """The fallback template's name; ``none``/``off`` disables the fallback."""
    name = str(value).strip()
    return None if name.lower() in ("none", "off", "false", "-") else name


def load_graph_settings(
    credentials: Optional[Mapping[str, Any]] = None,
    environ: Optional[Mapping[str, str]] = None,
    *,
    timeout_variable: Optional[str] = None,
) -> GraphSettings:
    """Resolve the Graph API settings (credentials.yml section, then environment, then defaults).

    ``timeout_variable`` names an environment variable for ``request_timeout`` (the workers'
    ``WORKER_TIMEOUT_VARIABLE``); the connector has none."""
    env_vars = dict(ENV_VARS)
    if timeout_variable:
        env_vars["request_timeout"] = timeout_variable
    values = Resolver(credentials, environ, env_vars)
    settings = GraphSettings(
        access_token=values.required("access_token"),
        phone_number_id=values.required("phone_number_id"),
        api_base=str(values.get("api_base", DEFAULT_API_BASE)).strip().rstrip("/"),
        api_version=str(values.get("api_version", DEFAULT_API_VERSION)).strip().strip("/"),
        template_name=_template_name(values.get("fallback_template_name", DEFAULT_TEMPLATE_NAME)),
        template_language=str(values.get("fallback_template_language", DEFAULT_TEMPLATE_LANGUAGE)).strip(),
        template_text_param=values.flag("fallback_template_text_param", True),
        timeout=values.number("request_timeout", DEFAULT_TIMEOUT, float, 0.1),
        max_attempts=values.number("max_attempts", 4, int, 1),
        backoff_base=values.number("backoff_base", 0.5, float, 0),
        backoff_max=values.number("backoff_max", 8.0, float, 0),
        pair_rate_burst=values.number("pair_rate_burst", 20, int, 1),
        pair_rate_per_second=values.number("pair_rate_per_second", 1 / 6, float, 0.001),
    )
    if not settings.api_base.startswith(("http://", "https://")):
        raise SettingsError(f"whatsapp: 'api_base' must be an http(s) URL, got {settings.api_base!r}")
    return settings


_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def _substitute(value: Any, environ: Mapping[str, str], key: str) -> Any:
    """``${VAR}`` in a string value replaced by the variable, as Rasa reads credentials.yml
    (an unset variable is an error there too)."""
    if not isinstance(value, str) or "${" not in value:
        return value

    def variable(match: "re.Match[str]") -> str:
        name = match.group(1)
        if name not in environ:
            raise SettingsError(
                f"whatsapp: the '{key}' key of credentials.yml uses ${{{name}}}, but {name} is not set."
            )
        return environ[name]

    return _VARIABLE.sub(variable, value)


def read_credentials(
    path: "str | os.PathLike[str]" = CREDENTIALS_FILE, environ: Optional[Mapping[str, str]] = None
) -> Dict[str, Any]:
    """The WhatsApp channel's section of credentials.yml, for processes Rasa does not start.

    A missing file (a worker's container holds none) gives an empty section: every value then
    comes from the environment. A file that is not valid YAML is a ``SettingsError``."""
    file = Path(path)
    if not file.is_file():
        logger.info("No %s here: WhatsApp settings come from the environment", file)
        return {}
    env = os.environ if environ is None else environ
    try:
        content = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise SettingsError(f"whatsapp: {file} cannot be read: {error}") from None
    section = content.get(CREDENTIALS_SECTION) if isinstance(content, dict) else None
    if not isinstance(section, dict):
        return {}
    return {key: _substitute(value, env, key) for key, value in section.items()}


def load_worker_settings(
    credentials_file: "str | os.PathLike[str]" = CREDENTIALS_FILE, environ: Optional[Mapping[str, str]] = None
) -> GraphSettings:
    """The notification and announcement workers' settings: the connector's, read the same way
    from the same credentials.yml section and variables (plus the workers' timeout variable)."""
    return load_graph_settings(
        read_credentials(credentials_file, environ), environ, timeout_variable=WORKER_TIMEOUT_VARIABLE
    )
