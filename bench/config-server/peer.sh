# bench/config-server/peer.sh — the Spring peers, as shell functions sourced by run.sh,
# compat.sh and the `spring` conformance test (source it; it sets nothing else).
#
# A peer is a Maven project under bench/config-server/<name>/ (peer/: a stock Spring Cloud
# Config Server; boot-client/: a Spring Boot config client). It is built once, from Maven
# Central, into the git-ignored bench/config-server/.peer/<name>/ and rebuilt only when its
# sources change (a checksum stamp). Builds are serialised with flock, so two scripts that
# start at once build it once.
#
#   peer_build [NAME]                 → prints the jar's path (NAME defaults to peer)
#   peer_start PORT LOG ARGS...       → starts `java -jar <peer jar> --server.port=PORT
#                                       --server.address=127.0.0.1 ARGS...`, output to LOG,
#                                       prefixed by the array PEER_WRAP if set (e.g. taskset);
#                                       sets PEER_PID. Give each Spring property once: a
#                                       repeated --key=v is joined with commas by Spring.
#   peer_native_args DIR              → the arguments for the native backend on DIR (unquoted
#                                       use: DIR must not contain blanks)
#   peer_wait PORT PID [PATH] [SECS]  → waits until GET PATH (default /actuator/health)
#                                       answers 200; fails if PID dies or SECS (120) pass
#   peer_stop PID                     → SIGTERM, then waits (SIGKILL after 20 s)
#   peer_version                      → the spring-cloud-config-server jar inside the peer

PEER_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PEER_CACHE=${PEER_CACHE:-$PEER_HERE/.peer}

peer_build() {
    local name=${1:-peer}
    local src=$PEER_HERE/$name out=$PEER_CACHE/$name
    local jar=$out/target/$(sed -n 's:.*<finalName>\(.*\)</finalName>.*:\1:p' "$src/pom.xml").jar
    command -v mvn >/dev/null || { echo "peer.sh: mvn is required (scripts/setup.sh installs it)" >&2; return 2; }
    command -v java >/dev/null || { echo "peer.sh: java is required" >&2; return 2; }
    mkdir -p "$out"
    local sum
    sum=$(cd "$src" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
    (
        flock 9
        if [[ -f "$jar" && "$(cat "$out/.stamp" 2>/dev/null)" == "$sum" ]]; then exit 0; fi
        echo "peer.sh: building $name from Maven Central into $out …" >&2
        rm -rf "$out/src" "$out/target"
        cp -r "$src/." "$out/"
        (cd "$out" && mvn -B -q -Dstyle.color=never -DskipTests package) >&2 || { echo "peer.sh: mvn package of $name failed" >&2; exit 1; }
        echo "$sum" >"$out/.stamp"
    ) 9>"$PEER_CACHE/.$name.lock" || return 1
    echo "$jar"
}

peer_native_args() {
    echo "--spring.profiles.active=native --spring.cloud.config.server.native.search-locations=file:${1%/}/"
}

peer_start() {
    local port=$1 log=$2
    shift 2
    local jar
    jar=$(peer_build peer) || return 1
    ${PEER_WRAP[@]+"${PEER_WRAP[@]}"} java -jar "$jar" --server.port="$port" --server.address=127.0.0.1 "$@" >"$log" 2>&1 &
    PEER_PID=$!
}

peer_wait() {
    local port=$1 pid=$2 path=${3:-/actuator/health} secs=${4:-120}
    local i
    for ((i = 0; i < secs * 20; i++)); do
        if [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port$path" 2>/dev/null)" == 200 ]]; then
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || { echo "peer.sh: process $pid exited before answering on port $port" >&2; return 1; }
        sleep 0.05
    done
    echo "peer.sh: no 200 from http://127.0.0.1:$port$path within ${secs}s" >&2
    return 1
}

peer_stop() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 200; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

peer_version() {
    local jar
    jar=$(peer_build peer) || return 1
    unzip -l "$jar" 2>/dev/null | grep -o 'spring-cloud-config-server-[0-9.]*\.jar' | head -1
}
