"""deploy/docker-compose.yml: valid against the official Compose Specification JSON schema, and
wired the way several instances need (production endpoints, shared stores, own spools)."""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any, Dict, Set

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


def test_valid_against_the_compose_spec_schema(compose: Dict[str, Any], validator: jsonschema.Draft201909Validator) -> None:
    errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(compose)]
    assert errors == []


def test_the_schema_catches_mistakes(compose: Dict[str, Any], validator: jsonschema.Draft201909Validator) -> None:
    typo = copy.deepcopy(compose)
    typo["services"]["nginx"]["port"] = ["8000:8000"]
    wrong = copy.deepcopy(compose)
    wrong["services"]["rasa-1"]["depends_on"]["redis"]["condition"] = "service_ready"
    assert not validator.is_valid(typo) and not validator.is_valid(wrong)


def test_services_and_references(compose: Dict[str, Any]) -> None:
    services = compose["services"]
    assert {"postgres", "redis", "rabbitmq", "migrate", "actions", "rasa-1", "rasa-2", "nginx", "dashboard",
            "notifier", "retention", "simulator"} <= set(services)
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
        assert env["TRACKER_STORE_URL"].startswith("postgresql://") and env["DATABASE_URL"].startswith("postgresql://")
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
    documented = set(re.findall(r"^([A-Z_][A-Z0-9_]*)=", (DEPLOY / "env.example").read_text(encoding="utf-8"), re.M))
    assert used - documented == set()
    assert (ROOT / "endpoints.production-analytics.yml").exists()
