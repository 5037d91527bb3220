#!/usr/bin/env bash
# Makes (once) a Python virtualenv with exactly the pinned packages of a requirements file and prints its python.
# The venv lives in .tools/python/<hash of the file and the interpreter>/, so a changed pin makes a new one and an
# unchanged one is reused (a few milliseconds). Packages come from PyPI through pip; nothing else is downloaded.
#   usage: scripts/python-venv.sh path/to/requirements.txt     (PYTHON=... picks the interpreter; default python3)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
requirements="$1"
python="${PYTHON:-python3}"
[[ -f "$requirements" ]] || { echo "python-venv: no requirements file $requirements" >&2; exit 2; }
command -v "$python" >/dev/null || { echo "python-venv: $python not found; install Python 3.9+ (scripts/system-deps.sh)" >&2; exit 2; }
version="$("$python" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')"
key="$( (cat "$requirements"; echo "$version") | sha256sum | cut -c1-12)"
venv="$root/.tools/python/$key"
if [[ ! -f "$venv/.complete" ]]; then
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  started=$(date +%s)
  echo "python-venv: installing $(grep -cv '^\s*#' "$requirements") pinned packages from $requirements into $venv" >&2
  "$python" -m venv "$venv" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input --require-virtualenv \
    -r "$requirements" >&2
  touch "$venv/.complete"
  echo "python-venv: ready in $(( $(date +%s) - started )) s" >&2
fi
echo "$venv/bin/python"
