"""deploy/helm/values.yaml for Rasa's official chart (rasa/rasa 1.0.x), checked without Helm:

1. against the chart's values interface (deploy/helm/chart-reference.yaml, a JSON schema
   stricter than the chart's own: unknown keys in the sections we set are errors);
2. a dry run of what the chart renders from it: Helm's merge of our values into the chart's
   endpoint defaults (null deletes a key), the config map's endpoints.yml and credentials.yml,
   and Rasa reading that endpoints.yml with the environment the pod gets;
3. the rules several replicas need (shared stores, non-root, no Sanic workers).
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any, Dict, List

import jsonschema
import pytest
import yaml

from deploy_support import DEPLOY

VALUES = DEPLOY / "helm" / "values.yaml"
REFERENCE = DEPLOY / "helm" / "chart-reference.yaml"


@pytest.fixture(scope="module")
def values() -> Dict[str, Any]:
    return yaml.safe_load(VALUES.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def reference() -> Dict[str, Any]:
    return yaml.safe_load(REFERENCE.read_text(encoding="utf-8"))


def coalesce(defaults: Dict[str, Any], overrides: Dict[str, Any]) -> Dict[str, Any]:
    """Helm's merge of user values into chart defaults: maps merge, a null removes the key."""
    merged = copy.deepcopy(defaults)
    for key, value in overrides.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = coalesce(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def render_endpoints(values: Dict[str, Any], reference: Dict[str, Any]) -> str:
    """endpoints.yml as the chart's config map writes it (``{{ $key }}: {{ $value }}`` lines)."""
    endpoints = values["applicationSettings"]["endpoints"]
    lines: List[str] = []
    models = coalesce(reference["model_defaults"], endpoints.get("models") or {})
    if models.get("enabled"):
        lines += [
            "models:",
            f"  url: {models['url']}",
            "  token: ${MODEL_SERVER_TOKEN}",
            f"  wait_time_between_pulls: {models['waitTimeBetweenPulls']}",
        ]
    for section, key in reference["endpoint_keys"].items():
        merged = coalesce(reference["endpoint_defaults"][section], endpoints.get(section) or {})
        if not merged.get("enabled"):
            continue
        lines.append(f"{key}:")
        for name in sorted(merged):  # Go templates range over map keys in sorted order
            if name == "enabled":
                continue
            value = merged[name]
            if isinstance(value, (dict, list)):
                block = yaml.safe_dump({name: value}, default_flow_style=False).rstrip("\n")
                lines += ["  " + line for line in block.splitlines()]
            else:
                lines.append(f"  {name}: {value}")
    if values.get("rasa-action-server", {}).get("install"):
        lines += ["action_endpoint:", "  url: ${ACTION_SERVER_URL}"]
    return "\n".join(lines) + "\n"


def chart_env(values: Dict[str, Any], reference: Dict[str, Any]) -> set:
    """The variables the chart itself gives the rasa container: always ``chart_env``, and
    MODEL_SERVER_TOKEN from the release's own Secret when models.token is set."""
    models = coalesce(
        reference["model_defaults"], values["applicationSettings"]["endpoints"].get("models") or {}
    )
    return set(reference["chart_env"]) | (
        {"MODEL_SERVER_TOKEN"} if models.get("enabled") and models.get("token") else set()
    )


def test_values_fit_the_chart(values: Dict[str, Any], reference: Dict[str, Any]) -> None:
    validator = jsonschema.Draft202012Validator(reference["schema"])
    errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(values)]
    assert errors == []


def test_the_reference_catches_typos(values: Dict[str, Any], reference: Dict[str, Any]) -> None:
    validator = jsonschema.Draft202012Validator(reference["schema"])
    for mistake in (
        {"replicaCount": "2"},
        {"applicationSettings": {**values["applicationSettings"], "enableApi": False}},
        {"rasa-action-server": {**values["rasa-action-server"], "extraenv": []}},
        {"readinessProbe": {"httpGet": {"path": "/", "port": 5005}}},
    ):
        assert not validator.is_valid({**values, **mistake}), mistake


def test_rasa_reads_the_rendered_endpoints(
    values: Dict[str, Any], reference: Dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rasa.core.utils import read_endpoints_from_path

    rendered = render_endpoints(values, reference)
    assert "${DB_" not in rendered, "the chart's SQL defaults were removed"
    # The pod's environment: the chart's own variables plus extraEnv (secrets as placeholders).
    names = {item["name"] for item in values["extraEnv"]} | chart_env(values, reference)
    env = {name: f"<{name.lower()}>" for name in names}
    env.update(
        TRACKER_STORE_URL="postgresql://rasa:secret@db:5432/rasa_tracker",
        REDIS_PORT="6379",
        REDIS_DB="1",
        ACTION_SERVER_URL="http://layanwarga-rasa-action-server.layanwarga.svc:80/webhook",
        LAYANWARGA_MODEL_URL="http://layanwarga-dashboard:8080/model/layanwarga.tar.gz",
    )
    for name in list(os.environ):
        if name.startswith(("REDIS_", "RABBITMQ_", "DB_", "LAYANWARGA_MODEL_")) or name in (
            "TRACKER_STORE_URL",
            "ACTION_SERVER_URL",
            "MODEL_SERVER_TOKEN",
        ):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    path = tmp_path / "endpoints.yml"
    path.write_text(rendered, encoding="utf-8")
    endpoints = read_endpoints_from_path(path)  # raises on a variable the pod would not have
    assert endpoints.tracker_store.type == "rasa_extensions.tracker_store.LayanWargaTrackerStore"
    assert endpoints.tracker_store.url == env["TRACKER_STORE_URL"] and endpoints.tracker_store.kwargs == {}
    assert endpoints.lock_store.type == "redis"
    assert endpoints.lock_store.kwargs == {
        "port": "6379",
        "db": "1",
        "password": "<redis_password>",
        "key_prefix": "layanwarga",
    }
    assert endpoints.action.url == env["ACTION_SERVER_URL"]
    assert endpoints.event_broker is None  # analytics is opt-in
    # The model from the dashboard's model server, with the token the pod gets from our Secret.
    assert endpoints.model.url == env["LAYANWARGA_MODEL_URL"]
    assert endpoints.model.combine_parameters() == {"token": "<model_server_token>"}
    assert endpoints.model.kwargs["wait_time_between_pulls"] == 60

    # With analytics switched on, the broker is the masking Pika broker.
    analytics = copy.deepcopy(values)
    analytics["applicationSettings"]["endpoints"]["eventBroker"]["enabled"] = True
    for name, value in {
        "RABBITMQ_HOST": "rabbitmq",
        "RABBITMQ_PORT": "5672",
        "RABBITMQ_USERNAME": "u",
        "RABBITMQ_PASSWORD": "p",
    }.items():
        monkeypatch.setenv(name, value)
    path.write_text(render_endpoints(analytics, reference), encoding="utf-8")
    broker = read_endpoints_from_path(path).event_broker
    assert broker.type == "rasa_extensions.event_broker.MaskingPikaEventBroker"
    assert broker.kwargs["queues"] == ["layanwarga_events"]


def test_the_connector_gets_its_settings(values: Dict[str, Any]) -> None:
    from connectors.settings import load_settings

    credentials = values["applicationSettings"]["credentials"]["additionalChannelCredentials"]
    assert list(credentials) == ["connectors.whatsapp.WhatsAppInput"]
    env_names = {item["name"] for item in values["extraEnv"]}
    required = {
        "WHATSAPP_VERIFY_TOKEN",
        "WHATSAPP_APP_SECRET",
        "WHATSAPP_ACCESS_TOKEN",
        "WHATSAPP_PHONE_NUMBER_ID",
        "DATABASE_URL",
        "REDIS_URL",
        "LAYANWARGA_DATA_KEYS",
        "TRACKER_STORE_URL",
        "REDIS_HOST",
        "REDIS_PORT",
        "REDIS_DB",
        "REDIS_PASSWORD",
        "LAYANWARGA_SPOOL_DIR",
        "LAYANWARGA_MEDIA_DIR",
    }
    assert required <= env_names
    settings = load_settings(
        credentials["connectors.whatsapp.WhatsAppInput"],
        environ={name: "x" for name in env_names} | {"REDIS_URL": "redis://redis:6379/0"},
    )
    assert settings.redis_url and settings.ordering == "auto"  # Redis ordering across replicas
    secrets = [
        item
        for item in values["extraEnv"]
        if item["name"].startswith("WHATSAPP_")
        or item["name"]
        in ("DATABASE_URL", "TRACKER_STORE_URL", "REDIS_URL", "REDIS_PASSWORD", "LAYANWARGA_DATA_KEYS")
    ]
    assert all("valueFrom" in item and "value" not in item for item in secrets), "secrets only from a Secret"


def test_replicas_and_safety(values: Dict[str, Any]) -> None:
    assert values["replicaCount"] >= 2 and values["applicationSettings"]["endpoints"]["lockStore"]["enabled"]
    assert (
        values["applicationSettings"]["initialModel"] == ""
        and not values["applicationSettings"]["trainInitialModel"]
    )
    assert values["applicationSettings"]["enableAPI"] is False
    # The chart runs the image's ENTRYPOINT (deploy/Dockerfile.rasa: `rasa run` with the
    # performance patches switched on) unless `command` replaces it.
    assert "command" not in values
    assert "SANIC_WORKERS" not in {item["name"] for item in values["extraEnv"]}
    for container in (values["securityContext"], values["rasa-action-server"]["securityContext"]):
        assert container["runAsNonRoot"] and container["runAsUser"] == 10001
    assert values["image"]["tag"] != "latest" and values["rasa-action-server"]["image"]["tag"] != "latest"
    assert values["readinessProbe"]["httpGet"]["path"] == "/webhooks/whatsapp/"
    action = values["rasa-action-server"]
    assert action["install"] and action["command"] == ["rasa"] and action["args"][:2] == ["run", "actions"]
    assert {"LAYANWARGA_BACKGROUND", "DATABASE_URL"} <= {item["name"] for item in action["extraEnv"]}
    for section in ("postgresql", "redis", "rabbitmq"):
        assert values[section]["install"] is False, f"the city's own {section}, not the bundled chart"


def test_the_action_server_reaches_the_conversation_store_of_the_replicas(values: Dict[str, Any]) -> None:
    """The action server's erasure job deletes from the store the rasa replicas write to: the
    same Secret key, and nothing its production start-up check would refuse."""
    from layanwarga import runtime

    def env_of(items: List[Dict[str, Any]]) -> Dict[str, Any]:
        return {item["name"]: item.get("valueFrom") or item.get("value") for item in items}

    replicas = env_of(values["extraEnv"])
    action_server = env_of(values["rasa-action-server"]["extraEnv"])
    assert action_server.get("TRACKER_STORE_URL") == replicas["TRACKER_STORE_URL"]
    pod = {name: str(value) for name, value in action_server.items()}
    assert pod["LAYANWARGA_ENV"] == "production" and runtime.problems("actions", pod) == []


def test_the_action_servers_spool_outlives_a_crashed_container(values: Dict[str, Any]) -> None:
    """Submissions kept through a database outage are stored when the server starts again:
    only if the spool is still there (not the container's own writable layer)."""
    action = values["rasa-action-server"]
    env = {item["name"]: item.get("value") for item in action["extraEnv"]}
    mounts = {m["mountPath"]: m["name"] for m in action["volumeMounts"]}
    volumes = {v["name"]: v for v in action["volumes"]}
    assert mounts[env["LAYANWARGA_SPOOL_DIR"]] in volumes


def test_the_replicas_pull_their_model_from_the_dashboard_with_the_secrets_token(
    values: Dict[str, Any], reference: Dict[str, Any]
) -> None:
    """The model server is on, its URL and token come from our Secret (the token the dashboard
    has: deploy/kubernetes/dashboard.yaml), never from values.yaml (the chart would put it in a
    Secret of its own and set MODEL_SERVER_TOKEN twice)."""
    models = values["applicationSettings"]["endpoints"]["models"]
    assert models["enabled"] and models["url"] == "${LAYANWARGA_MODEL_URL}" and not models["token"]
    assert "MODEL_SERVER_TOKEN" not in chart_env(values, reference)
    env = {item["name"]: item for item in values["extraEnv"]}
    assert env["MODEL_SERVER_TOKEN"]["valueFrom"]["secretKeyRef"] == {
        "name": "layanwarga",
        "key": "LAYANWARGA_MODEL_TOKEN",
    }
    assert env["LAYANWARGA_MODEL_URL"]["valueFrom"]["secretKeyRef"]["name"] == "layanwarga"
