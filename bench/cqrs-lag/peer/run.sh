#!/usr/bin/env bash
# bench/cqrs-lag/peer/run.sh — our CQRS pipeline side by side with Debezium, in one run, on
# the same PostgreSQL, the same Kafka broker and the same load generator.
#
#   ours: customer-service (HTTP → customer row + customer.outbox row in one transaction)
#         → its outbox relay (LISTEN/NOTIFY + polling, produce, mark) → topic (Avro)
#         → order-service's projection → "order".customers
#   peer: the SAME customer-service HTTP write path; a trigger adds, in the same transaction,
#         a row to customer.dbz_outbox in the shape Debezium's outbox EventRouter expects
#         (id, aggregatetype, aggregateid, type, payload jsonb; peer/schema.sql) → Debezium
#         PostgreSQL connector (pgoutput, a publication of that table only, logical slot)
#         + the EventRouter SMT → topic (JSON with schema) → Debezium JDBC sink (upsert,
#         primary key = customer id, tombstone = delete) → "order".customers of its database.
#         Both on one Kafka Connect 4.1.1 worker (standalone, offsets in a file), the broker's
#         Kafka version. Our relay is disabled for the peer's run without touching
#         customer-service: the bench holds the relay's advisory lock (outbox.lock-key) in the
#         peer's database, so that customer-service's relay stays a standby and never
#         publishes (its customer.outbox rows stay unpublished, as a second replica's would).
#   Why this write side: the load generator (os_lagbench) and the write transaction are the
#   same for both pipelines, so both are measured from the same trigger point — the 201,
#   which customer-service sends after the commit — to the row in the read model, by
#   the same meter (LAG_METER). The peer's transaction writes one row more
#   (its outbox row besides ours); that cost is on PostgreSQL, shown in the PG rows below.
#
#
# PHASES (default "ours peer drain-ours drain-peer write"), each pipeline alone:
#   ours, peer   open-loop creates at 200/s and 1,000/s for SECONDS_PER_RATE each, then the
#                highest rate held (steps.sh: a search stepping up by SEARCH_STEP from
#                SEARCH_START, or down by halves from 1,000, then two bisection steps). A step
#                holds when its creates were written at >= 95 % of the offered rate, every one
#                reached the read model, and lag p99 <= LAG_LIMIT_MS. Per step: lag p50/p99/max
#                from the 201 to the read-model row, CPU-s per 10,000 events of the pipeline's
#                processes (ours: order-service + the relay's threads of customer-service; peer:
#                the Connect JVM), of their PostgreSQL backends, of all of PostgreSQL, and of
#                the relay half alone; peak RSS; the lag meter's own cost (% of one core).
#                Then the exact account: write side = read model = identical rows, events
#                written = records on the topic = records the consumer applied.
#   drain-ours,  the backlog drain (drain.sh): DRAIN_EVENTS creates/updates written while
#   drain-peer   the pipeline is stopped, then the pipeline started and timed until the read
#                model holds them all: events/s, CPU-s per 10k events, exact account.
#   write        the write path against PostgreSQL's own limit (writepath.sh): customer-
#                service's closed-loop create rate vs pgbench running the same transaction at
#                the same concurrency on the same PostgreSQL (no pipeline running).
#   scale        the scale curves (scale.sh; SCALE=1 adds the phase): per-event cost and lag
#                of ours with a large outbox, a large read model, more partitions and replicas.
#   meters       (not in the default) both lag meters on ours, alternately at 200 and 1,000/s.
# Lag meter (LAG_METER): commit-ts (default: the read-model row's commit timestamp,
# track_commit_timestamp=on, read in bulk once the step's senders are done, minus the 201's
# time) or poll (the old one: "order".customers polled every 1 ms per outstanding row).
# Output: the table on stdout and in RUN_DIR/table.txt, the SVG plots (plots.sh, gnuplot)
# and the raw data next to it; RUN_DIR defaults to $BENCH_DIR/report-<UTC time>.
#
# Starts everything it measures on its own ports and stops it at exit: PostgreSQL 15 with
# wal_level=logical and track_commit_timestamp=on and Kafka 4.1.1 (scripts/stack.sh,
# CQ_PG_OPTS), config-server + customer-service (+ order-service) (bench/cqrs-lag/trio.sh),
# the Connect worker (peer/peer.sh). Builds the services and bench tools (cmake Release in
# BUILD_DIR) and fetches the Kafka jars (scripts/setup.sh --no-apt) and the peer (Maven
# Central) when missing; installs gnuplot-nox when missing and root.
#   flock /tmp/cq-bench.lock bench/cqrs-lag/peer/run.sh
#   PHASES=ours SECONDS_PER_RATE=5 SEARCH_MAX=1000 bench/cqrs-lag/peer/run.sh     # a smoke run
# Env: BUILD_DIR (build-bench), SECONDS_PER_RATE (30), WARMUP_SECONDS (20, at 200/s: the JVM
# compiles meanwhile), SEARCH_START (1500), SEARCH_STEP (500), SEARCH_MAX (6000), LAG_LIMIT_MS
# (1000), LAG_METER (commit-ts), DRAIN_EVENTS (1000000), DRAIN_UPDATES (0.5: the share of
# updates), WRITE_CLIENTS (16), WRITE_SECONDS (30), SCALE (0), SCALE_ROWS (10000000), SCALE_RATE
# (1000), SCALE_PARTITIONS (12), SCALE_REPLICAS (3), PG_STATEMENTS (0; 1: pg_stat_statements
# loaded, each step and drain writes the statements that took the most time), PORT_BASE (15000: PostgreSQL
# +32, Kafka +92/+93, Connect REST +83, services +181/+184 (+281.. more order-services),
# config +198), BENCH_DIR (the git-ignored bench/cqrs-lag/.peer/run), PHASES, RUN_DIR.
#
# Figures: the README's section "The pipeline vs Debezium" — three quiet-machine runs, the
# table of one of them, the plots, and what bounds each part. (Before issue 20 the lag was
# measured by a 1 ms poll of the read model, which itself took a large share of PostgreSQL.)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench}
[[ $BUILD_DIR = /* ]] || BUILD_DIR=$ROOT/$BUILD_DIR
STEP_S=${SECONDS_PER_RATE:-30}
WARMUP_S=${WARMUP_SECONDS:-20}
SEARCH_START=${SEARCH_START:-1500}
SEARCH_STEP=${SEARCH_STEP:-500}
SEARCH_MAX=${SEARCH_MAX:-6000}
LAG_LIMIT_MS=${LAG_LIMIT_MS:-1000}
export LAG_METER=${LAG_METER:-commit-ts}
PHASES=${PHASES:-ours peer drain-ours drain-peer write}
[ "${SCALE:-0}" = 1 ] && [[ " $PHASES " != *" scale "* ]] && PHASES="$PHASES scale"
PB=${PORT_BASE:-15000}
BENCH_DIR=${BENCH_DIR:-$HERE/../.peer/run}
RUN_DIR=${RUN_DIR:-$BENCH_DIR/report-$(date -u +%Y%m%d-%H%M%S)}
CONNECT_PORT=$((PB + 83))
HZ=$(getconf CLK_TCK)

export CQ_STACK_DIR=$BENCH_DIR/stack CQ_PG_PORT=$((PB + 32)) CQ_KAFKA_PORT=$((PB + 92))
export CQ_KAFKA_CONTROLLER_PORT=$((PB + 93)) CQ_STACK_FRESH=1
export CQ_PG_OPTS="-c wal_level=logical -c track_commit_timestamp=on -c max_wal_size=4GB"
# diagnosis, off for the figures: PostgreSQL's per-statement times and WAL
[ "${PG_STATEMENTS:-0}" = 1 ] &&
  CQ_PG_OPTS="$CQ_PG_OPTS -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all"
export PG_HOST=127.0.0.1 PG_PORT=$CQ_PG_PORT CQ_KAFKA_BOOTSTRAP=127.0.0.1:$CQ_KAFKA_PORT
export TRIO_PORT_BASE=$PB TRIO_CONFIG_PORT=$((PB + 198)) TRIO_LOG_LEVEL=${TRIO_LOG_LEVEL:-info}
export BUILD_DIR
say() { printf 'vs-debezium: %s\n' "$*" >&2; }
for f in ../trio.sh peer.sh cpu.sh steps.sh pipes.sh drain.sh writepath.sh scale.sh table.sh plots.sh; do
  # shellcheck disable=SC1090
  . "$HERE/$f"
done

# ---------------------------------------------------------------- build, fetch, start
for tool in cmake mvn java psql kcat curl pgbench; do
  command -v "$tool" >/dev/null || { say "'$tool' is required (scripts/setup.sh installs it)"; exit 2; }
done
mkdir -p "$BENCH_DIR" "$RUN_DIR"
say "building the services (Release) in $BUILD_DIR"
cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >"$BENCH_DIR.build.log" 2>&1 ||
  { tail -20 "$BENCH_DIR.build.log" >&2; exit 1; }
cmake --build "$BUILD_DIR" --target config-server customer-service order-service os_lagbench os_produce cs_backlog \
  >>"$BENCH_DIR.build.log" 2>&1 || { tail -30 "$BENCH_DIR.build.log" >&2; exit 1; }
ls "$ROOT"/.stack/kafka-libs/kafka_2.13-*.jar >/dev/null 2>&1 || "$ROOT/scripts/setup.sh" --no-apt >&2
dbz_fetch >"$BENCH_DIR.fetch.log" 2>&1 || { tail -20 "$BENCH_DIR.fetch.log" >&2; exit 1; }

LOCK_FD=
cleanup() {
  set +e
  dbz_stop "$BENCH_DIR/connect"
  [ -n "${PEER_PG:-}" ] && dbz_drop_slot "$PEER_PG"
  relay_release
  [ -n "${SAMPLER:-}" ] && kill "$SAMPLER" 2>/dev/null
  for d in "$BENCH_DIR"/*/; do [ -f "$d/env" ] && TRIO_DIR=${d%/} trio_down >/dev/null 2>&1; done
  "$ROOT/scripts/stack.sh" down --infra >/dev/null 2>&1
}
trap cleanup EXIT
for d in "$BENCH_DIR"/*/; do [ -f "$d/env" ] && rm -rf "$d"; done
rm -rf "$BENCH_DIR/connect"
"$ROOT/scripts/stack.sh" down --infra >/dev/null 2>&1 || true
"$ROOT/scripts/stack.sh" up --infra >&2
[ "$(psql -XAt "host=127.0.0.1 port=$PG_PORT user=postgres dbname=postgres" -c 'SHOW wal_level')" = logical ] ||
  { say "PostgreSQL did not start with wal_level=logical"; exit 1; }
RES=$RUN_DIR/results
: >"$RES"

# ---------------------------------------------------------------- phases
for ph in $PHASES; do
  case $ph in
    ours) ours_up ours; measure; ours_account account; ours_down ;;
    peer) peer_up peer; measure; peer_account account; peer_down ;;
    drain-ours) drain ours ;;
    drain-peer) drain peer ;;
    write) write_path ;;
    scale) scale_curves ;;
    meters) meters_compare ;;
    *) say "unknown phase '$ph' (ours peer drain-ours drain-peer write scale meters)"; exit 2 ;;
  esac
done

print_table | tee "$RUN_DIR/table.txt"
plots | sed 's/^/plot: /'
say "table, plots and data in $RUN_DIR"
grep -q 'account .* 0$' "$RES" && exit 1
exit 0
