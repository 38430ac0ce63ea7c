"""Precision, recall and F1 of ``layanwarga.nearby.similarity`` on the labelled pairs at each
threshold, to choose ``SIMILARITY_THRESHOLD`` (BENCHMARKS.md, "Nearby reports").

    .venv/bin/python scripts/nearby_threshold.py [tests/core/data/nearby_pairs.yml]
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Dict, List, Tuple

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from layanwarga.nearby import similarity  # noqa: E402

DEFAULT = Path(__file__).resolve().parent.parent / "tests" / "core" / "data" / "nearby_pairs.yml"


def scored_pairs(path: Path) -> List[Tuple[float, bool]]:
    pairs = yaml.safe_load(path.read_text(encoding="utf-8"))["pairs"]
    return [(similarity(p["a"], p["b"]), bool(p["same"])) for p in pairs]


def measure(scored: List[Tuple[float, bool]], threshold: float) -> Dict[str, float]:
    tp = sum(1 for s, same in scored if s >= threshold and same)
    fp = sum(1 for s, same in scored if s >= threshold and not same)
    fn = sum(1 for s, same in scored if s < threshold and same)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"threshold": threshold, "precision": precision, "recall": recall, "f1": f1}


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    scored = scored_pairs(path)
    print(f"{len(scored)} pairs, {sum(same for _, same in scored)} labelled same")
    print("threshold precision recall f1")
    for step in range(5, 60, 5):
        m = measure(scored, step / 100)
        print(f"{m['threshold']:.2f}      {m['precision']:.2f}      {m['recall']:.2f}   {m['f1']:.2f}")


if __name__ == "__main__":
    main()
