#!/usr/bin/env bash
# build.sh — build (or take from the cache) the test cluster's Go programs from the Go module
# proxy: `kube` (the multi-call binary of scripts/k8s/kube: kube-apiserver, controller-manager,
# scheduler, kubelet, kube-proxy, kubectl; Kubernetes v1.34.4), `coredns` (scripts/k8s/coredns)
# and `kube-router` (scripts/k8s/kube-router: v2.1.0, of which the cluster runs only the
# network-policy controller).
#
#   scripts/k8s/build.sh [OUT_DIR]     prints the directory holding kube and coredns (and copies
#                                      kube-router to OUT_DIR too)
#
# The binaries are cached in $CQ_K8S_CACHE (default /var/cache/cqrs-ordering/k8s) under a key
# made of both modules' go.mod, go.sum and *.go, the Kubernetes version, the build flags and
# the Go version (kube-router has a key of its own, from its module, in kube-router-<key>/):
# a second run with the same key copies nothing and builds nothing. The cache
# is never required: a missing or stale one means a build (measured cold, module downloads
# included, on 2 cores: 11 min — kube 535 s, coredns 122 s; Go's own build and module caches
# make a rebuild after an edit much faster; kube-router cold: 3.7 min of CPU, 18 min on 2 cores
# busy with an image build, 10 s from a warm Go build cache). With OUT_DIR the binaries are
# also copied there.
# Env: CQ_K8S_CACHE, CQ_K8S_REBUILD=1 (ignore the cache), GOCACHE/GOMODCACHE (Go's own).
set -euo pipefail
case "${1:-}" in -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
here=$(cd "$(dirname "$0")" && pwd)
cache=${CQ_K8S_CACHE:-/var/cache/cqrs-ordering/k8s}
K8S_VERSION=v1.34.4

say() { printf 'k8s-build: %s\n' "$*" >&2; }
command -v go >/dev/null || { [ -x /usr/local/go/bin/go ] && export PATH=/usr/local/go/bin:$PATH; }
# scripts/setup.sh keeps a Go toolchain in .stack/go when the machine has none recent enough
root=$(cd "$here/../.." && pwd)
[ -x "$root/.stack/go/bin/go" ] && export PATH=$root/.stack/go/bin:$PATH
command -v go >/dev/null || { say "error: no Go toolchain (Go >= 1.25 needed)"; exit 1; }

export GOFLAGS=-modcacherw CGO_ENABLED=0 GOTOOLCHAIN=local
v=$K8S_VERSION; minor=${v#v1.}; minor=${minor%%.*}
ver=""
for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
  ver="$ver -X $pkg.gitVersion=$v -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ver="$ver -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done
key=$( { go env GOVERSION; echo "$K8S_VERSION $GOFLAGS $CGO_ENABLED -trimpath -s -w$ver"
         for m in kube coredns; do cat "$here/$m/go.mod" "$here/$m/go.sum" "$here/$m"/*.go; done; } \
      | sha256sum | cut -c1-16)
dir=$cache/bin-$key
if [ "${CQ_K8S_REBUILD:-0}" != 1 ] && [ -x "$dir/kube" ] && [ -x "$dir/coredns" ]; then
  say "cached: $dir (key $key)"
else
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/.build-XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  t0=$(date +%s)
  say "building kube ($K8S_VERSION: apiserver, controller-manager, scheduler, kubelet, kube-proxy, kubectl) with $(go env GOVERSION)"
  (cd "$here/kube" && go build -trimpath -ldflags "-s -w$ver" -o "$tmp/kube" .)
  t1=$(date +%s)
  say "kube built in $((t1 - t0)) s ($(du -m "$tmp/kube" | cut -f1) MB)"
  (cd "$here/coredns" && go build -trimpath -ldflags "-s -w" -o "$tmp/coredns" .)
  t2=$(date +%s)
  say "coredns built in $((t2 - t1)) s ($(du -m "$tmp/coredns" | cut -f1) MB)"
  rm -rf "$dir"
  mv "$tmp" "$dir"
  trap - EXIT
  # older keys: keep the two newest
  ls -1dt "$cache"/bin-* 2>/dev/null | tail -n +3 | xargs -r rm -rf
fi
# kube-router: its own key, so adding or changing it never rebuilds kube
krkey=$( { go env GOVERSION; echo "$GOFLAGS $CGO_ENABLED -trimpath -s -w"
           cat "$here/kube-router/go.mod" "$here/kube-router/go.sum" "$here/kube-router"/*.go; } \
        | sha256sum | cut -c1-16)
krdir=$cache/kube-router-$krkey
if [ "${CQ_K8S_REBUILD:-0}" != 1 ] && [ -x "$krdir/kube-router" ]; then
  say "cached: $krdir"
else
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/.build-XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  t0=$(date +%s)
  say "building kube-router (network-policy controller) with $(go env GOVERSION)"
  (cd "$here/kube-router" && go build -trimpath -ldflags "-s -w" -o "$tmp/kube-router" \
    github.com/cloudnativelabs/kube-router/v2/cmd/kube-router)
  say "kube-router built in $(($(date +%s) - t0)) s ($(du -m "$tmp/kube-router" | cut -f1) MB)"
  rm -rf "$krdir"
  mv "$tmp" "$krdir"
  trap - EXIT
  ls -1dt "$cache"/kube-router-* 2>/dev/null | tail -n +3 | xargs -r rm -rf
fi
if [ -n "${1:-}" ]; then
  mkdir -p "$1"
  for b in kube coredns; do cmp -s "$dir/$b" "$1/$b" 2>/dev/null || cp "$dir/$b" "$1/$b"; done
  cmp -s "$krdir/kube-router" "$1/kube-router" 2>/dev/null || cp "$krdir/kube-router" "$1/kube-router"
  echo "$1"
else
  echo "$dir"
fi
