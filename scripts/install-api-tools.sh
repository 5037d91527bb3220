#!/usr/bin/env bash
# Installs the API contract tools into .tools/: schemathesis (PyPI, in a venv) and the Redocly OpenAPI linter (npm).
# Versions are pinned here; idempotent: does nothing when both are already there at those versions.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="${TOOLS_DIR:-$ROOT/.tools}"
SCHEMATHESIS_VERSION="4.32.5"
REDOCLY_VERSION="2.77.0"

VENV="$TOOLS/schemathesis"
if ! "$VENV/bin/st" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  command -v python3 >/dev/null || { echo "install-api-tools: python3 missing: run 'make system-deps'" >&2; exit 1; }
  rm -rf "$VENV"
  if ! python3 -m venv "$VENV" 2>/dev/null; then
    # Debian's python3 keeps venv (ensurepip) in a package of its own.
    if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null; then
      apt-get update -qq && apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
      rm -rf "$VENV"
      python3 -m venv "$VENV"
    else
      echo "install-api-tools: python3 -m venv failed: as root run  apt-get install python3-venv" >&2
      exit 1
    fi
  fi
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
  echo "install-api-tools: $("$VENV/bin/st" --version) at $VENV/bin/st"
fi

REDOCLY="$TOOLS/redocly"
if [[ "$(cat "$REDOCLY/.version" 2>/dev/null)" != "$REDOCLY_VERSION" ]]; then
  # npm from the project's Node 24 (node_modules/.bin/node), the one `make install` set up.
  export PATH="$ROOT/node_modules/.bin:$ROOT/.tools/bootstrap-node/node_modules/.bin:$PATH"
  rm -rf "$REDOCLY"
  mkdir -p "$REDOCLY"
  npm install --no-save --no-package-lock --no-audit --no-fund --loglevel=error --prefix "$REDOCLY" \
    "@redocly/cli@$REDOCLY_VERSION"
  echo "$REDOCLY_VERSION" >"$REDOCLY/.version"
  echo "install-api-tools: @redocly/cli $REDOCLY_VERSION at $REDOCLY/node_modules/.bin/redocly"
fi
