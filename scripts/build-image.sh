#!/usr/bin/env bash
# Builds the eventfleet image (`make image`).
#   Here (default): buildah with chroot isolation and host networking, on a base image made locally
#   by scripts/make-base-image.sh, in private storage under .eventfleet/containers.
#   Elsewhere: IMAGE_BUILDER=docker uses `docker build` against the real node:24-bookworm-slim.
# Env: IMAGE (default localhost/eventfleet:latest; also tagged with the package version),
#      IMAGE_BUILDER (buildah|docker), PUSH=1 to push IMAGE after building (registry login is yours),
#      EVENTFLEET_CONTAINERS_DIR, STORAGE_DRIVER (overlay), NPM_CA (CA bundle for npm, build secret only).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$ROOT/node_modules/.bin:$PATH"
CDIR="${EVENTFLEET_CONTAINERS_DIR:-$ROOT/.eventfleet/containers}"
IMAGE="${IMAGE:-localhost/eventfleet:latest}"
BUILDER="${IMAGE_BUILDER:-buildah}"
NPM_CA="${NPM_CA:-/etc/ssl/certs/ca-certificates.crt}"
VERSION="$(node -p 'require("./package.json").version')"
REVISION="$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
IMAGE_VERSIONED="${IMAGE%:*}:$VERSION"

log() { printf 'build-image: %s\n' "$*" >&2; }
args=(--build-arg "VERSION=$VERSION" --build-arg "REVISION=$REVISION" --build-arg "CREATED=$CREATED"
  -t "$IMAGE" -t "$IMAGE_VERSIONED" -f Dockerfile)
[[ -s "$NPM_CA" ]] && args+=(--secret "id=npm-ca,src=$NPM_CA")

start=$SECONDS
if [[ "$BUILDER" == docker ]]; then
  DOCKER_BUILDKIT=1 docker build "${args[@]}" .
  size="$(docker image inspect --format '{{.Size}}' "$IMAGE")"
  [[ "${PUSH:-0}" == 1 ]] && docker push "$IMAGE" && docker push "$IMAGE_VERSIONED"
else
  bash "$ROOT/scripts/make-base-image.sh"
  export CONTAINERS_CONF="$CDIR/containers.conf"
  STORE=(--root "$CDIR/storage" --runroot "$CDIR/run" --storage-driver "${STORAGE_DRIVER:-overlay}")
  # chroot isolation: the default (crun/runc with cgroups) cannot run nested on this kind of host.
  buildah "${STORE[@]}" bud --isolation chroot --network host --pull=never --layers "${args[@]}" . >&2
  size="$(podman "${STORE[@]}" image inspect --format '{{.Size}}' "$IMAGE")"
  # Earlier builds' images, now untagged, would pile up in the private storage.
  podman "${STORE[@]}" image prune -f >/dev/null
  if [[ "${PUSH:-0}" == 1 ]]; then
    buildah "${STORE[@]}" push "$IMAGE" && buildah "${STORE[@]}" push "$IMAGE_VERSIONED"
  fi
fi
log "built $IMAGE ($IMAGE_VERSIONED) in $((SECONDS - start)) s, size $((size / 1000000)) MB"
