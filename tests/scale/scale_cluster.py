"""Start LayanWarga as production runs it, with one or several ``rasa run`` instances.

A *cluster* here is what a city deploys, on this machine's local services:

- the project's own ``endpoints.production.yml`` and ``credentials.yml``, configured only through
  environment variables: conversations in PostgreSQL (``LayanWargaTrackerStore``), Rasa's
  ``RedisLockStore``, the ticket database in PostgreSQL, ``REDIS_URL`` for the connector's
  shared state (rate limits, per-citizen order);
- one action server (``rasa run actions``) and N ``rasa run`` instances on free ports, which
  load their model from the staff dashboard's model server (``models:`` in the production
  endpoints; nothing is published, so it serves the baseline ``models/layanwarga.tar.gz``);
- a round-robin load balancer in front of the instances (``Balancer``, in this process), and the
  WhatsApp simulator (``python -m simulator``) posting signed webhooks to it and recording what
  the bot sends through the Graph API.

Each cluster gets two scratch PostgreSQL databases and a Redis database number (1-15) of its own.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

import aiohttp
import yaml
from aiohttp import web
from sqlalchemy import text
from sqlalchemy.future import create_engine

from pg_support import create_postgres_database, drop_postgres_database
from simulator.client import SimulatorClient
from simulator.config import SimulatorConfig
from simulator.stack import (
    DEFAULT_MODEL,
    QUIET_ENV,
    RASA,
    RASA_WITH_PATCHES,
    ROOT,
    free_port,
    wait_for,
    whatsapp_env,
)

WEBHOOK_PATH = "/webhooks/whatsapp/webhook"
REDIS_URL = "redis://127.0.0.1:6379/0"
# The key by which a scale run claims its Redis database (free_redis_db); flushed with the rest.
REDIS_CLAIM_KEY = "layanwarga-tests:claimed-by"
PRODUCTION_ENDPOINTS = ROOT / "endpoints.production.yml"
CREDENTIALS = ROOT / "credentials.yml"
MODEL_TOKEN = "scale-model-token"


def redis_available(url: str = REDIS_URL) -> bool:
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=2)
        client.ping()
        client.close()
        return True
    except Exception:  # noqa: BLE001 - any failure means "no Redis here"
        return False


@dataclass
class Delivery:
    """One webhook POST the balancer forwarded."""

    backend: int
    message_ids: List[str]
    status: int
    at: float


class Balancer:
    """A round-robin HTTP load balancer for the webhook, running in a thread of this process.

    Webhooks carrying messages go to the instances in turn (0, 1, 0, 1, ...), so one citizen's
    consecutive messages land on different instances. A message id it has already forwarded goes
    to a *different* instance than last time: Meta's redelivery reaching another instance.
    ``duplicate`` holds positions (0 = the first new message since ``reset``) of messages sent to
    two instances at once (a redelivery racing the original). Status webhooks alternate separately. ``pinned``: everything goes to
    that one instance (a single-instance deployment).
    """

    def __init__(self, backends: Sequence[str]) -> None:
        self.backends = list(backends)
        self.port = free_port()
        self.deliveries: List[Delivery] = []
        self.duplicate: Set[int] = set()
        self.pinned: Optional[int] = None
        # Routing decisions in arrival order: (message ids, instances), for the tests' checks.
        self.routes: List[Tuple[List[str], List[int]]] = []
        self._seen: Dict[str, int] = {}
        self._next_message = 0
        self._next_status = 0
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._runner: Optional[web.AppRunner] = None
        self._session: Optional[aiohttp.ClientSession] = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="balancer", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{WEBHOOK_PATH}"

    def start(self) -> "Balancer":
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError("the balancer did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None:
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        loop.run_until_complete(self._setup())
        self._started.set()
        loop.run_forever()
        loop.close()

    async def _setup(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        app = web.Application()
        app.router.add_get(WEBHOOK_PATH, self._verify)
        app.router.add_post(WEBHOOK_PATH, self._post)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def _shutdown(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _verify(self, request: web.Request) -> web.Response:
        assert self._session is not None
        try:
            async with self._session.get(self.backends[0], params=request.query) as response:
                return web.Response(status=response.status, body=await response.read())
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
            return web.Response(status=502, text="instance not up yet")

    @staticmethod
    def _message_ids(raw: bytes) -> List[str]:
        try:
            body = json.loads(raw)
            return [
                str(message.get("id"))
                for entry in body.get("entry") or []
                for change in entry.get("changes") or []
                for message in (change.get("value") or {}).get("messages") or []
            ]
        except (ValueError, AttributeError, TypeError):
            return []

    def reset(self, pinned: Optional[int] = None) -> None:
        """Start afresh: round robin from instance 0, or everything to ``pinned``."""
        self.pinned = pinned
        self.duplicate = set()
        self.deliveries.clear()
        self.routes.clear()
        self._seen.clear()
        self._next_message = self._next_status = 0

    def _route(self, ids: List[str]) -> List[int]:
        targets = self._choose(ids)
        self.routes.append((ids, targets))
        return targets

    def _choose(self, ids: List[str]) -> List[int]:
        count = len(self.backends)
        if self.pinned is not None:
            return [self.pinned]
        if not ids:
            self._next_status += 1
            return [(self._next_status - 1) % count]
        again = [self._seen[i] for i in ids if i in self._seen]
        if again:
            target = (again[0] + 1) % count  # a redelivery: another instance than last time
            targets = [target]
        else:
            target = self._next_message % count
            targets = [target]
            if self._next_message in self.duplicate and count > 1:
                targets.append((target + 1) % count)
            self._next_message += 1
        for message_id in ids:
            self._seen[message_id] = targets[-1]
        return targets

    async def _post(self, request: web.Request) -> web.Response:
        assert self._session is not None
        raw = await request.read()
        ids = self._message_ids(raw)
        headers = {k: v for k, v in request.headers.items() if k.lower().startswith("x-hub-signature")}
        headers["Content-Type"] = request.headers.get("Content-Type", "application/json")

        async def forward(backend: int) -> int:
            assert self._session is not None
            try:
                async with self._session.post(self.backends[backend], data=raw, headers=headers) as response:
                    await response.read()
                    status = response.status
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
                status = 502
            self.deliveries.append(Delivery(backend, ids, status, time.monotonic()))
            return status

        statuses = await asyncio.gather(*(forward(b) for b in self._route(ids)))
        return web.Response(status=statuses[0], text="OK" if statuses[0] == 200 else "upstream failed")

    def backends_of(self, message_id: str) -> List[int]:
        return [d.backend for d in self.deliveries if message_id in d.message_ids]


@dataclass
class Cluster:
    """Simulator -> balancer -> N x ``rasa run`` (their model from the dashboard) -> one action
    server, PostgreSQL and Redis."""

    name: str
    workdir: Path
    instances: int
    database_url: str
    tracker_url: str
    redis_db: int
    simulator_config: SimulatorConfig
    balancer: Balancer
    rasa_ports: List[int]
    actions_port: int
    env: Dict[str, str]
    credentials: Path = CREDENTIALS
    dashboard_port: int = 0
    processes: Dict[str, subprocess.Popen] = field(default_factory=dict)
    simulator: Optional[SimulatorClient] = None

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:6379/{self.redis_db}"

    def rasa_url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.rasa_ports[index]}"

    def log(self, name: str) -> str:
        return (self.workdir / f"{name}.log").read_text(errors="replace")

    def pids(self) -> Dict[str, int]:
        return {name: process.pid for name, process in self.processes.items()}

    # -- life cycle ----------------------------------------------------------------------------
    def launch(self, simulator: bool = True) -> None:
        """Start every process without waiting, but for the dashboard and the first rasa run:
        each ``rasa run`` pulls its model from it once at start, and one that finds no model
        server runs without a model until its next pull. ``simulator=False``: the caller runs the
        simulator itself (the benchmark, in its own process)."""
        self.balancer.start()
        self._spawn(
            "dashboard",
            [
                sys.executable,
                "-m",
                "dashboard",
                "serve",
                "--port",
                str(self.dashboard_port),
                "--no-scheduler",
            ],
            {
                **self.env,
                "DASHBOARD_HOST": "127.0.0.1",
                "DASHBOARD_SECRET_KEY": "scale-tests-dashboard-" + "x" * 40,
                "LAYANWARGA_MODEL_STORE": str(self.workdir / "model-store"),
                "LAYANWARGA_BASELINE_MODEL": str(DEFAULT_MODEL),
            },
        )
        wait_for(
            f"http://127.0.0.1:{self.dashboard_port}/sehat",
            self.processes["dashboard"],
            self.workdir / "dashboard.log",
        )
        self._spawn(
            "actions",
            [RASA, "run", "actions", "--actions", "actions", "--port", str(self.actions_port)],
            {
                **self.env,
                "LAYANWARGA_BACKGROUND": "1",
                "LAYANWARGA_SPOOL_DIR": str(self.workdir / "spool-actions"),
            },
        )
        for index, port in enumerate(self.rasa_ports):
            self._spawn(
                f"rasa{index}",
                [
                    *RASA_WITH_PATCHES,
                    "run",
                    "--port",
                    str(port),
                    "--interface",
                    "127.0.0.1",
                    "--credentials",
                    str(self.credentials),
                    "--endpoints",
                    str(PRODUCTION_ENDPOINTS),
                ],
                {**self.env, "LAYANWARGA_SPOOL_DIR": str(self.workdir / f"spool{index}")},
            )
            if index == 0:
                # The first instance creates the conversation store's tables; started together on
                # an empty store, both ran CREATE TABLE and the loser logged an ERROR.
                wait_for(
                    f"{self.rasa_url(0)}/webhooks/whatsapp/",
                    self.processes["rasa0"],
                    self.workdir / "rasa0.log",
                    400,
                )
        if not simulator:
            return
        config = self.simulator_config
        self._spawn(
            "simulator",
            [sys.executable, "-m", "simulator", "--log-level", "WARNING"],
            {
                **os.environ,
                "SIMULATOR_HOST": config.host,
                "SIMULATOR_PORT": str(config.port),
                "SIMULATOR_WEBHOOK_URL": self.balancer.url,
                "SIMULATOR_AUTO_READ": "0",
                "WHATSAPP_APP_SECRET": config.app_secret,
                "WHATSAPP_ACCESS_TOKEN": config.access_token,
                "WHATSAPP_VERIFY_TOKEN": config.verify_token,
                "WHATSAPP_PHONE_NUMBER_ID": config.phone_number_id,
                "WHATSAPP_API_VERSION": config.api_version,
            },
        )

    def _spawn(self, name: str, command: List[str], env: Dict[str, str]) -> None:
        log = (self.workdir / f"{name}.log").open("w")
        self.processes[name] = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )

    def wait_ready(self, timeout: float = 400, simulator: bool = True) -> None:
        wait_for(
            f"http://127.0.0.1:{self.actions_port}/health",
            self.processes["actions"],
            self.workdir / "actions.log",
            timeout,
        )
        for index in range(self.instances):
            wait_for(
                f"{self.rasa_url(index)}/webhooks/whatsapp/",
                self.processes[f"rasa{index}"],
                self.workdir / f"rasa{index}.log",
                timeout,
            )
        if not simulator:
            return
        wait_for(
            f"{self.simulator_config.base_url}/sim/api/state",
            self.processes["simulator"],
            self.workdir / "simulator.log",
            timeout,
        )
        self.simulator = SimulatorClient(self.simulator_config.base_url, timeout=90)
        self.simulator.wait_webhook_verified(timeout=60)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 10  # a graceful stop for all, then no more waiting
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        self.balancer.stop()

    def reset_data(self, phones: Sequence[str]) -> None:
        """Empty both databases (identities restart at 1) and forget the citizens in Redis, so
        the next run starts exactly like the first one did."""
        engine = create_engine(self.database_url)
        with engine.begin() as conn:
            tables = [
                r[0]
                for r in conn.execute(
                    text(
                        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                    )
                )
            ]
            conn.execute(
                text("TRUNCATE TABLE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
            )
        engine.dispose()
        engine = create_engine(self.tracker_url)
        with engine.begin() as conn:
            conn.execute(text("TRUNCATE TABLE events RESTART IDENTITY"))
        engine.dispose()
        self._forget_in_redis(phones)

    def _forget_in_redis(self, phones: Sequence[str]) -> None:
        import redis

        client = redis.Redis.from_url(self.redis_url)
        for phone in phones:
            keys = list(client.scan_iter(f"*{phone}*"))
            if keys:
                client.delete(*keys)
        client.close()

    def drop_data(self, phones: Sequence[str] = ()) -> None:
        """Drop the scratch databases and empty this run's Redis database (see ``free_redis_db``)."""
        import redis

        from layanwarga import db

        db.dispose_engines()
        for url in (self.database_url, self.tracker_url):
            drop_postgres_database(url)
        self._forget_in_redis(phones)
        client = redis.Redis.from_url(self.redis_url)
        client.flushdb()
        client.close()


def free_redis_db() -> int:
    """An empty Redis database from 1 to 15 (0 is left to the developer's own stack), claimed for
    this run. A cluster empties its database when it is dropped, so runs one after the other get
    the same one, and a run beside another (a second pytest worker, or one that crashed) takes the
    next: the claim is a SET NX, so two runs starting together never share a database."""
    import os

    import redis

    for number in range(1, 16):
        client = redis.Redis.from_url(f"redis://127.0.0.1:6379/{number}")
        try:
            if client.set(REDIS_CLAIM_KEY, os.getpid(), nx=True):
                if client.dbsize() == 1:
                    return number
                client.delete(REDIS_CLAIM_KEY)  # someone's data lives here: not ours to use
        finally:
            client.close()
    raise RuntimeError(
        "Redis databases 1-15 all hold keys: empty one (redis-cli -n N flushdb) for the scale tests"
    )


def prepare_cluster(
    workdir: Path,
    name: str,
    instances: int,
    redis_db: int,
    *,
    simulator_config: Optional[SimulatorConfig] = None,
    connector: Optional[Dict[str, Any]] = None,
    extra_env: Optional[Dict[str, str]] = None,
) -> Cluster:
    """Databases (migrated), ports and environment for a cluster; ``launch`` starts it.

    ``connector``: keys to change in the project's credentials.yml WhatsApp section (the
    benchmark lifts the per-citizen limits no person reaches but simulated citizens do).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    database_url = create_postgres_database()
    tracker_url = create_postgres_database()
    env = {**os.environ, **QUIET_ENV, "DATABASE_URL": database_url}
    subprocess.run(
        [sys.executable, "-m", "layanwarga.migrate"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    simulator_config = simulator_config or SimulatorConfig(host="127.0.0.1", port=free_port())
    rasa_ports = [free_port() for _ in range(instances)]
    actions_port = free_port()
    dashboard_port = free_port()
    env.update(
        {
            "TRACKER_STORE_URL": tracker_url,
            "REDIS_HOST": "127.0.0.1",
            "REDIS_PORT": "6379",
            "REDIS_DB": str(redis_db),
            "REDIS_PASSWORD": "",
            "REDIS_URL": f"redis://127.0.0.1:6379/{redis_db}",
            "ACTION_SERVER_URL": f"http://127.0.0.1:{actions_port}/webhook",
            "LAYANWARGA_MEDIA_DIR": str(workdir / "media"),
            "LAYANWARGA_MODEL_URL": f"http://127.0.0.1:{dashboard_port}/model/layanwarga.tar.gz",
            "LAYANWARGA_MODEL_TOKEN": MODEL_TOKEN,
            **whatsapp_env(simulator_config, simulator_config.base_url),
            **(extra_env or {}),
        }
    )
    env.pop("WHATSAPP_INSECURE_DEV_MODE", None)
    balancer = Balancer([f"http://127.0.0.1:{port}{WEBHOOK_PATH}" for port in rasa_ports])
    credentials = CREDENTIALS
    # A busy test machine can take longer than the production default to answer a health probe;
    # the tests' outcome must not depend on it.
    connector = {"health_timeout": 30, **(connector or {})}
    channels = yaml.safe_load(CREDENTIALS.read_text(encoding="utf-8")) or {}
    section = channels.get("connectors.whatsapp.WhatsAppInput") or {}
    section.update(connector)
    channels["connectors.whatsapp.WhatsAppInput"] = section
    credentials = workdir / "credentials.yml"
    credentials.write_text(yaml.safe_dump(channels), encoding="utf-8")
    return Cluster(
        name,
        workdir,
        instances,
        database_url,
        tracker_url,
        redis_db,
        simulator_config,
        balancer,
        rasa_ports,
        actions_port,
        env,
        credentials,
        dashboard_port,
    )


def start_cluster(workdir: Path, instances: int, name: str = "cluster") -> Cluster:
    """Start a cluster; its processes start side by side (they load the model in parallel)."""
    if not DEFAULT_MODEL.exists():
        raise RuntimeError(
            f"{DEFAULT_MODEL} is missing: run `bash scripts/test.sh`, which trains before it tests"
        )
    cluster = prepare_cluster(workdir, name, instances, free_redis_db())
    try:
        cluster.launch()
        cluster.wait_ready()
    except BaseException:
        cluster.stop()
        cluster.drop_data()
        raise
    return cluster
