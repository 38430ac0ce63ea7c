"""Start the real thing for end-to-end tests, once per test session: the WhatsApp simulator
(``python -m simulator``), the action server, and ``rasa run`` with the trained model, the REST
channel and the project's WhatsApp connector pointed at the simulator; on free ports, with their
own ticket database, tracker store and media folder in a temporary directory.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, Optional

import pytest

from simulator.client import SimulatorClient
from simulator.config import SimulatorConfig
from simulator.stack import ROOT, Stack, free_port, start_stack, wait_for, whatsapp_env

__all__ = ["Stack", "WhatsAppStack", "start_stack"]

SCREENSHOTS = ROOT / "results" / "screenshots"


@dataclass
class WhatsAppStack:
    """Simulator + action server + rasa run, wired together."""

    stack: Stack
    simulator: SimulatorClient
    simulator_url: str
    simulator_process: subprocess.Popen
    config: SimulatorConfig

    @property
    def database_url(self) -> str:
        return self.stack.database_url

    def stop(self) -> None:
        self.stack.stop()
        self.simulator_process.terminate()
        try:
            self.simulator_process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.simulator_process.kill()


def start_simulator(workdir: Path, config: SimulatorConfig, webhook_url: str) -> subprocess.Popen:
    """``python -m simulator`` on ``config.port``, posting webhooks to ``webhook_url``."""
    env = {
        **os.environ,
        "SIMULATOR_HOST": config.host,
        "SIMULATOR_PORT": str(config.port),
        "SIMULATOR_WEBHOOK_URL": webhook_url,
        "SIMULATOR_AUTO_READ": "0",
        "WHATSAPP_APP_SECRET": config.app_secret,
        "WHATSAPP_ACCESS_TOKEN": config.access_token,
        "WHATSAPP_VERIFY_TOKEN": config.verify_token,
        "WHATSAPP_PHONE_NUMBER_ID": config.phone_number_id,
        "WHATSAPP_API_VERSION": config.api_version,
    }
    log = workdir / "simulator.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "simulator", "--log-level", "WARNING"],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    wait_for(f"{config.base_url}/sim/api/state", process, log, timeout=30)
    return process


def start_whatsapp_stack(
    workdir: Path, connector: Optional[Dict[str, object]] = None, extra_env: Optional[Dict[str, str]] = None
) -> WhatsAppStack:
    workdir.mkdir(parents=True, exist_ok=True)
    config = SimulatorConfig(host="127.0.0.1", port=free_port())
    rasa_port = free_port()
    webhook_url = f"http://127.0.0.1:{rasa_port}/webhooks/whatsapp/webhook"
    process = start_simulator(workdir, config, webhook_url)
    try:
        stack = start_stack(
            # health_timeout: a busy test machine must not make the action server count as down.
            workdir,
            rasa_port=rasa_port,
            whatsapp={"health_timeout": 30, **(connector or {})},
            extra_env={**whatsapp_env(config, config.base_url), **(extra_env or {})},
        )
    except Exception:
        process.terminate()
        raise
    client = SimulatorClient(config.base_url, timeout=90)
    running = WhatsAppStack(stack, client, config.base_url, process, config)
    try:
        client.wait_webhook_verified(timeout=60)
    except Exception:
        running.stop()
        raise
    return running


@pytest.fixture(scope="session")
def whatsapp_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WhatsAppStack]:
    running = start_whatsapp_stack(tmp_path_factory.mktemp("whatsapp-stack"))
    yield running
    running.stop()


@pytest.fixture(scope="session")
def rest_stack(whatsapp_stack: WhatsAppStack) -> Stack:
    """The same ``rasa run``, through its REST channel (one Rasa process per test session)."""
    return whatsapp_stack.stack


@pytest.fixture(scope="session")
def simulator(whatsapp_stack: WhatsAppStack) -> SimulatorClient:
    return whatsapp_stack.simulator


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
