#!/usr/bin/env bash
# bench/config-server/run.sh — our config-server vs Spring Cloud Config Server 5.0.x.
#
# Both serve the same repository (native backend for Spring) on 127.0.0.1. For each server:
# start-to-first-response time, wrk at 50 connections on /{app}/{profile} and on
# /{app}-{profile}.yml (req/s, p50, p99), RSS after the load. Prints a table with ratios.
#
# The Spring peer is built once from Maven Central (bench/config-server/peer/pom.xml:
# spring-boot 4.0.7 parent + spring-cloud-dependencies 2025.1.4) into the git-ignored
# bench/config-server/.peer/ by peer.sh (shared with compat.sh). Needs: wrk, java 17+, mvn, curl.
#
# Git section (GIT=1, the default; run_git.sh): both servers' git backends on one bare
# repository served by `git daemon` (git://): req/s and p99 at the default branch, a tag and a
# commit id, RSS, push-to-served (ours with POST /monitor and by its refresh interval, Spring
# by its default fetch-per-request), and an LRU figure (RSS and snapshots after LRU_N commit
# ids) — goals printed beside: >= 100x Spring's req/s at p99 <= 2 ms, push-to-served <= 500 ms.
#
# Run it under the benchmark lock: flock /tmp/cq-bench.lock bench/config-server/run.sh
# (the script closes descriptors 3-9 so that the servers it starts do not hold the lock).
#
# Spring gets a longer warm-up than ours (SPRING_WARMUP, 60 s by default: with 5 s its JIT was still
# cold — 265 req/s where a warm server does 553). The physical-limit row: nginx (Debian's) serving
# the very bytes ours answered as static files, on the same core, same wrk (bench/config-server/
# nginx.sh) — how close config-server comes to a static file server (goal printed: >= 70 %).
#
# On a machine with 2+ cores the servers run pinned to core 0 and wrk (one thread) to core 1
# (taskset), so the load generator never competes with the server it measures; both servers
# get the same single core. PIN=0 turns this off.
#
# Env: REPO (default <root>/config-repo), APP (customer-service), PROFILE (local),
#      DURATION (10s), WARMUP (5s; ours and nginx), SPRING_WARMUP (60s), NGINX (1: the nginx row; NGINX_PORT 27420), THREADS (our loop threads, 1: the server has one core), BIN (our binary;
#      default: a Release build in <root>/build-bench), OUR_PORT (27417), PEER_PORT (27418), GIT_PORT (27419): below the
#      ephemeral range; GIT (1), LRU_N (50 commit ids), PUSH_N (5 push samples), SPRING_RR30 (1: Spring with
#      refresh-rate=30 too).
set -euo pipefail
if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]]; then sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0; fi
for fd in 3 4 5 6 7 8 9; do eval "exec $fd>&-"; done # a caller's flock descriptor stays with the caller

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
REPO=$(cd "${REPO:-$ROOT/config-repo}" && pwd)
APP=${APP:-customer-service}
PROFILE=${PROFILE:-local}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-5s}
SPRING_WARMUP=${SPRING_WARMUP:-60s}
THREADS=${THREADS:-1}
OUR_PORT=${OUR_PORT:-27417}
PEER_PORT=${PEER_PORT:-27418}
PEER_DIR=$HERE/.peer
GIT=${GIT:-1} LRU_N=${LRU_N:-50} PUSH_N=${PUSH_N:-5}
PIDS=()
TMP=$(mktemp -d /tmp/cs-bench-XXXXXX)
WRK_LOG=$PEER_DIR/run-logs/$(date +%Y%m%dT%H%M%S) # every measured wrk output (git-ignored)
mkdir -p "$WRK_LOG"
SRV_PIN=() WRK_PIN=() WRK_THREADS=2
if [ "${PIN:-1}" = 1 ] && command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    SRV_PIN=(taskset -c 0) WRK_PIN=(taskset -c 1) WRK_THREADS=1
fi

cleanup() {
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT

for tool in wrk java mvn curl python3 git; do
    command -v "$tool" >/dev/null || { echo "run.sh: '$tool' is required" >&2; exit 2; }
done

# --- our binary -------------------------------------------------------------------
if [[ -z "${BIN:-}" ]]; then
    cmake -S "$ROOT" -B "$ROOT/build-bench" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$ROOT/build-bench" --target config-server >/dev/null
    BIN=$ROOT/build-bench/bin/config-server
fi

# --- the Spring peer (built once into .peer/ by peer.sh) ------------------------------
. "$HERE/peer.sh"
. "$HERE/gitfixture.sh"
. "$HERE/run_git.sh"
. "$HERE/nginx.sh"
JAR=$(peer_build peer)

now_ms() { date +%s%3N; }

for p in "$OUR_PORT" "$PEER_PORT" "${GIT_PORT:-27419}"; do
    if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$p/"; then
        echo "run.sh: port $p is already in use; set OUR_PORT/PEER_PORT" >&2
        exit 2
    fi
done

# wait_first URL PID → prints ms from $START to the first 200
wait_first() {
    local url=$1 pid=$2
    for _ in $(seq 1 6000); do
        if curl -fsS -o /dev/null "$url" 2>/dev/null; then echo $(( $(now_ms) - START )); return 0; fi
        kill -0 "$pid" 2>/dev/null || { echo "server $pid died" >&2; return 1; }
        sleep 0.01
    done
    echo "no response from $url" >&2
    return 1
}

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

# run_wrk URL → "rps p50_ms p99_ms errors" (errors: non-2xx/3xx answers + socket errors; a
# request still unanswered after 10 s is a timeout error, not in the latency figures)
run_wrk() {
    local out
    out=$("${WRK_PIN[@]}" wrk -t"$WRK_THREADS" -c"${WRK_CONNS:-50}" -d"$DURATION" --timeout 10s --latency "$1")
    [[ -z "${WRK_TAG:-}" ]] || printf '%s\n%s\n' "$1" "$out" >"$WRK_LOG/$WRK_TAG.txt"
    local rps p50 p99 err
    rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1=="50%" {print $2}' <<<"$out")
    p99=$(awk '$1=="99%" {print $2}' <<<"$out")
    err=$(awk '/Non-2xx/ {n += $NF} /Socket errors/ {gsub(",", ""); n += $4 + $6 + $8 + $10} END {print n + 0}' <<<"$out")
    echo "$rps $(to_ms "$p50") $(to_ms "$p99") $err"
}

to_ms() { # wrk prints 123.45us / 1.23ms / 1.02s
    local v=$1
    case $v in
        *us) awk -v x="${v%us}" 'BEGIN {printf "%.3f", x/1000}' ;;
        *ms) awk -v x="${v%ms}" 'BEGIN {printf "%.3f", x}' ;;
        *s) awk -v x="${v%s}" 'BEGIN {printf "%.3f", x*1000}' ;;
        *) echo "$v" ;;
    esac
}

# bench NAME BASE PID → sets global results
declare -A R
bench() {
    local name=$1 base=$2 pid=$3 warm=${4:-$WARMUP}
    local env_url="$base/$APP/$PROFILE" yml_url="$base/$APP-$PROFILE.yml"
    curl -fsS -o /dev/null "$env_url"
    curl -fsS -o /dev/null "$yml_url"
    "${WRK_PIN[@]}" wrk -t"$WRK_THREADS" -c50 -d"$warm" "$env_url" >/dev/null
    "${WRK_PIN[@]}" wrk -t"$WRK_THREADS" -c50 -d"$warm" "$yml_url" >/dev/null
    WRK_TAG=$name.env
    read -r R[$name.env.rps] R[$name.env.p50] R[$name.env.p99] _ < <(run_wrk "$env_url")
    WRK_TAG=$name.yml
    read -r R[$name.yml.rps] R[$name.yml.p50] R[$name.yml.p99] _ < <(run_wrk "$yml_url")
    WRK_TAG=""
    R[$name.rss]=$(rss_kb "$pid")
}

echo "repo: $REPO   app: $APP   profile: $PROFILE   wrk: -t$WRK_THREADS -c50 -d$DURATION (after $WARMUP warm-up, Spring $SPRING_WARMUP)${SRV_PIN[*]:+; servers on core 0, wrk on core 1}; load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2

# --- ours ---------------------------------------------------------------------------
START=$(now_ms)
"${SRV_PIN[@]}" "$BIN" --repo "$REPO" --port "$OUR_PORT" --host 127.0.0.1 --threads "$THREADS" --log-level warn &
OUR_PID=$!
PIDS+=("$OUR_PID")
R[ours.start]=$(wait_first "http://127.0.0.1:$OUR_PORT/$APP/$PROFILE" "$OUR_PID")
bench ours "http://127.0.0.1:$OUR_PORT" "$OUR_PID"
if [[ ${NGINX:-1} == 1 ]]; then nginx_bench "http://127.0.0.1:$OUR_PORT" "$TMP"; fi
kill -TERM "$OUR_PID"
wait "$OUR_PID" || true

# --- Spring Cloud Config Server (native) ---------------------------------------------
START=$(now_ms)
PEER_WRAP=("${SRV_PIN[@]}")
# shellcheck disable=SC2046 # peer_native_args prints separate words
peer_start "$PEER_PORT" "$PEER_DIR/peer.log" $(peer_native_args "$REPO") --logging.level.root=WARN
PIDS+=("$PEER_PID")
R[spring.start]=$(wait_first "http://127.0.0.1:$PEER_PORT/$APP/$PROFILE" "$PEER_PID")
SPRING_VERSION=$(peer_version || true)
bench spring "http://127.0.0.1:$PEER_PORT" "$PEER_PID" "$SPRING_WARMUP"
peer_stop "$PEER_PID"
PEER_WRAP=()

# --- git backends (run_git.sh) --------------------------------------------------------------
if [[ $GIT == 1 ]]; then git_section "$TMP"; fi

# --- table -----------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "n/a"; else printf "%.1fx", a / b }'; }
printf '\n%-34s %14s %14s %10s\n' "metric" "ours" "spring" "ratio"
printf '%-34s %14s %14s %10s\n' "----------------------------------" "--------------" "--------------" "----------"
row() { printf '%-34s %14s %14s %10s\n' "$1" "$2" "$3" "$4"; }
row "/$APP/$PROFILE req/s" "${R[ours.env.rps]}" "${R[spring.env.rps]}" "$(ratio "${R[ours.env.rps]}" "${R[spring.env.rps]}")"
row "/$APP/$PROFILE p50 ms" "${R[ours.env.p50]}" "${R[spring.env.p50]}" "$(ratio "${R[spring.env.p50]}" "${R[ours.env.p50]}")"
row "/$APP/$PROFILE p99 ms" "${R[ours.env.p99]}" "${R[spring.env.p99]}" "$(ratio "${R[spring.env.p99]}" "${R[ours.env.p99]}")"
row "/$APP-$PROFILE.yml req/s" "${R[ours.yml.rps]}" "${R[spring.yml.rps]}" "$(ratio "${R[ours.yml.rps]}" "${R[spring.yml.rps]}")"
row "/$APP-$PROFILE.yml p50 ms" "${R[ours.yml.p50]}" "${R[spring.yml.p50]}" "$(ratio "${R[spring.yml.p50]}" "${R[ours.yml.p50]}")"
row "/$APP-$PROFILE.yml p99 ms" "${R[ours.yml.p99]}" "${R[spring.yml.p99]}" "$(ratio "${R[spring.yml.p99]}" "${R[ours.yml.p99]}")"
row "RSS after load (MiB)" "$(awk -v k="${R[ours.rss]}" 'BEGIN{printf "%.1f", k/1024}')" \
    "$(awk -v k="${R[spring.rss]}" 'BEGIN{printf "%.1f", k/1024}')" "$(ratio "${R[spring.rss]}" "${R[ours.rss]}")"
row "start to first response (ms)" "${R[ours.start]}" "${R[spring.start]}" "$(ratio "${R[spring.start]}" "${R[ours.start]}")"
echo "(ratios: ours/spring for req/s, spring/ours for latency, memory and start time; peer: ${SPRING_VERSION:-spring-cloud-config-server})"
if [[ -n "${R[nginx.env.rps]:-}" ]]; then
    pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "n/a"; else printf "%.0f %%", 100 * a / b }'; }
    printf '\n%-34s %14s %14s %10s\n' "physical limit (same bytes)" "ours" "nginx static" "ours/nginx"
    row "/$APP/$PROFILE req/s" "${R[ours.env.rps]}" "${R[nginx.env.rps]}" "$(pct "${R[ours.env.rps]}" "${R[nginx.env.rps]}")"
    row "/$APP/$PROFILE p99 ms" "${R[ours.env.p99]}" "${R[nginx.env.p99]}" ""
    row "/$APP-$PROFILE.yml req/s" "${R[ours.yml.rps]}" "${R[nginx.yml.rps]}" "$(pct "${R[ours.yml.rps]}" "${R[nginx.yml.rps]}")"
    row "/$APP-$PROFILE.yml p99 ms" "${R[ours.yml.p99]}" "${R[nginx.yml.p99]}" ""
    row "RSS after load (MiB)" "$(awk -v k="${R[ours.rss]}" 'BEGIN{printf "%.1f", k/1024}')" \
        "$(awk -v k="${R[nginx.rss]}" 'BEGIN{printf "%.1f", k/1024}')" ""
    echo "(goal: ours >= 70 % of nginx's req/s for the same bytes; nginx: $(nginx -v 2>&1 | sed 's/.*: //'), 1 worker, same core)"
fi
[[ $GIT != 1 ]] || git_table
