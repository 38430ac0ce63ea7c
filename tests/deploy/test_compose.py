"""deploy/docker-compose.yml: valid against the official Compose Specification JSON schema, and
wired the way several instances need (production endpoints, shared stores, own spools), with
every service that erases or purges personal data reaching the conversation store."""

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
