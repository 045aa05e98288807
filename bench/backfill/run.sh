#!/usr/bin/env bash
# bench/backfill/run.sh — customer-service's backfill (POST /admin/backfill {"all":true}) on
# CUSTOMERS customers (default 1,000,000): the job's events/s, the time until a fresh read model
# has them all, and the live write path's answer time (p50/p99 of the commands' HTTP answers, as
# os_lagbench's clients see them) and propagation lag, without and then with the backfill
# running. Prints the figures; nothing is asserted but the final account (the read model equals
# the write side's row count).
#
# 1. A private trio (bench/cqrs-lag/trio.sh: its own database, topic, group and ports).
# 2. CUSTOMERS rows inserted straight into customer.customers — customers written before the
#    outbox existed: nothing of them is on the topic, the read model is empty.
# 3. Baseline: os_lagbench at RATE commands/s (70 % creates, 30 % updates) for DURATION s.
# 4. The backfill started, and the same load at once (DURATION s, within the job); the job's own
#    figures from GET /admin/backfill when it ends; then the read model is waited for.
#
#   BUILD_DIR=build-rel bench/backfill/run.sh            # a Release build is recommended
#   CUSTOMERS=200000 RATE=200 DURATION=20 BATCH=500 MAX_BACKLOG=5000 bench/backfill/run.sh
# Env: PG_HOST/PG_PORT (127.0.0.1:5433), CQ_KAFKA_BOOTSTRAP (127.0.0.1:9092), TRIO_PORT_BASE
# (19500), KEEP=1 keeps the database and topic.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export TRIO_PORT_BASE=${TRIO_PORT_BASE:-19500}
export TRIO_DIR=${TRIO_DIR:-/tmp/cq-bench-backfill-${USER:-root}}
export TRIO_DB=bench_backfill_$$ TRIO_TOPIC=bench-backfill-$$
export CUSTOMER_ADMIN_TOKEN=${CUSTOMER_ADMIN_TOKEN:-bench-backfill-token}
CUSTOMERS=${CUSTOMERS:-1000000}
RATE=${RATE:-200}
DURATION=${DURATION:-20}
BATCH=${BATCH:-500}
MAX_BACKLOG=${MAX_BACKLOG:-5000}
# shellcheck source=../cqrs-lag/trio.sh
source "$ROOT/bench/cqrs-lag/trio.sh"
for b in customer-service order-service config-server os_lagbench; do
  [[ -x $BIN/$b ]] || { echo "missing $BIN/$b (build targets customer-service order-service config-server os_lagbench)" >&2; exit 1; }
done
DBCONN="host=$PG_HOST port=$PG_PORT user=postgres dbname=$TRIO_DB"
q() { psql -X -At "$DBCONN" -c "$1"; }
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.1f\", $1 }"; }
admin() { curl -sS -H "Authorization: Bearer $CUSTOMER_ADMIN_TOKEN" -H 'Content-Type: application/json' "$@"; }
field() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p" <<<"$2" | head -1; }
cleanup() {
  trio_down >/dev/null 2>&1 || true
  if [[ ${KEEP:-0} != 1 ]]; then
    trio_psql -c "DROP DATABASE IF EXISTS $TRIO_DB WITH (FORCE)" >/dev/null 2>&1 || true
    "$BIN/os_produce" --bootstrap "$BOOTSTRAP" --topic "$TRIO_TOPIC" --delete >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

trio_up >/dev/null
echo "backfill bench: $CUSTOMERS customers, load $RATE commands/s for $DURATION s, batch $BATCH, max backlog $MAX_BACKLOG"
t0=$(now)
q "INSERT INTO customer.customers (id, username, first_name, last_name, version, created_at, updated_at)
   SELECT md5('bench-backfill-' || g)::uuid, 'seed-' || g, 'First' || (g % 1000), 'Last' || (g % 997),
          1 + g % 3, now() - interval '1 day', now() - (g % 86400) * interval '1 second'
   FROM generate_series(1, $CUSTOMERS) g" >/dev/null
q "ANALYZE customer.customers" >/dev/null
echo "seeded $CUSTOMERS rows in $(calc "$(now) - $t0") s (no outbox rows: not on the topic)"

load() { # label
  "$BIN/os_lagbench" --customer-url "$CUSTOMER_URL" --pg "$DBCONN" --rate "$RATE" --seconds "$DURATION" \
    --updates 0.3 --timeout-ms 120000 2>/dev/null
}
report() { # label json
  printf '%-22s answer p50 %6s ms  p99 %7s ms | lag p50 %8s ms  p99 %9s ms | %s/s achieved, lost %s\n' "$1" \
    "$(sed -n 's/.*"answerMs":{"p50":\([0-9.]*\).*/\1/p' <<<"$2")" \
    "$(sed -n 's/.*"answerMs":{[^}]*"p99":\([0-9.]*\).*/\1/p' <<<"$2")" \
    "$(sed -n 's/.*"lagMs":{"p50":\([0-9.]*\).*/\1/p' <<<"$2")" \
    "$(sed -n 's/.*"lagMs":{[^}]*"p99":\([0-9.]*\).*/\1/p' <<<"$2")" \
    "$(field createsPerSecond "$2")" "$(field lost "$2")"
}

BASE=$(load)
report "without backfill:" "$BASE"

start_rows=$(q 'SELECT count(*) FROM customer.customers')
t0=$(now)
admin -o /dev/null -w '' -XPOST "$CUSTOMER_URL/admin/backfill" \
  -d "{\"all\":true,\"batchSize\":$BATCH,\"maxBacklog\":$MAX_BACKLOG}"
DURING=$(load)
report "during the backfill:" "$DURING"
while :; do
  ST=$(admin "$CUSTOMER_URL/admin/backfill")
  grep -q '"state":"running"' <<<"$ST" || break
  sleep 0.5
done
t_job=$(calc "$(now) - $t0")
grep -q '"state":"succeeded"' <<<"$ST" || { echo "FAIL: backfill ended: $ST" >&2; exit 1; }
rows=$(q 'SELECT count(*) FROM customer.customers')
until [[ $(q 'SELECT count(*) FROM "order".customers') -ge $rows ]]; do
  sleep 0.5
  awk "BEGIN { exit !($(now) - $t0 > 1800) }" && { echo "FAIL: read model incomplete after 30 min" >&2; exit 1; }
done
t_rm=$(calc "$(now) - $t0")
pub=$(field published "$ST")
echo "backfill: $pub events (the $start_rows rows at its start) in $(field elapsedMs "$ST") ms =" \
  "$(printf '%.0f' "$(field eventsPerSecond "$ST")") events/s; waited for the relay $(field backlogWaitMs "$ST") ms;" \
  "job $t_job s, read model complete after $t_rm s ($(calc "$rows / $t_rm") rows/s end to end)"
DIFF_SQL="SELECT count(*) FROM customer.customers c FULL JOIN \"order\".customers r USING (id)
          WHERE c.id IS NULL OR r.id IS NULL OR c.version <> r.version OR c.username <> r.username"
for _ in $(seq 1 120); do # the last live events may still be on their way
  diff_rows=$(q "$DIFF_SQL")
  [[ $diff_rows -eq 0 ]] && break
  sleep 0.5
done
rm_rows=$(q 'SELECT count(*) FROM "order".customers')
echo "account: write side $rows rows, read model $rm_rows rows, differing $diff_rows"
[[ $rm_rows -eq $rows && $diff_rows -eq 0 ]] || { echo "FAIL: the read model differs from the write side" >&2; exit 1; }
