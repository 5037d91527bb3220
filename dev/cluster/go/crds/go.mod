// Pins the Prometheus Operator module whose example/prometheus-operator-crd/ files are the CRDs the local cluster
// installs (ServiceMonitor, PodMonitor, PrometheusRule...). Only downloaded, never built: see scripts/build-cluster-bins.sh.
module eventfleet.local/cluster/crds

go 1.24

require github.com/prometheus-operator/prometheus-operator v0.85.0
