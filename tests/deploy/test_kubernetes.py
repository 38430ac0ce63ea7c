"""deploy/kubernetes/: the plain manifests next to the Helm release.

The retention CronJob purges old conversations from the conversation store the rasa replicas
write to (TRACKER_STORE_URL from the same Secret as deploy/helm/values.yaml), old files from the
shared media volume, and passes its own production start-up check.

The dashboard is the replicas' model server: the same token from the same Secret key, the
Service the documented LAYANWARGA_MODEL_URL names, its candidates and teach root on a volume
that outlives the pod, one replica (one retraining at a time, one volume), and it passes its own
production start-up check.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List

import pytest
import yaml

from deploy_support import DEPLOY

CRONJOB = DEPLOY / "kubernetes" / "retention-cronjob.yaml"
DASHBOARD = DEPLOY / "kubernetes" / "dashboard.yaml"
VALUES = DEPLOY / "helm" / "values.yaml"


@pytest.fixture(scope="module")
def cronjob() -> Dict[str, Any]:
    return yaml.safe_load(CRONJOB.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def values() -> Dict[str, Any]:
    return yaml.safe_load(VALUES.read_text(encoding="utf-8"))


def env_of(items: List[Dict[str, Any]]) -> Dict[str, Any]:
    return {item["name"]: item.get("valueFrom") or item.get("value") for item in items}


def test_the_retention_job_reaches_the_replicas_conversation_store(
    cronjob: Dict[str, Any], values: Dict[str, Any]
) -> None:
    from layanwarga import runtime

    assert (cronjob["apiVersion"], cronjob["kind"]) == ("batch/v1", "CronJob")
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"] == ["python", "-m", "layanwarga.retention", "purge"]
    action_image = values["rasa-action-server"]["image"]
    assert container["image"] == f"{action_image['repository']}:{action_image['tag']}"
    env = env_of(container["env"])
    assert env["TRACKER_STORE_URL"] == env_of(values["extraEnv"])["TRACKER_STORE_URL"]
    assert env["DATABASE_URL"] == env_of(values["extraEnv"])["DATABASE_URL"]
    assert runtime.problems("retention", {name: str(value) for name, value in env.items()}) == []
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"]}
    assert mounts["media"] == env["LAYANWARGA_MEDIA_DIR"] and claims["media"] == "layanwarga-media"
    assert pod["restartPolicy"] == "Never" and cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    assert pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["runAsUser"] == 10001


def test_the_dashboard_serves_the_replicas_their_model(values: Dict[str, Any]) -> None:
    from dashboard.views.models import MODEL_PATH, TOKEN_ENV_VAR
    from layanwarga import runtime
    from layanwarga.model_registry import STORE_ENV_VAR
    from layanwarga.teaching import ROOT_ENV_VAR

    documents = {d["kind"]: d for d in yaml.safe_load_all(DASHBOARD.read_text(encoding="utf-8"))}
    deployment, service = documents["Deployment"], documents["Service"]
    assert deployment["spec"]["replicas"] == 1 and deployment["spec"]["strategy"]["type"] == "Recreate"
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert (
        container["image"]
        == f"{values['image']['repository'].rsplit('/', 1)[0]}/dashboard:{values['image']['tag']}"
    )
    env = env_of(container["env"])
    replicas = env_of(values["extraEnv"])
    assert env[TOKEN_ENV_VAR] == replicas["MODEL_SERVER_TOKEN"], "not the token the replicas send"
    # The URL the replicas get (deploy/README.md's secrets.env) is this Service.
    (url,) = re.findall(r"LAYANWARGA_MODEL_URL=(\S+)", (DEPLOY / "README.md").read_text(encoding="utf-8"))
    (port,) = service["spec"]["ports"]
    assert url == f"http://{service['metadata']['name']}:{port['port']}{MODEL_PATH}"
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert port["targetPort"] in {p["name"] for p in container["ports"]}
    # Candidates and what staff taught, on the claim, in two folders of it.
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"]}
    store, root = mounts[env[STORE_ENV_VAR]], mounts[env[ROOT_ENV_VAR]]
    assert store["name"] == root["name"] and store["subPath"] != root["subPath"]
    assert claims[store["name"]] == documents["PersistentVolumeClaim"]["metadata"]["name"]
    assert mounts[env["LAYANWARGA_MEDIA_DIR"]]["name"] == "media" and claims["media"] == "layanwarga-media"
    assert pod["securityContext"]["runAsUser"] == 10001 and pod["securityContext"]["fsGroup"] == 10001
    placeholders = {
        name: f"<{name.lower()}>" if isinstance(value, dict) else str(value) for name, value in env.items()
    }
    assert runtime.problems("dashboard", placeholders) == []
