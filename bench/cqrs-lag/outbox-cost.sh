#!/usr/bin/env bash
# bench/cqrs-lag/outbox-cost.sh — what the outbox costs PostgreSQL per event, by design, on
# the statements alone (no services, no Kafka): the write path's statement (customer row +
# outbox row, the NOTIFY trigger), what the relay writes per event, and the retention delete
# with the vacuum after it — WAL bytes and PostgreSQL CPU per event, which a loaded machine
# does not distort as much as lag. Two databases side by side on one PostgreSQL:
#   v1  (migration 001 only): an UPDATE … SET published_at per relay batch of MARK_BATCH rows
#       (the relay before issue 20), the partial index on unpublished ids, the published_at
#       index; retention by DELETE of published rows, then VACUUM;
#   v2  (001 + 002): one UPDATE of customer.outbox_relay per POSITION_EVERY events (100 ms at
#       1,000/s); retention by DELETE up to the position, then VACUUM.
#   v3  (v2 with customer.outbox partitioned by id range, PART_SIZE ids a partition — a design
#       weighed, not the schema the service runs): the same position; retention by DROP TABLE
#       of the partitions wholly up to the position. What it saves the retention, and what
#       routing each insert through the partitioned table costs the write path.
# For each: EVENTS single-row write transactions by pgbench (CLIENTS connections), then the
# relay's writes, then the retention; printed per event.
#   bench/cqrs-lag/outbox-cost.sh                       # starts the stack's PostgreSQL if needed
#   PG="host=127.0.0.1 port=5433 user=postgres" EVENTS=50000 bench/cqrs-lag/outbox-cost.sh
# Env: PG (conninfo without dbname; default the local stack, scripts/stack.sh up --infra),
# EVENTS (20000), CLIENTS (4), MARK_BATCH (5: the relay's batches at ~1,000/s), POSITION_EVERY (100),
# PART_SIZE (EVENTS / 10), VARIANTS ("v1 v2 v3").
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PG=${PG:-host=127.0.0.1 port=${CQ_PG_PORT:-5433} user=postgres}
EVENTS=${EVENTS:-20000}
CLIENTS=${CLIENTS:-4}
MARK_BATCH=${MARK_BATCH:-5}
POSITION_EVERY=${POSITION_EVERY:-100}
PART_SIZE=${PART_SIZE:-$((EVENTS / 10))}
VARIANTS=${VARIANTS:-v1 v2 v3}
MIG=$ROOT/customer-service/src/dataaccess/migrations
HZ=$(getconf CLK_TCK)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

psql -X -Atq "$PG dbname=postgres" -c 'SELECT 1' >/dev/null 2>&1 || "$ROOT/scripts/stack.sh" up --infra >&2
q() { psql -X -Atq -v ON_ERROR_STOP=1 "$PG dbname=$1" -c "$2"; }
lsn() { q "$1" "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn"; }
# every process of that PostgreSQL: CPU ticks of the postmaster and its live children, plus
# those of its children that have exited (the postmaster's cutime/cstime: the backends of
# pgbench's and psql's connections are gone by the time the figure is read)
pg_ticks() {
  local pm s c
  pm=$(q postgres "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'")
  pm=$(ps -o ppid= -p "$pm" | tr -d ' ')
  s=$(sed 's/.*) //' "/proc/$pm/stat" | awk '{print $12 + $13 + $14 + $15}')
  for c in $(pgrep -P "$pm"); do
    s=$((s + $(sed 's/.*) //' "/proc/$c/stat" 2>/dev/null | awk '{print $12 + $13}' || echo 0)))
  done
  echo $s
}

cat >"$TMP/insert.sql" <<'EOF'
\set n random(1, 2000000000)
WITH c AS (INSERT INTO customer.customers (id, username, first_name, last_name, version, created_at, updated_at)
  VALUES (gen_random_uuid(), 'oc-' || :client_id || '-' || :n || '-' || txid_current(), 'Outbox', 'Cost', 1, now(), now())
  RETURNING id)
INSERT INTO customer.outbox (aggregate_id, version, event_type, payload, occurred_at)
SELECT id, 1, 'CREATED', decode(repeat('ab', 110), 'hex'), now() FROM c;
EOF

# measure DB LABEL SQL… → runs the SQL statements in order, prints "LABEL wal_bytes/event cpu_us/event"
measure() {
  local db=$1 label=$2 l0 l1 c0 c1
  shift 2
  q "$db" CHECKPOINT >/dev/null
  l0=$(lsn "$db") c0=$(pg_ticks)
  "$@"
  l1=$(lsn "$db") c1=$(pg_ticks)
  awk -v l="$label" -v w=$((l1 - l0)) -v c=$((c1 - c0)) -v n="$EVENTS" -v hz="$HZ" \
    'BEGIN { printf "  %-44s %8.0f WAL bytes/event %8.1f µs PostgreSQL CPU/event\n", l, w / n, c / hz / n * 1e6 }'
}

write_path() { pgbench -n -M prepared -c "$CLIENTS" -j 2 -t $((EVENTS / CLIENTS)) -f "$TMP/insert.sql" "$PG dbname=$1" >/dev/null 2>&1; }
v1_marks() { # the v1 relay: per batch, one UPDATE of the batch's rows
  q "$1" "DO \$\$ DECLARE lo bigint; hi bigint; BEGIN SELECT min(id), max(id) INTO lo, hi FROM customer.outbox;
          FOR b IN 0..(hi - lo) / $MARK_BATCH LOOP
            UPDATE customer.outbox SET published_at = now() WHERE id = ANY (ARRAY(SELECT generate_series(lo + b * $MARK_BATCH, lo + b * $MARK_BATCH + $MARK_BATCH - 1)));
            COMMIT; END LOOP; END \$\$" >/dev/null
}
v2_position() { # the v2 relay: one UPDATE of its position row per POSITION_EVERY events
  q "$1" "DO \$\$ DECLARE hi bigint; BEGIN SELECT max(id) INTO hi FROM customer.outbox;
          FOR b IN 1..$EVENTS / $POSITION_EVERY LOOP
            UPDATE customer.outbox_relay SET upto = hi, top = hi, updated_at = now(); COMMIT; END LOOP; END \$\$" >/dev/null
}
v3_partition() { # customer.outbox as v2 has it, partitioned by id range (it is empty here)
  q "$1" "ALTER SEQUENCE customer.outbox_id_seq OWNED BY NONE; DROP VIEW customer.outbox_pending; DROP TABLE customer.outbox;
          CREATE TABLE customer.outbox (id bigint NOT NULL DEFAULT customer.outbox_next_id(), aggregate_id uuid NOT NULL,
            version bigint NOT NULL, event_type text NOT NULL CHECK (event_type IN ('CREATED', 'UPDATED', 'DELETED')),
            payload bytea, occurred_at timestamptz NOT NULL DEFAULT now(), CONSTRAINT outbox_pkey PRIMARY KEY (id))
            PARTITION BY RANGE (id);
          CREATE TRIGGER outbox_notify AFTER INSERT ON customer.outbox FOR EACH STATEMENT EXECUTE FUNCTION customer.outbox_notify();
          DO \$\$ BEGIN FOR p IN 0..$EVENTS / $PART_SIZE + 1 LOOP
            EXECUTE format('CREATE TABLE customer.outbox_p%s PARTITION OF customer.outbox FOR VALUES FROM (%s) TO (%s)',
                           p, p * $PART_SIZE + 1, (p + 1) * $PART_SIZE + 1); END LOOP; END \$\$" >/dev/null
}
v3_retention() { # DROP TABLE of every partition wholly at or below the position, one at a time
  # (partition p holds ids up to (p + 1) * PART_SIZE: v3_partition's bounds)
  q "$1" "DO \$\$ BEGIN FOR p IN 0..(SELECT upto FROM customer.outbox_relay) / $PART_SIZE - 1 LOOP
            EXECUTE format('DROP TABLE IF EXISTS customer.outbox_p%s', p); COMMIT; END LOOP; END \$\$" >/dev/null
}
v1_retention() { q "$1" "DELETE FROM customer.outbox WHERE published_at IS NOT NULL" >/dev/null; q "$1" "VACUUM customer.outbox" >/dev/null; }
v2_retention() {
  q "$1" "DELETE FROM customer.outbox WHERE id <= (SELECT upto FROM customer.outbox_relay)" >/dev/null
  q "$1" "VACUUM customer.outbox" >/dev/null
}

echo "outbox cost per event: $EVENTS single-row write transactions ($CLIENTS connections), relay batches of $MARK_BATCH (v1) / a position per $POSITION_EVERY events (v2, v3), partitions of $PART_SIZE ids (v3); load $(cut -d' ' -f1 /proc/loadavg)"
for v in $VARIANTS; do
  db=outbox_cost_${v}_$$
  q postgres "CREATE DATABASE $db" >/dev/null
  psql -X -q -v ON_ERROR_STOP=1 "$PG dbname=$db" -f "$MIG/001_customer_schema.sql" >/dev/null
  [ $v != v1 ] && psql -X -q -v ON_ERROR_STOP=1 "$PG dbname=$db" -f "$MIG/002_outbox_position.sql" >/dev/null
  [ $v = v3 ] && v3_partition "$db"
  echo "$v:"
  measure "$db" "write path (customer + outbox row, NOTIFY)" write_path "$db"
  if [ $v = v1 ]; then
    measure "$db" "relay: UPDATE published_at, $MARK_BATCH rows a batch" v1_marks "$db"
    measure "$db" "retention: DELETE + VACUUM" v1_retention "$db"
  else
    measure "$db" "relay: the position, once per $POSITION_EVERY events" v2_position "$db"
    if [ $v = v2 ]; then
      measure "$db" "retention: DELETE up to the position + VACUUM" v2_retention "$db"
    else
      measure "$db" "retention: DROP the partitions up to the position" v3_retention "$db"
      echo "  (partitions left: $(q "$db" "SELECT count(*) FROM pg_inherits WHERE inhparent = 'customer.outbox'::regclass"), rows left: $(q "$db" "SELECT count(*) FROM customer.outbox"))"
    fi
  fi
  q postgres "DROP DATABASE $db WITH (FORCE)" >/dev/null
done
