#!/usr/bin/env bash
# Set up and run LayanWarga on the embedded defaults: SQLite ticket and tracker databases, the
# in-memory lock store, and the local WhatsApp simulator instead of Meta's Graph API.
# Trains first when data, domain, config or the NLU components changed. Ctrl-C stops everything.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh

# Quiet start-up: TensorFlow's C++ logs, SQLAlchemy 1.4's 2.0 notice, training progress bars.
export SQLALCHEMY_SILENCE_UBER_WARNING=1 TF_CPP_MIN_LOG_LEVEL=2 TQDM_DISABLE=1
source scripts/defaults.env

RASA_PORT="${RASA_PORT:-5005}"
ACTIONS_PORT="${ACTIONS_PORT:-5055}"
mkdir -p var/log

# The service catalogue's starting set (README "Service catalogue"): idempotent, and a service an
# office edited in the dashboard is never overwritten, so the embedded defaults answer service
# questions from the first run.
.venv/bin/python -m layanwarga.services import catalogue/layanan.yml

# Trains only when the model in models/ was not trained from the current data, domain, config
# and components (a fingerprint inside the model); output in var/log/train.log.
.venv/bin/python scripts/train_if_needed.py

pids=()
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

# The WhatsApp simulator stands in for Meta unless WHATSAPP_API_BASE points elsewhere.
SIMULATOR_URL=""
if [[ "$WHATSAPP_API_BASE" == "http://localhost:$SIMULATOR_PORT" || "$WHATSAPP_API_BASE" == "http://127.0.0.1:$SIMULATOR_PORT" ]]; then
  SIMULATOR_URL="http://localhost:$SIMULATOR_PORT/"
  .venv/bin/python -m simulator > var/log/simulator.log 2>&1 &
  pids+=($!)
fi
.venv/bin/rasa run actions --actions actions --port "$ACTIONS_PORT" > var/log/actions.log 2>&1 &
pids+=($!)
# The first admin of the staff dashboard, created once; its password is kept in var/ for this
# local installation only.
if [[ ! -s var/dashboard-admin.txt ]]; then
  admin_password="$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(12))')"
  if DASHBOARD_ADMIN_PASSWORD="$admin_password" .venv/bin/python -m dashboard create-admin \
      --username admin --name "Admin Kelurahan" --if-missing > var/log/create-admin.log 2>&1 \
      && grep -qi "dibuat\|created" var/log/create-admin.log; then
    (umask 077; echo "admin / $admin_password" > var/dashboard-admin.txt)
  fi
fi
.venv/bin/python -m dashboard > var/log/dashboard.log 2>&1 &
pids+=($!)
.venv/bin/python -m layanwarga.notifier > var/log/notifier.log 2>&1 &
pids+=($!)
.venv/bin/python -m layanwarga.broadcast > var/log/broadcast.log 2>&1 & pids+=($!)  # announcements to subscribers
# `rasa run` with the project's performance patches switched on (rasa_extensions/patches.py).
.venv/bin/python -m rasa_extensions run --model models/layanwarga.tar.gz --credentials credentials.yml --endpoints endpoints.yml \
  --port "$RASA_PORT" > var/log/rasa.log 2>&1 &
pids+=($!)

printf 'Waiting for the assistant to load'
until curl -fs "http://localhost:$RASA_PORT/" >/dev/null 2>&1; do
  for pid in "${pids[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo; echo "A process stopped during start-up; see var/log/ (rasa, actions, simulator, dashboard, notifier)" >&2
      exit 1
    fi
  done
  printf '.'; sleep 2
done
echo
cat <<MSG

LayanWarga is running.
MSG
if [[ -n "$SIMULATOR_URL" ]]; then
  echo "  Chat (simulated WhatsApp, open in a browser)   $SIMULATOR_URL"
fi
cat <<MSG
  Staff dashboard    http://localhost:$DASHBOARD_PORT/   (login: $(cat var/dashboard-admin.txt 2>/dev/null || echo 'see var/log/create-admin.log'))
  WhatsApp webhook   http://localhost:$RASA_PORT/webhooks/whatsapp/webhook
  Action server      http://localhost:$ACTIONS_PORT/health
  Logs               var/log/
Press Ctrl-C to stop.
MSG
wait -n "${pids[@]}"
