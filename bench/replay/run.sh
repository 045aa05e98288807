#!/usr/bin/env bash
# bench/replay/run.sh — rebuild rate of order-service's read model (the seed's replay).
#
# Produces EVENTS customer events (default 1,000,000 = 200,000 customers × 5 versions) into a
# private compacted topic, then runs `order-service rebuild-read-model` against a private
# database and prints its figures: events read, rows, elapsed ms, events/s (goal ≥ 100,000).
# Uses the dev stack by default; nothing shared is touched (private topic + database, both
# dropped at the end unless KEEP=1).
#
#   BUILD_DIR=build-release bench/replay/run.sh          # a Release build is recommended
#   EVENTS=200000 PARTITIONS=3 bench/replay/run.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
BIN=${CQ_BIN_DIR:-$BUILD_DIR/bin}
PG_HOST=${PG_HOST:-127.0.0.1}
PG_PORT=${PG_PORT:-5433}
BOOTSTRAP=${CQ_KAFKA_BOOTSTRAP:-127.0.0.1:9092}
EVENTS=${EVENTS:-1000000}
VERSIONS=${VERSIONS:-5}
PARTITIONS=${PARTITIONS:-3}
CUSTOMERS=$((EVENTS / VERSIONS))
TAG="bench-replay-$$"
DB="bench_replay_$$"

for b in order-service os_produce; do
  [[ -x $BIN/$b ]] || { echo "missing $BIN/$b (build targets order-service os_produce)" >&2; exit 1; }
done
psql_() { psql -X -q -v ON_ERROR_STOP=1 "host=$PG_HOST port=$PG_PORT user=postgres dbname=cqrs" "$@"; }

cleanup() {
  if [[ ${KEEP:-0} != 1 ]]; then
    "$BIN/os_produce" --bootstrap "$BOOTSTRAP" --topic "$TAG" --delete >/dev/null 2>&1 || true
    psql_ -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

psql_ -c "CREATE DATABASE $DB" >/dev/null
echo "producing $((CUSTOMERS * VERSIONS)) events ($CUSTOMERS customers x $VERSIONS versions, $PARTITIONS partitions) to $TAG ..."
"$BIN/os_produce" --bootstrap "$BOOTSTRAP" --topic "$TAG" --create "$PARTITIONS" \
  --customers "$CUSTOMERS" --versions "$VERSIONS"

echo "rebuilding the read model ..."
OUT=$(env CONFIG_SERVER_URL=none LOG_LEVEL=${LOG_LEVEL:-warn} \
  DATASOURCE_HOST="$PG_HOST" DATASOURCE_PORT="$PG_PORT" DATASOURCE_DBNAME="$DB" DATASOURCE_SSLMODE=disable \
  KAFKA_CONFIG_BOOTSTRAP_SERVERS="$BOOTSTRAP" ORDER_SERVICE_CUSTOMER_TOPIC_NAME="$TAG" \
  ORDER_SERVICE_DLQ_TOPIC_NAME="$TAG.DLQ" KAFKA_CONSUMER_CONFIG_CUSTOMER_GROUP_ID="$TAG-group" \
  "$BIN/order-service" rebuild-read-model)
echo "$OUT"
ROWS=$(psql_ -At -d "$DB" -c 'SELECT count(*) FROM "order".customers' 2>/dev/null || \
       psql -X -At "host=$PG_HOST port=$PG_PORT user=postgres dbname=$DB" -c 'SELECT count(*) FROM "order".customers')
RATE=$(sed -n 's/.*"eventsPerSecond":\([0-9]*\).*/\1/p' <<<"$OUT")
echo "replay: events=$((CUSTOMERS * VERSIONS)) rows=$ROWS rate=${RATE} events/s (goal >= 100000)"
[[ $ROWS -eq $CUSTOMERS ]] || { echo "FAIL: expected $CUSTOMERS rows" >&2; exit 1; }
