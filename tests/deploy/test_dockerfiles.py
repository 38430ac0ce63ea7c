"""deploy/Dockerfile.*: hadolint (the Dockerfile linter) finds nothing, not even at info level,
and each image keeps the rules a city's IT team relies on."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from deploy_support import DEPLOY, HADOLINT, ROOT

DOCKERFILES = sorted(DEPLOY.glob("Dockerfile.*[!e]"))  # not the .dockerignore files
PORTS = {"Dockerfile.rasa": "5005", "Dockerfile.actions": "5055", "Dockerfile.dashboard": "8080"}


def test_the_three_images_exist() -> None:
    assert sorted(p.name for p in DOCKERFILES) == sorted(PORTS)


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_hadolint_is_clean(dockerfile: Path, linters: Path) -> None:
    result = subprocess.run(
        [str(HADOLINT), "--no-color", "--failure-threshold", "info", str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_does_find_problems(linters: Path, tmp_path: Path) -> None:
    """The linter is really at work: a careless Dockerfile fails."""
    bad = tmp_path / "Dockerfile"
    bad.write_text(
        "FROM python:latest\nRUN pip install rasa\nUSER root\nCMD python app.py\n", encoding="utf-8"
    )
    result = subprocess.run(
        [str(HADOLINT), "--no-color", str(bad)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # :latest


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_image_rules(dockerfile: Path) -> None:
    text = dockerfile.read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.10\.\d+-slim", text, re.M), "pinned python:3.10 slim base"
    assert "-r requirements.txt -c constraints.txt" in text, "the project's pinned dependencies"
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users and users[-1] != "root" and users[-1].split(":")[0].isdigit(), (
        "runs as a numeric non-root user"
    )
    assert "HEALTHCHECK" in text and PORTS[dockerfile.name] in text
    assert f"EXPOSE {PORTS[dockerfile.name]}" in text
    ignore = dockerfile.with_name(dockerfile.name + ".dockerignore").read_text(encoding="utf-8").split()
    for private in (".venv", "var", "results", ".git", "tests"):
        assert private in ignore, f"{private} stays out of the image"


def test_the_assistant_image_carries_the_model_and_production_endpoints() -> None:
    text = (DEPLOY / "Dockerfile.rasa").read_text(encoding="utf-8")
    assert "endpoints.production.yml" in text and "nlu_components.spacy_model var/spacy-id" in text
    ignore = (DEPLOY / "Dockerfile.rasa.dockerignore").read_text(encoding="utf-8").split()
    assert "models" in ignore and "!models/layanwarga.tar.gz" in ignore
    assert (ROOT / "endpoints.production.yml").exists()


def test_the_dashboard_image_serves_the_baseline_and_can_retrain() -> None:
    """The dashboard is the model server (the baseline model until staff publish one) and
    retrains in its own container: the held-out set, the blank spaCy pipeline config.yml names,
    the project's code importable from the teach root (PYTHONPATH; without it ``rasa train``
    there fails with ``No module named 'rasa_extensions'``), and the teach root refreshed from
    the image (tests/core/test_teach_root.py runs a retraining set up this way)."""
    text = (DEPLOY / "Dockerfile.dashboard").read_text(encoding="utf-8")
    assert "nlu_components.spacy_model var/spacy-id" in text
    assert "test -f tests/nlu/holdout.yml" in text and "test -f models/layanwarga.tar.gz" in text
    for setting in (
        "PYTHONPATH=/app",
        "LAYANWARGA_TEACH_SOURCE=/app",
        "LAYANWARGA_TEACH_ROOT=/data/teach",
        "LAYANWARGA_MODEL_STORE=/data/model-store",
        "RASA_TELEMETRY_ENABLED=false",
    ):
        assert setting in text, setting
    assert re.search(r'^VOLUME \[.*"/data/model-store".*"/data/teach"', text, re.M)
    ignore = (DEPLOY / "Dockerfile.dashboard.dockerignore").read_text(encoding="utf-8").split()
    assert "!models/layanwarga.tar.gz" in ignore and "!tests/nlu/holdout.yml" in ignore
    assert (ROOT / "tests" / "nlu" / "holdout.yml").exists()


@pytest.mark.parametrize("name", ["Dockerfile.actions", "Dockerfile.rasa"])
def test_the_spool_folder_is_private_to_the_service_user(name: str) -> None:
    """Submissions and messages waiting through an outage are personal data: the folder is the
    service user's alone (the spool keeps it 0700 too, layanwarga/spool.py)."""
    text = (DEPLOY / name).read_text(encoding="utf-8")
    assert "LAYANWARGA_SPOOL_DIR=/data/spool" in text and re.search(r"chmod 0?700 /data/spool", text)
