#!/usr/bin/env bash
# fault_broker_leader.sh — kill -9 the broker that leads most partitions of the trio's
# `customer` topic under load, restart it 10 s later; then the exact account (lib.sh).
# Expected: the relay's producer retries (idempotent, acks=all) until the partitions have
# new leaders among the two in-sync followers; nothing is lost or duplicated; the HTTP side
# never fails (the outbox commits in PostgreSQL).
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then sed -n '2,6s/^# \{0,1\}//p' "$0"; exit 0; fi
. "$(dirname "$0")/lib.sh"
FAULT_MAY_FAIL=none # customer-service/README: "no request fails"
fault_begin broker_leader
load_start 30
sleep 8
b=$("$CLUSTER" leader "$TRIO_TOPIC")
[ -n "$b" ] || { fail "no leader found for $TRIO_TOPIC"; b=1; }
FAULT_CLEANUP="'$CLUSTER' start-broker $b"
fault_at "kill -9 broker $b (leads most partitions of $TRIO_TOPIC)"
"$CLUSTER" kill-broker "$b" >/dev/null
sleep 3
say "readiness: $(readiness)"
say "leaders now: $(kcat -b "$CQ_KAFKA_BOOTSTRAP" -L -t "$TRIO_TOPIC" 2>/dev/null | sed -n 's/.*partition \([0-9]*\), leader \([0-9-]*\),.*/p\1→\2/p' | tr '\n' ' ')"
sleep 7
heal_at "broker $b starting (the time to converge includes its start)"
"$CLUSTER" start-broker "$b" >/dev/null
FAULT_CLEANUP=
say "broker $b started"
converge_wait
fault_account
