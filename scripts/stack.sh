#!/usr/bin/env bash
# stack.sh — start, stop and inspect the local cqrs-ordering stack.
#
#   stack.sh up [--infra|--services]   start PostgreSQL 15 + Kafka 4.x (--infra), the three
#                                       programs (--services), or all of them (default)
#   stack.sh down [--services]         stop everything (or only the programs)
#   stack.sh status                    what is running, with PIDs and ports
#   stack.sh logs [NAME]               the last lines of every log (or of NAME)
#   stack.sh stop-kafka | start-kafka  stop/start only the broker (fault tests)
#   stack.sh crash-pg                  PostgreSQL killed as by a crash and started again
#                                       (pg_ctl restart -m immediate: no shutdown checkpoint,
#                                       commits made with synchronous_commit off and not yet
#                                       written are lost; fault tests)
#
# Everything lives in one directory ($CQ_STACK_DIR, default .stack/local): data, logs and
# PID files. PostgreSQL is a private cluster (initdb as user postgres) on its own port;
# Kafka is a single-node KRaft broker run from the Maven Central jars that setup.sh fetched.
# `up` twice is harmless; `down` leaves nothing running. Settings (env):
#   CQ_STACK_DIR CQ_PG_PORT(5433) CQ_KAFKA_PORT(9092) CQ_KAFKA_CONTROLLER_PORT(9093)
#   CQ_CONFIG_PORT(8888) CQ_CUSTOMER_PORT(8184) CQ_ORDER_PORT(8181) CQ_PROFILE(local)
#   CQ_BIN_DIR(build/bin) CQ_KAFKA_HEAP("-Xms128m -Xmx512m") CQ_KAFKA_LIBS(.stack/kafka-libs)
#   CQ_STACK_FRESH=1: `up --infra` on a stopped stack first deletes its data (test runs)
#   CQ_CONFIG_GIT=1: config-server serves a git repository instead of the folder: a bare repo
#     $CQ_STACK_DIR/config-repo.git, seeded from config-repo/ (each `up` commits there what
#     changed in the folder), fetched every 5 s, or at once on POST /monitor
#   CQ_PG_OPTS: extra server options, e.g. "-c wal_level=logical" (bench/cqrs-lag/peer)
#   CQ_KAFKA_HOST_PORT: a second Kafka listener (HOST) on this port of the machine's address
#     (CQ_KAFKA_HOST_IP, default the default route's source), advertised as that address, for
#     clients that cannot use 127.0.0.1: the test cluster's pods (tests/k8s/test_k8s.sh)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
STACK=${CQ_STACK_DIR:-$root/.stack/local}
PG_PORT=${CQ_PG_PORT:-5433}
KAFKA_PORT=${CQ_KAFKA_PORT:-9092}
KAFKA_CTRL_PORT=${CQ_KAFKA_CONTROLLER_PORT:-9093}
CONFIG_PORT=${CQ_CONFIG_PORT:-8888}
CUSTOMER_PORT=${CQ_CUSTOMER_PORT:-8184}
ORDER_PORT=${CQ_ORDER_PORT:-8181}
PROFILE=${CQ_PROFILE:-local}
BIN=${CQ_BIN_DIR:-$root/build/bin}
KAFKA_LIBS=${CQ_KAFKA_LIBS:-$root/.stack/kafka-libs}
KAFKA_HEAP=${CQ_KAFKA_HEAP:--Xms128m -Xmx512m}
CLUSTER_ID=cqrsOrderingLocal0000w   # fixed: saves a JVM start for random-uuid
LOGS=$STACK/logs
RUN=$STACK/run

SAY=stack
# say die now_ms port_busy pid_alive show_log as_pg stop_pid pg_owned_dir kafka_format kafka_start
# shellcheck source=lib/stackfns.sh
. "$root/scripts/lib/stackfns.sh"

# ---------------------------------------------------------------- PostgreSQL
pg_dir() { pg_owned_dir "$STACK/pg"; }

pg_up() {
  local d; d=$(pg_dir)
  local data=$d/data sock=$d/run log=$d/postgres.log
  if [ -f "$data/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    say "postgres already running on 127.0.0.1:$PG_PORT"; return 0
  fi
  port_busy "$PG_PORT" && die "port $PG_PORT (PostgreSQL) is taken by another process; set CQ_PG_PORT"
  if [ ! -f "$data/PG_VERSION" ]; then
    say "initdb $data"
    as_pg mkdir -p "$data"
    as_pg "$PGBIN/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$d/initdb.log" 2>&1 \
      || { show_log "$d/initdb.log"; die "initdb failed"; }
  fi
  as_pg mkdir -p "$sock"
  local t0; t0=$(now_ms)
  if ! as_pg "$PGBIN/pg_ctl" -D "$data" -l "$log" -w -t 60 \
       -o "-p $PG_PORT -k $sock -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=on ${CQ_PG_OPTS:-}" start >/dev/null; then
    show_log "$log"; die "PostgreSQL did not start"
  fi
  psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='cqrs'" \
    | grep -q 1 || psql -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -c "CREATE DATABASE cqrs" >/dev/null
  say "postgres ready on 127.0.0.1:$PG_PORT (database cqrs) in $(( $(now_ms) - t0 )) ms"
}

pg_data() { echo "$(readlink -f "$STACK/pg")/data"; }  # resolved: postgres may not traverse $STACK

pg_running() { [ -f "$(pg_data)/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$(pg_data)" status >/dev/null 2>&1; }

pg_crash() {
  pg_running || die "postgres is not running"
  local t0; t0=$(now_ms)
  as_pg "$PGBIN/pg_ctl" -D "$(pg_data)" -l "$(readlink -f "$STACK/pg")/postgres.log" -m immediate -w -t 60 \
    restart >/dev/null || die "PostgreSQL did not come back after the immediate restart"
  say "postgres crashed (immediate) and ready again on 127.0.0.1:$PG_PORT in $(( $(now_ms) - t0 )) ms"
}

pg_down() {
  pg_running || return 0
  as_pg "$PGBIN/pg_ctl" -D "$(pg_data)" -m fast -w -t 60 stop >/dev/null || die "PostgreSQL did not stop"
  say "postgres stopped"
}

# ---------------------------------------------------------------- Kafka
kafka_props() {
  local k=$STACK/kafka listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CTRL_PORT
  local adv=PLAINTEXT://127.0.0.1:$KAFKA_PORT map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT ip
  if [ -n "${CQ_KAFKA_HOST_PORT:-}" ]; then
    ip=${CQ_KAFKA_HOST_IP:-$(ip -4 route get 1.1.1.1 2>/dev/null | awk '{ for (i = 1; i < NF; i++) if ($i == "src") { print $(i + 1); exit } }')}
    [ -n "$ip" ] || die "CQ_KAFKA_HOST_PORT: no address of this machine (set CQ_KAFKA_HOST_IP)"
    listeners=$listeners,HOST://$ip:$CQ_KAFKA_HOST_PORT adv=$adv,HOST://$ip:$CQ_KAFKA_HOST_PORT map=$map,HOST:PLAINTEXT
  fi
  kafka_props_write "$k/server.properties" "generated by scripts/stack.sh — single-node KRaft broker + controller" \
    node.id=1 controller.quorum.voters="1@127.0.0.1:$KAFKA_CTRL_PORT" listeners="$listeners" \
    advertised.listeners="$adv" listener.security.protocol.map="$map" log.dirs="$k/data" \
    log.cleaner.backoff.ms=5000
}

kafka_up() {
  local k=$STACK/kafka pid=$RUN/kafka.pid log=$LOGS/kafka.log
  if pid_alive "$pid"; then say "kafka already running on 127.0.0.1:$KAFKA_PORT"; return 0; fi
  kafka_jars_check
  for p in "$KAFKA_PORT" "$KAFKA_CTRL_PORT"; do
    port_busy "$p" && die "port $p (Kafka) is taken by another process; set CQ_KAFKA_PORT / CQ_KAFKA_CONTROLLER_PORT"
  done
  mkdir -p "$k/data" "$LOGS" "$RUN"
  kafka_props
  if [ ! -f "$k/data/meta.properties" ]; then
    say "formatting Kafka storage in $k/data"
    kafka_format "$k/server.properties" "$CLUSTER_ID" "$LOGS/kafka-format.log"
  fi
  kafka_start kafka "$k/server.properties" "$log" "$pid" "$KAFKA_PORT" "$KAFKA_HEAP"
}

kafka_down() { stop_pid kafka "$RUN/kafka.pid" 60; }

# ---------------------------------------------------------------- the three programs
svc_port() { case $1 in config-server) echo "$CONFIG_PORT";; customer-service) echo "$CUSTOMER_PORT";; order-service) echo "$ORDER_PORT";; esac; }
svc_health() { case $1 in config-server) echo /actuator/health;; *) echo /health/readiness;; esac; }

# The stack's git config repository (CQ_CONFIG_GIT=1): config-repo/'s files committed to
# the main branch of a bare repo in the stack dir (a no-op when nothing changed). Prints its URI.
config_git_seed() {
  local bare=$STACK/config-repo.git work=$STACK/config-repo.work
  local g=(git -c user.name=stack.sh -c user.email=stack@localhost -c init.defaultBranch=main)
  [ -d "$bare" ] || "${g[@]}" init -q --bare "$bare"
  rm -rf "$work"
  "${g[@]}" clone -q "$bare" "$work" 2>/dev/null
  find "$work" -mindepth 1 -maxdepth 1 ! -name .git -exec rm -rf {} +
  cp -r "$root/config-repo/." "$work/"
  (cd "$work" && "${g[@]}" checkout -q -B main && "${g[@]}" add -A &&
   { "${g[@]}" diff --cached --quiet || "${g[@]}" commit -qm "config-repo/ as of $(date -u +%FT%TZ)"; } &&
   "${g[@]}" push -q origin main) >/dev/null 2>&1 || die "cannot seed the git config repository $bare"
  rm -rf "$work"
  echo "file://$bare"
}

svc_up() {
  local name=$1 pidf=$RUN/$1.pid log=$LOGS/$1.log port; port=$(svc_port "$1")
  if pid_alive "$pidf"; then say "$name already running on 127.0.0.1:$port"; return 0; fi
  [ -x "$BIN/$name" ] || die "$BIN/$name not built (cmake --build build)"
  port_busy "$port" && die "port $port ($name) is taken by another process"
  mkdir -p "$LOGS" "$RUN"
  local t0 uri=; t0=$(now_ms)
  if [ "$name" = config-server ] && [ "${CQ_CONFIG_GIT:-0}" = 1 ]; then
    uri=$(config_git_seed)
    say "config-server serves the git repository $uri (main = config-repo/)"
  fi
  (
    export CONFIG_SERVER_URL="http://127.0.0.1:$CONFIG_PORT" APP_PROFILES="$PROFILE"
    export SERVER_PORT="$port" DATASOURCE_HOST=127.0.0.1 DATASOURCE_PORT="$PG_PORT"
    export KAFKA_CONFIG_BOOTSTRAP_SERVERS="127.0.0.1:$KAFKA_PORT"
    if [ "$name" = config-server ] && [ "${CQ_CONFIG_GIT:-0}" = 1 ]; then
      exec setsid "$BIN/$name" --repo-uri "$uri" --git-basedir "$STACK/config-server-git" --git-refresh-s 5 \
        --port "$port" </dev/null >>"$log" 2>&1
    elif [ "$name" = config-server ]; then
      exec setsid "$BIN/$name" --repo "$root/config-repo" --port "$port" </dev/null >>"$log" 2>&1
    else
      exec setsid "$BIN/$name" </dev/null >>"$log" 2>&1
    fi
  ) &
  echo $! >"$pidf"
  local deadline=$(( $(date +%s) + 60 ))
  until curl -fsS -o /dev/null "http://127.0.0.1:$port$(svc_health "$name")" 2>/dev/null; do
    pid_alive "$pidf" || { show_log "$log" 30; rm -f "$pidf"; die "$name exited during start"; }
    [ "$(date +%s)" -lt "$deadline" ] || { show_log "$log" 30; die "$name not ready after 60 s"; }
    sleep 0.1
  done
  say "$name ready on 127.0.0.1:$port in $(( $(now_ms) - t0 )) ms (pid $(cat "$pidf"))"
}

services_up() { for s in config-server customer-service order-service; do svc_up "$s"; done; }
services_down() { for s in order-service customer-service config-server; do stop_pid "$s" "$RUN/$s.pid" 30; done; }

status() {
  local any=0
  if pg_running; then
    say "postgres          running  127.0.0.1:$PG_PORT  pid $(head -1 "$(pg_data)/postmaster.pid")"; any=1
  else say "postgres          stopped"; fi
  for n in kafka config-server customer-service order-service; do
    local port=$KAFKA_PORT; [ "$n" = kafka ] || port=$(svc_port "$n")
    if pid_alive "$RUN/$n.pid"; then printf 'stack: %-17s running  127.0.0.1:%s  pid %s\n' "$n" "$port" "$(cat "$RUN/$n.pid")"; any=1
    else printf 'stack: %-17s stopped\n' "$n"; fi
  done
  [ "$any" = 1 ]
}

logs() {
  local files=("$(readlink -f "$STACK/pg")/postgres.log" "$LOGS"/*.log)
  for f in "${files[@]}"; do
    [ -f "$f" ] || continue
    if [ -n "${1:-}" ] && [[ "$f" != *"$1"* ]]; then continue; fi
    echo "==== $f"; tail -n "${CQ_LOG_LINES:-40}" "$f"
  done
}

cmd=${1:-}; shift || true
what=${1:-all}
case "$cmd" in
  up)
    case "$what" in
      --infra)
        if [ "${CQ_STACK_FRESH:-0}" = 1 ] && ! pid_alive "$RUN/kafka.pid" && ! pg_running; then
          say "fresh start: removing $STACK"
          pg_drop_dir "$STACK/pg"
          rm -rf "$STACK"
        fi
        pg_up; kafka_up ;;
      --services) services_up ;;
      all) pg_up; kafka_up; services_up ;;
      *) die "up: unknown option '$what'" ;;
    esac ;;
  down)
    case "$what" in
      --services) services_down ;;
      all|--infra) services_down; kafka_down; pg_down ;;
      *) die "down: unknown option '$what'" ;;
    esac ;;
  status) status ;;
  logs) logs "${1:-}" ;;
  stop-kafka) kafka_down ;;
  start-kafka) kafka_up ;;
  crash-pg) pg_crash ;;
  -h|--help|help|"") sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; [ -n "$cmd" ] || exit 2 ;;
  *) die "unknown command '$cmd' (try --help)" ;;
esac
