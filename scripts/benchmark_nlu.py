#!/usr/bin/env python
"""Benchmark LayanWarga's NLU: training time and warm parse latency.

- Training: wall time of ``rasa train nlu --config config.yml --nlu data/nlu`` (a fresh
  process, as an operator runs it; skipped with ``--model``).
- Parsing: the model is loaded once with ``rasa.core.agent.Agent.load``; every held-out
  message is parsed once to warm up, then ``--rounds`` more times with
  ``agent.parse_message``; p50 / p95 / mean / max are per message. The normaliser's own
  share is measured separately on the same messages (tokenised once, then normalised with
  a cold and a warm cache).

Prints a Markdown block with the machine (cores, CPU model, RAM) and, with
``--write``, replaces the ``## NLU`` section of BENCHMARKS.md (other sections are kept).

Usage::

    .venv/bin/python scripts/benchmark_nlu.py --write
    .venv/bin/python scripts/benchmark_nlu.py --model models/nlu-xyz.tar.gz
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECTION = "## NLU"


def machine() -> Dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    return {
        "cores": str(os.cpu_count()),
        "cpu": cpu,
        "ram": ram,
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
    }


def percentile(values: List[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def train(config: str, nlu: str, out_dir: Path) -> tuple:
    rasa = Path(sys.executable).parent / "rasa"
    name = f"nlu-bench-{time.strftime('%Y%m%d-%H%M%S')}"
    cmd = [
        str(rasa if rasa.exists() else "rasa"),
        "train",
        "nlu",
        "--config",
        config,
        "--nlu",
        nlu,
        "--out",
        str(out_dir),
        "--fixed-model-name",
        name,
    ]
    log = out_dir / f"{name}.log"
    out_dir.mkdir(parents=True, exist_ok=True)
    # A fresh, empty training cache: the figure is a cold training, not a cache hit.
    cache = tempfile.mkdtemp(prefix="rasa-cache-")
    load_before = os.getloadavg()[0]
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with log.open("w") as handle:
        result = subprocess.run(
            cmd,
            cwd=ROOT,
            stdout=handle,
            stderr=subprocess.STDOUT,
            env={**os.environ, "RASA_CACHE_DIRECTORY": cache},
        )
    shutil.rmtree(cache, ignore_errors=True)
    seconds = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_seconds = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    load = max(load_before, os.getloadavg()[0])
    if result.returncode != 0:
        sys.stderr.write(log.read_text()[-3000:])
        raise SystemExit("training failed")
    return out_dir / f"{name}.tar.gz", {"wall": seconds, "cpu": cpu_seconds, "load": load}


def holdout_texts(path: str) -> List[str]:
    from rasa.shared.nlu.training_data.loading import load_data

    return [m.get("text") for m in load_data(str(ROOT / path)).intent_examples]


def parse_latency(model: Path, texts: List[str], rounds: int) -> Dict[str, float]:
    from rasa.core.agent import Agent

    started = time.perf_counter()
    agent = Agent.load(str(model))
    load_seconds = time.perf_counter() - started

    async def run() -> List[float]:
        for text in texts:  # warm-up: TF graph, caches
            await agent.parse_message(text)
        timings: List[float] = []
        for _ in range(rounds):
            for text in texts:
                t0 = time.perf_counter()
                await agent.parse_message(text)
                timings.append((time.perf_counter() - t0) * 1000)
        return timings

    timings = asyncio.run(run())
    return {
        "load_s": load_seconds,
        "p50": percentile(timings, 50),
        "p95": percentile(timings, 95),
        "mean": statistics.fmean(timings),
        "max": max(timings),
        "n": len(timings),
    }


def normaliser_latency(texts: List[str]) -> Dict[str, float]:
    """Per-message cost of the normaliser alone (tokens from the real spaCy tokenizer)."""
    import spacy

    from nlu_components.spacy_model import ensure_blank_model
    from nlu_components.text_normalizer import IndonesianNormalizer

    model_dir = ROOT / "var" / "spacy-id"
    ensure_blank_model(model_dir)
    nlp = spacy.load(model_dir)
    token_lists = [[t.text for t in nlp(text.lower())] for text in texts]
    started = time.perf_counter()
    normalizer = IndonesianNormalizer()
    load_seconds = time.perf_counter() - started

    def one_pass() -> List[float]:
        timings = []
        for tokens in token_lists:
            t0 = time.perf_counter()
            for token in tokens:
                normalizer.lemma(token)
            timings.append((time.perf_counter() - t0) * 1000)
        return timings

    cold = one_pass()
    warm = one_pass()
    return {
        "load_s": load_seconds,
        "cold_mean": statistics.fmean(cold),
        "cold_p95": percentile(cold, 95),
        "warm_mean": statistics.fmean(warm),
        "warm_p95": percentile(warm, 95),
    }


def pipeline_summary(config: str) -> str:
    import yaml

    data = yaml.safe_load((ROOT / config).read_text(encoding="utf-8"))
    names = []
    for component in data.get("pipeline", []):
        name = component["name"].rsplit(".", 1)[-1]
        if name == "DIETClassifier":
            name += (
                f" ({component.get('epochs', 300)} epochs, "
                f"{component.get('number_of_transformer_layers', 2)} transformer layer(s) "
                f"of {component.get('transformer_size', 256)})"
            )
        names.append(name)
    return " → ".join(names)


def render(
    info: Dict[str, str],
    train_s: Optional[Dict[str, float]],
    parse: Dict[str, float],
    norm: Dict[str, float],
    config: str,
    texts: int,
    model: Path,
) -> str:
    size_mb = model.stat().st_size / 1024 / 1024
    train_line = (
        f"| NLU training (`rasa train nlu`, empty cache, fresh process): wall clock | "
        f"{train_s['wall']:.0f} s (1-min load average {train_s['load']:.1f} on "
        f"{info['cores']} cores) |\n"
        f"| NLU training: CPU time (user + system, all threads) | {train_s['cpu']:.0f} s |"
        if train_s is not None
        else "| NLU training | not measured (existing model) |"
    )
    return "\n".join(
        [
            SECTION,
            "",
            f"Measured {time.strftime('%Y-%m-%d')} by `scripts/benchmark_nlu.py` on "
            f"{info['cores']} cores, {info['cpu']}, {info['ram']} RAM "
            f"(Python {info['python']}, {info['os']}). Other work may share the machine: "
            "figures are wall clock.",
            "",
            f"Pipeline: {pipeline_summary(config)}.",
            "",
            "| what | figure |",
            "|---|---|",
            train_line,
            f"| model archive size | {size_mb:.1f} MB |",
            f"| model load (`Agent.load`) | {parse['load_s']:.1f} s |",
            f"| warm parse latency p50 (`agent.parse_message`, {texts} held-out messages × "
            f"{parse['n'] // max(texts, 1)}) | {parse['p50']:.1f} ms |",
            f"| warm parse latency p95 | {parse['p95']:.1f} ms |",
            f"| warm parse latency mean / max | {parse['mean']:.1f} / {parse['max']:.1f} ms |",
            f"| normaliser alone, per message, cold cache (mean / p95) | "
            f"{norm['cold_mean']:.3f} / {norm['cold_p95']:.3f} ms |",
            f"| normaliser alone, per message, warm cache (mean / p95) | "
            f"{norm['warm_mean']:.3f} / {norm['warm_p95']:.3f} ms |",
            f"| normaliser lexicon load | {norm['load_s']:.2f} s |",
            *quality_lines(),
            "",
            "Training wall clock depends on what else runs on the 2 cores; the CPU time is the "
            "steadier figure. Model load includes importing Rasa and its dependencies.",
            "",
        ]
    )


def quality_lines() -> List[str]:
    """Held-out figures from the last `scripts/evaluate_nlu.py` run, if there is one."""
    from layanwarga.nlu_report import per_intent_scores, read_report

    try:
        report = read_report(ROOT / "results" / "nlu")
    except FileNotFoundError:
        return []
    rows = per_intent_scores(report)
    if not rows:
        return []
    macro = sum(r["f1-score"] for r in rows.values()) / len(rows)
    darurat = rows.get("darurat", {}).get("recall", float("nan"))
    return [
        f"| held-out macro-F1 / accuracy / darurat recall (`scripts/evaluate_nlu.py`, "
        f"{int(sum(r['support'] for r in rows.values()))} messages) | {macro:.3f} / "
        f"{report.get('accuracy', float('nan')):.3f} / {darurat:.2f} |",
    ]


def write_section(block: str, path: Path) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\s*$.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: block + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="existing NLU model; default: train one (timed)")
    parser.add_argument("--config", default="config.yml")
    parser.add_argument("--nlu", default="data/nlu")
    parser.add_argument("--holdout", default="tests/nlu/holdout.yml")
    parser.add_argument("--out", default="models")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    try:  # Rasa's structlog prints every parse at debug level otherwise
        import structlog

        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    except ImportError:  # pragma: no cover
        pass

    from nlu_components.spacy_model import ensure_blank_model

    ensure_blank_model(ROOT / "var" / "spacy-id")
    train_s = None
    if args.model:
        model = Path(args.model).resolve()
    else:
        model, train_s = train(args.config, args.nlu, (ROOT / args.out).resolve())
    texts = holdout_texts(args.holdout)
    parse = parse_latency(model, texts, args.rounds)
    norm = normaliser_latency(texts)
    block = render(machine(), train_s, parse, norm, args.config, len(texts), model)
    print(block)
    if args.write:
        write_section(block, ROOT / "BENCHMARKS.md")
        print(f"updated {ROOT / 'BENCHMARKS.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
