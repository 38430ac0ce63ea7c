"""The channel's settings: credentials.yml -> environment -> defaults, and what `rasa run` does with them."""

from __future__ import annotations

from pathlib import Path

import pytest
import rasa.shared.utils.io
from rasa.shared.exceptions import RasaException

from connectors.settings import SettingsError, load_settings
from connectors.whatsapp import WhatsAppInput
from whatsapp.settings import DEFAULT_API_BASE

ROOT = Path(__file__).resolve().parents[2]
ENV = {
    "WHATSAPP_VERIFY_TOKEN": "verify",
    "WHATSAPP_APP_SECRET": "secret-from-env",
    "WHATSAPP_ACCESS_TOKEN": "token",
    "WHATSAPP_PHONE_NUMBER_ID": "123",
}


def test_settings_from_environment_with_defaults() -> None:
    settings = load_settings({}, environ=ENV)
    assert settings.app_secret == "secret-from-env"
    assert settings.graph.api_base == DEFAULT_API_BASE
    assert settings.graph.api_version == "v21.0"
    assert settings.graph.graph_url == "https://graph.facebook.com/v21.0"
    assert settings.max_media_bytes == 16 * 1024 * 1024
    assert settings.allowed_media_types == ("image/jpeg", "image/png", "image/webp", "application/pdf")
    assert settings.graph.template_name == "layanwarga_notifikasi"
    assert "secret" not in repr(settings) and "token" not in repr(settings).replace("verify_token", "")


def test_credentials_win_over_environment() -> None:
    settings = load_settings(
        {
            "app_secret": "from-yml",
            "api_base": "http://localhost:8090/",
            "api_version": "v22.0",
            "allowed_media_types": "image/jpeg, application/pdf",
            "fallback_template_name": "none",
        },
        environ={**ENV, "WHATSAPP_API_BASE": "http://ignored"},
    )
    assert settings.app_secret == "from-yml"
    assert settings.graph.graph_url == "http://localhost:8090/v22.0"
    assert settings.allowed_media_types == ("image/jpeg", "application/pdf")
    assert settings.graph.template_name is None


def test_missing_required_value_names_the_variable() -> None:
    env = dict(ENV)
    del env["WHATSAPP_ACCESS_TOKEN"]
    with pytest.raises(SettingsError, match="WHATSAPP_ACCESS_TOKEN"):
        load_settings({}, environ=env)


def test_no_app_secret_refuses_to_start_unless_insecure_dev_mode(caplog: pytest.LogCaptureFixture) -> None:
    env = dict(ENV)
    del env["WHATSAPP_APP_SECRET"]
    with pytest.raises(SettingsError, match="WHATSAPP_INSECURE_DEV_MODE"):
        load_settings({}, environ=env)
    settings = load_settings({}, environ={**env, "WHATSAPP_INSECURE_DEV_MODE": "1"})
    assert settings.app_secret is None and settings.insecure_dev_mode
    assert any(
        "INSECURE DEVELOPMENT MODE" in r.getMessage() and r.levelname == "WARNING" for r in caplog.records
    )
    # The credentials key works too.
    assert load_settings({"insecure_dev_mode": True}, environ=env).insecure_dev_mode


def test_from_credentials_raises_rasa_exception(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(ENV) + ["WHATSAPP_INSECURE_DEV_MODE"]:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(RasaException, match="WHATSAPP_APP_SECRET"):
        WhatsAppInput.from_credentials({})


def test_project_credentials_yml_resolves_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("WHATSAPP_API_BASE", "http://localhost:8090")
    monkeypatch.delenv("WHATSAPP_API_VERSION", raising=False)
    credentials = rasa.shared.utils.io.read_config_file(str(ROOT / "credentials.yml"))
    assert list(credentials) == ["connectors.whatsapp.WhatsAppInput"]
    channel = WhatsAppInput.from_credentials(credentials["connectors.whatsapp.WhatsAppInput"])
    assert channel.name() == "whatsapp"
    assert channel.settings.graph.graph_url == "http://localhost:8090/v21.0"
    assert channel.settings.app_secret == "secret-from-env"


def test_rasa_loads_the_channel_by_module_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """What rasa.core.run._create_single_channel does with a non-built-in channel name
    (without importing the whole server stack, which takes seconds)."""
    from rasa.shared.utils.common import class_from_module_path

    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    credentials = rasa.shared.utils.io.read_config_file(str(ROOT / "credentials.yml"))
    channels = [class_from_module_path(path).from_credentials(creds) for path, creds in credentials.items()]
    assert [c.name() for c in channels] == ["whatsapp"]
    assert channels[0].url_prefix() == "whatsapp"


def test_production_mode_refuses_the_simulator_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """`rasa run` must not start a production channel with development credentials."""
    from rasa.shared.exceptions import RasaException

    from connectors.whatsapp import WhatsAppInput

    monkeypatch.setenv("LAYANWARGA_ENV", "production")
    monkeypatch.setenv("WHATSAPP_APP_SECRET", "simulator-app-secret")
    with pytest.raises(RasaException, match="local simulator"):
        WhatsAppInput.from_credentials({"verify_token": "v", "access_token": "a", "phone_number_id": "1"})
