"""deploy/docker-compose.yml: valid against the official Compose Specification JSON schema, and
wired the way several instances need (production endpoints, shared stores, own spools), with
every service that erases or purges personal data reaching the conversation store, every
``rasa run`` given each variable its endpoints file reads, and the instances' model served by
the dashboard (same token, its store and teach root on volumes)."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any, Dict, List, Set, Tuple

import jsonschema
import pytest
import yaml

from deploy_support import COMPOSE_SCHEMA, DEPLOY, ROOT

COMPOSE = DEPLOY / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose() -> Dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def validator(linters: Path) -> jsonschema.Draft201909Validator:
    schema = json.loads(COMPOSE_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft201909Validator.check_schema(schema)
    return jsonschema.Draft201909Validator(schema)


def test_valid_against_the_compose_spec_schema(
    compose: Dict[str, Any], validator: jsonschema.Draft201909Validator
) -> None:
    errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(compose)]
    assert errors == []


def test_the_schema_catches_mistakes(
    compose: Dict[str, Any], validator: jsonschema.Draft201909Validator
) -> None:
    typo = copy.deepcopy(compose)
    typo["services"]["nginx"]["port"] = ["8000:8000"]
    wrong = copy.deepcopy(compose)
    wrong["services"]["rasa-1"]["depends_on"]["redis"]["condition"] = "service_ready"
    assert not validator.is_valid(typo) and not validator.is_valid(wrong)


def test_services_and_references(compose: Dict[str, Any]) -> None:
    services = compose["services"]
    assert {
        "postgres",
        "redis",
        "rabbitmq",
        "migrate",
        "actions",
        "rasa-1",
        "rasa-2",
        "nginx",
        "dashboard",
        "notifier",
        "retention",
        "simulator",
    } <= set(services)
    for name, service in services.items():
        for dependency in service.get("depends_on") or {}:
            assert dependency in services, f"{name} depends on unknown {dependency}"
        for volume in service.get("volumes") or []:
            source = volume.split(":")[0]
            if not source.startswith("."):
                assert source in compose["volumes"], f"{name}: undeclared volume {source}"
            else:
                assert (DEPLOY / source).exists(), f"{name}: {source} missing"
        build = service.get("build")
        if build:
            assert (COMPOSE.parent / build["context"] / build["dockerfile"]).resolve().exists()
    assert services["rabbitmq"]["profiles"] == ["analytics"]
    assert services["simulator"]["profiles"] == ["simulator"]
    assert services["retention"]["profiles"] == ["jobs"]


def test_several_instances_share_state_only_through_postgres_and_redis(compose: Dict[str, Any]) -> None:
    services = compose["services"]
    instances = [services["rasa-1"], services["rasa-2"]]
    spools: Set[str] = set()
    for rasa in instances:
        env = rasa["environment"]
        assert "endpoints.production.yml" in " ".join(rasa["command"])
        # rasa run with the performance patches switched on (rasa_extensions/patches.py)
        assert service_process(rasa)[:4] == ["python", "-m", "rasa_extensions", "run"]
        assert env["TRACKER_STORE_URL"].startswith("postgresql://") and env["DATABASE_URL"].startswith(
            "postgresql://"
        )
        assert env["REDIS_URL"].startswith("redis://") and env["REDIS_HOST"] == "redis"
        assert env["ACTION_SERVER_URL"] == "http://actions:5055/webhook"
        assert "SANIC_WORKERS" not in env  # scale by instances, not by Sanic workers
        assert rasa["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        mounts = dict(v.split(":")[:2][::-1] for v in rasa["volumes"])
        assert mounts["/data/media"] == "media"
        spools.add(mounts["/data/spool"])
    assert len(spools) == 2, "each instance replays its own spool, never another's"
    nginx = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    assert set(re.findall(r"server (rasa-\d):5005", nginx)) == {"rasa-1", "rasa-2"}
    assert services["notifier"]["entrypoint"] == ["python", "-m", "layanwarga.notifier"]
    assert services["migrate"]["entrypoint"] == ["python", "-m", "layanwarga.migrate"]
    assert services["retention"]["entrypoint"] == ["python", "-m", "layanwarga.retention", "purge"]


def test_every_variable_is_documented_in_env_example() -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    used = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", text))
    documented = set(
        re.findall(r"^([A-Z_][A-Z0-9_]*)=", (DEPLOY / "env.example").read_text(encoding="utf-8"), re.M)
    )
    assert used - documented == set()
    assert (ROOT / "endpoints.production-analytics.yml").exists()


def dockerfile_process(dockerfile: Path) -> Tuple[List[str], List[str]]:
    """The image's default ENTRYPOINT and CMD (exec form)."""
    text = dockerfile.read_text(encoding="utf-8")
    parts: Dict[str, List[str]] = {}
    for instruction in ("ENTRYPOINT", "CMD"):
        found = re.findall(rf"^{instruction} (\[.*\])$", text, re.M)
        parts[instruction] = json.loads(found[-1]) if found else []
    return parts["ENTRYPOINT"], parts["CMD"]


def service_process(service: Dict[str, Any]) -> List[str]:
    """What a compose service's container runs, as Docker runs it: its entrypoint/command or
    the image's defaults (a service's command replaces the image's CMD, not its ENTRYPOINT)."""
    build = service.get("build")
    image_entrypoint, image_cmd = (
        dockerfile_process(COMPOSE.parent / build["context"] / build["dockerfile"]) if build else ([], [])
    )
    entrypoint = service.get("entrypoint")
    if entrypoint is not None:
        return list(entrypoint) + list(service.get("command") or [])
    return image_entrypoint + list(service.get("command") or image_cmd)


def erases_or_purges(process: List[str]) -> bool:
    """The action server runs the erasure job (actions/background.py); the retention job purges."""
    line = " ".join(process)
    return "run actions" in line or "layanwarga.retention" in line


def test_every_service_that_erases_or_purges_reaches_the_conversation_store(compose: Dict[str, Any]) -> None:
    """The conversation store is the one the rasa instances write; without it erasure used a
    local default file (requests stuck, or marked done while the data stayed)."""
    from layanwarga import runtime

    services = compose["services"]
    store = services["rasa-1"]["environment"]["TRACKER_STORE_URL"]
    erasers = {name for name, service in services.items() if erases_or_purges(service_process(service))}
    assert erasers == {"actions", "retention"}
    for name in erasers:
        env = services[name]["environment"]
        assert env.get("TRACKER_STORE_URL") == store, (
            f"{name} does not reach the rasa instances' conversation store"
        )
        component = (
            "retention" if "layanwarga.retention" in " ".join(service_process(services[name])) else "actions"
        )
        assert runtime.problems(component, {k: str(v) for k, v in env.items()}) == [], name


def rasa_services(compose: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    """The services whose container runs ``rasa run`` (the assistant), found from what it runs."""
    found = {}
    for name, service in compose["services"].items():
        process = service_process(service)
        if (
            "run" in process
            and "actions" not in process
            and ("rasa" in process or "rasa_extensions" in process)
        ):
            found[name] = service
    return found


def endpoint_files(process: List[str]) -> List[Path]:
    """The endpoints file a ``rasa run`` reads: the one named, or either of ``${VAR:-default}``'s
    choices (the default and the analytics file env.example offers)."""
    value = process[process.index("--endpoints") + 1]
    chosen = re.fullmatch(r"\$\{[A-Z_]+:-([^}]+)\}", value)
    if chosen is None:
        return [ROOT / value]
    return [ROOT / chosen.group(1), ROOT / "endpoints.production-analytics.yml"]


def test_every_rasa_service_gets_each_variable_its_endpoints_file_reads(compose: Dict[str, Any]) -> None:
    """Rasa refuses to start when a ``${VAR}`` of its endpoints file is unset (the model server's
    URL and token included)."""
    services = rasa_services(compose)
    assert set(services) == {"rasa-1", "rasa-2"}
    for name, service in services.items():
        for path in endpoint_files(service_process(service)):
            wanted = set(
                re.findall(r"\$\{([A-Z_][A-Z0-9_]*)\}", json.dumps(yaml.safe_load(path.read_text())))
            )
            assert {"LAYANWARGA_MODEL_URL", "LAYANWARGA_MODEL_TOKEN"} <= wanted, path.name
            assert wanted - set(service["environment"]) == set(), f"{name} lacks variables of {path.name}"


def test_the_dashboard_serves_the_instances_their_model(compose: Dict[str, Any]) -> None:
    from dashboard.views.models import MODEL_PATH, TOKEN_ENV_VAR
    from layanwarga.model_registry import STORE_ENV_VAR
    from layanwarga.teaching import ROOT_ENV_VAR

    services = compose["services"]
    dashboard = services["dashboard"]
    env = dashboard["environment"]
    for name, rasa in rasa_services(compose).items():
        url = rasa["environment"]["LAYANWARGA_MODEL_URL"]
        assert url == f"http://dashboard:{env['DASHBOARD_PORT']}{MODEL_PATH}", name
        assert rasa["environment"]["LAYANWARGA_MODEL_TOKEN"] == env[TOKEN_ENV_VAR], name
        assert rasa["depends_on"]["dashboard"]["condition"] == "service_healthy", name
    assert env[TOKEN_ENV_VAR].startswith("${LAYANWARGA_MODEL_TOKEN:?"), "no server without a token"
    # The candidates and what staff taught outlive the container, on named volumes.
    mounts = dict(v.split(":")[:2][::-1] for v in dashboard["volumes"])
    for variable in (STORE_ENV_VAR, ROOT_ENV_VAR):
        assert mounts.get(env[variable]) in compose["volumes"], f"{variable} is not on a volume"
    assert mounts[env[STORE_ENV_VAR]] != mounts[env[ROOT_ENV_VAR]]
    # ... where the image keeps them too (deploy/Dockerfile.dashboard).
    image = (DEPLOY / "Dockerfile.dashboard").read_text(encoding="utf-8")
    for variable in (STORE_ENV_VAR, ROOT_ENV_VAR):
        assert f"{variable}={env[variable]}" in image and f'"{env[variable]}"' in image
