#!/usr/bin/env bash
# Run every check LayanWarga has, as CI does: lint and type check, data validation, (cached)
# training, the held-out NLU evaluation, dialogue test stories, and the pytest suite. Exits
# non-zero on the first failure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh

# Quiet start-up: TensorFlow's C++ logs, SQLAlchemy 1.4's 2.0 notice, training progress bars.
export SQLALCHEMY_SILENCE_UBER_WARNING=1 TF_CPP_MIN_LOG_LEVEL=2 TQDM_DISABLE=1
# Each step says when it starts (minutes:seconds since the command began), so a slow CI names its step.
step() { printf '\n\033[1;34m==> [%02d:%02d] %s\033[0m\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*"; }

step "ruff"
# Lint and format check (rules, folders and the 110-column format in pyproject.toml); seconds,
# so they fail first. `.venv/bin/ruff format` writes the format.
.venv/bin/ruff check
.venv/bin/ruff format --check

step "mypy"
# Type check of the domain core and the WhatsApp side (layanwarga/, connectors/, whatsapp/).
.venv/bin/mypy

step "rasa data validate"
# Expected warnings, explained where they arise: responses sent by custom actions are "not used
# in any story or rule" (domain/*.yml; tests/test_domain.py checks each is used somewhere);
# `pesan_tidak_didukung` has no NLU examples (a connector payload, domain/umum.yml); Python
# DeprecationWarnings come from Rasa's own dependencies (setuptools' pkg_resources, click),
# surfaced by Sanic's warning filter. Errors fail this step.
.venv/bin/rasa data validate --domain domain --data data --config config.yml

step "rasa train (skipped when the model was trained from the current data, domain, config and components)"
.venv/bin/python scripts/train_if_needed.py

step "NLU evaluation on the held-out set (tests/nlu/holdout.yml) and dialogue test stories, side by side"
# Both only read the trained model, each in its own process: run together, they overlap on the
# two cores; each one's output is printed whole when both are done.
# The evaluation fails when a target is missed (macro-F1 >= 0.95, every intent's F1 >= 0.85,
# darurat recall 1.0; scripts/evaluate_nlu.py). Deterministic: a fixed model, a fixed set.
# The stories run through the entry that switches the performance patches on, as `rasa run` is started.
mkdir -p results
.venv/bin/python scripts/evaluate_nlu.py --model models/layanwarga.tar.gz >results/nlu-evaluation.log 2>&1 &
evaluation=$!
.venv/bin/python -m rasa_extensions test core --model models/layanwarga.tar.gz --stories tests/stories \
  --fail-on-prediction-errors --out results/core >results/test-stories.log 2>&1 &
stories=$!
evaluation_status=0 stories_status=0
wait "$evaluation" || evaluation_status=$?
wait "$stories" || stories_status=$?
printf '\n--- NLU evaluation (exit %s) ---\n' "$evaluation_status"; cat results/nlu-evaluation.log
printf '\n--- dialogue test stories (exit %s) ---\n' "$stories_status"; cat results/test-stories.log
if [ "$evaluation_status" -ne 0 ] || [ "$stories_status" -ne 0 ]; then exit 1; fi

step "pytest"
# Browser tests (the simulator's chat page, the dashboard) drive Debian's Chromium headless.
bash scripts/ensure_chromium.sh
bash scripts/ensure_deploy_linters.sh  # hadolint + compose-spec schema (pinned) for tests/deploy
# One worker more than cores (pytest-xdist): many files wait on real processes (rasa run, action
# servers) or Chromium, and the extra worker fills those waits (BENCHMARKS.md, CI). Each work unit
# runs whole on one worker: a test file, so its fixtures start once, or all the files that use a
# costly session fixture (the end-to-end WhatsApp stack, the trained model), so it starts once per
# run; the longest units are handed out first (tests/conftest.py, from tests/durations.json;
# --no-loadscope-reorder keeps that order, where pytest-xdist would otherwise start with the units
# of most tests). LAYANWARGA_TEST_WORKERS=0 runs everything in this process; arguments after the
# command still go to pytest (`-n 0` too).
.venv/bin/python -m pytest -n "${LAYANWARGA_TEST_WORKERS:-$(($(nproc) + 1))}" --dist loadgroup --no-loadscope-reorder "$@"
