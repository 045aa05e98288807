#!/usr/bin/env bash
# fault_two_brokers.sh — stop two of the three brokers under load (the controller quorum and
# every partition's min.insync.replicas=2 are lost), hold 15 s, start them again; then the
# exact account (lib.sh). Expected: the relay's writes to Kafka stall (acks=all cannot be
# met: nothing is acknowledged by a single broker) and resume in order when the brokers are
# back; the HTTP side keeps answering 201 for commands that are durable in the outbox, and
# only for those (every acknowledged command is on the write side); the read model catches
# up; the topic holds every outbox id once, in order per customer.
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then sed -n '2,8s/^# \{0,1\}//p' "$0"; exit 0; fi
. "$(dirname "$0")/lib.sh"
FAULT_MAY_FAIL=none # customer-service/README: "still no request fails"
fault_begin two_brokers
load_start 35
sleep 6
b=$("$CLUSTER" leader "$TRIO_TOPIC")
others=$(for n in 1 2 3; do [ "$n" = "$b" ] || echo "$n"; done | tr '\n' ' ')
FAULT_CLEANUP="for n in $others; do '$CLUSTER' start-broker \$n; done"
fault_at "stop brokers $others (two of three; broker $b, the leader of most partitions, stays)"
# one after the other: the second's controlled shutdown still has a controller quorum
for n in $others; do "$CLUSTER" stop-broker "$n" >/dev/null; done
say "brokers $others stopped"
backlog0=$(trio_q 'SELECT count(*) FROM customer.outbox_pending')
sleep 15
backlog1=$(trio_q 'SELECT count(*) FROM customer.outbox_pending')
say "while two brokers are down the outbox backlog grew $backlog0 → $backlog1 rows (writes held, not lost)"
say "readiness: $(readiness)"
[ "$backlog1" -gt "$backlog0" ] || fail "the relay kept publishing with two of three brokers down (backlog $backlog0 → $backlog1)"
heal_at "brokers $others starting (the time to converge includes their start)"
# together: a controller quorum needs both of them
pids=()
for n in $others; do "$CLUSTER" start-broker "$n" >/dev/null & pids+=($!); done
wait "${pids[@]}"
FAULT_CLEANUP=
say "brokers $others started"
converge_wait
fault_account
