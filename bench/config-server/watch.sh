#!/usr/bin/env bash
# bench/config-server/watch.sh — N (5,000) watch requests held on one config-server:
# memory per waiter and the time from an edit to the last waiter answered, beside the goals
# (issue 17: <= 2 KiB each, the last one answered <= 200 ms after the change); and an edit of
# another application's file, which must wake none of them.
#
# The server (folder backend, a copy of config-repo/) runs alone on core 0, the load tool
# (watchload.c, epoll, compiled here) on core 1 (taskset; PIN=0 turns this off). Memory is the
# server's RSS: idle, with N open connections that sent nothing, after one plain request on
# each (idle keep-alive connections, as clients keep them: h2o keeps each one's read buffer),
# and with N held requests; per waiter = (held - idle) / N, split into the connection, its
# first request and the hold itself. Time: from the rename of the edited file (in the tool) to the
# end of each answer, through inotify (a 50 ms quiet period), the reload, the wake-up and N
# answers.
#
# Env: N (5000), APP (customer-service), PROFILE (default), THREADS (2: the server's loop
#      threads), PORT (27420 + CQ_TEST_PORT_OFFSET), BIN (our binary; default a Release build
#      in <root>/build-bench), RUNS (1).
set -euo pipefail
if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]]; then sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0; fi
for fd in 3 4 5 6 7 8 9; do eval "exec $fd>&-"; done

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
N=${N:-5000} APP=${APP:-customer-service} PROFILE=${PROFILE:-default} THREADS=${THREADS:-2} RUNS=${RUNS:-1}
PORT=${PORT:-$((27420 + ${CQ_TEST_PORT_OFFSET:-0}))}
TMP=$(mktemp -d /tmp/cs-watch-XXXXXX)
PID=
cleanup() {
    [ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

if [ -z "${BIN:-}" ]; then
    cmake -S "$ROOT" -B "$ROOT/build-bench" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$ROOT/build-bench" --target config-server >/dev/null
    BIN=$ROOT/build-bench/bin/config-server
fi
cc -O2 -Wall -o "$TMP/watchload" "$HERE/watchload.c"
SRV_PIN=() WL_PIN=()
if [ "${PIN:-1}" = 1 ] && command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    SRV_PIN=(taskset -c 0) WL_PIN=(taskset -c 1)
fi
ulimit -n $((N + 1024)) 2>/dev/null || true
BASE=http://127.0.0.1:$PORT
URL=/$APP/$PROFILE

rss_kb() { awk '/^VmRSS/{print $2}' "/proc/$PID/status"; }

one_run() {
    rm -rf "$TMP/repo" && cp -r "$ROOT/config-repo" "$TMP/repo"
    "${SRV_PIN[@]}" "$BIN" --repo "$TMP/repo" --port "$PORT" --host 127.0.0.1 --threads "$THREADS" \
        --watch-max-s 120 >"$TMP/server.log" 2>&1 &
    PID=$!
    for _ in $(seq 1 100); do curl -fsS -o /dev/null "$BASE/actuator/health" 2>/dev/null && break; sleep 0.1; done
    for _ in $(seq 1 20); do curl -fsS -o /dev/null "$BASE$URL"; done
    local etag
    etag=$(curl -fsS -D - -o /dev/null "$BASE$URL" | tr -d '\r' | sed -n 's/^[Ee][Tt][Aa][Gg]: //p')
    local idle connected keepalive held
    idle=$(rss_kb)
    coproc WL { "${WL_PIN[@]}" "$TMP/watchload" 127.0.0.1 "$PORT" "$URL?wait=100" "$etag" "$N" \
                "$TMP/repo/bench-other-app.yml" "$TMP/repo/$APP.yml"; }
    local w_out=${WL[0]} w_in=${WL[1]} word n ms
    read -r word n <&"$w_out"          # connected N
    sleep 1; connected=$(rss_kb)
    echo go >&"$w_in"
    read -r word n <&"$w_out"          # keepalive N
    sleep 0.5; keepalive=$(rss_kb)
    echo go >&"$w_in"
    read -r word n ms <&"$w_out"       # held N <ms>
    sleep 0.5; held=$(rss_kb)
    echo go >&"$w_in"
    local other m ok first p50 p99 last
    read -r word other <&"$w_out"      # other <answered>
    read -r word m ok first p50 p99 last <&"$w_out"
    wait "$WL_PID" 2>/dev/null || true
    kill -TERM "$PID"; wait "$PID" 2>/dev/null || true; PID=
    grep -h "answered after a change" "$TMP/server.log" | sed -n "s/.*\"answered\":\([0-9]*\).*\"us\":\([0-9]*\).*/  (a loop thread answered \1 in \2 us)/p" || true
    local per=$(( (held - idle) * 1024 / N )) conn=$(( (connected - idle) * 1024 / N ))
    local ka=$(( (keepalive - connected) * 1024 / N )) beyond=$(( (held - keepalive) * 1024 / N ))
    printf '%-44s %s\n' "waiters held" "$N (all held $ms ms after the last request was sent)"
    printf '%-44s %s\n' "server RSS idle / connected / keep-alive / held" "$((idle / 1024)) / $((connected / 1024)) / $((keepalive / 1024)) / $((held / 1024)) MiB"
    printf '%-44s %s\n' "memory per waiter (held - idle) / N" "$per bytes   (goal <= 2048)  $([ "$per" -le 2048 ] && echo MET || echo MISSED)"
    printf '%-44s %s\n' "  a connection / its first request / the hold" "$conn / $ka / $beyond bytes"
    printf '%-44s %s\n' "another app's edit: waiters answered" "$other of $N   (goal 0)  $([ "$other" = 0 ] && echo MET || echo MISSED)"
    printf '%-44s %s\n' "own edit: waiters answered (200)" "$m ($ok) of $N"
    printf '%-44s %s\n' "edit -> answer: first / p50 / p99 / last" "$first / $p50 / $p99 / $last ms   (goal last <= 200)  $([ "$m" = "$N" ] && [ "${last%.*}" -le 200 ] && echo MET || echo MISSED)"
}

echo "config-server watch bench: N=$N, $URL, $THREADS loop thread(s), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$RUNS"); do
    [ "$RUNS" -gt 1 ] && echo "--- run $r"
    one_run
done
