"""The project's rules and stories as event lists, and the trained model: what the Rasa patches
are compared with Rasa's own code on.

The patches are switched on here, before any test loads the model (its graph keeps the
policies' methods it was built with), as ``python -m rasa_extensions`` does before Rasa runs."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import List, Tuple

import pytest
from rasa.core.agent import Agent
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event
from rasa.shared.core.generator import TrainingDataGenerator
from rasa.shared.importers.importer import TrainingDataImporter

from rasa_extensions import patches

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "layanwarga.tar.gz"

if not patches.switch_on():
    raise RuntimeError(
        f"tests/extensions compare the patches with Rasa: unset {patches.PATCHES_SETTING}=off to run them"
    )


@pytest.fixture(scope="session")
def project() -> Tuple[Domain, List[List[Event]]]:
    """The domain and every rule and story (no augmentation) as its list of events."""
    logging.getLogger("rasa").setLevel(logging.ERROR)
    importer = TrainingDataImporter.load_from_dict(
        domain_path=str(ROOT / "domain"),
        training_data_paths=[str(ROOT / "data" / "rules"), str(ROOT / "data" / "stories")],
    )
    domain = importer.get_domain()
    trackers = TrainingDataGenerator(
        importer.get_stories(),
        domain,
        augmentation_factor=0,
        use_story_concatenation=False,
        remove_duplicates=True,
    ).generate()
    return domain, [list(t.events) for t in trackers]


@pytest.fixture(scope="session")
def agent() -> Agent:
    """The trained model (``scripts/test.sh`` trains before it tests)."""
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `bash scripts/test.sh`, which trains before it tests")
    return Agent.load(str(MODEL))
