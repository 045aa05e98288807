#!/usr/bin/env bash
# fault_pg_restart.sh — the order-service's database (the PostgreSQL primary, which in this
# stack it shares with the customer-service) restarted with `pg_ctl stop -m immediate` (a
# crash: no checkpoint, crash recovery at the start; no failover) while the projection is in
# the middle of a batch; then the exact account (lib.sh).
# "Mid-batch" is made certain, not left to timing: a session of the test holds row locks on
# the trio's "order".projection_offsets rows, so the projection's next batch applies its
# upserts and then waits on the offsets' UPDATE (the batch's last statement, in the same
# transaction). Once pg_stat_activity shows the order-service's session waiting on that lock
# inside a transaction with writes (backend_xid set), the server is killed.
# Expected: that transaction is rolled back with the crash (rows and offsets together); the
# projection reconnects, re-reads from its stored offsets and applies the batch again, each
# event once (offsets = events); commands answer 503 while the server is down, never 500.
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then sed -n '2,14s/^# \{0,1\}//p' "$0"; exit 0; fi
. "$(dirname "$0")/lib.sh"
fault_begin pg_restart
load_start 30
sleep 6
p=$("$CLUSTER" pg-primary)
DBP="host=127.0.0.1 port=$("$CLUSTER" pg-port "$p") user=postgres dbname=$TRIO_DB"
# the lock holder: lives until the crash ends its session (or 60 s)
psql -X -q -v ON_ERROR_STOP=1 "$DBP" -c 'BEGIN' -c 'SELECT 1 FROM "order".projection_offsets FOR UPDATE' \
  -c 'SELECT pg_sleep(60)' >/dev/null 2>"$OUT/lock.err" &
LOCK_PID=$!
FAULT_CLEANUP="kill $LOCK_PID"
q="SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'order-service'
     AND backend_xid IS NOT NULL AND wait_event_type = 'Lock' AND query LIKE '%projection_offsets%'"
end=$(( $(now_ms) + 30000 ))
until [ "$(psql -X -Atq "$DBP" -c "$q" 2>/dev/null)" = 1 ]; do
  [ "$(now_ms)" -lt "$end" ] || { fail "the projection never waited on its offsets in 30 s $(cat "$OUT/lock.err")"; break; }
  sleep 0.1
done
held=$(psql -X -Atq "$DBP" -c "SELECT round(extract(epoch FROM now() - xact_start) * 1000) FROM pg_stat_activity
  WHERE datname = current_database() AND application_name = 'order-service' AND wait_event_type = 'Lock'" 2>/dev/null | head -1)
FAULT_CLEANUP="'$CLUSTER' pg-start $p"
fault_at "pg_ctl stop -m immediate of $p while the projection's batch is open (its transaction wrote, ${held:-?} ms old, waiting on the offsets' row lock)"
"$CLUSTER" pg-stop "$p" immediate >/dev/null
wait "$LOCK_PID" 2>/dev/null || true
"$CLUSTER" pg-start "$p" >/dev/null
FAULT_CLEANUP=
heal_at "$p restarted (crash recovery done, accepting connections)"
converge_wait
say "readiness: $(readiness)"
# the standby reconnects by itself (its walreceiver retries every 5 s): the next scenario needs it
r=
for _ in $(seq 1 150); do r=$("$CLUSTER" pg-lag 2>/dev/null | grep streaming) && break; sleep 0.2; done
if [ -n "$r" ]; then say "replication after the restart: $r"; else fail "the standby does not stream 30 s after the restart"; fi
fault_account
