#!/usr/bin/env bash
# fault_partition.sh SERVICE TARGET — a network partition between one service of the trio and
# the brokers or the database under load, healed after 20 s; then the exact account (lib.sh).
#   SERVICE  customer-service | order-service
#   TARGET   kafka (the three brokers' ports) | pg (both PostgreSQL nodes' ports)
# Made with iptables on loopback: the service runs in a cgroup of its own and every TCP
# segment it sends to TARGET's ports is dropped (its requests and its ACKs: a silent cut, no
# RST, no FIN); nothing else on the machine is cut off (the brokers replicate, the other
# service and the load generator carry on).
# Expected:
#   customer-service ↔ kafka: the relay's produce requests stall (idempotent, unlimited
#     retries and message timeout); commands keep answering 201 (the outbox is in
#     PostgreSQL); the backlog drains in order after the heal.
#   customer-service ↔ pg: commands answer 503 within the pool's timeouts (never a false
#     201, never a hang); the pool and the relay reconnect after the heal.
#   order-service ↔ kafka: the consumer stalls; the projection resumes from its stored offsets.
#   order-service ↔ pg: the projection's transaction dies with its connection (the server
#     drops the silent client after its keepalives, the client after tcp_user_timeout); the
#     projection reconnects and re-applies from the stored offsets, nothing twice.
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then sed -n '2,20s/^# \{0,1\}//p' "$0"; exit 0; fi
SVC=${1:?customer-service or order-service}
TARGET=${2:?kafka or pg}
FAULT_NAME=partition_${SVC%%-*}_$TARGET
. "$(dirname "$0")/lib.sh"
case $TARGET in
  kafka) PORTS=$(tr ' ' ',' <<<"${CQ_CLUSTER_KAFKA_PORTS:-26191 26192 26193}"); WHAT="the brokers ($PORTS)" ;;
  pg) PORTS=$(tr ' ' ',' <<<"${CQ_CLUSTER_PG_PORTS:-26132 26133}"); WHAT="PostgreSQL ($PORTS)" ;;
  *) echo "TARGET must be kafka or pg" >&2; exit 2 ;;
esac
case $SVC in customer-service|order-service) ;; *) echo "SERVICE must be customer-service or order-service" >&2; exit 2 ;; esac
HOLD=${FAULT_PARTITION_S:-20}
# the customer-service cut off from PostgreSQL answers 503s; every other partition fails no
# request (customer-service/README: "no request fails"; the order-service serves no command)
[ "$SVC/$TARGET" = customer-service/pg ] || FAULT_MAY_FAIL=none
netcut_prepare "$SVC"
fault_begin "$FAULT_NAME"
load_start $((HOLD + 20))
sleep 6
FAULT_CLEANUP="netcut_off"
fault_at "partition: $SVC cut off from $WHAT for $HOLD s"
netcut_on "$PORTS"
sleep $((HOLD / 2))
say "readiness during the partition: $(readiness)"
say "outbox backlog: $(trio_q 'SELECT count(*) FROM customer.outbox_pending') rows"
# (the probes above may take seconds against a cut-off service: the heal keeps its time)
left=$((FAULT_T + HOLD * 1000 - $(now_ms)))
[ "$left" -gt 0 ] && sleep "$(secs "$left")"
netcut_off
FAULT_CLEANUP=
heal_at "partition healed"
converge_wait
say "readiness: $(readiness)"
fault_account
