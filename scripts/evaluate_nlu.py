#!/usr/bin/env python
"""Evaluate LayanWarga's NLU on the held-out set and gate on the targets.

Trains an NLU model (``rasa train nlu``) unless ``--model`` is given, runs
``rasa test nlu --nlu tests/nlu/holdout.yml`` into ``results/nlu/``, prints per-intent
precision / recall / F1 and macro-F1, the entity scores, the worst confusions, and the path
of the confusion-matrix PNG. Exits 1 when a target is missed:

- macro-F1 over the held-out intents >= 0.95 (``rasa test nlu`` scores the classifier's
  top intent: it reverts FallbackClassifier predictions, so the share of held-out messages
  that *would* fall back is printed separately);
- every intent's F1 >= 0.85;
- ``darurat`` recall == 1.0 (an emergency must never be missed).

The test command (``scripts/test.sh``, which CI runs) calls it with ``--model
models/layanwarga.tar.gz`` right after training, so a change that costs the assistant its
understanding of unseen messages fails CI. The result is deterministic: the model's training has
fixed seeds and the held-out set is fixed (two trainings of the same data score the same).

Usage::

    .venv/bin/python scripts/evaluate_nlu.py                 # train, then test
    .venv/bin/python scripts/evaluate_nlu.py --model models/layanwarga.tar.gz
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from layanwarga.nlu_report import (  # noqa: E402
    MIN_DARURAT_RECALL,
    MIN_INTENT_F1,
    MIN_MACRO_F1,
    per_intent_scores,
    predictions,
    read_report,
)

DEFAULT_SPACY_DIR = "var/spacy-id"
RASA_ENV = {"TF_CPP_MIN_LOG_LEVEL": "2", "SQLALCHEMY_SILENCE_UBER_WARNING": "1"}


def rasa_executable() -> str:
    candidate = Path(sys.executable).parent / "rasa"
    return str(candidate) if candidate.exists() else "rasa"


def run(cmd: List[str], log_path: Path) -> float:
    """Runs a command from the repo root, logging to a file; returns wall seconds."""
    env = {**os.environ, **RASA_ENV}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with log_path.open("w", encoding="utf-8") as log:
        process = subprocess.run(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    elapsed = time.perf_counter() - started
    if process.returncode != 0:
        tail = log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-30:]
        sys.stderr.write("\n".join(tail) + "\n")
        raise SystemExit(f"command failed ({process.returncode}): {' '.join(cmd)}")
    return elapsed


def train_nlu(config: str, nlu: str, out_dir: Path, name: str, log_dir: Path) -> Tuple[Path, float]:
    # Train with an empty cache so the model is exactly what config.yml gives today.
    os.environ["RASA_CACHE_DIRECTORY"] = tempfile.mkdtemp(prefix="rasa-cache-")
    cmd = [
        rasa_executable(),
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
    try:
        seconds = run(cmd, log_dir / "train.log")
    finally:
        shutil.rmtree(os.environ.pop("RASA_CACHE_DIRECTORY"), ignore_errors=True)
    return out_dir / f"{name}.tar.gz", seconds


def test_nlu(model: Path, holdout: str, out_dir: Path) -> float:
    cmd = [
        rasa_executable(),
        "test",
        "nlu",
        "--nlu",
        holdout,
        "--model",
        str(model),
        "--out",
        str(out_dir),
        "--successes",
    ]
    return run(cmd, out_dir / "test.log")


def confusions(out_dir: Path) -> Counter:
    return Counter((p.intent, p.predicted) for p in predictions(out_dir) if not p.correct)


def fallback_threshold(config_path: Path) -> Optional[float]:
    import yaml

    config = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    for component in config.get("pipeline") or []:
        if component.get("name") == "FallbackClassifier":
            return float(component.get("threshold", 0.3))
    return None


def count_below(out_dir: Path, threshold: float) -> int:
    return sum((p.confidence or 0.0) < threshold for p in predictions(out_dir))


def ensure_confusion_png(out_dir: Path) -> Optional[Path]:
    """Rasa writes intent_confusion_matrix.png; rebuild it from the predictions if not."""
    png = out_dir / "intent_confusion_matrix.png"
    if png.exists() and png.stat().st_size > 0:
        return png
    pairs = [(p.intent, p.predicted) for p in predictions(out_dir)]
    if not pairs:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    gold, predicted = zip(*pairs)
    labels = sorted(set(gold) | set(predicted))
    figure, axis = plt.subplots(figsize=(16, 16))
    ConfusionMatrixDisplay.from_predictions(
        gold, predicted, labels=labels, ax=axis, xticks_rotation="vertical", colorbar=False
    )
    figure.tight_layout()
    figure.savefig(png, dpi=80)
    return png


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="existing NLU model (.tar.gz); default: train one")
    parser.add_argument("--config", default="config.yml")
    parser.add_argument("--nlu", default="data/nlu")
    parser.add_argument("--holdout", default="tests/nlu/holdout.yml")
    parser.add_argument("--out", default="results/nlu")
    parser.add_argument("--models-dir", default="models", help="where a trained model goes")
    parser.add_argument("--min-macro-f1", type=float, default=MIN_MACRO_F1)
    parser.add_argument("--min-intent-f1", type=float, default=MIN_INTENT_F1)
    parser.add_argument("--min-darurat-recall", type=float, default=MIN_DARURAT_RECALL)
    args = parser.parse_args(argv)

    from nlu_components.spacy_model import ensure_blank_model

    ensure_blank_model(ROOT / DEFAULT_SPACY_DIR)
    out_dir = (ROOT / args.out).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)

    train_seconds = None
    if args.model:
        model = Path(args.model).resolve()
    else:
        model, train_seconds = train_nlu(
            args.config,
            args.nlu,
            (ROOT / args.models_dir).resolve(),
            f"nlu-{time.strftime('%Y%m%d-%H%M%S')}",
            out_dir,
        )
        print(
            f"Trained {model.relative_to(ROOT) if model.is_relative_to(ROOT) else model} "
            f"in {train_seconds:.0f} s"
        )
    test_seconds = test_nlu(model, args.holdout, out_dir)

    report = read_report(out_dir)
    rows = per_intent_scores(report)
    macro_f1 = sum(row["f1-score"] for row in rows.values()) / len(rows)
    support = sum(int(row["support"]) for row in rows.values())
    accuracy = report.get("accuracy")

    print(
        f"\nHeld-out set {args.holdout}: {support} messages, {len(rows)} intents "
        f"(test run {test_seconds:.0f} s)\n"
    )
    print(f"| {'intent':<22} | precision | recall |   F1  | support |")
    print(f"|{'-' * 24}|-----------|--------|-------|---------|")
    for name in sorted(rows):
        row = rows[name]
        flag = "  <-- below target" if row["f1-score"] < args.min_intent_f1 else ""
        print(
            f"| {name:<22} |   {row['precision']:.3f}   | {row['recall']:.3f}  | "
            f"{row['f1-score']:.3f} | {int(row['support']):7d} |{flag}"
        )
    print(f"\nmacro-F1 {macro_f1:.4f}   accuracy {accuracy:.4f}")

    threshold = fallback_threshold(ROOT / args.config)
    if threshold is not None:
        low_confidence = count_below(out_dir, threshold)
        print(f"would fall back (top confidence < {threshold}): {low_confidence} of {support}")

    for name in sorted(out_dir.glob("*_report.json")):
        if name.name == "intent_report.json":
            continue
        entity_report = json.loads(name.read_text(encoding="utf-8"))
        entity_rows = {
            k: v
            for k, v in entity_report.items()
            if isinstance(v, dict) and v.get("support", 0) > 0 and "avg" not in k
        }
        if entity_rows:
            scores = ", ".join(
                f"{k} F1 {v['f1-score']:.3f} (n={int(v['support'])})" for k, v in sorted(entity_rows.items())
            )
            print(f"entities {name.stem.replace('_report', '')}: {scores}")

    pairs = confusions(out_dir)
    if pairs:
        print("\nConfusions (gold -> predicted: count):")
        for (gold, predicted), count in pairs.most_common(15):
            print(f"  {gold} -> {predicted}: {count}")

    png = ensure_confusion_png(out_dir)
    print(f"\nConfusion matrix: {png if png else 'NOT PRODUCED'}")

    failures: List[str] = []
    if macro_f1 < args.min_macro_f1:
        failures.append(f"macro-F1 {macro_f1:.4f} < {args.min_macro_f1}")
    low = [n for n, r in rows.items() if r["f1-score"] < args.min_intent_f1]
    if low:
        failures.append(f"intents below F1 {args.min_intent_f1}: {', '.join(sorted(low))}")
    darurat = rows.get("darurat")
    if darurat is None:
        failures.append("no darurat examples in the held-out set")
    elif darurat["recall"] < args.min_darurat_recall:
        failures.append(f"darurat recall {darurat['recall']:.3f} < {args.min_darurat_recall}")
    if png is None:
        failures.append("no confusion matrix PNG")
    if failures:
        print("\nTARGETS MISSED:\n  " + "\n  ".join(failures))
        return 1
    print("\nAll NLU targets met.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
