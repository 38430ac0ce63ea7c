"""Scale benchmark: the load benchmark against 1 and 2 ``rasa run`` instances, and the cost of
keeping one citizen's quick messages in order across instances.

Every cluster runs the production configuration (``endpoints.production.yml``: PostgreSQL
tracker store, Redis lock store; PostgreSQL ticket database; ``REDIS_URL`` for the connector),
one action server, N ``rasa run`` instances behind a round-robin balancer, and the in-process
WhatsApp simulator (``tests/scale/scale_cluster.py`` starts them). The conversations, arrival
process and measurements are the load benchmark's own (``scripts/benchmark_load.py``: Poisson
arrivals at ``--rate``, then saturation with no pauses; latency = webhook POST to the Graph API
send of the turn's last reply).

Per cluster size: calibration, target load, saturation, CPU seconds per process and resident
memory per instance. Then the contention experiment: one citizen sends five messages at once
(each webhook after the previous one's 200, as Meta does), alternately to the two instances;
time from the first POST to the last reply, and whether the replies came in order:

- ``one instance``   the balancer pins the citizen to instance 0 (reference);
- ``ordering``       two instances with the connector's Redis ordering (the default);
- ``rasa lock only`` two instances with ``LAYANWARGA_ORDERING=local``: only Rasa's RedisLockStore.

    .venv/bin/python scripts/benchmark_scale.py                          # 1 and 2 instances + contention
    .venv/bin/python scripts/benchmark_scale.py --instances 2 --rate 4 --duration 30 --saturation 0
    .venv/bin/python scripts/benchmark_scale.py --instances --contention 20   # contention only

Results: results/benchmark-scale/<timestamp>/summary.json and summary.md (BENCHMARKS.md quotes them).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "scripts", ROOT / "tests", ROOT / "tests" / "scale"):
    sys.path.insert(0, str(path))
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import benchmark_load as load  # noqa: E402

from scale_cluster import Cluster, prepare_cluster  # noqa: E402
from simulator.config import SimulatorConfig  # noqa: E402
from simulator.server import RunningSimulator  # noqa: E402
from simulator.stack import free_port, memory_mb  # noqa: E402

# Five quick messages, each with its own short answer (the load benchmark's long conversation).
BURST = load.LONG_CYCLE[:5]
# Simulated citizens answer in milliseconds: lift the per-citizen limits no person reaches
# (Meta's pair rate pacing, the flood limit), as the load benchmark does.
CONNECTOR = {
    "pair_rate_burst": 1000000,
    "pair_rate_per_second": 1000.0,
    "max_messages_per_minute": 1000000,
    "max_concurrent_senders": 64,
}


async def start(workdir: Path, instances: int, redis_db: int, extra_env: Optional[Dict[str, str]] = None):  # type: ignore[no-untyped-def]
    sim_config = SimulatorConfig(
        host="127.0.0.1",
        port=free_port(),
        auto_read=True,
        verify_on_start=False,
        citizens=[],
        status_delay=0.02,
        retry_base=0.5,
        retry_for=60.0,
    )
    cluster = prepare_cluster(
        workdir,
        workdir.name,
        instances,
        redis_db,
        simulator_config=sim_config,
        connector=CONNECTOR,
        extra_env=extra_env,
    )
    sim_config.webhook_url = cluster.balancer.url
    running = await RunningSimulator(sim_config).start()
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    try:
        cluster.launch(simulator=False)
        await loop.run_in_executor(None, lambda: cluster.wait_ready(simulator=False))
        if not await running.sim.verify_webhook():
            raise RuntimeError("webhook verification failed")
    except BaseException:
        await stop(cluster, running)
        raise
    return cluster, running, round(time.monotonic() - started, 1)


async def stop(cluster: Cluster, running: Any) -> None:
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, cluster.stop)
    await running.stop()
    await loop.run_in_executor(None, cluster.drop_data)


def cpu(cluster: Cluster) -> Dict[str, Optional[float]]:
    values = {name: load.cpu_seconds(pid) for name, pid in cluster.pids().items()}
    values["driver_and_simulator"] = load.cpu_seconds(os.getpid())
    return values


def rss_mb(cluster: Cluster) -> Dict[str, int]:
    return {name: memory_mb(pid).get("rss", 0) for name, pid in cluster.pids().items()}


async def phase(
    driver: "load.Driver", cluster: Cluster, args: argparse.Namespace, rate: Optional[float], duration: float
) -> Dict[str, Any]:
    before, started = cpu(cluster), time.perf_counter()
    result = await load.run_load(
        driver,
        citizens=args.citizens,
        rate=rate,
        duration=duration,
        warmup=args.warmup,
        turn_timeout=args.turn_timeout,
        think=0.0,
    )
    load.add_cpu(result, before, cpu(cluster), time.perf_counter() - started)
    return result


async def burst_trial(driver: "load.Driver", expected: int, timeout: float) -> Dict[str, Any]:
    """Five messages at once from a new citizen; time to the last reply, and the replies' texts."""
    sim = driver.sim
    citizen = driver.new_citizen("81400")
    event = driver.watcher.event_for(citizen.key)
    sent = [sim.send_text(citizen.key, text) for _, text in BURST]
    deadline = time.monotonic() + timeout
    while True:
        replies = citizen.bot_messages_after(sent[0].seq)
        if len(replies) >= expected or time.monotonic() >= deadline:
            break
        event.clear()
        try:
            await asyncio.wait_for(event.wait(), max(0.01, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            pass
    await asyncio.sleep(0.5)  # anything beyond the expected replies is a duplicate
    replies = citizen.bot_messages_after(sent[0].seq)
    done = len(replies) >= expected
    return {
        "seconds": (replies[expected - 1].received_at - sent[0].posted_at)
        if done and sent[0].posted_at
        else None,
        "texts": [str(m.view.get("text") or m.type) for m in replies],
        "replies": len(replies),
        # Webhook POST to its 200: includes taking the Redis ticket when ordering is on.
        "acks": [m.acked_at - m.posted_at for m in sent if m.acked_at and m.posted_at],
    }


async def contention(
    driver: "load.Driver",
    cluster: Cluster,
    trials: int,
    pinned: Optional[int],
    reference: Optional[List[str]],
    timeout: float,
) -> Dict[str, Any]:
    expected = sum(driver.expected.get(("long", i), 1) for i in range(len(BURST)))
    cluster.balancer.reset(pinned=pinned)
    results = [await burst_trial(driver, expected, timeout) for _ in range(trials)]
    reference = reference or (results[0]["texts"] if results and results[0]["seconds"] is not None else None)
    times = [r["seconds"] for r in results if r["seconds"] is not None]
    acks = [a for r in results for a in r["acks"]]
    return {
        "ack_p50_ms": round(load.percentile(acks, 50) * 1000, 1) if acks else None,
        "ack_p95_ms": round(load.percentile(acks, 95) * 1000, 1) if acks else None,
        "trials": trials,
        "expected_replies": expected,
        "completed": len(times),
        "median_ms": round(statistics.median(times) * 1000) if times else None,
        "p90_ms": round(load.percentile(times, 90) * 1000) if times else None,
        "min_ms": round(min(times) * 1000) if times else None,
        "max_ms": round(max(times) * 1000) if times else None,
        "out_of_order": sum(
            1 for r in results if reference is not None and r["texts"][: len(reference)] != reference
        ),
        "duplicated": sum(1 for r in results if r["replies"] > expected),
        "reference": reference,
    }


async def run_size(instances: int, args: argparse.Namespace, out: Path, redis_db: int) -> Dict[str, Any]:
    print(f"[{instances} instance(s)] starting", flush=True)
    cluster, running, startup = await start(out / f"instances-{instances}", instances, redis_db)
    result: Dict[str, Any] = {"instances": instances, "startup_seconds": startup}
    try:
        driver = load.Driver(running.sim)
        result["rss_after_start_mb"] = rss_mb(cluster)
        print(f"[{instances}] calibrating", flush=True)
        result["calibration"] = await driver.calibrate(args.turn_timeout)
        if args.duration > 0:
            print(f"[{instances}] target load {args.rate} msg/s for {args.duration} s", flush=True)
            result["target"] = await phase(driver, cluster, args, args.rate, args.duration)
        if args.saturation > 0:
            print(f"[{instances}] saturation for {args.saturation} s", flush=True)
            result["saturation"] = await phase(driver, cluster, args, None, args.saturation)
        result["rss_end_mb"] = rss_mb(cluster)
        result["load_average_1min"] = round(os.getloadavg()[0], 2)
        if args.contention and instances == 2:
            print(
                f"[{instances}] contention: {args.contention} bursts pinned, {args.contention} spread",
                flush=True,
            )
            one = await contention(driver, cluster, args.contention, 0, None, args.turn_timeout)
            result["contention_one_instance"] = one
            result["contention_ordering"] = await contention(
                driver, cluster, args.contention, None, one["reference"], args.turn_timeout
            )
        result["simulator"] = running.sim.stats()
    finally:
        await stop(cluster, running)
    return result


async def run_lock_only(
    args: argparse.Namespace, out: Path, reference: Optional[List[str]], redis_db: int
) -> Dict[str, Any]:
    print("[rasa lock only] starting 2 instances with LAYANWARGA_ORDERING=local", flush=True)
    cluster, running, _ = await start(out / "lock-only", 2, redis_db, {"LAYANWARGA_ORDERING": "local"})
    try:
        driver = load.Driver(running.sim)
        for index in range(len(BURST)):  # calibrate the five messages only
            citizen = driver.new_citizen("81100")
            turn = await citizen.turn("long", index, None, args.turn_timeout)
            driver.expected[("long", index)] = turn.received
        return await contention(driver, cluster, args.contention, None, reference, args.turn_timeout)
    finally:
        await stop(cluster, running)


def markdown(summary: Dict[str, Any]) -> str:
    lines = [f"# Scale benchmark {summary['started']}", "", f"Machine: {summary['machine']}", ""]
    lines += [
        "| instances | target msg/s | p50 ms | p95 ms | lost | saturation msg/s | sat. p50 ms | CPU ms/msg (rasa, actions) | RSS MB per rasa |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for size in summary["sizes"]:
        target, sat = size.get("target") or {}, size.get("saturation") or {}
        per = sat.get("cpu_ms_per_message") or target.get("cpu_ms_per_message") or {}
        rasa_ms = sum(v for k, v in per.items() if k.startswith("rasa"))
        rss = [v for k, v in (size.get("rss_end_mb") or {}).items() if k.startswith("rasa")]
        lines.append(
            f"| {size['instances']} | {target.get('throughput_msgs_per_s')} | {target.get('p50_ms')} | "
            f"{target.get('p95_ms')} | {target.get('lost_turns')} | {sat.get('throughput_msgs_per_s')} | "
            f"{sat.get('p50_ms')} | {round(rasa_ms, 1)}, {per.get('actions')} | {', '.join(map(str, rss))} |"
        )
    rows = [
        (name, summary.get(key))
        for name, key in (
            ("one instance", "contention_one_instance"),
            ("two, ordering", "contention_ordering"),
            ("two, rasa lock only", "contention_lock_only"),
        )
    ]
    if any(r for _, r in rows):
        lines += [
            "",
            "| 5 quick messages | median ms | p90 ms | max ms | out of order | duplicated | webhook ack p50/p95 ms |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, r in rows:
            if r:
                lines.append(
                    f"| {name} | {r['median_ms']} | {r['p90_ms']} | {r['max_ms']} | "
                    f"{r['out_of_order']}/{r['trials']} | {r['duplicated']} | "
                    f"{r.get('ack_p50_ms')}/{r.get('ack_p95_ms')} |"
                )
    return "\n".join(lines) + "\n"


async def main_async(args: argparse.Namespace) -> Dict[str, Any]:
    out = args.out / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    summary: Dict[str, Any] = {
        "started": out.name,
        "machine": load.machine(),
        "args": {k: str(v) for k, v in vars(args).items()},
        "sizes": [],
    }
    redis_db = 14
    for instances in args.instances:
        size = await run_size(instances, args, out, redis_db)
        summary["sizes"].append(size)
        for key in ("contention_one_instance", "contention_ordering"):
            if key in size:
                summary[key] = size.pop(key)
        (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    if args.contention:
        if "contention_ordering" not in summary:
            size = await run_size(
                2, argparse.Namespace(**{**vars(args), "duration": 0, "saturation": 0}), out, redis_db
            )
            summary["contention_one_instance"] = size.get("contention_one_instance")
            summary["contention_ordering"] = size.get("contention_ordering")
        reference = (summary.get("contention_one_instance") or {}).get("reference")
        summary["contention_lock_only"] = await run_lock_only(args, out, reference, redis_db)
    (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    (out / "summary.md").write_text(markdown(summary), encoding="utf-8")
    print(markdown(summary))
    print(f"results: {out}")
    return summary


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--instances", type=int, nargs="*", default=[1, 2], help="cluster sizes to load (default 1 2)"
    )
    parser.add_argument("--rate", type=float, default=4.0, help="offered load, messages/s (default 4)")
    parser.add_argument("--duration", type=float, default=45.0, help="measured seconds at the target rate")
    parser.add_argument("--warmup", type=float, default=10.0)
    parser.add_argument("--saturation", type=float, default=45.0, help="seconds with no pauses (0 = skip)")
    parser.add_argument("--citizens", type=int, default=60)
    parser.add_argument("--turn-timeout", type=float, default=60.0)
    parser.add_argument("--contention", type=int, default=10, help="bursts of 5 messages per mode (0 = skip)")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "benchmark-scale")
    args = parser.parse_args(argv)
    asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
