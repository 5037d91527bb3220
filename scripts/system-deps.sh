#!/usr/bin/env bash
# Makes sure the apt packages eventfleet needs are installed, by purpose:
#   system-deps.sh stack   what `make dev` runs on (redis-server): nothing else, so a newcomer is not stopped by
#                          image tooling they do not use yet
#   system-deps.sh all     the stack's, plus what the tests and the image build use (default; CI and `make test`)
# Idempotent and quiet when everything is present. As root it installs what is missing (running
# `apt-get update` only then); otherwise, or with --check, it prints the exact command to run and exits non-zero.
set -euo pipefail

group=all
check_only=0
for arg in "$@"; do
  case "$arg" in
    stack | all) group="$arg" ;;
    --check) check_only=1 ;;
    *)
      echo "usage: system-deps.sh [stack|all] [--check]" >&2
      exit 2
      ;;
  esac
done

# package -> a command it provides (what we actually check for)
declare -A PROVIDES=(
  [redis-server]=redis-server
  [redis-tools]=redis-cli
  [prometheus]=promtool
  [yamllint]=yamllint
  [buildah]=buildah
  [podman]=podman
  [runc]=runc
  [debootstrap]=debootstrap
  [unzip]=unzip
  [openssl]=openssl
  [iproute2]=ip
)
# package -> a Python module it provides to Debian's python3 (the Event Hubs emulator's conformance clients)
declare -A PYTHON_MODULES=(
  [python3-qpid-proton]=proton
  [python3-venv]=ensurepip
)
STACK=(redis-server)
# redis-tools: redis-cli, which joins and reshards the tests' Redis Cluster (test/support/redis-cluster.ts);
# promtool and yamllint: chart and rule tests; buildah, podman, runc, debootstrap: `make image`; unzip: helm;
# openssl: the local cluster's certificates (dev/cluster/pki.ts); runc and iproute2: its node's containers and pod
# network (dev/cluster/node.ts); python3-qpid-proton and python3-venv: the Event Hubs conformance clients
# (dev/eventhubs-emulator/conformance).
TEST_AND_IMAGE=(redis-tools prometheus yamllint buildah podman runc debootstrap unzip openssl iproute2 python3-qpid-proton python3-venv)
ORDER=("${STACK[@]}")
[[ $group == all ]] && ORDER+=("${TEST_AND_IMAGE[@]}")

missing=()
for pkg in "${ORDER[@]}"; do
  if [[ -n "${PYTHON_MODULES[$pkg]:-}" ]]; then
    /usr/bin/python3 -c "import ${PYTHON_MODULES[$pkg]}" >/dev/null 2>&1 || missing+=("$pkg")
    continue
  fi
  cmd="${PROVIDES[$pkg]}"
  # runc and debootstrap live in sbin, which a non-root PATH may not include.
  if ! PATH="$PATH:/usr/sbin:/sbin" command -v "$cmd" >/dev/null 2>&1; then
    missing+=("$pkg")
  fi
done

[[ ${#missing[@]} -eq 0 ]] && exit 0

install_cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [[ $EUID -ne 0 || $check_only -eq 1 ]]; then
  echo "system-deps: missing apt packages ($group): ${missing[*]}" >&2
  echo "system-deps: run as root:  apt-get update && $install_cmd" >&2
  exit 1
fi

echo "system-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "system-deps: installed ${missing[*]}" >&2
