"""Production mode refuses development defaults, listing every problem at once."""

from __future__ import annotations

import pytest

from layanwarga import runtime

SAFE = {
    "LAYANWARGA_ENV": "production",
    "LAYANWARGA_DATA_KEYS": "k",
    "WHATSAPP_APP_SECRET": "a-real-secret",
    "WHATSAPP_ACCESS_TOKEN": "EAAG-real",
    "WHATSAPP_VERIFY_TOKEN": "chosen-by-the-city",
    "DASHBOARD_SECRET_KEY": "x" * 48,
    "DASHBOARD_SECURE_COOKIES": "1",
    "TRACKER_STORE_URL": "postgresql://rasa:secret@db:5432/rasa_tracker",
}


@pytest.mark.parametrize(
    "component", ["whatsapp", "actions", "dashboard", "notifier", "broadcast", "retention"]
)
def test_a_proper_production_configuration_starts(component: str) -> None:
    runtime.require_safe(component, SAFE)


def test_development_mode_never_blocks() -> None:
    runtime.require_safe("whatsapp", {"WHATSAPP_INSECURE_DEV_MODE": "1"})


@pytest.mark.parametrize(
    "component, change, problem",
    [
        (
            "whatsapp",
            {"WHATSAPP_APP_SECRET": "simulator-app-secret"},
            "WHATSAPP_APP_SECRET still has the local simulator",
        ),
        ("whatsapp", {"WHATSAPP_APP_SECRET": ""}, "signatures cannot be checked"),
        ("whatsapp", {"WHATSAPP_INSECURE_DEV_MODE": "true"}, "signatures would not be checked"),
        ("notifier", {"WHATSAPP_ACCESS_TOKEN": "simulator-access-token"}, "WHATSAPP_ACCESS_TOKEN"),
        (
            "broadcast",
            {"WHATSAPP_ACCESS_TOKEN": "simulator-access-token"},
            "(?s)broadcast: refusing.*WHATSAPP_ACCESS_TOKEN",
        ),
        ("actions", {"LAYANWARGA_DATA_KEYS": ""}, "development key"),
        # The action server erases conversations and the retention job purges them: both must
        # reach the store the rasa instances write, never a local default file.
        ("actions", {"TRACKER_STORE_URL": ""}, "TRACKER_STORE_URL is not set"),
        ("retention", {"TRACKER_STORE_URL": " "}, "TRACKER_STORE_URL is not set"),
        ("dashboard", {"DASHBOARD_SECRET_KEY": ""}, "DASHBOARD_SECRET_KEY is not set"),
        ("dashboard", {"DASHBOARD_SECURE_COOKIES": "0"}, "without HTTPS"),
        ("dashboard", {"DASHBOARD_INSECURE_DEV_MODE": "yes"}, "DASHBOARD_INSECURE_DEV_MODE"),
    ],
)
def test_each_development_default_is_refused(component: str, change: dict, problem: str) -> None:
    with pytest.raises(runtime.UnsafeConfiguration, match=problem):
        runtime.require_safe(component, {**SAFE, **change})
