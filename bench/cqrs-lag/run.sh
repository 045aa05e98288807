#!/usr/bin/env bash
# bench/cqrs-lag/run.sh — CQRS propagation lag and end-to-end throughput.
#
# Starts a PRIVATE config-server + customer-service + order-service trio (trio.sh: own
# database, topic, group and ports on the dev PostgreSQL/Kafka), then with os_lagbench:
#   1. lag p50/p99/max from customer-service's 201 to the row being visible in
#      order-service's read model, at 50, 200 and 1000 creates/s (open loop);
#   2. sustained creates/s end to end (closed loop, 16 clients) with zero loss: every
#      created customer must reach the read model.
# Goals (issue 5): lag p99 <= 20 ms at 200/s; >= 2,000 creates/s end to end.
# Every config key can be overridden for the trio by env, e.g. the producer's batching delay
# (the biggest part of the lag: config-repo has linger-ms 5):
#   KAFKA_PRODUCER_CONFIG_LINGER_MS=0 bench/cqrs-lag/run.sh
# Measured on the 2-core dev VM (Release, shared with PG, Kafka and the client):
#   linger 5 ms: p50/p99 8.2/12.5 ms @50/s, 11.7/25.1 @200/s, 14.7/28.0 @~950/s; 1,314 creates/s
#   linger 0:    p50/p99 2.3/11.1 ms @200/s; closed loop ~1,000-1,300 creates/s, 0 lost
#   BUILD_DIR=build-release bench/cqrs-lag/run.sh       # Release build recommended
#   SECONDS_PER_RATE=10 RATES="50 200 1000" MAX_SECONDS=10 bench/cqrs-lag/run.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=trio.sh
. "$HERE/trio.sh"
SECONDS_PER_RATE=${SECONDS_PER_RATE:-10}
RATES=${RATES:-50 200 1000}
MAX_SECONDS=${MAX_SECONDS:-10}
for b in config-server customer-service order-service os_lagbench os_produce; do
  [[ -x $BIN/$b ]] || { echo "missing $BIN/$b (build it first)" >&2; exit 1; }
done
trap 'trio_down >/dev/null 2>&1 || true' EXIT
trio_up
# shellcheck disable=SC1091
. "$TRIO_DIR/env"
PG="host=$PG_HOST port=$PG_PORT user=postgres dbname=$TRIO_DB"
lag() { "$BIN/os_lagbench" --customer-url "$CUSTOMER_URL" --pg "$PG" "$@"; }

echo "warm-up ..."
lag --rate 50 --seconds 2 >/dev/null
for r in $RATES; do
  out=$(lag --rate "$r" --seconds "$SECONDS_PER_RATE") || true
  echo "lag @ ${r}/s: $out"
done
out=$(lag --rate 0 --seconds "$MAX_SECONDS" --threads 16) || true
echo "throughput (closed loop, 16 clients): $out"
