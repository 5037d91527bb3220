#!/usr/bin/env bash
# Builds the Node 24 base image locally (debootstrap + the node binary from npm) because no container
# registry is reachable here; it is tagged with the name the Dockerfile's FROM uses, so the same
# Dockerfile builds unchanged against the real docker.io/library/node:24-bookworm-slim elsewhere.
#
# Usage: scripts/make-base-image.sh [--force]
# Env:   EVENTFLEET_CONTAINERS_DIR  private podman/buildah storage (default .eventfleet/containers)
#        BASE_IMAGE                 tag to produce (default docker.io/library/node:24-bookworm-slim)
#        DEBIAN_MIRROR              Debian mirror (default: the first one apt uses)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CDIR="${EVENTFLEET_CONTAINERS_DIR:-$ROOT/.eventfleet/containers}"
BASE_IMAGE="${BASE_IMAGE:-docker.io/library/node:24-bookworm-slim}"
NODE_BIN="$ROOT/node_modules/node/bin/node"
NPM_DIR="${NPM_DIR:-$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")}"
FORCE=0
[[ "${1:-}" == "--force" ]] && FORCE=1

log() { printf 'make-base-image: %s\n' "$*" >&2; }

[[ -x "$NODE_BIN" ]] || { log "$NODE_BIN missing: run 'make install' first"; exit 1; }
[[ -f "$NPM_DIR/bin/npm-cli.js" ]] || { log "npm not found at $NPM_DIR (set NPM_DIR)"; exit 1; }
NODE_VERSION="$("$NODE_BIN" --version)"
NPM_VERSION="$(node -p "require('$NPM_DIR/package.json').version")"

# Shared by every script and test that touches images: private storage, runc, raised ulimits.
mkdir -p "$CDIR/storage" "$CDIR/run" "$CDIR/cache"
cat >"$CDIR/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
CONF
export CONTAINERS_CONF="$CDIR/containers.conf"
PODMAN=(podman --root "$CDIR/storage" --runroot "$CDIR/run" --storage-driver "${STORAGE_DRIVER:-overlay}")

stamp="node=$NODE_VERSION npm=$NPM_VERSION"
if [[ $FORCE == 0 ]] && "${PODMAN[@]}" image exists "$BASE_IMAGE" \
  && [[ "$("${PODMAN[@]}" image inspect --format '{{ index .Labels "org.eventfleet.base" }}' "$BASE_IMAGE")" == "$stamp" ]]; then
  log "$BASE_IMAGE ($stamp) already present"
  exit 0
fi

# The debootstrap tree is the slow part (~1.5 min): cache it as a tarball, keyed by suite.
rootfs_tar="$CDIR/cache/bookworm-minbase.tar"
if [[ $FORCE == 1 || ! -s "$rootfs_tar" ]]; then
  mirror="${DEBIAN_MIRROR:-$(grep -hsE '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources \
    /etc/apt/sources.list.d/*.list | grep -v security | grep -oE 'https?://[^ ]+/debian' | head -n1 || true)}"
  mirror="${mirror:-http://deb.debian.org/debian}"
  [[ $EUID == 0 ]] || { log "debootstrap needs root"; exit 1; }
  tree="$(mktemp -d "$CDIR/cache/rootfs.XXXXXX")"
  trap 'rm -rf "$tree"' EXIT
  log "debootstrap minbase bookworm from $mirror (about 1.5 minutes, cached afterwards)"
  debootstrap --variant=minbase bookworm "$tree" "$mirror" >"$CDIR/cache/debootstrap.log" 2>&1 \
    || { log "debootstrap failed, see $CDIR/cache/debootstrap.log"; exit 1; }
  # Slim it down like the official -slim images: no apt lists, docs, man pages or caches.
  rm -rf "$tree"/var/lib/apt/lists/* "$tree"/var/cache/apt/* "$tree"/usr/share/doc/* "$tree"/usr/share/man/* \
    "$tree"/usr/share/info/* "$tree"/var/log/*.log "$tree"/var/cache/debconf/*-old
  tar --numeric-owner -C "$tree" -cf "$rootfs_tar.tmp" .
  mv "$rootfs_tar.tmp" "$rootfs_tar"
  rm -rf "$tree"
  trap - EXIT
fi

# Node and npm laid out as in the official image: /usr/local/bin/node, /usr/local/lib/node_modules/npm.
overlay="$(mktemp -d "$CDIR/cache/overlay.XXXXXX")"
trap 'rm -rf "$overlay"' EXIT
mkdir -p "$overlay/usr/local/bin" "$overlay/usr/local/lib/node_modules"
cp "$NODE_BIN" "$overlay/usr/local/bin/node"
cp -a "$NPM_DIR" "$overlay/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$overlay/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$overlay/usr/local/bin/npx"

log "importing $BASE_IMAGE ($stamp)"
{
  cat "$rootfs_tar"
} | "${PODMAN[@]}" import --quiet \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=${NODE_VERSION#v}" \
  --change 'CMD ["node"]' \
  - "localhost/eventfleet-base-rootfs:bookworm" >/dev/null

# Second layer with node + npm, labelled so a later run knows it is current.
ctr="$(buildah --root "$CDIR/storage" --runroot "$CDIR/run" --storage-driver "${STORAGE_DRIVER:-overlay}" \
  from --pull=never localhost/eventfleet-base-rootfs:bookworm)"
BUILDAH=(buildah --root "$CDIR/storage" --runroot "$CDIR/run" --storage-driver "${STORAGE_DRIVER:-overlay}")
"${BUILDAH[@]}" copy "$ctr" "$overlay/" / >/dev/null
"${BUILDAH[@]}" config --label "org.eventfleet.base=$stamp" --env "NODE_VERSION=${NODE_VERSION#v}" \
  --cmd '["node"]' "$ctr"
"${BUILDAH[@]}" commit --quiet --rm "$ctr" "$BASE_IMAGE" >/dev/null
"${PODMAN[@]}" rmi localhost/eventfleet-base-rootfs:bookworm >/dev/null 2>&1 || true
log "$BASE_IMAGE ready: $("${PODMAN[@]}" run --rm --network host "$BASE_IMAGE" node --version)"
