#!/usr/bin/env bash
# Builds the local cluster's NODE from upstream Go modules (through the Go module proxy, never release binaries) into
# the machine-wide binary cache, and prints KEY=path lines (what dev/cluster/node-binaries.ts reads):
#   kubelet                   k8s.io/kubernetes (the control plane's wrapper module, dev/cluster/go/kubernetes)
#   containerd, its runc shim containerd-shim-runc-v2, ctr     github.com/containerd/containerd/v2 (go/containerd)
#   CNI plugins bridge, host-local, loopback, portmap          github.com/containernetworking/plugins (go/cni)
#   the pause image (OCI archive of the Go program in go/pause, written here: there is no registry to pull from)
# runc itself is the system's (apt: scripts/system-deps.sh).
#
#   bash scripts/build-node-bins.sh
#
# A binary is named <component>-<version>-<go.mod+go.sum hash> (folders for the programs that must sit side by side
# under their own names: the shim beside containerd, the CNI plugins in one folder), so a second run takes a second.
# EVENTFLEET_BIN_CACHE moves the cache (shared with scripts/build-cluster-bins.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WHO=build-node-bins
# shellcheck source=scripts/go-wrappers.sh
. "$ROOT/scripts/go-wrappers.sh"

wrapper_hash() {
  (cd "$GO_DIR/$1" && cat go.mod $(find . -name go.sum -o -name '*.go' | sort)) | sha256sum | cut -c1-8
}

# build_into <folder> <wrapper dir> <CGO_ENABLED> <ldflags> <name>=<package>...: builds each package to
# <folder>/<name>, all or none (the folder appears only when every program in it is built).
build_into() {
  local folder=$1 dir=$2 cgo=$3 ldflags=$4
  shift 4
  [ -d "$folder" ] && return 0
  local started=$SECONDS tmp="$folder.tmp.$$"
  mkdir -p "$tmp"
  for spec in "$@"; do
    echo "build-node-bins: building ${spec%%=*} (${spec#*=}; the first build takes minutes)" >&2
    (cd "$GO_DIR/$dir" && CGO_ENABLED=$cgo nice -n 10 go build -trimpath -ldflags "-s -w $ldflags" -o "$tmp/${spec%%=*}" "${spec#*=}")
  done
  mv -T "$tmp" "$folder"
  echo "build-node-bins: built $(basename "$folder") in $((SECONDS - started)) s" >&2
}

K8S_DIR="$BIN_CACHE/node-kubernetes-$K8S_VERSION-$(wrapper_hash kubernetes)"
# With cgo, as upstream builds the kubelet (and as the control plane was built: Go's build cache is then shared).
build_into "$K8S_DIR" kubernetes 1 "$K8S_LDFLAGS" kubelet=k8s.io/kubernetes/cmd/kubelet
echo "KUBELET=$K8S_DIR/kubelet"

CONTAINERD_VERSION=$(module_version containerd github.com/containerd/containerd/v2)
CONTAINERD_DIR="$BIN_CACHE/containerd-$CONTAINERD_VERSION-$(wrapper_hash containerd)"
# Static (no cgo): containerd then leaves out the btrfs snapshotter, which needs C headers; it uses overlayfs here.
build_into "$CONTAINERD_DIR" containerd 0 \
  "-X github.com/containerd/containerd/v2/version.Version=$CONTAINERD_VERSION" \
  containerd=github.com/containerd/containerd/v2/cmd/containerd \
  containerd-shim-runc-v2=github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2 \
  ctr=github.com/containerd/containerd/v2/cmd/ctr
echo "CONTAINERD_DIR=$CONTAINERD_DIR"
echo "CONTAINERD_VERSION=$CONTAINERD_VERSION"

CNI_VERSION=$(module_version cni github.com/containernetworking/plugins)
CNI_DIR="$BIN_CACHE/cni-plugins-$CNI_VERSION-$(wrapper_hash cni)"
P=github.com/containernetworking/plugins/plugins
build_into "$CNI_DIR" cni 0 "" \
  bridge=$P/main/bridge host-local=$P/ipam/host-local loopback=$P/main/loopback portmap=$P/meta/portmap
echo "CNI_BIN_DIR=$CNI_DIR"

# The pause image: one static program in an OCI image archive (image layout in a tar), which `ctr images import`
# loads under the name in its io.containerd.image.name annotation. Written by hand so it needs no image tool.
PAUSE_HASH=$(wrapper_hash pause)
PAUSE_IMAGE="localhost/eventfleet-pause:$PAUSE_HASH"
PAUSE_DIR="$BIN_CACHE/pause-image-$PAUSE_HASH"
if [ ! -d "$PAUSE_DIR" ]; then
  tmp="$PAUSE_DIR.tmp.$$"
  mkdir -p "$tmp/rootfs" "$tmp/oci/blobs/sha256"
  (cd "$GO_DIR/pause" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$tmp/rootfs/pause" .)
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$tmp/rootfs" -cf "$tmp/layer.tar" pause
  blob() { # <file> → sha256 hex; the file lands in blobs/sha256
    local d
    d=$(sha256sum "$1" | cut -d' ' -f1)
    cp "$1" "$tmp/oci/blobs/sha256/$d"
    echo "$d"
  }
  layer=$(blob "$tmp/layer.tar")
  printf '{"architecture":"amd64","os":"linux","config":{"Entrypoint":["/pause"],"User":"65535:65535"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$layer" >"$tmp/config.json"
  config=$(blob "$tmp/config.json")
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%d}]}' \
    "$config" "$(stat -c %s "$tmp/config.json")" "$layer" "$(stat -c %s "$tmp/layer.tar")" >"$tmp/manifest.json"
  manifest=$(blob "$tmp/manifest.json")
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
    "$manifest" "$(stat -c %s "$tmp/manifest.json")" "$PAUSE_IMAGE" "$PAUSE_HASH" >"$tmp/oci/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$tmp/oci/oci-layout"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$tmp/oci" -cf "$tmp/pause.oci.tar" .
  rm -rf "$tmp/rootfs" "$tmp/oci" "$tmp/layer.tar" "$tmp/config.json" "$tmp/manifest.json"
  mv -T "$tmp" "$PAUSE_DIR"
fi
echo "PAUSE_IMAGE=$PAUSE_IMAGE"
echo "PAUSE_IMAGE_ARCHIVE=$PAUSE_DIR/pause.oci.tar"
