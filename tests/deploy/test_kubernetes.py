"""deploy/kubernetes/: the plain manifests next to the Helm release.

The retention CronJob purges old conversations from the conversation store the rasa replicas
write to (TRACKER_STORE_URL from the same Secret as deploy/helm/values.yaml), old files from the
shared media volume, and passes its own production start-up check.
"""

from __future__ import annotations

from typing import Any, Dict, List

import pytest
import yaml

from deploy_support import DEPLOY

CRONJOB = DEPLOY / "kubernetes" / "retention-cronjob.yaml"
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
