#!/usr/bin/env bash
# otelcol.sh — build (or take from the cache) cq-otelcol, a minimal OpenTelemetry Collector
# (scripts/otelcol/main.go: the OTLP receiver and the file exporter, collector v0.161.0) from
# the Go module proxy, for the tracing test (tests/integration/test_tracing.sh).
#
#   scripts/otelcol.sh          prints the path of the binary
#
# Cached in $CQ_OTELCOL_CACHE (default /var/cache/cqrs-ordering/otelcol) under a key made of
# go.mod, go.sum, main.go and the Go version: a second run builds nothing. Cold (module
# downloads included) it took about 6 minutes on the 2-core VM; Go's own module and build
# caches make a rebuild much faster.
# Env: CQ_OTELCOL_CACHE, CQ_OTELCOL_REBUILD=1 (ignore the cache), GOCACHE/GOMODCACHE (Go's own).
set -euo pipefail
case "${1:-}" in -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
here=$(cd "$(dirname "$0")/otelcol" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${CQ_OTELCOL_CACHE:-/var/cache/cqrs-ordering/otelcol}
say() { printf 'otelcol: %s\n' "$*" >&2; }
command -v go >/dev/null || { [ -x /usr/local/go/bin/go ] && export PATH=/usr/local/go/bin:$PATH; }
[ -x "$root/.stack/go/bin/go" ] && export PATH=$root/.stack/go/bin:$PATH
command -v go >/dev/null || { say "error: no Go toolchain (scripts/setup.sh installs one)"; exit 1; }
export GOFLAGS=-modcacherw CGO_ENABLED=0 GOTOOLCHAIN=local
key=$( { go env GOVERSION; cat "$here/go.mod" "$here/go.sum" "$here/main.go"; } | sha256sum | cut -c1-16)
bin=$cache/cq-otelcol-$key
if [ "${CQ_OTELCOL_REBUILD:-0}" = 1 ] || [ ! -x "$bin" ]; then
  mkdir -p "$cache"
  t0=$(date +%s)
  say "building cq-otelcol with $(go env GOVERSION) (the first build downloads the collector's modules)"
  (cd "$here" && nice -n 10 go build -trimpath -ldflags "-s -w" -o "$bin.tmp.$$" .)
  mv "$bin.tmp.$$" "$bin"
  say "built in $(( $(date +%s) - t0 )) s: $bin"
fi
echo "$bin"
