#!/usr/bin/env bash
# fault_pg_crash_idle.sh — the PostgreSQL primary crashes (pg_ctl stop -m immediate, started
# again at once: crash recovery, no failover) right after the order-service applied a burst,
# and then NO traffic comes; then the exact account (lib.sh).
# The burst: 60 customers, then only updates of them, for 2 s. As soon as the load generator
# has seen every acknowledged command in the read model, the server is killed. The live
# projection commits with synchronous_commit off, so its last batches — rows and stored
# offsets — are lost when the WAL writer has not written them yet; the scenario slows the WAL
# writer of the primary (wal_writer_delay 10 s, reset afterwards) so that the last commits
# are certainly unwritten, and fails when the crash lost none (nothing would be proven).
# Expected: with no new event to make it look, the projection notices by itself (its session
# was replaced, its stored offsets are behind what it committed), shows CATCHING_UP, applies
# those events again, and the read model equals the write side within 5 s of the restart; no
# request fails (none is sent during the crash).
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then sed -n '2,15s/^# \{0,1\}//p' "$0"; exit 0; fi
. "$(dirname "$0")/lib.sh"
LIMIT_MS=5000
FAULT_CUSTOMERS=60
FAULT_MAY_FAIL=none
fault_begin pg_crash_idle
p=$("$CLUSTER" pg-primary)
DBP="host=127.0.0.1 port=$("$CLUSTER" pg-port "$p") user=postgres dbname=$TRIO_DB"
walw() { psql -X -q -v ON_ERROR_STOP=1 "$DBP" -c "ALTER SYSTEM $1" -c 'SELECT pg_reload_conf()' >/dev/null; }
walw "SET wal_writer_delay = '10s'"
FAULT_CLEANUP="'$CLUSTER' pg-start $p; psql -X -q '$DBP' -c 'ALTER SYSTEM RESET wal_writer_delay' -c 'SELECT pg_reload_conf()'"
OFFS='SELECT coalesce(sum(next_offset), 0) FROM "order".projection_offsets'
FAULT_RATE=200 load_start 2
load_wait
true & LOAD_PID=$! # (fault_account waits for the load again: a finished job to reap)
before=$(trio_q "$OFFS")
fault_at "pg_ctl stop -m immediate of $p right after the read model showed the burst (stored offsets $before)"
"$CLUSTER" pg-stop "$p" immediate >/dev/null
"$CLUSTER" pg-start "$p" >/dev/null
heal_at "$p restarted (crash recovery done, accepting connections); no traffic from here on"
seen=
end=$(( $(now_ms) + LIMIT_MS + 5000 ))
while [ "$(trio_q "$OFFS" 2>/dev/null || echo x)" != "$before" ] && [ "$(now_ms)" -lt "$end" ]; do
  r=$(curl -s -m 1 "$ORDER_URL/health/readiness" 2>/dev/null || true)
  [[ $r == *'"projection":{"status":"CATCHING_UP"}'* ]] && seen=1
  sleep 0.05
done
converge_wait
say "readiness: $(readiness)${seen:+ (the projection showed CATCHING_UP meanwhile)}"
# What the crash lost: the projection reconnects within its check interval, often before this
# script could read the offsets, so the loss is counted from what it committed (its metric
# counts every committed event, the re-applied ones again) against what is stored now.
committed=$(curl -s -m 5 "$ORDER_URL/metrics" | awk '/^order_projection_events_total[{ ]/ { s += $NF } END { printf "%d", s }')
stored=$(trio_q "$OFFS")
say "the projection committed $committed events, $stored are stored: $((committed - stored)) were lost in the crash and applied again"
[ "$((committed - stored))" -gt 0 ] ||
  fail "the crash lost no projection commit ($committed events committed, $stored stored): nothing was proven"
[ "$CONVERGE_MS" -le "$LIMIT_MS" ] ||
  fail "the read model converged $(secs "$CONVERGE_MS") s after the restart, over the ${LIMIT_MS} ms bound"
walw "RESET wal_writer_delay"
FAULT_CLEANUP=
# the standby reconnects by itself (its walreceiver retries every 5 s): the next scenario needs it
r=
for _ in $(seq 1 150); do r=$("$CLUSTER" pg-lag 2>/dev/null | grep streaming) && break; sleep 0.2; done
if [ -n "$r" ]; then say "replication after the restart: $r"; else fail "the standby does not stream 30 s after the restart"; fi
fault_account
