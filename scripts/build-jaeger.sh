#!/usr/bin/env bash
# Builds Jaeger (github.com/jaegertracing/jaeger/cmd/jaeger, the all-in-one with in-memory storage) from its Go module
# through the Go module proxy, never a release binary, into a machine-wide cache, and prints JAEGER=<path>.
#
#   bash scripts/build-jaeger.sh
#
# The wrapper module dev/jaeger/go pins the version (its go.mod/go.sum); the binary is named
# jaeger-<version>-<go.sum hash>, so a second run finds it at once. The first build takes minutes (measured here:
# about 5 min to download the modules and 6-10 min to compile on 2 loaded cores). Go's build and module caches are
# its defaults, shared by every checkout on the machine. EVENTFLEET_BIN_CACHE moves the binary cache.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
GO_DIR="$ROOT/dev/jaeger/go"
BIN_CACHE="${EVENTFLEET_BIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/eventfleet/bin}"
PKG=github.com/jaegertracing/jaeger/cmd/jaeger

command -v go >/dev/null || {
  echo "build-jaeger: go is not installed: Jaeger is built from its Go module (Go >= 1.25; apt-get install golang-go, or https://go.dev/dl)" >&2
  exit 1
}
mkdir -p "$BIN_CACHE"
VERSION=$(awk '($1 == "github.com/jaegertracing/jaeger") { print $2; exit }' "$GO_DIR/go.mod")
HASH=$(cat "$GO_DIR/go.mod" "$GO_DIR/go.sum" | sha256sum | cut -c1-8)
OUT="$BIN_CACHE/jaeger-$VERSION-$HASH"

# Two checkouts (or a test run and `make dev`) may ask at once: one builds, the other waits for it.
exec 9>"$OUT.lock"
flock 9
if [ ! -x "$OUT" ]; then
  started=$SECONDS
  echo "build-jaeger: building Jaeger $VERSION ($PKG; the first build takes minutes)" >&2
  (cd "$GO_DIR" && nice -n 10 go build -trimpath -ldflags "-s -w" -o "$OUT.tmp.$$" "$PKG")
  mv -f "$OUT.tmp.$$" "$OUT"
  echo "build-jaeger: built Jaeger in $((SECONDS - started)) s" >&2
fi
echo "JAEGER=$OUT"
