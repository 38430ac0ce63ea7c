"""Everything under data/ must be Rasa training data: Rasa's loaders refuse other files (a
README or notes there break `load_data` and the tools built on it), so documentation about the
data lives in docs/nlu-training-data.md."""

from __future__ import annotations

from pathlib import Path

from rasa.shared.data import is_likely_yaml_file

ROOT = Path(__file__).resolve().parent.parent


def test_data_folder_holds_only_yaml_training_files() -> None:
    files = [p for p in (ROOT / "data").rglob("*") if p.is_file()]
    assert files
    assert [str(p.relative_to(ROOT)) for p in files if not is_likely_yaml_file(p)] == []
