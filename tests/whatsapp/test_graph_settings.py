"""One settings object for everything that calls the Graph API (whatsapp.settings): the
connector, the notifier and the announcement worker resolve it the same way, credentials.yml's
WhatsApp section first, then the WHATSAPP_* variables, then defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.settings import load_settings
from whatsapp.settings import DEFAULT_API_VERSION, SettingsError, load_worker_settings, read_credentials


def test_the_workers_read_credentials_yml_before_the_environment(tmp_path: Path) -> None:
    """The notifier and the announcement worker resolve the connector's settings the same way:
    the channel's credentials.yml section (``${VAR}`` as Rasa reads it), then WHATSAPP_*."""
    credentials = tmp_path / "credentials.yml"
    credentials.write_text(
        "connectors.whatsapp.WhatsAppInput:\n"
        "  access_token: ${SECRET_TOKEN}\n"
        "  phone_number_id: '1001'\n"
        "  api_version: v23.0\n"
        "  fallback_template_name: pemberitahuan\n"
        "  request_timeout: 7\n"
        "  verify_token:\n",
        encoding="utf-8",
    )
    environ = {
        "SECRET_TOKEN": "from-secret",
        "WHATSAPP_ACCESS_TOKEN": "ignored",
        "WHATSAPP_PHONE_NUMBER_ID": "2002",
        "WHATSAPP_API_BASE": "http://sim:8090",
        "WHATSAPP_TEMPLATE_LANGUAGE": "en",
        "LAYANWARGA_NOTIFIER_TIMEOUT": "3",
        "WHATSAPP_VERIFY_TOKEN": "v",
        "WHATSAPP_APP_SECRET": "s",
    }
    worker = load_worker_settings(credentials, environ)
    connector = load_settings(read_credentials(credentials, environ), environ).graph
    assert worker == connector
    assert worker.access_token == "from-secret" and worker.phone_number_id == "1001"
    assert worker.graph_url == "http://sim:8090/v23.0"
    assert (worker.template_name, worker.template_language, worker.timeout) == ("pemberitahuan", "en", 7.0)
    # Without the file, the environment alone (a worker's container holds no credentials.yml).
    alone = load_worker_settings(tmp_path / "missing.yml", environ)
    assert (alone.access_token, alone.phone_number_id, alone.timeout) == ("ignored", "2002", 3.0)
    assert alone.api_version == DEFAULT_API_VERSION
    with pytest.raises(SettingsError, match="SECRET_TOKEN"):
        load_worker_settings(credentials, {k: v for k, v in environ.items() if k != "SECRET_TOKEN"})


def test_credentials_yml_reads_as_rasa_reads_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the workers read of credentials.yml is what Rasa hands the connector: the project's
    file, and one with a ``${VAR}``."""
    import rasa.shared.utils.io

    monkeypatch.setenv("SECRET_TOKEN", "from-secret")
    own = tmp_path / "credentials.yml"
    own.write_text(
        "connectors.whatsapp.WhatsAppInput:\n  access_token: ${SECRET_TOKEN}\n  phone_number_id: 1001\n"
        "  api_base: http://localhost:8090\n  typing_indicator: false\n",
        encoding="utf-8",
    )
    for path in (Path(__file__).resolve().parents[2] / "credentials.yml", own):
        by_rasa = rasa.shared.utils.io.read_config_file(str(path))["connectors.whatsapp.WhatsAppInput"]
        assert read_credentials(path) == by_rasa
