# Sourced by scripts/build-cluster-bins.sh and scripts/build-node-bins.sh: where the wrapper modules and the binary
# cache are, the Go check, the version a wrapper pins, and the Kubernetes version flags (ROOT and WHO set by the
# caller; WHO prefixes messages).
GO_DIR="$ROOT/dev/cluster/go"
BIN_CACHE="${EVENTFLEET_BIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/eventfleet/bin}"

command -v go >/dev/null || {
  echo "$WHO: go is not installed: the local cluster is built from Go modules (Go >= 1.25; apt-get install golang-go, or https://go.dev/dl)" >&2
  exit 1
}
mkdir -p "$BIN_CACHE"

# The version of <module> that the wrapper <dir> requires (from its go.mod).
module_version() {
  awk -v m="$2" '($1 == m) { print $2; exit } ($1 == "require" && $2 == m) { print $3; exit }' "$GO_DIR/$1/go.mod"
}

K8S_VERSION=$(module_version kubernetes k8s.io/kubernetes)
K8S_MINOR=$(echo "$K8S_VERSION" | cut -d. -f2)
# What `kubectl version` and Helm's .Capabilities.KubeVersion see (the upstream build sets the same variables).
K8S_LDFLAGS=""
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  K8S_LDFLAGS+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$K8S_MINOR -X $p.gitTreeState=clean"
done
