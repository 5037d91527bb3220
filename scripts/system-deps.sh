#!/usr/bin/env bash
# Makes sure the apt packages eventfleet's stack, tests and image build need are installed.
# Idempotent and quiet when everything is present. As root it installs what is missing (running
# `apt-get update` only then); otherwise it prints the exact command to run and exits non-zero.
set -euo pipefail

# package -> a command it provides (what we actually check for)
declare -A PROVIDES=(
  [redis-server]=redis-server
  [prometheus]=promtool
  [yamllint]=yamllint
  [buildah]=buildah
  [podman]=podman
  [runc]=runc
  [debootstrap]=debootstrap
  [unzip]=unzip
)
ORDER=(redis-server prometheus yamllint buildah podman runc debootstrap unzip)

missing=()
for pkg in "${ORDER[@]}"; do
  cmd="${PROVIDES[$pkg]}"
  # runc and debootstrap live in sbin, which a non-root PATH may not include.
  if ! PATH="$PATH:/usr/sbin:/sbin" command -v "$cmd" >/dev/null 2>&1; then
    missing+=("$pkg")
  fi
done

[[ ${#missing[@]} -eq 0 ]] && exit 0

install_cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [[ $EUID -ne 0 ]]; then
  echo "system-deps: missing apt packages: ${missing[*]}" >&2
  echo "system-deps: run as root:  apt-get update && $install_cmd" >&2
  exit 1
fi

echo "system-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "system-deps: installed ${missing[*]}" >&2
