"""Start the whole assistant for tests and benchmarks: the action server and ``rasa run`` with a
trained model, on free ports, with their own databases, wired to a WhatsApp simulator.

``rasa run`` gets a credentials file with the REST channel and (when a simulator URL is given)
the project's WhatsApp connector, whose ``WHATSAPP_API_BASE`` points at the simulator; the
tracker store is a SQLite file in the work folder or a PostgreSQL database.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

import requests
import yaml
from sqlalchemy.engine import make_url

from .config import SimulatorConfig

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = ROOT / "models" / "layanwarga.tar.gz"
RASA = str(Path(sys.executable).parent / "rasa")
# ``rasa`` with the project's performance patches switched on (rasa_extensions.patches): what
# starts the assistant, so tests and benchmarks run the Rasa that production runs.
RASA_WITH_PATCHES = [sys.executable, "-m", "rasa_extensions"]
START_TIMEOUT = 300
QUIET_ENV = {"SQLALCHEMY_SILENCE_UBER_WARNING": "1", "TF_CPP_MIN_LOG_LEVEL": "2", "TQDM_DISABLE": "1"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, log: Path, timeout: float = START_TIMEOUT) -> None:
    """Wait until ``url`` answers (any status below 500) or the process dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {timeout} s:\n{log.read_text()[-3000:]}")


def memory_bytes(pid: int) -> Optional[Dict[str, int]]:
    """Resident memory of a process (Linux /proc): ``rss`` in all, and its ``anon`` (the
    process's own heap) and ``file`` (mapped files, mostly shared libraries, which the kernel
    can drop and read again) parts; None when the process is gone."""
    fields = {"VmRSS:": "rss", "RssAnon:": "anon", "RssFile:": "file"}
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return None
    found = {}
    for line in lines:
        key, _, value = line.partition("\t")
        if key in fields:
            found[fields[key]] = int(value.split()[0]) * 1024
    return found if "rss" in found else None


def memory_mb(pid: int) -> Dict[str, int]:
    """``memory_bytes`` in MB (empty when the process is gone): what the benchmarks report."""
    return {key: round(value / 2**20) for key, value in (memory_bytes(pid) or {}).items()}


# Where the tracker store's database is: set per stack; every other key of the project's
# ``tracker_store`` section (e.g. ``record_readings``) is the project's behaviour and is kept.
TRACKER_CONNECTION_KEYS = frozenset(
    {"type", "dialect", "db", "url", "port", "username", "password", "login_db", "query"}
)


def project_tracker_section() -> Dict[str, Any]:
    """The ``tracker_store`` section of the project's endpoints.yml (empty if it has none)."""
    try:
        endpoints = yaml.safe_load((ROOT / "endpoints.yml").read_text(encoding="utf-8")) or {}
    except OSError:
        return {}
    return dict(endpoints.get("tracker_store") or {})


def project_tracker_type() -> str:
    """The tracker store class the project's endpoints.yml uses (``SQL`` if it says nothing)."""
    return str(project_tracker_section().get("type") or "SQL")


def tracker_store_config(
    tracker_url: Optional[str], workdir: Path, tracker_type: Optional[str] = None
) -> Dict[str, Any]:
    """endpoints.yml ``tracker_store``: the project's store class with the project's options, on
    SQLite in ``workdir`` by default, else on the database of a SQLAlchemy URL (e.g. PostgreSQL).
    Another ``tracker_type`` (Rasa's own store, for the benchmark's stock variant) gets none of
    the project's options."""
    kind = tracker_type or project_tracker_type()
    options: Dict[str, Any] = {}
    if kind == project_tracker_type():
        options = {k: v for k, v in project_tracker_section().items() if k not in TRACKER_CONNECTION_KEYS}
    if not tracker_url:
        return {"type": kind, "dialect": "sqlite", "db": str(workdir / "tracker.db"), **options}
    url = make_url(tracker_url)
    config: Dict[str, Any] = {"type": kind, "dialect": url.get_backend_name(), "db": url.database, **options}
    if url.host:
        config["url"] = url.host
    if url.port:
        config["port"] = url.port
    if url.username:
        config["username"] = url.username
    if url.password:
        config["password"] = url.password
    return config


@dataclass
class Stack:
    """A running action server and Rasa server."""

    workdir: Path
    env: Dict[str, str]
    rasa_url: str
    actions_url: str
    database_url: str
    processes: List[subprocess.Popen] = field(default_factory=list)
    rasa_command: List[str] = field(default_factory=list)

    @property
    def webhook_url(self) -> str:
        return f"{self.rasa_url}/webhooks/whatsapp/webhook"

    @property
    def rasa_pid(self) -> int:
        return self.processes[1].pid

    @property
    def actions_pid(self) -> int:
        return self.processes[0].pid

    def say(self, sender: str, text: str, metadata: Optional[dict] = None) -> List[dict]:
        """A message through Rasa's REST channel; the bot's replies."""
        response = requests.post(
            f"{self.rasa_url}/webhooks/rest/webhook",
            json={"sender": sender, "message": text, "metadata": metadata or {}},
            timeout=60,
        )
        response.raise_for_status()
        return response.json()

    def log(self, name: str = "rasa") -> str:
        return (self.workdir / f"{name}.log").read_text(errors="replace")

    def _spawn_actions(self) -> subprocess.Popen:
        port = self.actions_url.rsplit(":", 1)[1]
        log = (self.workdir / "actions.log").open("a")
        return subprocess.Popen(
            [RASA, "run", "actions", "--actions", "actions", "--port", port],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def _spawn_rasa(self) -> subprocess.Popen:
        log = (self.workdir / "rasa.log").open("a")
        return subprocess.Popen(
            self.rasa_command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )

    def stop_actions(self) -> None:
        """Stop the action server process (an outage, for resilience tests)."""
        self.processes[0].terminate()
        _wait_or_kill(self.processes[0])

    def kill(self, name: str) -> None:
        """SIGKILL ``actions`` or ``rasa``: a crash, nothing cleaned up (resilience tests)."""
        process = self.processes[0 if name == "actions" else 1]
        process.kill()
        process.wait(timeout=10)

    def pause_actions(self) -> None:
        """SIGSTOP the action server: it takes connections but answers nothing (a hung server)."""
        self.processes[0].send_signal(signal.SIGSTOP)

    def resume_actions(self) -> None:
        self.processes[0].send_signal(signal.SIGCONT)

    def start_rasa(self) -> None:
        """Start ``rasa run`` again with the same command; returns when it answers."""
        if self.processes[1].poll() is None:
            return
        self.processes[1] = self._spawn_rasa()
        wait_for(f"{self.rasa_url}/", self.processes[1], self.workdir / "rasa.log")

    def start_actions(self) -> None:
        """Start the action server again on the same port; returns when it answers."""
        if self.processes[0].poll() is None:
            return
        self.processes[0] = self._spawn_actions()
        wait_for(f"{self.actions_url}/health", self.processes[0], self.workdir / "actions.log")

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            _wait_or_kill(process)


def _wait_or_kill(process: subprocess.Popen) -> None:
    """Wait for a terminated process to exit; kill it after 20 s."""
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def whatsapp_env(simulator: SimulatorConfig, api_base: str) -> Dict[str, str]:
    """The connector's environment for talking to ``simulator`` at ``api_base``."""
    return {
        "WHATSAPP_API_BASE": api_base,
        "WHATSAPP_API_VERSION": simulator.api_version,
        "WHATSAPP_PHONE_NUMBER_ID": simulator.phone_number_id,
        "WHATSAPP_ACCESS_TOKEN": simulator.access_token,
        "WHATSAPP_VERIFY_TOKEN": simulator.verify_token,
        "WHATSAPP_APP_SECRET": simulator.app_secret,
    }


def start_stack(
    workdir: Path,
    *,
    model: Path = DEFAULT_MODEL,
    extra_env: Optional[Dict[str, str]] = None,
    rest: bool = True,
    whatsapp: Optional[Dict[str, Any]] = None,
    database_url: Optional[str] = None,
    tracker_url: Optional[str] = None,
    tracker_type: Optional[str] = None,
    rasa_port: Optional[int] = None,
    actions_port: Optional[int] = None,
) -> Stack:
    """Start the action server and ``rasa run``; returns when both answer.

    ``whatsapp``: the connector's credentials.yml section (None = no WhatsApp channel). Its
    environment (``WHATSAPP_*``) comes from ``extra_env``, see ``whatsapp_env``.
    """
    if not model.exists():
        raise RuntimeError(f"{model} is missing: run `bash scripts/test.sh`, which trains before it tests")
    workdir.mkdir(parents=True, exist_ok=True)
    actions_port = actions_port or free_port()
    rasa_port = rasa_port or free_port()
    database_url = database_url or f"sqlite:///{workdir / 'tickets.db'}"
    env = {
        **os.environ,
        **QUIET_ENV,
        "DATABASE_URL": database_url,
        "LAYANWARGA_MEDIA_DIR": str(workdir / "media"),
        "LAYANWARGA_SPOOL_DIR": str(workdir / "spool"),
        # The action server erases conversations from the store this rasa run writes.
        "TRACKER_STORE_URL": tracker_url or f"sqlite:///{workdir / 'tracker.db'}",
        # The connector probes the action server's /health before each turn.
        "ACTION_SERVER_URL": f"http://127.0.0.1:{actions_port}/webhook",
        **(extra_env or {}),
    }
    env.pop("WHATSAPP_INSECURE_DEV_MODE", None)
    subprocess.run(
        [sys.executable, "-m", "layanwarga.migrate"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    credentials: Dict[str, Any] = {}
    if rest:
        credentials["rest"] = None
    if whatsapp is not None:
        credentials["connectors.whatsapp.WhatsAppInput"] = dict(whatsapp)
    (workdir / "credentials.yml").write_text(
        yaml.safe_dump(credentials) if credentials else "rest:\n", encoding="utf-8"
    )
    endpoints = {
        "action_endpoint": {"url": f"http://127.0.0.1:{actions_port}/webhook"},
        "tracker_store": tracker_store_config(tracker_url, workdir, tracker_type),
        "lock_store": {"type": "in_memory"},
    }
    (workdir / "endpoints.yml").write_text(yaml.safe_dump(endpoints), encoding="utf-8")
    stack = Stack(
        workdir, env, f"http://127.0.0.1:{rasa_port}", f"http://127.0.0.1:{actions_port}", database_url
    )
    stack.rasa_command = [
        *RASA_WITH_PATCHES,
        "run",
        "--model",
        str(model),
        "--port",
        str(rasa_port),
        "--interface",
        "127.0.0.1",
        "--credentials",
        str(workdir / "credentials.yml"),
        "--endpoints",
        str(workdir / "endpoints.yml"),
    ]
    rasa_log = workdir / "rasa.log"
    stack.processes.append(stack._spawn_actions())
    stack.processes.append(stack._spawn_rasa())
    try:
        wait_for(f"{stack.actions_url}/health", stack.processes[0], workdir / "actions.log")
        wait_for(f"{stack.rasa_url}/", stack.processes[1], rasa_log)
    except Exception:
        stack.stop()
        raise
    return stack
