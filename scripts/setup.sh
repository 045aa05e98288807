#!/usr/bin/env bash
# setup.sh — install everything cqrs-ordering needs on Debian 12, idempotently.
#
# 1. Debian packages: build tools, the -dev libraries, PostgreSQL 15, JDK 17, Maven, kcat, wrk,
#    python3-venv (the Python venvs of scripts/registry.sh and scripts/schemathesis.sh).
# 2. A Go >= 1.26 toolchain for the Helm chart checks (helm is built with `go install`) when
#    the machine has none: Debian's Go 1.19 fetches the official toolchain module through the
#    Go module proxy into .stack/go (the way GOTOOLCHAIN does it).
# 2b. promtool (scripts/helm-check.sh parses and unit-tests the chart's alert rules with it):
#    the binary out of Debian's prometheus package, unpacked into .stack/bin — the package
#    itself is not installed (no Prometheus server, no service).
# 3. The Kafka 4.x broker jars from Maven Central (scripts/kafka/pom.xml), copied into
#    .stack/kafka-libs; a stamp file keyed on the pom's hash makes a second run a no-op.
# 4. With --docker (scripts/test.sh passes it): a Docker engine for the image test —
#    Debian's docker.io, unless the machine already has a dockerd — and debootstrap (the
#    base image when Docker Hub is out of reach).
# 5. With --k8s (scripts/test.sh passes it): what the test cluster of scripts/k8s.sh runs on —
#    containerd, runc, etcd-server, containernetworking-plugins, conntrack, iptables, ipset, socat
#    (the Kubernetes binaries themselves are built by scripts/k8s/build.sh, Go module proxy).
#
# Usage: scripts/setup.sh [--no-apt] [--no-kafka] [--docker] [--k8s]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
do_apt=1
do_kafka=1
do_docker=0
do_k8s=0
for a in "$@"; do
  case "$a" in
    --docker) do_docker=1 ;;
    --k8s) do_k8s=1 ;;
    --no-apt) do_apt=0 ;;
    --no-kafka) do_kafka=0 ;;
    -h|--help) sed -n '2,/^# Usage/p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup.sh: unknown option '$a' (try --help)" >&2; exit 2 ;;
  esac
done

PACKAGES=(
  build-essential cmake ninja-build pkg-config git ca-certificates curl
  librdkafka-dev libpq-dev libavro-dev libcurl4-openssl-dev libyaml-dev libgit2-dev
  libh2o-evloop-dev libh2o-dev libssl-dev zlib1g-dev libuv1-dev libjansson-dev
  libcmocka-dev uuid-dev
  postgresql-15 postgresql-client-15
  openjdk-17-jdk-headless maven kcat wrk valgrind clang-format python3 python3-yaml python3-venv
)

sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
# not_installed PKG… — prints the packages of the list that dpkg does not have installed.
not_installed() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
  done
}
# apt_install WHY PKG… — apt-get update, then installs the packages (none: does nothing).
apt_install() {
  local why=$1; shift
  [ $# -gt 0 ] || return 0
  echo "setup: installing $# Debian package(s)$why: $*"
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get update -q
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}

if [ "$do_apt" = 1 ]; then
  mapfile -t missing < <(not_installed "${PACKAGES[@]}")
  if [ ${#missing[@]} -gt 0 ]; then
    apt_install "" "${missing[@]}"
  else
    echo "setup: all Debian packages present"
  fi
  # Debian's own cluster is not used; the stack runs a private one.
  if [ "$do_docker" = 1 ]; then
    extra=()
    # an engine the machine already has (docker-ce …) is used as it is: never replaced
    command -v dockerd >/dev/null || extra+=(docker.io)
    command -v debootstrap >/dev/null || extra+=(debootstrap)
    apt_install " for the image test" ${extra[@]+"${extra[@]}"}
  fi
  if [ "$do_k8s" = 1 ]; then
    mapfile -t extra < <(not_installed containerd runc etcd-server containernetworking-plugins conntrack iptables \
      ipset socat openssl)
    apt_install " for the test cluster (scripts/k8s.sh)" ${extra[@]+"${extra[@]}"}
  fi
fi

# Go for the chart checks: a go >= 1.26 on PATH, or the one kept in .stack/go.
GO_TOOLCHAIN=go1.26.0
go_ok() { "$1" env GOVERSION 2>/dev/null | awk -F'[go.]' '{ exit !($3 > 1 || ($3 == 1 && $4 >= 26)) }'; }
if [ "$do_apt" = 1 ] && ! { command -v go >/dev/null && go_ok go; } && ! go_ok "$root/.stack/go/bin/go"; then
  echo "setup: fetching the Go $GO_TOOLCHAIN toolchain (for the Helm chart checks)"
  command -v go >/dev/null || sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends golang-go
  mod=$root/.stack/gomod
  dir=$(GOMODCACHE="$mod" GOFLAGS=-modcacherw GOTOOLCHAIN=local \
        go mod download -json "golang.org/toolchain@v0.0.1-$GO_TOOLCHAIN.linux-amd64" \
        | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  [ -n "$dir" ] && [ -d "$dir/bin" ] || { echo "setup: could not fetch the Go toolchain" >&2; exit 1; }
  chmod +x "$dir"/bin/* "$dir"/pkg/tool/*/*   # module zips carry no exec bits
  ln -sfn "$dir" "$root/.stack/go"
  echo "setup: $("$root/.stack/go/bin/go" version) in .stack/go"
fi

if [ "$do_apt" = 1 ] && ! command -v promtool >/dev/null && [ ! -x "$root/.stack/bin/promtool" ]; then
  echo "setup: unpacking promtool from Debian's prometheus package into .stack/bin"
  tmp=$(mktemp -d)
  # apt-get download writes into the current directory; lists may need an update first
  # optional: without it helm-check skips the rule tests (and says so), so a failure here
  # is a warning, not the end of the set-up
  if (cd "$tmp" && { apt-get download -q prometheus 2>/dev/null ||
    { sudo_ env DEBIAN_FRONTEND=noninteractive apt-get update -q && apt-get download -q prometheus; }; }) &&
    dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/x" && mkdir -p "$root/.stack/bin" &&
    install -m 0755 "$tmp/x/usr/bin/promtool" "$root/.stack/bin/promtool"; then
    echo "setup: $("$root/.stack/bin/promtool" --version 2>&1 | head -n 1)"
  else
    echo "setup: WARNING: promtool could not be unpacked from Debian's prometheus package; helm-check skips the alert-rule tests" >&2
  fi
  rm -rf "$tmp"
fi

if [ "$do_kafka" = 1 ]; then
  libs="$root/.stack/kafka-libs"
  stamp="$libs/.pom.sha256"
  want=$(sha256sum "$here/kafka/pom.xml" | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "setup: Kafka jars cached in $libs ($(ls "$libs"/*.jar | wc -l) jars)"
  else
    echo "setup: fetching the Kafka broker jars from Maven Central"
    rm -rf "$libs"; mkdir -p "$libs"
    mvn -B -q -f "$here/kafka/pom.xml" \
      org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$libs"
    echo "$want" > "$stamp"
    echo "setup: $(ls "$libs"/*.jar | wc -l) jars in $libs"
  fi
fi
echo "setup: done"
