"""The Rasa patches are switched on explicitly, by what starts Rasa: importing the project's
plug-ins patches nothing, ``LAYANWARGA_RASA_PATCHES=off`` keeps Rasa's own code (a typo does not
turn the patches off silently), and a Rasa version the patches were not tested with runs
unpatched with one log line saying so.

Installing a patch cannot be undone in a process, so each case runs in a fresh interpreter."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest
import rasa

from rasa_extensions import patches
from rasa_extensions.patches import PATCHES_SETTING, TESTED_RASA_VERSIONS, patches_enabled

ROOT = Path(__file__).resolve().parents[2]

# Prints, for each function a patch replaces, the folder of the code that runs: Rasa's own
# (core, utils, ...) or rasa_extensions; then the same for the classes config.yml replaces by
# subclasses (rasa_extensions.policies, rasa_extensions.spacy_model), which stay Rasa's always.
HOMES = """
def homes():
    from pathlib import Path
    from rasa.core.actions.action import RemoteAction
    from rasa.core.featurizers.tracker_featurizers import MaxHistoryTrackerFeaturizer
    from rasa.core.policies.rule_policy import RulePolicy
    from rasa.core.policies.ted_policy import TEDPolicy
    from rasa.engine.runner.dask import DaskGraphRunner
    from rasa.nlu.utils.spacy_utils import SpacyNLP
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.endpoints import EndpointConfig
    functions = [Domain.states_for_tracker_history, DialogueStateTracker.applied_events, DialogueStateTracker.copy,
                 EndpointConfig.request, RemoteAction._validate_action_result, RemoteAction._action_call_format,
                 DaskGraphRunner.run,
                 SpacyNLP.load_model, TEDPolicy.predict_action_probabilities, RulePolicy.predict_action_probabilities,
                 RulePolicy._prediction_states, MaxHistoryTrackerFeaturizer.prediction_states]
    return [Path(f.__code__.co_filename).parent.name for f in functions]
"""
SUBCLASSED = ["utils", "policies", "policies", "policies", "featurizers"]
RASAS = ["core", "core", "core", "utils", "actions", "actions", "runner", *SUBCLASSED]
PATCHED = ["rasa_extensions"] * 7 + SUBCLASSED

IMPORT_PLUG_INS = (
    HOMES
    + """
import connectors.whatsapp, rasa_extensions, rasa_extensions.event_broker, rasa_extensions.tracker_store
import rasa_extensions.policies, rasa_extensions.spacy_model
print(*homes())
"""
)

SWITCH_ON = (
    HOMES
    + """
import rasa
from rasa_extensions import patches
{before}
print(patches.switch_on(), patches.switched_on(), *homes())
"""
)

# The entry with Rasa's command line replaced by a probe of what it finds when it is called.
ENTRY = (
    HOMES
    + """
import runpy, sys
import rasa.__main__
rasa.__main__.main = lambda: print(*sys.argv[1:], *homes())
sys.argv = ["rasa_extensions", "run", "--endpoints", "endpoints.yml"]
runpy.run_module("rasa_extensions", run_name="__main__")
"""
)


def run(code: str, setting: str = "") -> subprocess.CompletedProcess:
    env: Dict[str, str] = {**os.environ, PATCHES_SETTING: setting, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )


def printed(result: subprocess.CompletedProcess) -> List[str]:
    return result.stdout.split()


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


def test_an_unknown_value_keeps_the_patches_and_says_so(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(PATCHES_SETTING, "of")
    with caplog.at_level(logging.WARNING, logger=patches.__name__):
        assert patches_enabled() is True
    assert PATCHES_SETTING in caplog.text and "'of'" in caplog.text


def test_the_installed_rasa_is_a_tested_version() -> None:
    """The patches run in this installation (setup.sh installs the pinned Rasa)."""
    assert rasa.__version__ in TESTED_RASA_VERSIONS


def test_importing_the_plug_ins_patches_nothing() -> None:
    """Rasa imports the tracker store and the event broker named in endpoints.yml, the
    connector from credentials.yml and the components of config.yml: none of that switches the
    patches on."""
    assert printed(run(IMPORT_PLUG_INS)) == RASAS


def test_switch_on_replaces_every_patched_function() -> None:
    assert printed(run(SWITCH_ON.format(before=""))) == ["True", "True", *PATCHED]


def test_off_keeps_rasas_own_functions() -> None:
    assert printed(run(SWITCH_ON.format(before=""), setting="off")) == ["False", "False", *RASAS]


def test_an_untested_rasa_runs_unpatched_with_one_log_line() -> None:
    result = run(SWITCH_ON.format(before="rasa.__version__ = '3.6.99'"))
    assert printed(result) == ["False", "False", *RASAS]
    lines = [line for line in result.stderr.splitlines() if "performance patches" in line]
    assert len(lines) == 1, result.stderr
    assert "3.6.99" in lines[0] and "3.6.21" in lines[0] and "runs without them" in lines[0]


def test_the_entry_switches_on_before_rasas_command_line_runs() -> None:
    """``python -m rasa_extensions run ...`` hands Rasa the same arguments, patches in place."""
    assert printed(run(ENTRY)) == ["run", "--endpoints", "endpoints.yml", *PATCHED]


def test_the_entry_with_the_patches_off_runs_rasa_unpatched() -> None:
    assert printed(run(ENTRY, setting="off")) == ["run", "--endpoints", "endpoints.yml", *RASAS]
