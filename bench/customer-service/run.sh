#!/usr/bin/env bash
# bench/customer-service/run.sh — creates per second through customer-service at 50
# connections (wrk + create.lua: POST /customers, unique usernames), p50/p99 latency, and
# whether the outbox relay keeps up: the backlog (customer_outbox_backlog) is sampled every
# second during the run, and after the run the time until it is back to 0 is measured and
# the published count is compared with the creates.
#
# Runs against a real PostgreSQL + Kafka (default: the dev stack, scripts/stack.sh up) with
# its OWN database (cq_bench_customer, recreated) and topic (bench-customer-<time>), and its
# own config-server and customer-service processes (Release build in <root>/build-bench).
#
# Env: PG (conninfo to create the database; default host=127.0.0.1 port=5433 user=postgres
#      dbname=cqrs), PROFILE (local), CONNECTIONS (50), WRK_THREADS (2), DURATION (10s),
#      THREADS (server.threads, 8), POOL (datasource.pool-size, 8), PORT (18894),
#      CONFIG_PORT (18897), BIN_DIR (prebuilt binaries; default: build Release).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PG=${PG:-host=127.0.0.1 port=5433 user=postgres dbname=cqrs}
PROFILE=${PROFILE:-local}
CONNECTIONS=${CONNECTIONS:-50}
WRK_THREADS=${WRK_THREADS:-2}
DURATION=${DURATION:-10s}
THREADS=${THREADS:-8}
POOL=${POOL:-8}
PORT=${PORT:-18894}
CONFIG_PORT=${CONFIG_PORT:-18897}
DB=cq_bench_customer
TOPIC=bench-customer-$(date +%s)
PIDS=()
LOGDIR=$(mktemp -d /tmp/bench-customer.XXXXXX)

cleanup() {
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

for tool in wrk curl psql; do
    command -v "$tool" >/dev/null || { echo "run.sh: '$tool' is required" >&2; exit 2; }
done

if [[ -z "${BIN_DIR:-}" ]]; then
    cmake -S "$ROOT" -B "$ROOT/build-bench" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$ROOT/build-bench" --target config-server customer-service >/dev/null
    BIN_DIR=$ROOT/build-bench/bin
fi

psql -q "$PG" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >/dev/null

"$BIN_DIR/config-server" --repo "$ROOT/config-repo" --port "$CONFIG_PORT" --host 127.0.0.1 \
    >"$LOGDIR/config-server.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$CONFIG_PORT/health" >/dev/null && break; sleep 0.1; done

CONFIG_SERVER_URL=http://127.0.0.1:$CONFIG_PORT APP_PROFILES=$PROFILE SERVER_PORT=$PORT \
SERVER_ADDRESS=127.0.0.1 SERVER_THREADS=$THREADS DATASOURCE_POOL_SIZE=$POOL DATASOURCE_DBNAME=$DB \
CUSTOMER_SERVICE_CUSTOMER_TOPIC_NAME=$TOPIC LOGGING_LEVEL=warn LOG_LEVEL=warn \
    "$BIN_DIR/customer-service" >"$LOGDIR/customer-service.log" 2>&1 &
SVC=$!
PIDS+=($SVC)
URL=http://127.0.0.1:$PORT
for _ in $(seq 150); do curl -sf "$URL/health/readiness" >/dev/null && break; sleep 0.2; done
curl -sf "$URL/health/readiness" >/dev/null || { echo "customer-service did not become ready; log:" >&2; cat "$LOGDIR/customer-service.log" >&2; exit 1; }

metric() { curl -s "$URL/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }

# warm-up (connections, prepared caches, topic metadata)
wrk -t1 -c4 -d2s -s "$HERE/create.lua" "$URL" -- "w$(date +%s)" >/dev/null

# sample the backlog every second while wrk runs
( max=0; while sleep 1; do b=$(metric customer_outbox_backlog); b=${b%.*}; [[ -n "$b" && "$b" -gt "$max" ]] && max=$b; echo "$max" > "$LOGDIR/backlog.max"; done ) &
SAMPLER=$!
PIDS+=($SAMPLER)
pub0=$(metric customer_outbox_published_total); pub0=${pub0%.*}

wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$HERE/create.lua" "$URL" -- "r$(date +%s)" \
    > "$LOGDIR/wrk.txt"
end_ms=$(date +%s%3N)
kill "$SAMPLER" 2>/dev/null || true

# drain: how long until the relay has published everything
drain_ms=-1
for _ in $(seq 600); do
    b=$(metric customer_outbox_backlog); b=${b%.*}
    if [[ "$b" == "0" ]]; then drain_ms=$(( $(date +%s%3N) - end_ms )); break; fi
    sleep 0.1
done
pub1=$(metric customer_outbox_published_total); pub1=${pub1%.*}

reqs=$(awk '/^BENCH requests=/ { split($2,a,"="); print a[2] }' "$LOGDIR/wrk.txt")
dur_us=$(awk '/^BENCH requests=/ { split($3,a,"="); print a[2] }' "$LOGDIR/wrk.txt")
non2xx=$(awk '/^BENCH requests=/ { split($4,a,"="); print a[2] }' "$LOGDIR/wrk.txt")
p50=$(awk '/^BENCH p50_ms=/ { split($2,a,"="); print a[2] }' "$LOGDIR/wrk.txt")
p99=$(awk '/^BENCH p50_ms=/ { split($3,a,"="); print a[2] }' "$LOGDIR/wrk.txt")
rate=$(awk -v r="$reqs" -v d="$dur_us" 'BEGIN { printf "%.0f", r / (d / 1e6) }')
rows=$(psql -qtA "host=127.0.0.1 ${PG#*host=127.0.0.1}" -c "SELECT 1" >/dev/null 2>&1; psql -qtA "$(echo "$PG" | sed "s/dbname=[^ ]*/dbname=$DB/")" -c "SELECT count(*) FROM customer.customers")
lat=$(curl -s "$URL/metrics" | awk '$1 == "customer_outbox_publish_latency_seconds_sum" { s = $2 } $1 == "customer_outbox_publish_latency_seconds_count" { c = $2 } END { if (c > 0) printf "%.1f", s / c * 1000; else print "n/a" }')

echo "customer-service create benchmark ($CONNECTIONS connections, $DURATION, server.threads=$THREADS, pool=$POOL, profile $PROFILE)"
echo "  creates:            $reqs in $(awk -v d="$dur_us" 'BEGIN { printf "%.1f", d / 1e6 }') s = $rate creates/s (non-2xx: $non2xx)"
echo "  latency:            p50 $p50 ms, p99 $p99 ms"
echo "  rows in customers:  $rows"
echo "  outbox backlog:     max $(cat "$LOGDIR/backlog.max" 2>/dev/null || echo '?') rows during the run (sampled 1/s); back to 0 ${drain_ms} ms after the run"
echo "  published:          $((pub1 - pub0)) records during/after the run; mean commit→ack latency ${lat} ms"
echo "  logs:               $LOGDIR"
