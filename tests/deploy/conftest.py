"""Checks of the deployment files in deploy/ that work without Docker or Kubernetes.

The linters come from scripts/ensure_deploy_linters.sh (run by scripts/test.sh) under
.cache/deploy-lint/; when they are missing the set-up script is run once from here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy_support import ensure_linters


@pytest.fixture(scope="session")
def linters() -> Path:
    return ensure_linters()
