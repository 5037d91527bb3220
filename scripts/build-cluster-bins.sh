#!/usr/bin/env bash
# Builds the local cluster's programs from their upstream Go modules (through the Go module proxy, never release
# binaries) into a machine-wide cache, and prints where each one is as KEY=path lines (what dev/cluster reads).
#
#   bash scripts/build-cluster-bins.sh            # control plane + KEDA (etcd, kube-*, keda-*) and the CRD folders
# (The node — kubelet, containerd, CNI plugins, pause image — is scripts/build-node-bins.sh.)
#
# The wrapper modules under dev/cluster/go/ pin the versions (their go.mod/go.sum); a binary is named
# <component>-<version>-<go.sum hash>, so a second run finds it and takes a second or two. The Go build and module
# caches are Go's defaults (shared by every checkout on the machine). EVENTFLEET_BIN_CACHE moves the binary cache.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
for arg in "$@"; do
  echo "build-cluster-bins: unknown argument $arg (the node's programs: scripts/build-node-bins.sh)" >&2
  exit 2
done
WHO=build-cluster-bins
# shellcheck source=scripts/go-wrappers.sh
. "$ROOT/scripts/go-wrappers.sh"

# build <KEY> <wrapper dir> <output name> <package> <version> [ldflags]: prints KEY=path, building when absent.
build() {
  local key=$1 dir=$2 name=$3 pkg=$4 version=$5 ldflags=${6:-}
  local hash out
  hash=$(cat "$GO_DIR/$dir/go.mod" "$GO_DIR/$dir/go.sum" | sha256sum | cut -c1-8)
  out="$BIN_CACHE/$name-$version-$hash"
  if [ ! -x "$out" ]; then
    local started=$SECONDS
    echo "build-cluster-bins: building $name $version ($pkg; the first build takes minutes)" >&2
    (cd "$GO_DIR/$dir" && nice -n 10 go build -trimpath -ldflags "-s -w $ldflags" -o "$out.tmp.$$" "$pkg")
    mv -f "$out.tmp.$$" "$out"
    echo "build-cluster-bins: built $name in $((SECONDS - started)) s" >&2
  fi
  echo "$key=$out"
}

ETCD_VERSION=$(module_version etcd go.etcd.io/etcd/server/v3)
KEDA_VERSION=$(module_version keda github.com/kedacore/keda/v2)
KEDA_LDFLAGS="-X github.com/kedacore/keda/v2/version.Version=${KEDA_VERSION#v}"

build ETCD etcd etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION"
for c in kube-apiserver kube-controller-manager kube-scheduler; do
  build "$(echo "$c" | tr a-z- A-Z_)" kubernetes "$c" "k8s.io/kubernetes/cmd/$c" "$K8S_VERSION" "$K8S_LDFLAGS"
done
build KEDA_OPERATOR keda keda-operator github.com/kedacore/keda/v2/cmd/operator "$KEDA_VERSION" "$KEDA_LDFLAGS"
build KEDA_METRICS_APISERVER keda keda-metrics-apiserver github.com/kedacore/keda/v2/cmd/adapter "$KEDA_VERSION" "$KEDA_LDFLAGS"

# The CRDs come from the modules' own files: KEDA's config/crd/bases, the Prometheus Operator's example CRDs.
KEDA_DIR=$(cd "$GO_DIR/keda" && go list -m -f '{{.Dir}}' github.com/kedacore/keda/v2)
echo "KEDA_CRDS=$KEDA_DIR/config/crd/bases"
PROM_OP=github.com/prometheus-operator/prometheus-operator@$(module_version crds github.com/prometheus-operator/prometheus-operator)
PROM_DIR=$(cd "$GO_DIR/crds" && go mod download -json "$PROM_OP" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')
echo "PROMETHEUS_OPERATOR_CRDS=$PROM_DIR/example/prometheus-operator-crd"
echo "KUBERNETES_VERSION=$K8S_VERSION"
echo "KEDA_VERSION=$KEDA_VERSION"
