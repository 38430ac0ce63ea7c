"""Load benchmark: simulated citizens holding realistic WhatsApp conversations, concurrently,
through the signed webhook, against the whole assistant (connector -> Rasa -> action server ->
database -> Graph API, all local).

For each variant (model + tracker store + ticket database) it starts a fresh stack, then:

1. calibration: every conversation script once, alone, to learn how many replies each turn
   gets (the "expected" replies; also warms the model up);
2. offered load: citizens arrive as a Poisson process at each ``--rate`` (messages/s) for
   ``--duration`` seconds (after ``--warmup``); a citizen sends its next message only after the
   previous one was fully answered, like a person. Latency = from the webhook POST to the
   Graph API send of the turn's last reply;
3. saturation: the same citizens with no pauses for ``--saturation`` seconds: capacity;
4. a long conversation: one citizen, ``--long-turns`` turns, alone: turn 2 versus turn 200.

Lost = a turn whose expected replies did not all arrive within ``--turn-timeout``; duplicated =
replies beyond the expected ones, or a message processed twice (marked read twice). Rasa's
memory is sampled from /proc once a second; CPU seconds per process over the window show where
the time goes. ``--profile`` samples the Rasa process with py-spy during the target load.

    .venv/bin/python scripts/benchmark_load.py                       # the default variants
    .venv/bin/python scripts/benchmark_load.py --variants project-sqlite --rate 80 5 --duration 30
    .venv/bin/python scripts/benchmark_load.py --train-baseline      # train the rasa-init model first

Results: results/benchmark/<timestamp>/summary.json and summary.md (BENCHMARKS.md quotes them).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import io
import json
import os
import platform
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.future import create_engine  # noqa: E402

from simulator.config import SimulatorConfig  # noqa: E402
from simulator.core import BOT, ChatMessage, Simulator, SimulatorError  # noqa: E402
from simulator.server import RunningSimulator  # noqa: E402
from simulator.stack import QUIET_ENV, Stack, free_port, memory_bytes, memory_mb, start_stack, whatsapp_env  # noqa: E402

MODELS = ROOT / "models"
PROJECT_MODEL = MODELS / "layanwarga.tar.gz"
# In a folder of its own: `rasa train` compares against the newest model in its --out folder,
# so a baseline next to layanwarga.tar.gz would make the project's next training start over.
BASELINE_MODEL = MODELS / "baseline" / "baseline-rasa-init.tar.gz"
POSTGRES_ADMIN_URL = os.environ.get("BENCHMARK_POSTGRES_URL") or os.environ.get(
    "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Rasa 3.6's `rasa init` configuration (what Rasa uses when config.yml leaves pipeline and
# policies empty), with the project's language: the untuned baseline. Its Memoization, Rule and
# TED policies are the project's subclasses (rasa_extensions/policies.py): Rasa's own answers,
# with the project's shortcuts when the patches are on (baseline) and without them when they
# are off (stock), as when those shortcuts were patches to Rasa's classes.
RASA_INIT_CONFIG = """\
recipe: default.v1
assistant_id: layanwarga-baseline
language: id
pipeline:
  - name: WhitespaceTokenizer
  - name: RegexFeaturizer
  - name: LexicalSyntacticFeaturizer
  - name: CountVectorsFeaturizer
  - name: CountVectorsFeaturizer
    analyzer: char_wb
    min_ngram: 1
    max_ngram: 4
  - name: DIETClassifier
    epochs: 100
    constrain_similarities: true
  - name: EntitySynonymMapper
  - name: ResponseSelector
    epochs: 100
    constrain_similarities: true
  - name: FallbackClassifier
    threshold: 0.3
    ambiguity_threshold: 0.1
policies:
  - name: rasa_extensions.policies.LayanWargaMemoizationPolicy
  - name: rasa_extensions.policies.LayanWargaRulePolicy
  - name: UnexpecTEDIntentPolicy
    max_history: 5
    epochs: 100
  - name: rasa_extensions.policies.LayanWargaTEDPolicy
    max_history: 5
    epochs: 100
    constrain_similarities: true
"""


# -- conversation scripts ----------------------------------------------------------------------------
# A step: ("say", text) | ("tap", title) | ("pin", name) | ("photo", label).
Step = Tuple[str, str]
SCRIPTS: Dict[str, List[Step]] = {
    "menu_and_hours": [("say", "halo min"), ("tap", "Jam layanan"), ("say", "makasih min")],
    "office_location": [("say", "alamat kantor lurah dimana"), ("say", "oke terima kasih banyak")],
    "status_check": [("say", "cek status laporan saya"), ("say", "cek ADU-2026-00042")],
    "requirements": [("say", "syarat bikin surat domisili apa aja ya"), ("say", "makasih")],
    "emergency": [("say", "tolong ada kebakaran di rumah tetangga saya")],
    "out_of_scope": [("say", "tolong buatin pr matematika anak sy"), ("say", "dadah")],
    "complaint_photo_pin": [
        ("say", "jalan depan rumah saya berlubang besar, sudah dua minggu tidak diperbaiki"),
        ("pin", "Bundaran Besar"),
        ("photo", "lubang"),
        ("tap", "Selesai"),
        ("tap", "Tidak perlu"),
        ("tap", "Boleh publik"),
        ("tap", "Kirim"),
    ],
    "sktm_request": [
        ("say", "mau bikin sktm buat berobat"),
        ("tap", "Diri sendiri"),
        ("say", "Siti Rahmawati"),
        ("say", "627102450785"),
        ("say", "6271024507850003"),
        ("say", "Jl. Merdeka No. 5 RT 03 RW 02"),
        ("tap", "Pakai nomor ini"),
        ("say", "untuk berobat ke rumah sakit"),
        ("photo", "KTP"),
        ("photo", "KK"),
        ("photo", "pengantar"),
        ("tap", "Kirim"),
    ],
    "cancel_mid_form": [("say", "saya mau urus sktm"), ("tap", "Diri sendiri"), ("say", "batal")],
}
# How often each script is picked: mostly short questions, some reports and letter requests.
WEIGHTS = {
    "menu_and_hours": 4,
    "office_location": 3,
    "status_check": 3,
    "requirements": 3,
    "emergency": 1,
    "out_of_scope": 2,
    "complaint_photo_pin": 2,
    "sktm_request": 1,
    "cancel_mid_form": 2,
}
# The long conversation: six short exchanges, repeated (turn 2 and turn 200 are the same kind).
LONG_CYCLE: List[Step] = [
    ("say", "halo"),
    ("say", "kantor kelurahan buka jam berapa ya"),
    ("say", "alamat kantornya dimana"),
    ("say", "syarat sktm apa aja"),
    ("say", "cek status laporan saya"),
    ("say", "makasih banyak min"),
]
PINS = {"Bundaran Besar": (-2.2104, 113.9200, "Bundaran Besar", "Jl. Yos Sudarso, Palangka Raya")}
# Each pin sent lands on its own point of a grid around the named place, 0.0045 degrees (about
# 500 m) apart: farther than any category's nearby radius, so the complaint form runs its nearby
# search on every report (its cost is measured) but never offers an earlier benchmark report to
# follow, and every complaint asks the same questions.
PIN_GRID_STEP = 0.0045
PIN_GRID_COLUMNS = 15


def jpeg(label: str) -> bytes:
    image = Image.new("RGB", (640, 480), (random.randint(0, 255), 120, 90))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


# -- measurement -------------------------------------------------------------------------------------
@dataclass
class TurnResult:
    script: str
    step: int
    posted_at: float  # perf_counter of the webhook POST
    latency: Optional[float]  # seconds to the last expected reply; None = lost
    expected: int
    received: int
    error: Optional[str] = None
    citizen: str = ""
    sent_seq: int = 0
    late: bool = False  # all replies came, but after the turn timeout


def percentile(values: List[float], q: float) -> Optional[float]:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(q / 100 * len(ordered) + 0.5)) - 1))
    return ordered[index]


def cpu_seconds(pid: int) -> Optional[float]:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return None


class Watcher:
    """Notifies waiting turns when a business message reaches their citizen."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.waiters: Dict[str, asyncio.Event] = {}
        sim.add_listener(self._on_event)

    def _on_event(self, event: Dict[str, Any]) -> None:
        if event["kind"] == "message" and event["message"]["author"] == BOT:
            waiter = self.waiters.get(event["message"]["citizen"])
            if waiter is not None:
                waiter.set()

    def event_for(self, key: str) -> asyncio.Event:
        event = self.waiters.get(key)
        if event is None:
            event = self.waiters[key] = asyncio.Event()
        return event


class Citizen:
    """One simulated person: runs scripts turn by turn, waiting for the full answer."""

    def __init__(self, driver: "Driver", key: str) -> None:
        self.driver = driver
        self.key = key
        self.script: Optional[str] = None
        self.step = 0

    def _send(self, step: Step) -> ChatMessage:
        sim = self.driver.sim
        kind, arg = step
        if kind == "say":
            return sim.send_text(self.key, arg)
        if kind == "tap":
            return sim.send_choice(self.key, arg)
        if kind == "pin":
            lat, lon, name, address = PINS[arg]
            row, column = divmod(self.driver.next_pin(), PIN_GRID_COLUMNS)
            lat, lon = lat + row * PIN_GRID_STEP, lon + column * PIN_GRID_STEP
            return sim.send_location(self.key, lat, lon, name, address)
        if kind == "photo":
            return sim.send_image(self.key, self.driver.photo(arg), "image/jpeg")
        raise ValueError(kind)

    def bot_messages_after(self, seq: int) -> List[ChatMessage]:
        return [m for m in self.driver.sim.citizen(self.key).messages if m.author == BOT and m.seq > seq]

    async def turn(self, script: str, index: int, expected: Optional[int], timeout: float) -> TurnResult:
        """Send one step; wait for ``expected`` replies (None = calibrate: until quiet)."""
        step = SCRIPTS[script][index] if script in SCRIPTS else LONG_CYCLE[index % len(LONG_CYCLE)]
        event = self.driver.watcher.event_for(self.key)
        event.clear()
        try:
            sent = self._send(step)
        except SimulatorError as error:  # e.g. the button to tap was never offered
            return TurnResult(script, index, time.perf_counter(), None, expected or 0, 0, error=str(error))
        deadline = time.monotonic() + timeout
        quiet = 1.5
        while True:
            replies = self.bot_messages_after(sent.seq)
            if expected is not None and len(replies) >= expected:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            wait = remaining if expected is not None else min(remaining, quiet)
            try:
                await asyncio.wait_for(event.wait(), wait)
            except asyncio.TimeoutError:
                if expected is None and replies:
                    break  # calibration: no new reply for `quiet` seconds
            event.clear()
        replies = self.bot_messages_after(sent.seq)
        want = expected if expected is not None else len(replies)
        self.driver.message_expectations[sent.id] = want
        done = replies[:want] if len(replies) >= want and want > 0 else []
        latency = (
            (done[-1].received_at - sent.posted_at)
            if done and sent.posted_at and done[-1].received_at
            else None
        )
        return TurnResult(
            script,
            index,
            sent.posted_at or time.perf_counter(),
            latency,
            want,
            len(replies),
            citizen=self.key,
            sent_seq=sent.seq,
        )

    def settle(self, result: TurnResult) -> None:
        """A turn that timed out: did its replies arrive after all (late), or never (lost)?"""
        messages = self.driver.sim.citizen(self.key).messages
        later = [m.seq for m in messages if m.author != BOT and m.seq > result.sent_seq]
        bound = min(later) if later else 10**12
        replies = [m for m in messages if m.author == BOT and result.sent_seq < m.seq < bound]
        if result.expected and len(replies) >= result.expected and replies[result.expected - 1].received_at:
            result.latency = replies[result.expected - 1].received_at - result.posted_at
            result.received = len(replies)
            result.late = True


class Driver:
    def __init__(self, sim: Simulator, seed: int = 7) -> None:
        self.sim = sim
        self.watcher = Watcher(sim)
        self.random = random.Random(seed)
        self._photos = {label: jpeg(label) for label in ("lubang", "KTP", "KK", "pengantar")}
        self._pins = 0
        self.expected: Dict[Tuple[str, int], int] = {}
        # How many replies each citizen message should get (for the duplicate check).
        self.message_expectations: Dict[str, int] = {}

    def photo(self, label: str) -> bytes:
        return self._photos[label]

    def next_pin(self) -> int:
        """The number of pins sent before this one (see PIN_GRID_STEP)."""
        self._pins += 1
        return self._pins - 1

    def new_citizen(self, prefix: str) -> Citizen:
        number = f"62{prefix}{uuid.uuid4().int % 10**7:07d}"  # a valid Indonesian mobile number
        self.sim.add_citizen(name=f"Warga {number[-4:]}", wa_id=number)
        return Citizen(self, number)

    async def calibrate(self, timeout: float) -> Dict[str, Any]:
        """Every script once, alone: how many replies each turn gets."""
        problems: List[str] = []
        for script, steps in SCRIPTS.items():
            citizen = self.new_citizen("81100")
            for index in range(len(steps)):
                result = await citizen.turn(script, index, None, timeout)
                if result.error or result.received == 0:
                    problems.append(f"{script}[{index}]: {result.error or 'no reply'}")
                self.expected[(script, index)] = result.received
        citizen = self.new_citizen("81100")
        for index in range(len(LONG_CYCLE)):
            result = await citizen.turn("long", index, None, timeout)
            self.expected[("long", index)] = result.received
        return {
            "expected_replies": {f"{s}[{i}]": n for (s, i), n in self.expected.items()},
            "problems": problems,
        }

    def pick_script(self) -> str:
        names = list(WEIGHTS)
        return self.random.choices(names, weights=[WEIGHTS[n] for n in names])[0]


async def run_load(
    driver: Driver,
    *,
    citizens: int,
    rate: Optional[float],
    duration: float,
    warmup: float,
    turn_timeout: float,
    think: float,
) -> Dict[str, Any]:
    """Citizens arrive at ``rate`` (Poisson; None = no pauses at all) for warmup + duration."""
    people = [driver.new_citizen("81200") for _ in range(citizens)]
    idle: "asyncio.Queue[Citizen]" = asyncio.Queue()
    for person in people:
        idle.put_nowait(person)
    results: List[TurnResult] = []
    tasks: set = set()
    started = time.perf_counter()
    window_start, window_end = started + warmup, started + warmup + duration
    shortfall = 0

    async def one_turn(person: Citizen) -> None:
        if person.script is None or person.step >= len(SCRIPTS[person.script]):
            person.script, person.step = driver.pick_script(), 0
        script, index = person.script, person.step
        expected = driver.expected.get((script, index), 1)
        result = await person.turn(script, index, expected, turn_timeout)
        if result.error:
            person.script = None  # this path broke: start another conversation
        else:
            person.step += 1
        if think > 0:
            await asyncio.sleep(think)
        results.append(result)
        if result.latency is None and not result.error:
            return  # timed out: this citizen stops, so late replies cannot be mistaken for another turn's
        idle.put_nowait(person)

    next_at = started
    while True:
        now = time.perf_counter()
        if now >= window_end:
            break
        if rate:
            next_at += driver.random.expovariate(rate)
            if next_at < now - 1.0:
                next_at = now  # fell behind by more than a second: do not burst to catch up
            await asyncio.sleep(max(0.0, next_at - now))
        if idle.empty():
            shortfall += 1
        person = await idle.get()
        task = asyncio.get_running_loop().create_task(one_turn(person))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(tasks, timeout=turn_timeout + 5)
    # Timed-out turns: give their replies up to another 30 s before calling them lost.
    by_key = {p.key: p for p in people}
    pending = [r for r in results if r.latency is None and not r.error]
    deadline = time.monotonic() + 30.0
    while pending and time.monotonic() < deadline:
        for result in pending:
            by_key[result.citizen].settle(result)
        pending = [r for r in pending if r.latency is None]
        if pending:
            await asyncio.sleep(0.5)
    await asyncio.sleep(1.0)  # late duplicates

    in_window = [r for r in results if window_start <= r.posted_at < window_end]
    latencies = [r.latency for r in in_window if r.latency is not None]
    lost = [r for r in in_window if r.latency is None]
    # Duplicates: the business messages between a citizen's message and their next one answer
    # it; more than the calibrated number are duplicates (a citizen only speaks again once the
    # expected replies arrived, so late replies of a lost turn count as lost, not duplicated).
    duplicates = 0
    for person in people:
        messages = driver.sim.citizen(person.key).messages
        turns = [m for m in messages if m.author != BOT]
        bots = [m for m in messages if m.author == BOT]
        bounds = [m.seq for m in turns] + [10**12]
        for i, sent in enumerate(turns):
            got = sum(1 for m in bots if bounds[i] < m.seq < bounds[i + 1])
            expected = driver.message_expectations.get(sent.id)
            if expected is not None and got > expected:
                duplicates += got - expected
    double_processed = sum(
        1
        for p in people
        for m in driver.sim.citizen(p.key).messages
        if m.author != BOT and driver.sim.read_marks.get(m.id, 0) > 1
    )
    return {
        "offered_rate": rate,
        "citizens": citizens,
        "window_seconds": duration,
        "turns_in_window": len(in_window),
        "completed_total": sum(1 for r in results if r.latency is not None),
        "completed_in_window": len(latencies),
        "throughput_msgs_per_s": round(len(latencies) / duration, 2),
        "replies_per_s": round(sum(r.expected for r in in_window if r.latency is not None) / duration, 2),
        "p50_ms": _ms(percentile(latencies, 50)),
        "p95_ms": _ms(percentile(latencies, 95)),
        "p99_ms": _ms(percentile(latencies, 99)),
        "max_ms": _ms(max(latencies) if latencies else None),
        "mean_ms": _ms(statistics.fmean(latencies) if latencies else None),
        "lost_turns": len(lost),
        "late_turns": sum(1 for r in in_window if r.late),
        "script_errors": sum(1 for r in in_window if r.error),
        "duplicated_replies": duplicates,
        "double_processed_messages": double_processed,
        "arrivals_without_idle_citizen": shortfall,
        "lost_examples": [
            f"{r.script}[{r.step}] got {r.received}/{r.expected} {r.error or ''}".strip() for r in lost[:5]
        ],
    }


def _ms(value: Optional[float]) -> Optional[float]:
    return None if value is None else round(value * 1000, 1)


async def drain(driver: Driver, timeout: float) -> None:
    """Wait until every citizen message sent so far got its expected replies (or ``timeout``),
    so one phase's backlog does not inflate the next phase's latencies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        owed = 0
        for citizen in driver.sim.citizens.values():
            messages = citizen.messages
            for index, message in enumerate(messages):
                if message.author == BOT:
                    continue
                expected = driver.message_expectations.get(message.id, 0)
                got = 0
                for later in messages[index + 1 :]:
                    if later.author != BOT:
                        break
                    got += 1
                owed += max(0, expected - got)
        if owed == 0:
            return
        await asyncio.sleep(1.0)


LONG_CPU_WINDOW = 20


async def long_conversation(
    driver: Driver,
    turns: int,
    timeout: float,
    on_turn: Optional[Callable[[int], None]] = None,
    rasa_cpu: Optional[Callable[[], Optional[float]]] = None,
) -> Dict[str, Any]:
    """One citizen, ``turns`` turns in a row (alone): does a long history slow Rasa down?
    ``on_turn(index)`` is called before each turn (the profiler starts at one). With
    ``rasa_cpu`` (the Rasa process's CPU seconds), the CPU per turn of turns 2-21 and of the
    last 20 turns is reported too: unlike latency it hardly moves when other work shares the
    machine."""
    citizen = driver.new_citizen("81300")
    latencies: List[Optional[float]] = []
    cpu_marks: Dict[int, Optional[float]] = {}
    windows = {1, 1 + LONG_CPU_WINDOW, turns - LONG_CPU_WINDOW, turns}
    for index in range(turns):
        if on_turn is not None:
            on_turn(index)
        if rasa_cpu is not None and index in windows:
            cpu_marks[index] = rasa_cpu()
        result = await citizen.turn(
            "long", index, driver.expected.get(("long", index % len(LONG_CYCLE)), 1), timeout
        )
        latencies.append(result.latency)
    if rasa_cpu is not None:
        cpu_marks[turns] = rasa_cpu()
    valid = [x for x in latencies if x is not None]
    same_kind_early = [
        latencies[i] for i in range(1, min(turns, 60), len(LONG_CYCLE)) if latencies[i] is not None
    ]
    same_kind_late = [
        latencies[i]
        for i in range(1 + ((turns - 1) // len(LONG_CYCLE) - 9) * len(LONG_CYCLE), turns, len(LONG_CYCLE))
        if i >= 0 and latencies[i] is not None
    ]
    turn2 = latencies[1] if turns > 1 else None
    turn_last = latencies[turns - 1] if turns else None
    early, late = statistics.median(same_kind_early or [0]), statistics.median(same_kind_late or [0])
    cpu: Dict[str, Any] = {}
    if turns > 2 * LONG_CPU_WINDOW + 1 and None not in cpu_marks.values() and len(cpu_marks) == 4:
        first = (cpu_marks[1 + LONG_CPU_WINDOW] - cpu_marks[1]) / LONG_CPU_WINDOW  # type: ignore[operator]
        last = (cpu_marks[turns] - cpu_marks[turns - LONG_CPU_WINDOW]) / LONG_CPU_WINDOW  # type: ignore[operator]
        cpu = {
            "rasa_cpu_ms_per_turn_first_20": round(first * 1000, 1),
            "rasa_cpu_ms_per_turn_last_20": round(last * 1000, 1),
            "rasa_cpu_growth_pct": round((last / first - 1) * 100, 1) if first else None,
        }
    return {
        **cpu,
        "turns": turns,
        "lost": sum(1 for x in latencies if x is None),
        "turn_2_ms": _ms(turn2),
        f"turn_{turns}_ms": _ms(turn_last),
        "same_kind_first_10_median_ms": _ms(early),
        "same_kind_last_10_median_ms": _ms(late),
        "slowdown_pct": round((late / early - 1) * 100, 1) if early else None,
        "all_median_ms": _ms(statistics.median(valid) if valid else None),
        "latencies_ms": [_ms(x) for x in latencies],
    }


# -- variants and stacks -------------------------------------------------------------------------------
@dataclass
class Variant:
    name: str
    model: Path
    postgres: bool = False
    tracker_type: Optional[str] = None  # None = the project's endpoints.yml
    description: str = ""
    env: Dict[str, str] = field(default_factory=dict)


VARIANTS: Dict[str, Variant] = {
    "project-sqlite": Variant(
        "project-sqlite",
        PROJECT_MODEL,
        description="the project's config.yml; embedded default (SQLite tracker store + ticket DB)",
    ),
    "project-postgres": Variant(
        "project-postgres",
        PROJECT_MODEL,
        postgres=True,
        description="the project's config.yml; PostgreSQL tracker store + ticket DB",
    ),
    "baseline-sqlite": Variant(
        "baseline-sqlite",
        BASELINE_MODEL,
        description="`rasa init` pipeline and policies (untuned); embedded default",
    ),
    # Rasa as it ships: the rasa-init model, Rasa's own SQLTrackerStore and none of
    # rasa_extensions' patches (the stack's entry leaves them off for this setting); only the
    # connector, actions and domain are the project's.
    "stock-sqlite": Variant(
        "stock-sqlite",
        BASELINE_MODEL,
        tracker_type="SQL",
        env={"LAYANWARGA_RASA_PATCHES": "off"},
        description="`rasa init` pipeline and policies, Rasa's SQLTrackerStore, no Rasa patches; SQLite",
    ),
}


def create_postgres_db(prefix: str) -> str:
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_postgres_db(url: str) -> None:
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


# Stacks still running, stopped on Ctrl-C / SIGTERM so no Rasa process outlives the benchmark.
ACTIVE_STACKS: List[Stack] = []


def _stop_everything(signum: int, _frame: Any) -> None:
    for stack in list(ACTIVE_STACKS):
        stack.stop()
    raise SystemExit(128 + signum)


class Sampler:
    """Rasa's resident memory once a second (all of it, and its anonymous part: on newer
    kernels much more of TensorFlow's 0.5 GB library stays mapped, which counts in RSS but is
    shared file memory), and CPU seconds of each process between two marks."""

    def __init__(self, pids: Dict[str, int]) -> None:
        self.pids = pids
        self.rss_max = 0
        self.anon_max = 0
        self.load_samples: List[float] = []
        self._task: Optional[asyncio.Task] = None

    async def _loop(self) -> None:
        while True:
            memory = memory_bytes(self.pids["rasa"])
            if memory:
                self.rss_max = max(self.rss_max, memory["rss"])
                self.anon_max = max(self.anon_max, memory.get("anon", 0))
            self.load_samples.append(os.getloadavg()[0])
            await asyncio.sleep(1.0)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def cpu(self) -> Dict[str, Optional[float]]:
        return {name: cpu_seconds(pid) for name, pid in self.pids.items()}


def cpu_delta(
    before: Dict[str, Optional[float]], after: Dict[str, Optional[float]], seconds: float
) -> Dict[str, Any]:
    return {
        name: round(((after[name] or 0) - (before[name] or 0)) / seconds * 100, 1)
        for name in before
        if before[name] is not None and after.get(name) is not None
    }


def add_cpu(
    phase: Dict[str, Any],
    before: Dict[str, Optional[float]],
    after: Dict[str, Optional[float]],
    seconds: float,
) -> None:
    """CPU use of each process over the phase, and CPU milliseconds per answered message: the
    cost that decides capacity, and much less sensitive to other work on the machine."""
    phase["cpu_percent"] = cpu_delta(before, after, seconds)
    done = phase.get("completed_total") or 0
    phase["cpu_ms_per_message"] = {
        name: round(((after[name] or 0) - (before[name] or 0)) / done * 1000, 1)
        for name in before
        if done and before[name] is not None and after.get(name) is not None
    }


async def run_variant(variant: Variant, args: argparse.Namespace, out: Path) -> Dict[str, Any]:
    workdir = out / variant.name
    workdir.mkdir(parents=True, exist_ok=True)
    if not variant.model.exists():
        return {"variant": variant.name, "skipped": f"{variant.model} missing (see --train-baseline)"}
    databases: List[str] = []
    database_url = tracker_url = None
    if variant.postgres:
        database_url, tracker_url = (
            create_postgres_db("lw_bench_tickets"),
            create_postgres_db("lw_bench_tracker"),
        )
        databases = [database_url, tracker_url]
    sim_config = SimulatorConfig(
        host="127.0.0.1",
        port=free_port(),
        auto_read=True,
        send_statuses=not args.no_statuses,
        verify_on_start=False,
        citizens=[],
        status_delay=0.02,
        retry_base=0.5,
        retry_for=60.0,
    )
    rasa_port = free_port()
    sim_config.webhook_url = f"http://127.0.0.1:{rasa_port}/webhooks/whatsapp/webhook"
    running = await RunningSimulator(sim_config).start()
    stack: Optional[Stack] = None
    profiler: Optional[subprocess.Popen] = None
    result: Dict[str, Any] = {
        "variant": variant.name,
        "description": variant.description,
        "model": variant.model.name,
    }
    try:
        started = time.monotonic()
        # The connector's per-citizen pacing (Meta's pair rate limit: a burst of 20, then one
        # message per 6 s) is lifted: simulated citizens answer in milliseconds, no person does.
        # Likewise its flood protection (20 messages per citizen per minute): the long conversation
        # sends 200 messages in about a minute.
        connector = {
            "pair_rate_burst": 1000000,
            "pair_rate_per_second": 1000.0,
            "max_messages_per_minute": 1000000,
            "max_concurrent_senders": args.max_concurrent_senders,
        }
        extra_env = {**whatsapp_env(sim_config, sim_config.base_url), **variant.env}
        for item in args.env or []:
            key, _, value = item.partition("=")
            extra_env[key] = value
        if args.env:
            result["extra_env"] = list(args.env)
        if args.sqlite_synchronous:
            extra_env.update(experiment_hooks(workdir, args.sqlite_synchronous))
            result["experiments"] = {"sqlite_synchronous": args.sqlite_synchronous}
        stack = await asyncio.get_running_loop().run_in_executor(
            None,
            lambda: start_stack(
                workdir,
                model=variant.model,
                rasa_port=rasa_port,
                whatsapp=connector,
                database_url=database_url,
                tracker_url=tracker_url,
                tracker_type=variant.tracker_type,
                rest=False,
                extra_env=extra_env,
            ),
        )
        ACTIVE_STACKS.append(stack)
        result["startup_seconds"] = round(time.monotonic() - started, 1)
        if not await running.sim.verify_webhook():
            raise RuntimeError("webhook verification failed")
        sampler = Sampler(
            {"rasa": stack.rasa_pid, "actions": stack.actions_pid, "driver_and_simulator": os.getpid()}
        )
        sampler.start()
        driver = Driver(running.sim)
        result["memory_after_start_mb"] = memory_mb(stack.rasa_pid)

        print(f"[{variant.name}] calibrating", flush=True)
        result["calibration"] = await driver.calibrate(args.turn_timeout)
        # Lower loads first: an overloaded phase leaves a backlog in the connector's queues.
        for number, rate in enumerate(sorted(args.rate)):
            if number:
                await drain(driver, 120.0)
            phase = f"rate {rate:g}"
            print(f"[{variant.name}] offered load: {rate:g} msg/s for {args.duration} s", flush=True)
            if args.profile and number == 0:
                profiler = start_profiler(
                    stack.rasa_pid, workdir / "rasa-profile", args.warmup, args.duration
                )
            cpu_before, t0 = sampler.cpu(), time.perf_counter()
            result[phase] = await run_load_with_expectations(driver, args, rate=rate, duration=args.duration)
            add_cpu(result[phase], cpu_before, sampler.cpu(), time.perf_counter() - t0)
            if profiler is not None and number == 0:
                profiler.wait(timeout=args.duration + args.warmup + 120)
                result["profile"] = summarise_profile(workdir / "rasa-profile.txt")

        if args.saturation > 0:
            await drain(driver, 120.0)
            print(f"[{variant.name}] saturation for {args.saturation} s", flush=True)
            cpu_before, t0 = sampler.cpu(), time.perf_counter()
            result["saturation"] = await run_load_with_expectations(
                driver, args, rate=None, duration=args.saturation
            )
            add_cpu(result["saturation"], cpu_before, sampler.cpu(), time.perf_counter() - t0)

        if args.long_turns > 0:
            await drain(driver, 120.0)
            print(f"[{variant.name}] long conversation: {args.long_turns} turns", flush=True)
            long_profiler: List[subprocess.Popen] = []

            def profile_last_turns(index: int) -> None:
                if args.profile_long and index == max(0, args.long_turns - args.profile_long):
                    started_profiler = start_profiler(stack.rasa_pid, workdir / "rasa-profile-long", 0, None)
                    long_profiler.extend([started_profiler] if started_profiler else [])

            result["long_conversation"] = await long_conversation(
                driver,
                args.long_turns,
                args.turn_timeout,
                profile_last_turns,
                lambda: cpu_seconds(stack.rasa_pid),
            )
            if long_profiler:
                stop_profiler(long_profiler[0])
                result["profile_long"] = summarise_profile(workdir / "rasa-profile-long.txt")
        await sampler.stop()
        result["rasa_rss_max_mb"] = round(sampler.rss_max / 2**20)
        result["rasa_rss_anon_max_mb"] = round(sampler.anon_max / 2**20)
        # Other work on the machine shows here (2 cores: a load above ~3 means contention).
        result["load_average_1min_mean"] = (
            round(statistics.fmean(sampler.load_samples), 2) if sampler.load_samples else None
        )
        result["memory_end_mb"] = memory_mb(stack.rasa_pid)
        result["simulator"] = running.sim.stats()
    finally:
        if profiler is not None and profiler.poll() is None:
            profiler.terminate()
        if stack is not None:
            await asyncio.get_running_loop().run_in_executor(None, stack.stop)
            ACTIVE_STACKS.remove(stack)
        await running.stop()
        for url in databases:
            drop_postgres_db(url)
    return result


async def run_load_with_expectations(
    driver: Driver, args: argparse.Namespace, *, rate: Optional[float], duration: float
) -> Dict[str, Any]:
    return await run_load(
        driver,
        citizens=args.citizens,
        rate=rate,
        duration=duration,
        warmup=args.warmup,
        turn_timeout=args.turn_timeout,
        think=0.0,
    )


def experiment_hooks(workdir: Path, sqlite_synchronous: str) -> Dict[str, str]:
    """An experiment without touching the project: a ``sitecustomize`` module loaded by the Rasa
    and action server processes that sets ``PRAGMA synchronous=<mode>`` on every SQLite
    connection SQLAlchemy opens (WAL + NORMAL: no fsync per commit; the database stays
    consistent after a crash, the last commits may be lost on power failure).
    """
    hook = workdir / "experiment_hooks"
    hook.mkdir(exist_ok=True)
    code = (
        "import sqlite3\n"
        "from sqlalchemy import event\n"
        "from sqlalchemy.engine import Engine\n\n\n"
        "@event.listens_for(Engine, 'connect')\n"
        "def _synchronous(dbapi_connection, _record):\n"
        "    if isinstance(dbapi_connection, sqlite3.Connection):\n"
        f"        dbapi_connection.execute('PRAGMA synchronous={sqlite_synchronous.upper()}')\n"
    )
    (hook / "sitecustomize.py").write_text(code, encoding="utf-8")
    return {"PYTHONPATH": os.pathsep.join(p for p in (str(hook), os.environ.get("PYTHONPATH", "")) if p)}


# -- profiling --------------------------------------------------------------------------------------------
def start_profiler(
    pid: int, prefix: Path, delay: float, duration: Optional[float]
) -> Optional[subprocess.Popen]:
    """py-spy on the Rasa process for the measured window (collapsed stacks); with no
    ``duration`` it records until ``stop_profiler``."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(py_spy).exists():
        print("py-spy not installed (pip install py-spy); no profile", flush=True)
        return None
    command = (
        f"sleep {delay}; exec {py_spy} record --pid {pid} {f'--duration {int(duration)} ' if duration else ''}--rate 50 "
        f"--format raw --threads --gil --output {prefix}.txt --nonblocking"
    )
    return subprocess.Popen(
        ["bash", "-c", command], stdout=subprocess.DEVNULL, stderr=open(f"{prefix}.log", "w")
    )


def stop_profiler(profiler: subprocess.Popen) -> None:
    """End a recording started without a duration: py-spy writes its output on SIGINT."""
    profiler.send_signal(signal.SIGINT)
    try:
        profiler.wait(timeout=60)
    except subprocess.TimeoutExpired:
        profiler.kill()


# Where the event loop's time goes, by the first matching frame of each sample (most specific first).
MAIN_THREAD_CATEGORIES = [
    ("idle (event loop waiting)", ("select (selectors.py)", "_run_once (asyncio/base_events.py)|leaf")),
    ("action response schema check (jsonschema)", ("_validate_action_result",)),
    (
        "NLU (parse_message: tokenizer, normaliser, featurizers, classifier)",
        ("parse_message (rasa/core/processor.py)",),
    ),
    ("dialogue policies (Rule, Memoization, TED)", ("predict_next_action", "_predict_next_with_tracker")),
    ("tracker store (on the loop)", ("tracker_store.py",)),
    ("action server round trips (HTTP, JSON)", ("rasa/core/actions/action.py",)),
    ("WhatsApp connector (parse, send, bookkeeping)", ("connectors/", "whatsapp/")),
    ("Sanic / aiohttp / asyncio plumbing", ("sanic/", "aiohttp/", "asyncio/")),
]


def _clean(frame: str) -> str:
    name = re.sub(r" \(/.*?(site-packages|lib/python3\.10)/", " (", frame)
    return re.sub(r":\d+\)$", ")", name)


def summarise_profile(path: Path, top: int = 30) -> Dict[str, Any]:
    """From py-spy's collapsed stacks: share of samples per thread group, and for the main
    thread (Sanic's event loop, where Rasa handles every turn) the share per category and the
    most expensive functions (inclusive)."""
    if not path.exists():
        return {"error": "no profile written"}
    groups: Dict[str, int] = {}
    categories: Dict[str, int] = {}
    inclusive: Dict[str, int] = {}
    main_total = total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        try:
            count = int(count_text)
        except ValueError:
            continue
        total += count
        frames = stack.split(";")
        group = re.sub(r"_\d+$", "", re.sub(r"\s*\(0x[0-9A-Fa-f]+\)", "", frames[0])).strip()
        groups[group] = groups.get(group, 0) + count
        if "MainThread" not in frames[0]:
            continue
        main_total += count
        names = [_clean(f) for f in frames[1:]]
        joined = ";".join(names)
        leaf = names[-1] if names else ""
        category = "other (Python code of Rasa)"
        if "select (selectors.py)" in leaf or leaf.startswith("serve (sanic/server/runners.py"):
            category = "idle (event loop waiting)"
        else:
            for label, needles in MAIN_THREAD_CATEGORIES[1:]:
                if any(n in joined for n in needles):
                    category = label
                    break
        categories[category] = categories.get(category, 0) + count
        for name in set(names):
            inclusive[name] = inclusive.get(name, 0) + count
    ranked = sorted(inclusive.items(), key=lambda kv: -kv[1])
    boring = (
        "threading.py",
        "<module> (rasa)",
        "main (rasa/",
        "run (rasa/cli",
        "run (rasa/api",
        "serve_application",
        "run (sanic/app",
        "serve_single",
        "serve (sanic/server/runners",
        "run_forever",
        "_run_once",
        "_run (asyncio/events",
    )
    interesting = [(n, c) for n, c in ranked if not any(b in n for b in boring)][:top]
    return {
        "samples": total,
        "thread_groups_pct": {
            k: round(v / total * 100, 1) for k, v in sorted(groups.items(), key=lambda kv: -kv[1])
        },
        "main_thread_pct": {
            k: round(v / main_total * 100, 1) for k, v in sorted(categories.items(), key=lambda kv: -kv[1])
        }
        if main_total
        else {},
        "main_thread_inclusive_pct": [(n, round(c / main_total * 100, 1)) for n, c in interesting]
        if main_total
        else [],
    }


# -- baseline model ----------------------------------------------------------------------------------
def train_baseline(out: Path) -> None:
    config = out / "config.rasa_init.yml"
    config.write_text(RASA_INIT_CONFIG, encoding="utf-8")
    env = {**os.environ, **QUIET_ENV}
    command = [
        str(Path(sys.executable).parent / "rasa"),
        "train",
        "--quiet",
        "--domain",
        "domain",
        "--data",
        "data",
        "--config",
        str(config),
        "--out",
        str(BASELINE_MODEL.parent),
        "--fixed-model-name",
        BASELINE_MODEL.name.replace(".tar.gz", ""),
    ]
    print("Training the untuned baseline:", " ".join(command), flush=True)
    started = time.monotonic()
    subprocess.run(command, cwd=ROOT, env=env, check=True)
    print(f"Baseline trained in {time.monotonic() - started:.0f} s", flush=True)


# -- report ------------------------------------------------------------------------------------------
def machine() -> Dict[str, Any]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = int(
        next(
            line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
        ).split()[1]
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": round(mem_kb / 2**20, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_before": os.getloadavg(),
    }


def markdown(summary: Dict[str, Any]) -> str:
    rows = [
        "| variant | phase | offered msg/s | achieved msg/s | p50 ms | p95 ms | p99 ms | lost | duplicated | Rasa CPU % | Rasa CPU ms/msg | Rasa RSS max MB | of which anonymous | load avg |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in summary["variants"]:
        if "skipped" in result:
            rows.append(f"| {result['variant']} | skipped: {result['skipped']} ||||||||||||")
            continue
        for phase in [k for k in result if k.startswith("rate ")] + ["saturation"]:
            r = result.get(phase)
            if not r:
                continue
            rows.append(
                f"| {result['variant']} | {phase} | {r['offered_rate'] or 'max'} | {r['throughput_msgs_per_s']} | "
                f"{r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} | {r['lost_turns']} | "
                f"{r['duplicated_replies'] + r['double_processed_messages']} | {r['cpu_percent'].get('rasa')} | "
                f"{r['cpu_ms_per_message'].get('rasa')} | {result['rasa_rss_max_mb']} | {result.get('rasa_rss_anon_max_mb')} | {result.get('load_average_1min_mean')} |"
            )
    lines = ["\n".join(rows), ""]
    for result in summary["variants"]:
        long = result.get("long_conversation")
        if long:
            turns = long["turns"]
            lines.append(
                f"- {result['variant']}: long conversation turn 2 {long['turn_2_ms']} ms, turn {turns} "
                f"{long[f'turn_{turns}_ms']} ms; same kind of turn, first 10 vs last 10 (median): "
                f"{long['same_kind_first_10_median_ms']} vs {long['same_kind_last_10_median_ms']} ms "
                f"({long['slowdown_pct']:+} %)"
                + (
                    f"; Rasa CPU per turn, turns 2-21 vs last 20: {long['rasa_cpu_ms_per_turn_first_20']} vs "
                    f"{long['rasa_cpu_ms_per_turn_last_20']} ms ({long['rasa_cpu_growth_pct']:+} %)"
                    if "rasa_cpu_growth_pct" in long
                    else ""
                )
            )
    ratios = summary.get("ratios") or {}
    for name, value in ratios.items():
        lines.append(f"- {name}: {value}")
    return "\n".join(lines) + "\n"


# The untuned references, each compared with every other variant of the run.
BASELINES = ("baseline-sqlite", "stock-sqlite")


def ratios(results: List[Dict[str, Any]]) -> Dict[str, Any]:
    by_name = {r["variant"]: r for r in results if "skipped" not in r}
    out: Dict[str, Any] = {}
    for base_name in [name for name in BASELINES if name in by_name]:
        base = by_name[base_name]
        for name, result in by_name.items():
            if name in BASELINES:
                continue
            for phase in ["saturation"] + [k for k in result if k.startswith("rate ")]:
                a, b = result.get(phase), base.get(phase)
                if a and b and b["throughput_msgs_per_s"]:
                    out[f"{name} / {base_name} throughput ({phase})"] = round(
                        a["throughput_msgs_per_s"] / b["throughput_msgs_per_s"], 2
                    )
                if a and b and a.get("p95_ms") and b.get("p95_ms"):
                    out[f"{base_name} / {name} p95 latency ({phase})"] = round(b["p95_ms"] / a["p95_ms"], 2)
            if result.get("rasa_rss_anon_max_mb") and base.get("rasa_rss_anon_max_mb"):
                out[f"{name} / {base_name} Rasa anonymous memory"] = round(
                    result["rasa_rss_anon_max_mb"] / base["rasa_rss_anon_max_mb"], 2
                )
    return out


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--variants",
        nargs="+",
        default=["project-sqlite", "project-postgres", "baseline-sqlite"],
        choices=sorted(VARIANTS) + ["custom"],
    )
    parser.add_argument("--model", type=Path, help="with --variants custom: a model to benchmark")
    parser.add_argument(
        "--custom-postgres", action="store_true", help="with --variants custom: on PostgreSQL"
    )
    parser.add_argument("--name", help="with --variants custom: the variant's name in the report")
    parser.add_argument(
        "--rate",
        type=float,
        nargs="+",
        default=[80.0],
        help="offered loads, messages/s, one phase each (default 80)",
    )
    parser.add_argument("--duration", type=float, default=60.0, help="measured seconds at the target rate")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds before measuring")
    parser.add_argument("--saturation", type=float, default=30.0, help="seconds with no pauses (0 = skip)")
    parser.add_argument("--citizens", type=int, default=200)
    parser.add_argument("--long-turns", type=int, default=200)
    parser.add_argument(
        "--turn-timeout",
        type=float,
        default=30.0,
        help="a citizen waits this long for a turn's replies (late ones still count, up to 30 s more)",
    )
    parser.add_argument("--max-concurrent-senders", type=int, default=64)
    parser.add_argument("--no-statuses", action="store_true", help="no sent/delivered/read webhooks")
    parser.add_argument(
        "--sqlite-synchronous",
        choices=["normal", "off"],
        help="experiment: PRAGMA synchronous for every SQLite connection (project default: FULL)",
    )
    parser.add_argument(
        "--env",
        action="append",
        metavar="KEY=VALUE",
        help="extra environment for the Rasa and action server processes (repeatable)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="py-spy the Rasa process during the target load"
    )
    parser.add_argument(
        "--profile-long",
        type=int,
        default=0,
        metavar="TURNS",
        help="py-spy the Rasa process during the last TURNS turns of the long conversation",
    )
    parser.add_argument(
        "--train-baseline", action="store_true", help="train the rasa-init baseline model first"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "benchmark")
    args = parser.parse_args(argv)

    signal.signal(signal.SIGTERM, _stop_everything)
    signal.signal(signal.SIGINT, _stop_everything)
    out = args.out / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    if args.train_baseline or (set(BASELINES) & set(args.variants) and not BASELINE_MODEL.exists()):
        train_baseline(out)
    variants = [VARIANTS[name] for name in args.variants if name != "custom"]
    if "custom" in args.variants:
        if not args.model:
            parser.error("--variants custom needs --model")
        variants.append(
            Variant(
                args.name or f"custom-{args.model.stem.replace('.tar', '')}",
                args.model,
                postgres=args.custom_postgres,
                description=f"model {args.model.name}",
            )
        )
    summary: Dict[str, Any] = {
        "started": dt.datetime.now().isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": machine(),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "variants": [],
    }
    for variant in variants:
        result = asyncio.run(run_variant(variant, args, out))
        summary["variants"].append(result)
        (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
        print(
            json.dumps(
                {
                    k: v
                    for k, v in result.items()
                    if k not in ("long_conversation", "calibration", "profile", "profile_long")
                },
                indent=2,
            ),
            flush=True,
        )
    summary["ratios"] = ratios(summary["variants"])
    (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
    (out / "summary.md").write_text(markdown(summary), encoding="utf-8")
    print(markdown(summary))
    print(f"Results in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
