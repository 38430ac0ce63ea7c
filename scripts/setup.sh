#!/usr/bin/env bash
# Set up LayanWarga on this machine, idempotently: a Python 3.10 virtual environment in .venv/
# with the pinned dependencies, the blank Indonesian spaCy pipeline, and the ticket database
# schema. Called by scripts/run.sh and scripts/test.sh; safe to run again at any time.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*" >&2; }

is_python310() {
  "$1" -c 'import sys; raise SystemExit(0 if sys.version_info[:2] == (3, 10) else 1)' >/dev/null 2>&1
}

find_python310() {
  local candidate
  for candidate in "${PYTHON:-}" python3.10; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 && is_python310 "$(command -v "$candidate")"; then
      command -v "$candidate"; return 0
    fi
  done
  local roots=()
  if command -v pyenv >/dev/null 2>&1; then roots+=("$(pyenv root)"); fi
  roots+=("${PYENV_ROOT:-$HOME/.pyenv}")
  for root in "${roots[@]}"; do
    for candidate in "$root"/versions/3.10.*/bin/python3.10; do
      if [ -x "$candidate" ] && is_python310 "$candidate"; then echo "$candidate"; return 0; fi
    done
  done
  for candidate in /usr/local/bin/python3.10 /usr/bin/python3.10; do
    if [ -x "$candidate" ] && is_python310 "$candidate"; then echo "$candidate"; return 0; fi
  done
  return 1
}

if [ ! -x .venv/bin/python ] || ! is_python310 .venv/bin/python; then
  if ! PY310="$(find_python310)"; then
    cat >&2 <<'MSG'
LayanWarga needs Python 3.10 (Rasa 3.6 does not run on Python 3.11 or newer), and none was found
on PATH or under pyenv. Install it, then run this command again, for example:
  pyenv install 3.10.13                                  (with pyenv)
  sudo apt-get install python3.10 python3.10-venv        (Debian/Ubuntu with python3.10 packages)
or point PYTHON at an existing interpreter:  PYTHON=/path/to/python3.10 bash scripts/setup.sh
MSG
    exit 1
  fi
  log "creating .venv with $PY310"
  rm -rf .venv
  "$PY310" -m venv .venv
fi

stamp=".venv/.layanwarga-requirements"
want="$(cat requirements.txt constraints.txt | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "installing pinned dependencies (first time: several minutes, about 2.7 GB)"
  .venv/bin/python -m pip install --quiet --upgrade "pip==24.2" wheel
  # pip byte-compiles each file as it unpacks it, on one core (about 36 s of CPU for 2.5 GB);
  # compileall after it uses every core.
  .venv/bin/python -m pip install --quiet --progress-bar off --no-compile -r requirements.txt -c constraints.txt
  .venv/bin/python -m compileall -q -j 0 .venv/lib/python3.10/site-packages
  # No longer pinned (requirements.txt says why); a venv from before still has it.
  if .venv/bin/python -m pip show --quiet jaxlib >/dev/null 2>&1; then
    .venv/bin/python -m pip uninstall --quiet --yes jaxlib
  fi
  echo "$want" > "$stamp"
fi

export SQLALCHEMY_SILENCE_UBER_WARNING=1 TF_CPP_MIN_LOG_LEVEL=2
mkdir -p var
.venv/bin/python -m nlu_components.spacy_model var/spacy-id
.venv/bin/python -m layanwarga.config >/dev/null
.venv/bin/python -m layanwarga.migrate
log "ready"
