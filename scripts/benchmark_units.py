#!/usr/bin/env python
"""Benchmark finding a citizen's unit: a location pin and a typed address, per message.

The city is the sample Kota Palangka Raya (``deploy/examples/instansi-palangka-raya.yml``: 5
kecamatan, 30 kelurahan). Its boundaries here are SYNTHETIC, made for this benchmark only: a
6 x 5 grid of cells, one per kelurahan, whose shared edges wobble (a deterministic sine) with
``--vertices`` points per edge, so each polygon has about four times that many vertices, like
digitised kelurahan boundaries, and neighbours share their edges exactly (no overlap).

- Start-up: loading and checking the boundary file (parse, validity, overlap check, STRtree).
- Pins: ``UnitTree.unit_at`` for a grid of points over the city and half a cell around it (some
  outside every boundary), each timed on its own, ``--rounds`` times.
- Addresses: ``match_address`` for typed addresses and whole complaint messages (typos, markers,
  streets, unknown names), each timed on its own, ``--rounds`` times, after one warm-up call (the
  first call builds the matcher and loads the normaliser's lexicons: reported separately).

Prints a Markdown block; with ``--write`` it replaces the ``## City units`` section of
BENCHMARKS.md (other sections are kept).

Usage::

    .venv/bin/python scripts/benchmark_units.py --write
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, Sequence, Tuple

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from layanwarga import unit_routing  # noqa: E402
from layanwarga.config import load_institution  # noqa: E402
from layanwarga.unit_address import match_address  # noqa: E402
from layanwarga.units import VILLAGE_LEVEL, UnitTree  # noqa: E402

SAMPLE = ROOT / "deploy" / "examples" / "instansi-palangka-raya.yml"
BENCHMARKS = ROOT / "BENCHMARKS.md"
SECTION = "## City units"
COLUMNS, ROWS = 6, 5
CELL = 0.02  # degrees, about 2.2 km
ORIGIN = (113.85, -2.30)  # longitude, latitude of the grid's south-west corner

ADDRESSES = [
    "kel. langkai",
    "kelurahan lengkai",
    "pahandut sebrang",
    "Jl. Garuda No. 5 RT 03/RW 02, Kel. Langkai, Kec. Pahandut, Kota Palangka Raya",
    "jl menteng no 4, kel langkai",
    "sy tinggal di tangkilin pak",
    "kereng bengkirai dekat sekolah",
    "sungai gohong rt 2",
    "dekat bundaran besar",
    "kec jekan raya",
    "tumbang",
    "langkai atau panarung",
    "Selamat pagi pak, saya mau lapor jalan rusak parah di jl. garuda no 5 rt 3 rw 2 kelurahan "
    "lengkai kecamatan pahandut, sudah 2 minggu berlubang dan sering ada motor jatuh kalau hujan, "
    "mohon segera diperbaiki ya pak terima kasih",
    "lampu jalan di gang mawar dekat masjid al ikhlas kel. kalampangan kec. sebangau mati sudah seminggu",
    "Assalamualaikum, sampah di TPS pasar kahayan belum diangkut 3 hari, baunya sampai ke rumah warga",
    "alamat saya jl. rta milono km 5, menteng, palangkaraya, kalimantan tengah",
]


def wobble(t: float, phase: float) -> float:
    """A deterministic bend of an edge (fraction of a cell), zero at both ends."""
    return 0.08 * math.sin(math.pi * t) * math.sin(7 * math.pi * t + phase)


def vertical_edge(i: int, j: int, n: int) -> List[Tuple[float, float]]:
    """The edge at column line ``i`` between rows ``j`` and ``j + 1``, south to north."""
    x0, y0 = ORIGIN
    interior = 0 < i < COLUMNS
    return [
        (x0 + CELL * (i + (wobble(k / n, i + 3 * j) if interior else 0.0)), y0 + CELL * (j + k / n))
        for k in range(n + 1)
    ]


def horizontal_edge(i: int, j: int, n: int) -> List[Tuple[float, float]]:
    """The edge at row line ``j`` between columns ``i`` and ``i + 1``, west to east."""
    x0, y0 = ORIGIN
    interior = 0 < j < ROWS
    return [
        (x0 + CELL * (i + k / n), y0 + CELL * (j + (wobble(k / n, 5 * i + j) if interior else 0.0)))
        for k in range(n + 1)
    ]


def grid_geojson(codes: Sequence[str], n: int) -> Dict[str, object]:
    features = []
    for index, code in enumerate(codes):
        i, j = index % COLUMNS, index // COLUMNS
        south = horizontal_edge(i, j, n)
        east = vertical_edge(i + 1, j, n)
        north = list(reversed(horizontal_edge(i, j + 1, n)))
        west = list(reversed(vertical_edge(i, j, n)))
        ring = south + east[1:] + north[1:] + west[1:]
        features.append(
            {
                "type": "Feature",
                "properties": {"code": code, "note": "SYNTHETIC benchmark geometry, not a boundary"},
                "geometry": {"type": "Polygon", "coordinates": [[list(p) for p in ring]]},
            }
        )
    return {"type": "FeatureCollection", "features": features}


def timed(calls: Sequence[Callable[[], object]], rounds: int) -> Tuple[List[float], List[float]]:
    """Milliseconds of each call, every call ``rounds`` times: wall clock, and this thread's CPU
    time (steady when other work shares the cores; the wall clock then includes the waits)."""
    wall, cpu = [], []
    for _ in range(rounds):
        for call in calls:
            start, start_cpu = time.perf_counter_ns(), time.thread_time_ns()
            call()
            cpu.append((time.thread_time_ns() - start_cpu) / 1e6)
            wall.append((time.perf_counter_ns() - start) / 1e6)
    return wall, cpu


def figures(samples: Tuple[List[float], List[float]]) -> str:
    wall, cpu = samples
    return (
        f"{statistics.median(wall):.3f} / {percentile(wall, 0.95):.3f} / {max(wall):.3f} ms "
        f"(CPU {statistics.median(cpu):.3f} / {percentile(cpu, 0.95):.3f} / {max(cpu):.3f} ms)"
    )


def percentile(samples: Sequence[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}, 1-min load average {load:.1f}"


def run(vertices: int, rounds: int) -> str:
    raw = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    plain = load_institution(SAMPLE).units
    codes = [unit.code for unit in plain if unit.level == VILLAGE_LEVEL]
    with tempfile.TemporaryDirectory() as folder:
        geojson = Path(folder) / "grid.geojson"
        geojson.write_text(json.dumps(grid_geojson(codes, vertices)), encoding="utf-8")
        raw["units"]["boundaries"] = {"file": str(geojson)}
        config = Path(folder) / "instansi.yml"
        config.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
        start = time.perf_counter()
        tree: UnitTree = load_institution(config).units
        load_s = time.perf_counter() - start
        file_kb = geojson.stat().st_size / 1024

    assert tree.boundaries is not None and len(tree.boundaries.codes) == len(codes) == 30
    x0, y0 = ORIGIN
    steps = 40
    pins = [
        (y0 - CELL / 2 + (ROWS + 1) * CELL * b / steps, x0 - CELL / 2 + (COLUMNS + 1) * CELL * a / steps)
        for a in range(steps + 1)
        for b in range(steps + 1)
    ]
    inside = sum(tree.unit_at(lat, lon) is not None for lat, lon in pins)
    pin_ms = timed([lambda p=p: tree.unit_at(*p) for p in pins], rounds)

    start = time.perf_counter()
    match_address(tree, "kel. langkai")
    first_s = time.perf_counter() - start
    address_ms = timed([lambda t=t: match_address(tree, t) for t in ADDRESSES], rounds * 20)
    long_ms = timed([lambda t=t: match_address(tree, t) for t in ADDRESSES if len(t) > 100], rounds * 20)
    # What the action server does per request (layanwarga.unit_routing): a complaint placed by its
    # pin, else its typed place, with the agency's UPT; a letter placed by the applicant's address.
    agency = next(a for a in load_institution(SAMPLE).agencies.values() if a.upts)
    place_pin_ms = timed(
        [
            lambda p=p: unit_routing.place_complaint(
                tree, agency, latitude=p[0], longitude=p[1], location_text="depan pasar"
            )
            for p in pins[::7]
        ],
        rounds,
    )
    place_letter_ms = timed(
        [lambda t=t: unit_routing.place_letter(tree, "sktm", address=t) for t in ADDRESSES], rounds * 20
    )
    vertex_count = sum(
        len(f["geometry"]["coordinates"][0]) for f in grid_geojson(codes, vertices)["features"]
    )

    rows = [
        (
            "kelurahan polygons (synthetic grid) / vertices in all",
            f"30 / {vertex_count:,} ({file_kb:,.0f} KB GeoJSON)",
        ),
        (
            "start-up: load + check the configuration with the boundary file (validity, overlaps, STRtree)",
            f"{load_s * 1000:.0f} ms",
        ),
        (
            f"pin → unit, median / p95 / max ({len(pins):,} pins × {rounds}, {len(pins) - inside:,} outside every boundary)",
            figures(pin_ms),
        ),
        (
            f"typed address → unit, median / p95 / max ({len(ADDRESSES)} messages × {rounds * 20})",
            figures(address_ms),
        ),
        ("of which whole complaint messages (150-250 characters), median / p95 / max", figures(long_ms)),
        (
            "a complaint placed (pin, else its typed place; kelurahan, kecamatan, UPT), median / p95 / max",
            figures(place_pin_ms),
        ),
        ("a letter request placed by the applicant's address, median / p95 / max", figures(place_letter_ms)),
        (
            "first address of a process (builds the matcher, loads the normaliser's lexicons)",
            f"{first_s * 1000:.0f} ms",
        ),
    ]
    lines = [
        SECTION,
        "",
        f"Measured {time.strftime('%Y-%m-%d')} by `scripts/benchmark_units.py` on {machine()}. "
        "Target (issue 21): under 5 ms per message for a pin or an address with the city's real "
        "number of kelurahan (30 for Palangka Raya).",
        "",
        "The boundaries are a synthetic 6 × 5 grid made by the script (wobbly shared edges, "
        f"{vertices} points per edge), not official boundaries; the tree is the sample "
        "`deploy/examples/instansi-palangka-raya.yml`. Each call is timed on its own: wall clock, "
        "and in brackets the CPU time of the calling thread, which stays steady when other work "
        "shares the cores (the wall clock's tail is then time spent waiting for a core).",
        "",
        "| what | figure |",
        "|---|---|",
        *(f"| {what} | {figure} |" for what, figure in rows),
        "",
        "Reproduce: `.venv/bin/python scripts/benchmark_units.py` (`--write` updates this section).",
        "",
    ]
    return "\n".join(lines)


def write_section(block: str) -> None:
    text = BENCHMARKS.read_text(encoding="utf-8")
    pattern = re.compile(
        rf"^{re.escape(SECTION)}\n.*?(?=^##|\Z)", re.S | re.M
    )  # keeps hand-written ### parts
    if pattern.search(text):
        text = pattern.sub(lambda _: block + "\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + block
    BENCHMARKS.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--vertices", type=int, default=500, help="points per cell edge (default 500)")
    parser.add_argument(
        "--rounds", type=int, default=5, help="rounds over the pins (addresses: 20 times as many)"
    )
    parser.add_argument(
        "--write", action="store_true", help=f"replace the '{SECTION}' section of BENCHMARKS.md"
    )
    args = parser.parse_args()
    block = run(args.vertices, args.rounds)
    print(block)
    if args.write:
        write_section(block)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
