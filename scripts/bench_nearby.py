"""Time ``layanwarga.nearby.find`` at many open complaints (BENCHMARKS.md, "Nearby reports").

Fills a fresh, migrated database with ``--tickets`` open complaints spread over a ~7 km square
(every category, random RT/RW 1-20/1-8, 60 % with a pin), then times searches from random
places: with a pin (street light, 50 m; road, 300 m) and without (same RT/RW, similar words).

    .venv/bin/python scripts/bench_nearby.py --url sqlite:///var/bench_nearby.db --tickets 100000
    .venv/bin/python scripts/bench_nearby.py --url postgresql+psycopg2://postgres@127.0.0.1:5432/<db>
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, List

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert  # noqa: E402

from layanwarga import db, migrate, nearby, states  # noqa: E402
from layanwarga.config import get_institution  # noqa: E402
from layanwarga.models import KIND_COMPLAINT, Ticket  # noqa: E402

CENTRE = (-2.2096, 113.9135)
SPREAD = 0.03  # degrees each way: ~6.7 km square
TEXTS = {
    "lapor_lampu_padam": [
        "lampu jalan depan masjid mati",
        "pju gang mawar padam",
        "lampu jalan kedip kedip dekat sekolah",
    ],
    "lapor_jalan_rusak": [
        "jalan berlubang depan sekolah",
        "aspal mengelupas dekat pasar",
        "jembatan kayu patah",
    ],
    "lapor_sampah": ["sampah menumpuk di pinggir kali", "tps penuh belum diangkut"],
    "lapor_banjir": ["got mampet air meluap", "banjir setinggi lutut di gang"],
    "lapor_ketertiban": ["parkir liar depan minimarket", "balap liar tiap malam"],
}


def fill(url: str, count: int, seed: int = 23) -> None:
    rng = random.Random(seed)
    now = dt.datetime.utcnow().replace(microsecond=0)
    open_states = sorted(states.OPEN_STATES[KIND_COMPLAINT])
    categories = list(TEXTS)
    with db.session_scope(url, write=True) as session:
        batch = []
        for index in range(count):
            category = rng.choice(categories)
            pinned = rng.random() < 0.6
            batch.append(
                {
                    "number": f"ADU-2026-B{index:07d}",
                    "kind": KIND_COMPLAINT,
                    "category": category,
                    "state": rng.choice(open_states),
                    "description": rng.choice(TEXTS[category]),
                    "latitude": CENTRE[0] + rng.uniform(-SPREAD, SPREAD) if pinned else None,
                    "longitude": CENTRE[1] + rng.uniform(-SPREAD, SPREAD) if pinned else None,
                    "rt": str(rng.randint(1, 20)),
                    "rw": str(rng.randint(1, 8)),
                    "area": "Langkai",
                    "is_anonymous": rng.random() < 0.1,
                    "is_confidential": rng.random() < 0.03,
                    "details": {},
                    "created_at": now - dt.timedelta(days=rng.randint(0, 60)),
                    "updated_at": now,
                }
            )
            if len(batch) == 5000:
                session.execute(insert(Ticket), batch)
                batch = []
        if batch:
            session.execute(insert(Ticket), batch)


def timed(
    url: str, runs: int, search: Callable[[random.Random], nearby.Place], category: str, text: str
) -> List[float]:
    inst = get_institution()
    rng = random.Random(5)
    times = []
    with db.session_scope(url) as session:
        nearby.find(session, inst, category, search(rng), text)  # warm-up
        for _ in range(runs):
            place = search(rng)
            start = time.perf_counter()
            nearby.find(session, inst, category, place, text)
            times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    migrate.upgrade(args.url)
    start = time.perf_counter()
    fill(args.url, args.tickets)
    print(f"{args.tickets} open complaints in {time.perf_counter() - start:.0f} s ({db.safe_url(args.url)})")

    def pin(rng: random.Random) -> nearby.Place:
        return nearby.Place(
            latitude=CENTRE[0] + rng.uniform(-SPREAD, SPREAD),
            longitude=CENTRE[1] + rng.uniform(-SPREAD, SPREAD),
        )

    def rt_rw(rng: random.Random) -> nearby.Place:
        return nearby.Place(rt=str(rng.randint(1, 20)), rw=str(rng.randint(1, 8)), area="Langkai")

    print("search                               median ms  slowest ms")
    for label, search, category, text in (
        ("pin, street light (50 m)", pin, "lapor_lampu_padam", ""),
        ("pin, road (300 m)", pin, "lapor_jalan_rusak", ""),
        ("RT/RW + similar words", rt_rw, "lapor_lampu_padam", "lampu jalan depan masjid mati sudah 3 hari"),
    ):
        times = timed(args.url, args.runs, search, category, text)
        print(f"{label:<36} {statistics.median(times):9.1f}  {max(times):10.1f}")


if __name__ == "__main__":
    main()
