"""LAYANWARGA_RASA_PATCHES: city IT can run Rasa's own code, and a typo does not turn the
patches off silently."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

import rasa_extensions
from rasa_extensions import PATCHES_SETTING, patches_enabled

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
from pathlib import Path
import rasa_extensions
from rasa.core.actions.action import RemoteAction
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.nlu.utils.spacy_utils import SpacyNLP
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig
functions = [Domain.states_for_tracker_history, DialogueStateTracker.applied_events, DialogueStateTracker.copy,
             EndpointConfig.request, RemoteAction._validate_action_result, SpacyNLP.load_model,
             RemoteAction._action_call_format, TEDPolicy.predict_action_probabilities, DaskGraphRunner.run]
print(*[Path(f.__code__.co_filename).parent.name for f in functions])
"""


@pytest.mark.parametrize("value", ["off", "OFF", " 0 ", "false", "no"])
def test_off_values(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(PATCHES_SETTING, value)
    assert patches_enabled() is False


@pytest.mark.parametrize("value", [None, "", "on", "1", "true", "yes"])
def test_on_values(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    if value is None:
        monkeypatch.delenv(PATCHES_SETTING, raising=False)
    else:
        monkeypatch.setenv(PATCHES_SETTING, value)
    assert patches_enabled() is True


def test_an_unknown_value_keeps_the_patches_and_says_so(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv(PATCHES_SETTING, "of")
    with caplog.at_level(logging.WARNING, logger=rasa_extensions.__name__):
        assert patches_enabled() is True
    assert PATCHES_SETTING in caplog.text and "'of'" in caplog.text


def run_probe(value: str) -> list:
    env = {**os.environ, PATCHES_SETTING: value, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True)
    return out.stdout.split()


def test_off_leaves_rasas_own_functions_and_on_replaces_them() -> None:
    """Each patched function's code lives in the package that defines it."""
    assert run_probe("off") == ["core", "core", "core", "utils", "actions", "utils", "actions", "policies", "runner"]
    assert run_probe("on") == ["rasa_extensions"] * 9
