#!/usr/bin/env bash
# fault_pg_failover.sh sync|async [updates] — kill -9 the PostgreSQL primary (the postmaster
# and all its processes at once, as a crash) under load, promote the standby 2 s later
# (pg_ctl promote: the detection time of a failover manager), then re-attach the old primary
# as the new standby (pg_rewind, else a new base backup); then the exact account (lib.sh).
#   sync:  synchronous_standby_names names the standby, synchronous_commit on: a commit is
#          acknowledged (201) only once the standby has it — nothing acknowledged may be
#          missing on the new primary (writeLost = 0).
#   async: no synchronous standby: the commits the old primary made after the last WAL the
#          standby received are lost. Measured exactly: from the old primary's WAL after the
#          fork point of the new timeline (cluster.sh pg-lost: commits, outbox rows, time
#          span), and from the load generator (acknowledged commands not on the new primary).
#          The account must still hold for what is there: read model = write side row for
#          row, events on the topic = outbox rows, nothing published that the write side lost —
#          which holds because the profile's customer-service publishes a row only once the
#          standby has flushed it (outbox.standby-flush: 1, config-repo/customer-service-cluster.yml).
#   updates: the load is FAULT_CUSTOMERS (40) customers, then only updates of them (~7 a
#          second each), so every customer has events just before the kill, during the
#          failover and after it: events that a later one supersedes, where a skipped one
#          hides from the final rows and shows only in the per-commit check (lib.sh).
# Expected for all: requests in flight at the kill answer 503 (never a false 201); the pools
# and the relay reconnect to the promoted node through the multi-host conninfo
# (target_session_attrs=read-write).
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then sed -n '2,23s/^# \{0,1\}//p' "$0"; exit 0; fi
. "$(dirname "$0")/lib.sh"
MODE=${1:?sync or async}
NAME=pg_failover_$MODE
case ${2:-} in
  "") ;;
  updates) [ "$FAULT_CUSTOMERS" -gt 0 ] || FAULT_CUSTOMERS=40; NAME=${NAME}_updates ;;
  *) echo "the second argument may only be 'updates'" >&2; exit 2 ;;
esac
"$CLUSTER" pg-mode "$MODE" >/dev/null
fault_begin "$NAME"
load_start 30
sleep 8
old=$("$CLUSTER" pg-primary)
lag=$("$CLUSTER" pg-lag | tr '|' ' ')
FAULT_CLEANUP="'$CLUSTER' pg-primary >/dev/null || '$CLUSTER' pg-promote; '$CLUSTER' pg-rejoin $old"
fault_at "kill -9 the primary $old (replication before: $lag)"
"$CLUSTER" pg-kill "$old" >/dev/null
sleep 2
"$CLUSTER" pg-promote >/dev/null
heal_at "$("$CLUSTER" pg-primary) promoted"
converge_wait
say "readiness: $(readiness)"
say "relay reads checked against the standby's flush: $(curl -s -m 5 "$CUSTOMER_URL/metrics" |
  awk '/^customer_outbox_standby_wait_seconds_(count|sum)[{ ]/ { v[$1] = $NF }
       END { for (k in v) { if (k ~ /count/) c = v[k]; else s = v[k] }; printf "%d, %.3f s waited in all", c, s }')"
lostwal=$("$CLUSTER" pg-lost "$old" "$TRIO_DB" customer.outbox)
say "the old primary's WAL after the fork point: $lostwal"
"$CLUSTER" pg-rejoin "$old" >/dev/null
FAULT_CLEANUP=
say "$old re-attached as the standby of $("$CLUSTER" pg-primary) ($MODE)"
if [ "$MODE" = sync ]; then
  fault_account
else
  fault_account allow-write-loss
  echo "$FAULT_NAME: LOSS WINDOW asynchronous replication lost $(jnum writeLost "$LOAD") acknowledged commands;" \
    "the old primary had committed after the fork point: $lostwal"
fi
