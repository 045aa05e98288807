#!/usr/bin/env bash
# crds.sh — the CustomResourceDefinitions the chart's observability kit needs on the test
# cluster (tests/k8s/test_k8s.sh), taken from the Go module proxy with `go mod download` (the
# module zips carry the projects' CRD manifests; nothing is built):
#
#   monitoring.coreos.com  ServiceMonitor, PodMonitor, PrometheusRule
#                          (github.com/prometheus-operator/prometheus-operator v0.85.0,
#                          example/prometheus-operator-crd/)
#   gateway.networking.k8s.io  GatewayClass, Gateway, HTTPRoute (standard channel)
#                          (sigs.k8s.io/gateway-api v1.6.3, config/crd/standard/)
#
#   scripts/k8s/crds.sh     prints the directory holding the CRD files (one per kind)
#
# Each module's checksum is pinned below (go.sum's h1: form): a download that does not match
# is refused. Cached in $CQ_CRDS_CACHE (default /var/cache/cqrs-ordering/crds) in a directory
# named after both versions: a second run downloads nothing and needs no Go. Apply them with
# `kubectl apply --server-side` (the larger ones exceed client-side apply's annotation limit).
# Env: CQ_CRDS_CACHE, GOMODCACHE (Go's own module cache).
set -euo pipefail
case "${1:-}" in -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
root=$(cd "$(dirname "$0")/../.." && pwd)
cache=${CQ_CRDS_CACHE:-/var/cache/cqrs-ordering/crds}

PROMOP_MODULE=github.com/prometheus-operator/prometheus-operator
PROMOP_VERSION=v0.85.0
PROMOP_SUM=h1:M5xLCLEoaW2IJfnuCwFzzpL+jSVQu3KGT84Pye+fW8s=
PROMOP_FILES=(example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml
              example/prometheus-operator-crd/monitoring.coreos.com_podmonitors.yaml
              example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml)
GATEWAY_MODULE=sigs.k8s.io/gateway-api
GATEWAY_VERSION=v1.6.3
GATEWAY_SUM=h1:lKpJa5bGlraC/QeACvCpsHLdmO6y0iKfzVl6gzaFEYc=
GATEWAY_FILES=(config/crd/standard/gateway.networking.k8s.io_gatewayclasses.yaml
               config/crd/standard/gateway.networking.k8s.io_gateways.yaml
               config/crd/standard/gateway.networking.k8s.io_httproutes.yaml)

say() { printf 'crds: %s\n' "$*" >&2; }
dir=$cache/prometheus-operator-$PROMOP_VERSION-gateway-api-$GATEWAY_VERSION
want=$((${#PROMOP_FILES[@]} + ${#GATEWAY_FILES[@]}))
if [ "$(find "$dir" -maxdepth 1 -name '*.yaml' 2>/dev/null | wc -l)" = "$want" ]; then
  echo "$dir"; exit 0
fi

command -v go >/dev/null || { [ -x /usr/local/go/bin/go ] && export PATH=/usr/local/go/bin:$PATH; }
[ -x "$root/.stack/go/bin/go" ] && export PATH=$root/.stack/go/bin:$PATH
command -v go >/dev/null || { say "error: no Go toolchain (scripts/setup.sh installs one)"; exit 1; }
command -v jq >/dev/null || { say "error: jq is needed"; exit 1; }
export GOFLAGS=-modcacherw GOTOOLCHAIN=local

mkdir -p "$cache"
tmp=$(mktemp -d "$cache/.fetch-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# fetch MODULE VERSION SUM FILES...: the module's zip into Go's module cache (outside any
# module: run from the empty $tmp), its checksum compared with SUM, FILES copied to $tmp
fetch() {
  local module=$1 version=$2 sum=$3 json got src f; shift 3
  json=$(cd "$tmp" && go mod download -json "$module@$version") ||
    { say "error: go mod download $module@$version: $(jq -r '.Error // empty' <<<"$json" 2>/dev/null)"; exit 1; }
  got=$(jq -r .Sum <<<"$json"); src=$(jq -r .Dir <<<"$json")
  [ "$got" = "$sum" ] || { say "error: $module@$version has checksum $got, want $sum"; exit 1; }
  for f in "$@"; do
    [ -f "$src/$f" ] || { say "error: $module@$version has no $f"; exit 1; }
    install -m 0644 "$src/$f" "$tmp/"
  done
  say "$module@$version: $# CRDs"
}
fetch "$PROMOP_MODULE" "$PROMOP_VERSION" "$PROMOP_SUM" "${PROMOP_FILES[@]}"
fetch "$GATEWAY_MODULE" "$GATEWAY_VERSION" "$GATEWAY_SUM" "${GATEWAY_FILES[@]}"
rm -rf "$dir"
mv "$tmp" "$dir"
chmod 0755 "$dir"
trap - EXIT
echo "$dir"
