// The pod sandbox's pause program, built here (no registry to pull registry.k8s.io/pause from): it holds the pod's
// namespaces, exits on SIGINT/SIGTERM and reaps orphans. scripts/build-node-bins.sh builds it into the pause image.
module eventfleet.local/cluster/pause

go 1.25.0
