#!/usr/bin/env bash
# registry.sh — a real Confluent-API schema registry for the tests: Apicurio Registry 2.4.2.Final
# (its Confluent-compatible API is http://127.0.0.1:PORT/apis/ccompat/v7), assembled from Maven
# Central by scripts/registry/pom.xml (the registry's application jar as a dependency, augmented by
# the quarkus-maven-plugin of its Quarkus version, 2.16.4.Final) and run on the machine's Java 17.
#
#   scripts/registry.sh build            builds (or takes from the cache); prints the runner jar
#   scripts/registry.sh start PORT DIR   starts it on 127.0.0.1:PORT, storage (H2 files), log
#                                        (DIR/registry.log) and pid (DIR/registry.pid) in DIR;
#                                        returns once /health/ready answers UP (a stop and a start
#                                        with the same DIR keep the registered schemas and ids)
#   scripts/registry.sh stop DIR         stops the one started with DIR (TERM, then KILL after 20 s)
#   scripts/registry.sh venv             a Python venv with confluent-kafka's Avro deserializer and
#                                        schema-registry client (scripts/registry/requirements.txt,
#                                        Debian's /usr/bin/python3), cached beside the build; prints
#                                        its python
#
# Cached in $CQ_REGISTRY_CACHE (default /var/cache/cqrs-ordering/registry) under a key made of the
# pom, its settings.xml, its application.properties and the Java version: a second build does
# nothing. Measured on the 2-core VM while other builds ran: cold (an empty ~/.m2: 210 MB of
# artifacts from Maven Central, then Quarkus's augmentation) 442 s; with ~/.m2 filled 110-320 s;
# cached 0. A start takes 10-45 s (JVM heap 256 MB); the venv about a minute the first time.
# Env: CQ_REGISTRY_CACHE, CQ_REGISTRY_REBUILD=1 (ignore the cache), CQ_REGISTRY_START_TIMEOUT
# (seconds, default 240), CQ_REGISTRY_HEAP (default 256m).
set -euo pipefail
here=$(cd "$(dirname "$0")/registry" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${CQ_REGISTRY_CACHE:-/var/cache/cqrs-ordering/registry}
say() { printf 'registry: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0" | sed 's/^# \{0,1\}//'; }

# build: prints the runner jar, building it first when the cache has none for this key.
build() {
  command -v java >/dev/null || die "no java on PATH (scripts/setup.sh installs openjdk-17-jdk-headless)"
  command -v mvn >/dev/null || die "no mvn on PATH (scripts/setup.sh installs maven)"
  local key app tmp t0
  key=$( { java -version 2>&1 | head -n 1; cat "$here/pom.xml" "$here/settings.xml" \
           "$here/src/main/resources/application.properties"; } | sha256sum | cut -c1-16)
  app=$cache/app-$key
  if [ "${CQ_REGISTRY_REBUILD:-0}" = 1 ] || [ ! -f "$app/cq-registry-1-runner.jar" ]; then
    mkdir -p "$cache"
    tmp=$(mktemp -d "$cache/build.XXXXXX")
    cp -r "$here/pom.xml" "$here/settings.xml" "$here/src" "$tmp/"
    t0=$(date +%s)
    say "building Apicurio Registry with Maven (the first build downloads its artifacts)"
    if ! (cd "$tmp" && nice -n 10 mvn -B -q -s settings.xml package -DskipTests >"$tmp/build.log" 2>&1); then
      tail -n 40 "$tmp/build.log" >&2
      rm -rf "$tmp"
      die "the Maven build failed"
    fi
    rm -rf "$app"
    mkdir -p "$app"
    mv "$tmp/target/cq-registry-1-runner.jar" "$tmp/target/lib" "$app/"
    rm -rf "$tmp"
    find "$cache" -maxdepth 1 -name 'app-*' ! -name "app-$key" -exec rm -rf {} + # older keys' builds
    say "built in $(($(date +%s) - t0)) s: $app"
  fi
  echo "$app/cq-registry-1-runner.jar"
}

healthy() { curl -fsS -m 5 -o /dev/null "http://127.0.0.1:$1/health/ready" 2>/dev/null; }

start() {
  local port=$1 dir=$2 jar pid i limit=${CQ_REGISTRY_START_TIMEOUT:-240}
  jar=$(build)
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  ! healthy "$port" || die "something already answers on 127.0.0.1:$port"
  # serial GC, C1 only, one pooled connection: a quick start and a small footprint for a test
  java "-Xmx${CQ_REGISTRY_HEAP:-256m}" -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$port" \
    -Dquarkus.datasource.jdbc.url="jdbc:h2:file:$dir/registry-db" \
    -Dquarkus.datasource.jdbc.initial-size=1 -Dquarkus.datasource.jdbc.min-size=1 \
    -Dquarkus.datasource.jdbc.max-size=10 \
    -jar "$jar" </dev/null >>"$dir/registry.log" 2>&1 &
  pid=$!
  echo "$pid" >"$dir/registry.pid"
  for ((i = 0; i < limit * 2; i++)); do
    healthy "$port" && { say "up on 127.0.0.1:$port (pid $pid) after $((i / 2)) s"; return 0; }
    kill -0 "$pid" 2>/dev/null || { tail -n 40 "$dir/registry.log" >&2; die "exited during start"; }
    sleep 0.5
  done
  tail -n 40 "$dir/registry.log" >&2
  kill -9 "$pid" 2>/dev/null || true
  die "not healthy on 127.0.0.1:$port after $limit s"
}

stop() {
  local dir=$1 pid i
  [ -f "$dir/registry.pid" ] || return 0
  pid=$(cat "$dir/registry.pid")
  rm -f "$dir/registry.pid"
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 40; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.5
  done
  kill -9 "$pid" 2>/dev/null || true
}

venv() {
  local v want
  want=$( { /usr/bin/python3 --version; cat "$here/requirements.txt"; } | sha256sum | cut -c1-16)
  v=$cache/venv-$want
  if [ ! -x "$v/bin/python" ] || [ ! -f "$v/.complete" ]; then
    say "making a Python venv with confluent-kafka in $v"
    mkdir -p "$cache"
    rm -rf "$v"
    /usr/bin/python3 -m venv "$v" || die "python3 -m venv failed (scripts/setup.sh installs python3-venv)"
    "$v/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt" >&2 || die "pip install failed"
    touch "$v/.complete"
    find "$cache" -maxdepth 1 -name 'venv-*' ! -name "venv-$want" -exec rm -rf {} + # older keys' venvs
  fi
  echo "$v/bin/python"
}

case "${1:-}" in
  build) build ;;
  start) [ $# -eq 3 ] || { usage >&2; exit 2; }; start "$2" "$3" ;;
  stop) [ $# -eq 2 ] || { usage >&2; exit 2; }; stop "$2" ;;
  venv) venv ;;
  -h | --help) usage ;;
  *) usage >&2; exit 2 ;;
esac
