#!/usr/bin/env bash
# Builds (once) the Go program in a module directory and prints the binary's path.
# The binary is .tools/go/<name>-<hash of go.mod, go.sum and the sources>, so an unchanged module is reused without
# running go at all; a changed one rebuilds with the machine-wide module and build caches (GOMODCACHE, GOCACHE).
# Modules come from the Go module proxy, pinned by go.sum.
#   usage: scripts/go-build.sh path/to/module name
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
module="$1"
name="$2"
[[ -f "$module/go.mod" ]] || { echo "go-build: no go.mod in $module" >&2; exit 2; }
command -v go >/dev/null || { echo "go-build: the go toolchain is not on PATH (install Go 1.24+)" >&2; exit 2; }
key="$( (cd "$module" && cat go.mod go.sum $(find . -name '*.go' | sort) && go env GOVERSION) | sha256sum | cut -c1-12)"
binary="$root/.tools/go/$name-$key"
if [[ ! -x "$binary" ]]; then
  mkdir -p "$(dirname "$binary")"
  started=$(date +%s)
  echo "go-build: building $module (first time for this version: modules download, packages compile)" >&2
  # -trimpath as in build-cluster-bins.sh and build-jaeger.sh: the flag is part of every package's build-cache key,
  # so without it a fresh machine compiles the standard library (and any shared module) a second time.
  (cd "$module" && nice -n 10 go build -mod=readonly -trimpath -o "$binary.tmp" .) >&2
  mv "$binary.tmp" "$binary"
  echo "go-build: ready in $(( $(date +%s) - started )) s" >&2
fi
echo "$binary"
