#!/usr/bin/env bash
# bench/cqrs-lag/trio.sh — start/stop a PRIVATE config-server + customer-service +
# order-service trio against the dev PostgreSQL and Kafka, with its own database, topic,
# consumer group and ports, so benchmarks and manual end-to-end runs never disturb the
# shared stack. Sourced by run.sh; usable by hand:
#   bench/cqrs-lag/trio.sh up      # prints the URLs, state in $TRIO_DIR
#   bench/cqrs-lag/trio.sh down
# Env: BUILD_DIR (default build), PG_HOST/PG_PORT (127.0.0.1:5433; comma lists for a primary
# and its standby), CQ_KAFKA_BOOTSTRAP (127.0.0.1:9092), TRIO_DIR (/tmp/cq-trio-$USER),
# TRIO_PORT_BASE (19000), TRIO_CONFIG_PORT (base + 888), TRIO_PROFILES (local; `cluster`
# for scripts/cluster.sh, as tests/faults/ does), TRIO_EXEC_PREFIX (a command the programs
# are started under, e.g. the fault suite's cgroup wrapper), TRIO_REPO (the folder
# config-server serves; default config-repo/) or TRIO_REPO_URI (a git repository instead).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
BIN=${CQ_BIN_DIR:-$BUILD_DIR/bin}
PG_HOST=${PG_HOST:-127.0.0.1}
PG_PORT=${PG_PORT:-5433}
BOOTSTRAP=${CQ_KAFKA_BOOTSTRAP:-127.0.0.1:9092}
TRIO_DIR=${TRIO_DIR:-/tmp/cq-trio-${USER:-root}}
BASE=${TRIO_PORT_BASE:-19000}
CONFIG_PORT=${TRIO_CONFIG_PORT:-$((BASE + 888))}; CUSTOMER_PORT=$((BASE + 184)); ORDER_PORT=$((BASE + 181))
CUSTOMER_URL=http://127.0.0.1:$CUSTOMER_PORT
ORDER_URL=http://127.0.0.1:$ORDER_PORT

# several hosts: the one that accepts writes (the primary, wherever it is now)
TRIO_PG_ATTRS=$([[ $PG_HOST == *,* ]] && echo " target_session_attrs=read-write" || true)
trio_psql() { psql -X -q -v ON_ERROR_STOP=1 "host=$PG_HOST port=$PG_PORT user=postgres dbname=cqrs$TRIO_PG_ATTRS" "$@"; }

trio_wait() { # url seconds
  local end=$(( $(date +%s) + $2 ))
  until curl -fsS -o /dev/null "$1" 2>/dev/null; do
    [ "$(date +%s)" -lt "$end" ] || { echo "trio: $1 not ready after $2 s" >&2; return 1; }
    sleep 0.1
  done
}

# program[:instance] port args...: log, pid file and exit status (.rc, written when the
# program ends: a shell that started it waits for it) under $TRIO_DIR/program[-instance]
trio_start() {
  local name=${1%%:*} tagname=${1/:/-} port=$2; shift 2
  rm -f "$TRIO_DIR/$tagname.pid" "$TRIO_DIR/$tagname.rc"
  ( export CONFIG_SERVER_URL="http://127.0.0.1:$CONFIG_PORT" APP_PROFILES=${TRIO_PROFILES:-local} SERVER_PORT=$port \
      DATASOURCE_HOST=$PG_HOST DATASOURCE_PORT=$PG_PORT DATASOURCE_DBNAME=$TRIO_DB \
      KAFKA_CONFIG_BOOTSTRAP_SERVERS=$BOOTSTRAP \
      CUSTOMER_SERVICE_CUSTOMER_TOPIC_NAME=$TRIO_TOPIC ORDER_SERVICE_CUSTOMER_TOPIC_NAME=$TRIO_TOPIC \
      ORDER_SERVICE_DLQ_TOPIC_NAME=$TRIO_TOPIC.DLQ \
      KAFKA_CONSUMER_CONFIG_CUSTOMER_GROUP_ID=$TRIO_TOPIC-group LOGGING_LEVEL=${TRIO_LOG_LEVEL:-info}
    # no inherited descriptor above 2 (a caller's flock lock file must not live on in a service)
    for fd in /proc/"$BASHPID"/fd/*; do fd=${fd##*/}; [ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-" 2>/dev/null; done
    # shellcheck disable=SC2086
    setsid ${TRIO_EXEC_PREFIX:-} "$BIN/$name" "$@" &
    echo $! >"$TRIO_DIR/$tagname.pid.new" && mv "$TRIO_DIR/$tagname.pid.new" "$TRIO_DIR/$tagname.pid"
    st=0; wait $! || st=$?
    echo "$st" >"$TRIO_DIR/$tagname.rc" ) </dev/null >>"$TRIO_DIR/$tagname.log" 2>&1 &
  disown $! 2>/dev/null || true # a kill -9 of it is not this shell's news (chaos.sh)
  for _ in $(seq 1 100); do [ -f "$TRIO_DIR/$tagname.pid" ] && break; sleep 0.05; done
}

trio_up() {
  mkdir -p "$TRIO_DIR"
  TRIO_DB=${TRIO_DB:-trio_$$}; TRIO_TOPIC=${TRIO_TOPIC:-trio-$$}
  echo "TRIO_DB=$TRIO_DB TRIO_TOPIC=$TRIO_TOPIC" >"$TRIO_DIR/env"
  trio_psql -c "CREATE DATABASE $TRIO_DB" >/dev/null
  if [ -n "${TRIO_REPO_URI:-}" ]; then # a git repository (bench/config-live)
    trio_start config-server "$CONFIG_PORT" --repo-uri "$TRIO_REPO_URI" --git-basedir "$TRIO_DIR/config-server-git" \
      --git-refresh-s 60 --port "$CONFIG_PORT"
  else
    trio_start config-server "$CONFIG_PORT" --repo "${TRIO_REPO:-$ROOT/config-repo}" --port "$CONFIG_PORT"
  fi
  trio_wait "http://127.0.0.1:$CONFIG_PORT/actuator/health" 30
  trio_start customer-service "$CUSTOMER_PORT"
  trio_wait "$CUSTOMER_URL/health/readiness" 60
  trio_start order-service "$ORDER_PORT"
  trio_wait "$ORDER_URL/health/readiness" 60
  echo "trio up: CUSTOMER_URL=$CUSTOMER_URL ORDER_URL=$ORDER_URL db=$TRIO_DB topic=$TRIO_TOPIC (logs in $TRIO_DIR)"
}

trio_down() {
  local rc=0
  for f in "$TRIO_DIR"/order-service*.pid "$TRIO_DIR"/customer-service*.pid "$TRIO_DIR"/config-server.pid; do
    [ -f "$f" ] || continue
    local n; n=$(basename "$f" .pid)
    local p; p=$(cat "$f")
    local how="after SIGTERM"
    if kill -TERM "$p" 2>/dev/null; then
      for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$p" 2>/dev/null && { echo "trio: $n did not stop, killing" >&2; kill -KILL "$p"; rc=1; }
    else
      how="before the stop"
    fi
    for _ in $(seq 1 50); do [ -f "$TRIO_DIR/$n.rc" ] && break; sleep 0.1; done
    [ "$(cat "$TRIO_DIR/$n.rc" 2>/dev/null)" = 0 ] ||
      { echo "trio: $n exited $how with status $(cat "$TRIO_DIR/$n.rc" 2>/dev/null || echo '?')" >&2; rc=1; }
    rm -f "$f"
  done
  if [ -f "$TRIO_DIR/env" ] && [ "${KEEP:-0}" != 1 ]; then
    # shellcheck disable=SC1091
    . "$TRIO_DIR/env"
    trio_psql -c "DROP DATABASE IF EXISTS $TRIO_DB WITH (FORCE)" >/dev/null || true
    [ -x "$BIN/os_produce" ] && "$BIN/os_produce" --bootstrap "$BOOTSTRAP" --topic "$TRIO_TOPIC" --delete >/dev/null 2>&1 || true
    [ -x "$BIN/os_produce" ] && "$BIN/os_produce" --bootstrap "$BOOTSTRAP" --topic "$TRIO_TOPIC.DLQ" --delete >/dev/null 2>&1 || true
    rm -f "$TRIO_DIR/env"
  fi
  return $rc
}

# For the benchmark scripts: checks the programs are built, brings a trio up (down again at
# exit), and sets PG (the trio's database) for os_lagbench.
trio_bench_up() {
  local b
  for b in config-server customer-service order-service os_lagbench os_produce; do
    [[ -x $BIN/$b ]] || { echo "missing $BIN/$b (build it first)" >&2; exit 1; }
  done
  trap 'trio_down >/dev/null 2>&1 || true' EXIT
  trio_up
  # shellcheck disable=SC1091
  . "$TRIO_DIR/env"
  PG="host=$PG_HOST port=$PG_PORT user=postgres dbname=$TRIO_DB$TRIO_PG_ATTRS"
}

trio_q() { psql -X -Atq "$PG" -c "$1"; } # one value (or |-separated row) from the trio's database

# The exact account after a load: waits (up to 60 s) until the outbox is drained and the read
# model has caught up, then prints and sets WRITTEN (customers on the write side) and
# EVENTS (outbox rows: creates, updates and deletes) and checks that read model and
# identical rows equal WRITTEN, that the topic's events (the projection's stored offsets
# summed) equal EVENTS — each published once and applied once — and that nothing is left
# unpublished. Returns 0 when they do. (With creates only, EVENTS = WRITTEN.)
trio_account() {
  local projected identical offsets backlog same
  for _ in $(seq 1 600); do
    [ "$(trio_q 'SELECT count(*) FROM customer.outbox_pending')" = 0 ] &&
      same=$(trio_q 'SELECT (SELECT count(*) FROM customer.customers) = (SELECT count(*) FROM "order".customers)
               AND (SELECT count(*) FROM customer.outbox) = (SELECT coalesce(sum(next_offset), 0) FROM "order".projection_offsets)') &&
      [ "$same" = t ] && break
    sleep 0.1
  done
  read -r WRITTEN projected identical offsets backlog EVENTS <<<"$(trio_q "SELECT
      (SELECT count(*) FROM customer.customers),
      (SELECT count(*) FROM \"order\".customers),
      (SELECT count(*) FROM customer.customers c JOIN \"order\".customers o USING (id)
        WHERE (c.version, c.username, c.first_name, c.last_name) = (o.version, o.username, o.first_name, o.last_name)),
      (SELECT coalesce(sum(next_offset), 0) FROM \"order\".projection_offsets),
      (SELECT count(*) FROM customer.outbox_pending),
      (SELECT count(*) FROM customer.outbox)" | tr '|' ' ')"
  echo "account: write side $WRITTEN, read model $projected, identical $identical," \
    "events written $EVENTS, events on the topic (offsets) $offsets, outbox backlog $backlog"
  [ "$WRITTEN" = "$projected" ] && [ "$projected" = "$identical" ] && [ "$EVENTS" = "$offsets" ] &&
    [ "$backlog" = 0 ]
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  case ${1:-} in
    up) trio_up ;;
    down) trio_down ;;
    *) echo "usage: $0 up|down" >&2; exit 2 ;;
  esac
fi
