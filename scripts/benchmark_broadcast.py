"""Announcement benchmark: one announcement to 10,000 subscribers through the WhatsApp simulator.

For each database (SQLite file, scratch PostgreSQL database) it seeds the subscribers, then for
each rate:

1. queues the announcement as the dashboard's *Kirim* does (one INSERT … SELECT);
2. runs the broadcast worker (``layanwarga.broadcast.Broadcaster``, in this process) against
   the simulator until every subscriber is handled, and measures: wall time, the rate achieved,
   the most messages accepted in any one-second window (from the simulator's log, the number
   Meta would count), Graph API call latency, duplicates (more than one message to a citizen);
3. waits until the delivery statuses the simulator posts (``sent``, ``delivered``) have been
   recorded by the project's real connector and the announcement's summary shows every message
   delivered: the delivery-tracking lag.

With ``--crash`` it also runs ``python -m layanwarga.broadcast`` as a process, kills it with
SIGKILL halfway, starts it again and measures the time to resume, the rows left "unknown" and
duplicates (must be 0).

The simulator and the connector (its Sanic blueprint, no Rasa) run in a helper process started
by this script (``--serve`` mode), so the worker's figures are its own.

    .venv/bin/python scripts/benchmark_broadcast.py                      # 10,000; sqlite + postgresql; 80/s and max
    .venv/bin/python scripts/benchmark_broadcast.py --databases sqlite --rates 40 --subscribers 2000
    .venv/bin/python scripts/benchmark_broadcast.py --crash --databases postgresql --rates 80

Results: results/benchmark_broadcast/<timestamp>/summary.json and summary.md.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import datetime as dt
import json
import os
import platform
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
os.environ.setdefault("LAYANWARGA_DATA_KEYS", "tCHSjgfCCDUPkeixTqcmRR2ct3IM-4ZxkZQ2YJVlz8o=")

import requests  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.future import create_engine  # noqa: E402

from whatsapp.settings import DEFAULT_API_VERSION  # noqa: E402

POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
APP_SECRET, ACCESS_TOKEN, VERIFY_TOKEN = "bench-app-secret", "bench-access-token", "bench-verify-token"
PHONE_NUMBER_ID, API_VERSION = "100000000000001", DEFAULT_API_VERSION
MAX_RATE = 1000.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- the helper process: simulator + connector ---------------------------------------------------
async def serve(sim_port: int, connector_port: int, database_url: str, workdir: str) -> None:
    from sanic import Sanic

    from connectors.settings import load_settings
    from connectors.whatsapp import WhatsAppInput
    from simulator.config import SimulatorConfig
    from simulator.server import RunningSimulator

    Sanic.test_mode = True
    settings = load_settings(
        {
            "verify_token": VERIFY_TOKEN,
            "app_secret": APP_SECRET,
            "access_token": ACCESS_TOKEN,
            "phone_number_id": PHONE_NUMBER_ID,
            "api_base": f"http://127.0.0.1:{sim_port}",
            "api_version": API_VERSION,
            "database_url": database_url,
            "spool_dir": f"{workdir}/spool",
            "media_dir": f"{workdir}/media",
        },
        environ={},
    )
    channel = WhatsAppInput(settings)

    async def on_message(_message: Any) -> None:  # no citizen writes during the benchmark
        return None

    app = Sanic(f"bench_{uuid.uuid4().hex[:8]}")
    app.config.ACCESS_LOG = False
    app.blueprint(channel.blueprint(on_message), url_prefix="/webhooks/whatsapp")
    sock = socket.socket()
    sock.bind(("127.0.0.1", connector_port))
    server = await app.create_server(sock=sock, return_asyncio_server=True, access_log=False)
    await server.startup()
    await server.after_start()
    simulator = RunningSimulator(
        SimulatorConfig(
            host="127.0.0.1",
            port=sim_port,
            webhook_url=f"http://127.0.0.1:{connector_port}/webhooks/whatsapp/webhook",
            app_secret=APP_SECRET,
            access_token=ACCESS_TOKEN,
            verify_token=VERIFY_TOKEN,
            phone_number_id=PHONE_NUMBER_ID,
            api_version=API_VERSION,
            auto_read=False,
            verify_on_start=False,
            citizens=[],
            status_delay=0.05,
        )
    )
    await simulator.start()
    print("READY", flush=True)
    await asyncio.Event().wait()


class WhatsApp:
    """The helper process and a client of the simulator's control API."""

    def __init__(self, database_url: str, workdir: Path) -> None:
        self.sim_port, connector_port = free_port(), free_port()
        self.base = f"http://127.0.0.1:{self.sim_port}"
        self.log = (workdir / "whatsapp.log").open("w")
        self.process = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--serve",
                str(self.sim_port),
                str(connector_port),
                database_url,
                str(workdir),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        seen = []
        for line in self.process.stdout or []:
            if "READY" in line:
                break
            seen.append(line)
        else:
            self.stop()
            raise RuntimeError(
                f"simulator/connector did not start: {''.join(seen)[-2000:]}"
                f"{(workdir / 'whatsapp.log').read_text()[-2000:]}"
            )

    def graph_calls(self, since: float = 0.0) -> List[Dict[str, Any]]:
        """Template sends the simulator received since ``since`` (wall clock)."""
        calls = requests.get(f"{self.base}/sim/api/graph", params={"since": since}, timeout=60).json()[
            "calls"
        ]
        return [c for c in calls if isinstance(c.get("body"), dict) and c["body"].get("type") == "template"]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


# -- databases ---------------------------------------------------------------------------------------
def create_database(kind: str, workdir: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'broadcast.db'}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"lw_bench_broadcast_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    if not url.startswith("postgresql"):
        return
    name = make_url(url).database
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"
            ),
            {"n": name},
        )
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def seed(url: str, count: int) -> float:
    """``count`` citizens subscribed to every topic in every kelurahan (bulk, one transaction)."""
    from layanwarga import db, migrate, subscriptions
    from layanwarga.config import get_institution
    from layanwarga.models import Citizen, Subscription

    migrate.upgrade(url)
    inst = get_institution()
    started = time.perf_counter()
    now = dt.datetime.utcnow().replace(microsecond=0)
    consent = subscriptions.consent_text(inst, subscriptions.ALL, subscriptions.ALL)
    with db.session_scope(url) as session:
        session.execute(
            Citizen.__table__.insert(),
            [{"wa_id": f"6281{i:09d}", "created_at": now, "updated_at": now} for i in range(count)],
        )
        ids = [row[0] for row in session.execute(text("SELECT id FROM citizens ORDER BY id"))]
        session.execute(
            Subscription.__table__.insert(),
            [
                {
                    "citizen_id": cid,
                    "topic": subscriptions.ALL,
                    "area": subscriptions.ALL,
                    "active": True,
                    "opted_in_at": now,
                    "consent_text": consent,
                    "created_at": now,
                    "updated_at": now,
                }
                for cid in ids
            ],
        )
    return time.perf_counter() - started


def queue(url: str) -> tuple:
    from layanwarga import db, subscriptions
    from layanwarga.config import get_institution

    inst = get_institution()
    with db.session_scope(url, write=True) as session:
        row = subscriptions.create_draft(
            session,
            inst,
            title="Benchmark",
            topic="bencana",
            area="panarung",
            actor="staf:bench",
            text="Bapak/Ibu warga, debit Sungai Kahayan naik. Mohon waspada dan amankan dokumen penting.",
        )
        aid = int(row.id)
    started = time.perf_counter()
    with db.session_scope(url, write=True) as session:
        count = subscriptions.queue(session, inst, aid, "staf:bench")
    return aid, count, time.perf_counter() - started


def summary(url: str, aid: int) -> Any:
    from layanwarga import db, subscriptions

    with db.session_scope(url) as session:
        return subscriptions.summary(session, aid)


# -- measuring ------------------------------------------------------------------------------------
class TimedSender:
    """The workers' Graph API client (``whatsapp.sync.SyncClient``), timing each send."""

    def __init__(self, real: Any) -> None:
        self.real, self.settings = real, real.settings
        self.latencies: List[float] = []
        self.starts: List[float] = []

    def send(self, body: Dict[str, Any]) -> Optional[str]:
        started = time.perf_counter()
        self.starts.append(started)
        try:
            return self.real.send(body)
        finally:
            self.latencies.append(time.perf_counter() - started)

    def upload_media(self, content: bytes, mime_type: str, filename: str) -> str:
        return self.real.upload_media(content, mime_type, filename)


def percentile(values: List[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def window_max(times: List[float]) -> int:
    """The most messages within any one-second window."""
    times = sorted(times)
    best, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def graph_settings(base: str) -> Any:
    from whatsapp.settings import GraphSettings

    return GraphSettings(
        api_base=base, api_version=API_VERSION, access_token=ACCESS_TOKEN, phone_number_id=PHONE_NUMBER_ID
    )


def wait_delivered(url: str, aid: int, expected: int, timeout: float = 600) -> Optional[float]:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if summary(url, aid).delivered >= expected:
            return time.perf_counter() - started
        time.sleep(0.5)
    return None


def run_rate(
    url: str, whatsapp: WhatsApp, rate: float, concurrency: Optional[int], subscribers: int
) -> Dict[str, Any]:
    from layanwarga.broadcast import Broadcaster, BroadcastOptions, threads_for
    from layanwarga.config import get_institution
    from whatsapp.sync import SyncClient

    concurrency = concurrency or threads_for(rate)
    aid, queued, queue_seconds = queue(url)
    settings = graph_settings(whatsapp.base)
    sender = TimedSender(SyncClient(settings, connections=concurrency))
    since = time.time()
    worker = Broadcaster(
        get_institution(),
        settings,
        BroadcastOptions(messages_per_second=rate, concurrency=concurrency),
        url=url,
        client=sender,
    )
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    wall_started = time.time()
    try:
        worker.run_until_idle(3600)
    finally:
        worker.close()
    elapsed = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    sent_done = summary(url, aid)
    lag = wait_delivered(url, aid, sent_done.sent)
    accepted = [c for c in whatsapp.graph_calls(since) if c["status"] == 200]
    per_recipient = collections.Counter(c["body"]["to"] for c in accepted)
    times = [c["at"] for c in accepted]
    final = summary(url, aid)
    return {
        "rate_configured": "max" if rate >= MAX_RATE else rate,
        "concurrency": concurrency,
        "queued": queued,
        "queue_seconds": round(queue_seconds, 3),
        "send_seconds": round(elapsed, 1),
        "achieved_per_second": round(len(accepted) / max(1e-9, max(times) - wall_started) if times else 0, 1),
        "max_in_one_second": window_max(times),
        "max_in_one_second_sent": window_max(sender.starts),
        "graph_p50_ms": round(percentile(sender.latencies, 0.5) * 1000, 1),
        "graph_p95_ms": round(percentile(sender.latencies, 0.95) * 1000, 1),
        "worker_cpu_seconds": round(
            (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime), 1
        ),
        "sent": final.sent,
        "by_status": final.by_status,
        "recipients_reached": len(per_recipient),
        "duplicates": sum(n - 1 for n in per_recipient.values() if n > 1),
        "delivered_recorded": final.delivered,
        "tracking_lag_seconds": None if lag is None else round(lag, 1),
        "ok": queued == subscribers
        and final.sent == subscribers
        and not any(n > 1 for n in per_recipient.values()),
    }


def run_crash(
    url: str, whatsapp: WhatsApp, rate: float, concurrency: Optional[int], subscribers: int, workdir: Path
) -> Dict[str, Any]:
    aid, queued, _ = queue(url)
    since = time.time()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "WHATSAPP_API_BASE": whatsapp.base,
        "WHATSAPP_API_VERSION": API_VERSION,
        "WHATSAPP_ACCESS_TOKEN": ACCESS_TOKEN,
        "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
    }
    command = [sys.executable, "-m", "layanwarga.broadcast", "--rate", str(rate)]
    if concurrency:
        command += ["--concurrency", str(concurrency)]
    log = (workdir / "broadcast-crash.log").open("w")
    started = time.perf_counter()
    first = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    while len(whatsapp.graph_calls(since)) < subscribers // 2:
        time.sleep(0.2)
    first.send_signal(signal.SIGKILL)
    first.wait()
    killed_at = time.perf_counter()
    at_kill = len(whatsapp.graph_calls(since))
    second = subprocess.Popen(command + ["--once"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    resumed = None
    while second.poll() is None:
        if resumed is None and len(whatsapp.graph_calls(since)) > at_kill:
            resumed = time.perf_counter() - killed_at
        time.sleep(0.1)
    total = time.perf_counter() - started
    calls = [c for c in whatsapp.graph_calls(since) if c["status"] == 200]
    per_recipient = collections.Counter(c["body"]["to"] for c in calls)
    final = summary(url, aid)
    return {
        "rate_configured": rate,
        "killed_after_messages": at_kill,
        "resumed_after_seconds": None if resumed is None else round(resumed, 2),
        "total_seconds": round(total, 1),
        "sent": final.sent,
        "unknown": final.count("unknown"),
        "by_status": final.by_status,
        "recipients_reached": len(per_recipient),
        "duplicates": sum(n - 1 for n in per_recipient.values() if n > 1),
        "ok": queued == subscribers
        and final.sent + final.count("unknown") == subscribers
        and not any(n > 1 for n in per_recipient.values()),
    }


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, load average at start {load}"


def markdown(results: Dict[str, Any]) -> str:
    lines = [
        f"Measured {results['date']} on {results['machine']}.",
        "",
        "| database | rate (msg/s) | threads | queue rows | send time | achieved msg/s | max in 1 s (sent / received) | Graph p50 / p95 ms | worker CPU s | sent | duplicates | delivered recorded | tracking lag |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in results["runs"]:
        lines.append(
            f"| {run['database']} | {run['rate_configured']} | {run['concurrency']} | {run['queue_seconds']} s | {run['send_seconds']} s | "
            f"{run['achieved_per_second']} | {run['max_in_one_second_sent']} / {run['max_in_one_second']} | {run['graph_p50_ms']} / {run['graph_p95_ms']} | "
            f"{run['worker_cpu_seconds']} | {run['sent']:,} | {run['duplicates']} | {run['delivered_recorded']:,} | "
            f"{run['tracking_lag_seconds']} s |"
        )
    for crash in results.get("crashes", []):
        lines += [
            "",
            f"Crash on {crash['database']} at {crash['rate_configured']} msg/s: killed with SIGKILL after "
            f"{crash['killed_after_messages']:,} messages, the restarted worker sent again after "
            f"{crash['resumed_after_seconds']} s; {crash['sent']:,} sent, {crash['unknown']} unknown (under way at the kill, "
            f"not resent), {crash['duplicates']} duplicates; {crash['total_seconds']} s in all.",
        ]
    return "\n".join(lines) + "\n"


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        sim_port, connector_port, url, workdir = sys.argv[2:6]
        asyncio.run(serve(int(sim_port), int(connector_port), url, workdir))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument(
        "--rates", default="80,max", help="messages/s per run, 'max' = no practical limit (1000)"
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="sending threads (default: the worker's own choice for the rate)",
    )
    parser.add_argument(
        "--crash", action="store_true", help="also kill and restart the worker halfway (on the last database)"
    )
    args = parser.parse_args()
    # Ctrl-C or a kill still stops the helper process and drops the scratch database.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    import logging

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = ROOT / "results" / "benchmark_broadcast" / stamp
    out.mkdir(parents=True, exist_ok=True)
    results: Dict[str, Any] = {
        "date": dt.date.today().isoformat(),
        "machine": machine(),
        "subscribers": args.subscribers,
        "runs": [],
        "crashes": [],
    }
    rates = [MAX_RATE if r.strip() == "max" else float(r) for r in args.rates.split(",")]
    databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    for index, kind in enumerate(databases):
        workdir = Path(tempfile.mkdtemp(prefix=f"lw-broadcast-{kind}-"))
        url = create_database(kind, workdir)
        whatsapp = None
        try:
            seconds = seed(url, args.subscribers)
            print(f"{kind}: {args.subscribers:,} subscribers seeded in {seconds:.1f} s", flush=True)
            whatsapp = WhatsApp(url, workdir)
            for rate in rates:
                run = {"database": kind, **run_rate(url, whatsapp, rate, args.concurrency, args.subscribers)}
                results["runs"].append(run)
                print(json.dumps(run), flush=True)
            if args.crash and index == len(databases) - 1:
                crash = {
                    "database": kind,
                    **run_crash(url, whatsapp, rates[0], args.concurrency, args.subscribers, workdir),
                }
                results["crashes"].append(crash)
                print(json.dumps(crash), flush=True)
        finally:
            if whatsapp is not None:
                whatsapp.stop()
            from layanwarga import db

            db.dispose_engines()
            drop_database(url)
    (out / "summary.json").write_text(json.dumps(results, indent=2))
    (out / "summary.md").write_text(markdown(results))
    print(markdown(results))
    print(f"Results in {out}")
    ok = all(r["ok"] for r in results["runs"] + results["crashes"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
