"""Start the real thing for end-to-end tests: the action server and `rasa run` with the trained
model, on free ports, with their own ticket and tracker databases in a temporary folder."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "layanwarga.tar.gz"
RASA = str(Path(sys.executable).parent / "rasa")
START_TIMEOUT = 240


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, log: Path, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} process exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    raise RuntimeError(f"{url} did not answer within {timeout} s:\n{log.read_text()[-3000:]}")


@dataclass
class Stack:
    """A running action server and Rasa server."""

    workdir: Path
    env: Dict[str, str]
    rasa_url: str
    actions_url: str
    processes: List[subprocess.Popen] = field(default_factory=list)

    def say(self, sender: str, text: str, metadata: Optional[dict] = None) -> List[dict]:
        """A message through Rasa's REST channel; the bot's replies."""
        response = requests.post(
            f"{self.rasa_url}/webhooks/rest/webhook",
            json={"sender": sender, "message": text, "metadata": metadata or {}},
            timeout=60,
        )
        response.raise_for_status()
        return response.json()


def start_stack(workdir: Path, extra_env: Optional[Dict[str, str]] = None, credentials: str = "rest:\n") -> Stack:
    if not MODEL.exists():
        raise RuntimeError(f"{MODEL} is missing: run `bash scripts/test.sh`, which trains before it tests")
    workdir.mkdir(parents=True, exist_ok=True)
    actions_port, rasa_port = free_port(), free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{workdir / 'tickets.db'}",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "TQDM_DISABLE": "1",
        **(extra_env or {}),
    }
    subprocess.run([sys.executable, "-m", "layanwarga.migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
    (workdir / "credentials.yml").write_text(credentials, encoding="utf-8")
    (workdir / "endpoints.yml").write_text(
        f'action_endpoint:\n  url: "http://127.0.0.1:{actions_port}/webhook"\n'
        f'tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: "{workdir / "tracker.db"}"\n'
        "lock_store:\n  type: in_memory\n",
        encoding="utf-8",
    )
    stack = Stack(workdir, env, f"http://127.0.0.1:{rasa_port}", f"http://127.0.0.1:{actions_port}")
    actions_log, rasa_log = workdir / "actions.log", workdir / "rasa.log"
    stack.processes.append(
        subprocess.Popen(
            [RASA, "run", "actions", "--actions", "actions", "--port", str(actions_port)],
            cwd=ROOT, env=env, stdout=actions_log.open("w"), stderr=subprocess.STDOUT,
        )
    )
    stack.processes.append(
        subprocess.Popen(
            [RASA, "run", "--model", str(MODEL), "--port", str(rasa_port), "--interface", "127.0.0.1",
             "--credentials", str(workdir / "credentials.yml"), "--endpoints", str(workdir / "endpoints.yml")],
            cwd=ROOT, env=env, stdout=rasa_log.open("w"), stderr=subprocess.STDOUT,
        )
    )
    try:
        wait_for(f"{stack.actions_url}/health", stack.processes[0], actions_log)
        wait_for(f"{stack.rasa_url}/", stack.processes[1], rasa_log)
    except Exception:
        stop_stack(stack)
        raise
    return stack


def stop_stack(stack: Stack) -> None:
    for process in stack.processes:
        process.terminate()
    for process in stack.processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def rest_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = start_stack(tmp_path_factory.mktemp("rest-stack"))
    yield stack
    stop_stack(stack)
