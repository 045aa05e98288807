# tests/faults/lib.sh — the fault suite's shared part (sourced by every fault_*.sh).
#
# Each scenario runs a PRIVATE trio (bench/cqrs-lag/trio.sh: config-server, customer-service,
# order-service with their own database, topic and consumer group) on the replicated stack of
# scripts/cluster.sh (profile `cluster`: 3 brokers, topics with replication 3 and
# min.insync.replicas 2; a PostgreSQL primary + streaming standby behind a multi-host
# conninfo), puts a steady open-loop load of creates, updates and deletes on it
# (os_lagbench), injects its fault, heals it, and ends with the exact account:
#   - every acknowledged command (201/200/204) shows in the read model (lost = 0) and on the
#     write side (writeLost = 0, unless the scenario measures what asynchronous replication
#     loses);
#   - write side = read model, row for row; the events written (outbox rows) = the events
#     on the topic (the projection's stored offsets): each published once, applied once;
#   - the topic holds every outbox id exactly once, in order per customer (no loss, no
#     duplicate, no reordering by the relay's retries or a leader change);
#   - each event applied, commit by commit (event_check.py on the record audit.sql's
#     triggers keep of every committed change of the read model and of the stored offsets):
#     after every commit of the projection, the rows of the customers whose events it moved
#     past (or whose rows it wrote) equal the fold of their events below the new offsets —
#     none skipped, even when a later event supersedes it, none applied early or twice; the
#     dead-letter topic empty;
#   - the failed requests only those the scenario allows: none (FAULT_MAY_FAIL=none, where a
#     README promises that no request fails) or 503s; never a 500, another 5xx, a 4xx (but a
#     404 for a customer that asynchronous replication lost), a connection error or a request
#     left without an answer for FAULT_REQUEST_TIMEOUT_MS (a hang);
#   - each service still running at the end, and its exit status after SIGTERM 0 (a crash
#     or a sanitizer report — the ctest build is ASan + UBSan — fails the scenario).
# Printed: the outage, how long the failed requests (503 …) lasted, the time to converge
# (heal → everything acknowledged before the heal visible in the read model) and the account.
# Env: CQ_BIN_DIR (the build's bin/), FAULT_RATE (300/s), FAULT_SECONDS (per scenario),
# FAULT_UPDATES (0.25), FAULT_DELETES (0.1), FAULT_CUSTOMERS (0; N: N customers, then only
# updates of them), FAULT_REQUEST_TIMEOUT_MS (30000), CQ_CLUSTER_DIR.
set -euo pipefail
FAULTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$FAULTS/../.." && pwd)
CLUSTER=$ROOT/scripts/cluster.sh
export CQ_BIN_DIR=${CQ_BIN_DIR:-$ROOT/build/bin}
# the trio's ports: base + 181/184/188, beside the cluster's in 26100-26199 (below the
# ephemeral range); CQ_FAULTS_PORT_BASE moves them with the cluster's (tests/faults/CMakeLists.txt)
FAULTS_BASE=${CQ_FAULTS_PORT_BASE:-26000}
export TRIO_PROFILES=cluster TRIO_PORT_BASE=$FAULTS_BASE TRIO_CONFIG_PORT=$((FAULTS_BASE + 188))
export TRIO_DIR=${TRIO_DIR:-/tmp/cq-faults-${USER:-root}}
export PG_HOST=127.0.0.1,127.0.0.1 PG_PORT=$(tr ' ' ',' <<<"${CQ_CLUSTER_PG_PORTS:-26132 26133}")
CQ_KAFKA_BOOTSTRAP=$("$CLUSTER" bootstrap)
export CQ_KAFKA_BOOTSTRAP
FAULT_RATE=${FAULT_RATE:-300}
FAULT_UPDATES=${FAULT_UPDATES:-0.25}
FAULT_DELETES=${FAULT_DELETES:-0.1}
FAULT_CUSTOMERS=${FAULT_CUSTOMERS:-0}
FAULT_REQUEST_TIMEOUT_MS=${FAULT_REQUEST_TIMEOUT_MS:-30000}
FAULT_MAY_FAIL=${FAULT_MAY_FAIL:-503}
# shellcheck source=../../bench/cqrs-lag/trio.sh
. "$ROOT/bench/cqrs-lag/trio.sh"

now_ms() { date +%s%3N; }
secs() { awk -v ms="$1" 'BEGIN { printf "%.1f", ms / 1000 }'; } # ms → "12.3"
say() { echo "$FAULT_NAME: $(date +%T) $*"; }
# a number of os_lagbench's JSON by key; p50/max are the lag's (lagMs): answerMs has the same keys
# and sed's greedy .* would find them last, so its object goes first
jnum() { sed 's/"answerMs":{[^}]*}//' <<<"$2" | sed -n "s/.*\"$1\":\([0-9.-]*\).*/\1/p" | head -1; }

FAULT_RC=0
fail() { echo "$FAULT_NAME: FAIL: $*" >&2; FAULT_RC=1; }

# fault_begin NAME: the cluster must be up (the ctest fixture `cluster` starts it); brings a
# trio up on it and warms it up (the consumer group's first assignment, the connections).
fault_begin() {
  FAULT_NAME=$1
  "$CLUSTER" status >/dev/null 2>&1 || { echo "$FAULT_NAME: the cluster is not up (scripts/cluster.sh up)" >&2; exit 1; }
  OUT=$(mktemp -d /tmp/cq-faults-out.XXXXXX)
  trio_bench_up >/dev/null
  trap 'fault_end_trap' EXIT
  # the record of the projection's commits, from the first event on (event_check.py)
  psql -X -q -v ON_ERROR_STOP=1 "$PG" -f "$FAULTS/audit.sql" >/dev/null
  "$BIN/os_lagbench" --customer-url "$CUSTOMER_URL" --pg "$PG" --rate 50 --seconds 2 >/dev/null 2>&1 || true
  say "trio up (database $TRIO_DB, topic $TRIO_TOPIC); PostgreSQL primary $("$CLUSTER" pg-primary), $(cat "${CQ_CLUSTER_DIR:-$ROOT/.stack/cluster}/pg-mode" 2>/dev/null || echo async) replication"
}

fault_end_trap() {
  local rc=$?
  [ -n "${FAULT_CLEANUP:-}" ] && eval "$FAULT_CLEANUP" >/dev/null 2>&1 || true
  [ -n "${LOAD_PID:-}" ] && kill "$LOAD_PID" 2>/dev/null || true
  if [ "$rc" != 0 ] || [ "$FAULT_RC" != 0 ]; then
    for f in "$TRIO_DIR"/*.log; do echo "---- last lines of $f"; tail -n 15 "$f"; done >&2
  fi
  # SIGTERM to each service: every one must exit 0 (trio_down names those that did not)
  local down n st=""
  if ! down=$(trio_down 2>&1 >/dev/null); then
    echo "$FAULT_NAME: FAIL: a service did not stop cleanly: $(grep '^trio:' <<<"$down" | tr '\n' ' ')" >&2
    rc=1
  fi
  for n in config-server customer-service order-service; do st+=" $n $(cat "$TRIO_DIR/$n.rc" 2>/dev/null || echo '?'),"; done
  echo "$FAULT_NAME: exit statuses after SIGTERM:${st%,}"
  netcut_remove
  # a sanitizer build's report (the ctest build is ASan + UBSan) fails the scenario
  if grep -lE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$TRIO_DIR"/*.log >/dev/null 2>&1; then
    grep -hE -A12 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$TRIO_DIR"/*.log | head -60 >&2
    echo "$FAULT_NAME: FAIL: a sanitizer reported (above)" >&2
    rc=1
  fi
  rm -rf "$OUT"
  exit "$(( rc != 0 ? rc : FAULT_RC ))"
}

# ---- network partitions (fault_partition.sh): iptables on loopback, by cgroup
# netcut_prepare PROGRAM: the trio's PROGRAM (customer-service | order-service) will start in a
# cgroup (v2) of its own (cgexec.sh as trio.sh's exec prefix), so that iptables can drop what
# that one process sends (-m cgroup --path) and nothing else. Call before fault_begin. Exits
# 77 (a skip) where that cannot be done: not root, no iptables, no cgroup v2, no cgroup match.
netcut_prepare() {
  local mnt
  skip() { echo "${FAULT_NAME:-fault}: SKIP: $* (a partition needs root, iptables and cgroup v2)" >&2; exit 77; }
  [ "$(id -u)" = 0 ] || skip "not root"
  command -v iptables >/dev/null || skip "no iptables"
  mnt=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
  [ -n "$mnt" ] || skip "no cgroup2 mount"
  NETCUT_CG=cq-faults-$$
  NETCUT_DIR=$mnt/$NETCUT_CG
  mkdir -p "$NETCUT_DIR" || skip "cannot create $NETCUT_DIR"
  iptables -w -A OUTPUT -p tcp -m cgroup --path "$NETCUT_CG" --dport 1 -j DROP 2>/dev/null &&
    iptables -w -D OUTPUT -p tcp -m cgroup --path "$NETCUT_CG" --dport 1 -j DROP ||
    { rmdir "$NETCUT_DIR"; skip "iptables has no cgroup match"; }
  export FAULT_CG_PROGRAM=$1 FAULT_CG_DIR=$NETCUT_DIR TRIO_EXEC_PREFIX=$FAULTS/cgexec.sh
}

# netcut_on PORTS: drops every TCP segment the cgroup's process sends to PORTS (a comma list)
# on loopback: its requests and its ACKs never arrive, as behind a cut cable (no RST, no FIN).
netcut_on() {
  NETCUT_RULE=(OUTPUT -p tcp -m cgroup --path "$NETCUT_CG" -m multiport --dports "$1" -j DROP)
  iptables -w -I "${NETCUT_RULE[@]}"
}
netcut_off() {
  [ "${#NETCUT_RULE[@]}" -gt 0 ] || return 0
  iptables -w -D "${NETCUT_RULE[@]}" 2>/dev/null || true
  NETCUT_RULE=()
}
NETCUT_RULE=()
netcut_remove() {
  netcut_off
  [ -n "${NETCUT_DIR:-}" ] && [ -d "$NETCUT_DIR" ] || return 0
  # (the processes are gone after trio_down; anything left moves to the root cgroup)
  local p; for p in $(cat "$NETCUT_DIR/cgroup.procs" 2>/dev/null); do echo "$p" >"$(dirname "$NETCUT_DIR")/cgroup.procs"; done 2>/dev/null
  rmdir "$NETCUT_DIR" 2>/dev/null || true
}

# load_start SECONDS: the open-loop load in the background (FAULT_RATE commands/s).
load_start() {
  LOAD_T0=$(now_ms)
  local mix=(--updates "$FAULT_UPDATES" --deletes "$FAULT_DELETES") what="updates $FAULT_UPDATES, deletes $FAULT_DELETES"
  if [ "$FAULT_CUSTOMERS" -gt 0 ]; then
    mix=(--customers "$FAULT_CUSTOMERS"); what="$FAULT_CUSTOMERS customers, then only updates of them"
  fi
  "$BIN/os_lagbench" --customer-url "$CUSTOMER_URL" --pg "$PG" --rate "$FAULT_RATE" --seconds "$1" "${mix[@]}" \
    --timeout-ms 90000 --request-timeout-ms "$FAULT_REQUEST_TIMEOUT_MS" --failures "$OUT/failures" \
    >"$OUT/load.json" 2>"$OUT/load.err" &
  LOAD_PID=$!
  say "load: $FAULT_RATE commands/s for $1 s ($what)"
}

load_wait() { wait "$LOAD_PID" || true; LOAD_PID=; LOAD=$(cat "$OUT/load.json"); }

fault_at() { FAULT_T=$(now_ms); say "FAULT: $*"; }
heal_at() {
  HEAL_T=$(now_ms)
  say "HEALED: $* (outage $(secs $((HEAL_T - FAULT_T))) s)"
}

# The outbox id and the time at the heal: what convergence is measured against.
heal_mark() { HEAL_MAXID=$(trio_q 'SELECT coalesce(max(id), 0) FROM customer.outbox'); HEAL_T=${HEAL_T:-$(now_ms)}; }

# converge_wait: polls (every 0.2 s, 120 s at most) until everything the write side held at
# the heal is published and applied (rows at their version, deleted rows gone); sets
# CONVERGE_MS (from the heal).
converge_wait() {
  heal_mark
  local h; h=$(awk -v t="$HEAL_T" 'BEGIN { printf "%.3f", t / 1000 }')
  local q="SELECT (SELECT count(*) FROM customer.outbox_pending WHERE id <= $HEAL_MAXID)
    + (SELECT count(*) FROM customer.customers c LEFT JOIN \"order\".customers o USING (id)
        WHERE c.updated_at <= to_timestamp($h) AND (o.id IS NULL OR o.version < c.version))
    + (SELECT count(*) FROM customer.outbox ob JOIN \"order\".customers o ON o.id = ob.aggregate_id
        WHERE ob.id <= $HEAL_MAXID AND ob.event_type = 'DELETED'
          AND NOT EXISTS (SELECT 1 FROM customer.customers c WHERE c.id = ob.aggregate_id))"
  local end=$(( $(now_ms) + 120000 )) n
  while :; do
    n=$(trio_q "$q" 2>/dev/null || echo x)
    [ "$n" = 0 ] && break
    [ "$(now_ms)" -lt "$end" ] || { fail "not converged 120 s after the heal ($n behind)"; break; }
    sleep 0.2
  done
  CONVERGE_MS=$(( $(now_ms) - HEAL_T ))
  say "converged $(secs "$CONVERGE_MS") s after the heal"
}

# The failed requests: count, by status, and the window they fell in (relative to the fault).
failures_report() {
  local f=$OUT/failures
  if [ ! -s "$f" ]; then FAIL_DESC="no failed request"; FAIL_SPAN_MS=0; return; fi
  read -r n first last <<<"$(awk 'NR == 1 { lo = $1 } { hi = $1 } END { print NR, lo, hi }' "$f")"
  FAIL_SPAN_MS=$((last - first))
  local codes; codes=$(awk '{ c[$2 == "0" ? "no answer" : $2 == "timeout" ? "no answer in " t " s" : $2]++ } END { for (k in c) printf "%s%s × %s", (n++ ? ", " : ""), c[k], k }' t="$(secs "$FAULT_REQUEST_TIMEOUT_MS")" "$f")
  FAIL_DESC="$n failed requests ($codes) from +$(secs $((first - FAULT_T))) s to +$(secs $((last - FAULT_T))) s after the fault: $(secs "$FAIL_SPAN_MS") s"
}

# The topic: every outbox id exactly once, ascending per customer in offset order.
topic_check() {
  local f=$OUT/topic
  kcat -b "$CQ_KAFKA_BOOTSTRAP" -C -t "$TRIO_TOPIC" -e -q -f '%p %k %h\n' 2>"$OUT/kcat.err" >"$f" || {
    fail "cannot read topic $TRIO_TOPIC: $(tail -1 "$OUT/kcat.err")"; return; }
  read -r msgs distinct dup reorder <<<"$(awk '{
      id = ""; n = split($3, h, ","); for (i = 1; i <= n; i++) if (h[i] ~ /^outbox-id=/) id = substr(h[i], 11) + 0
      m++; if (seen[id]++) d++; else u++
      if (($2 in last) && id <= last[$2]) r++; last[$2] = id
    } END { print m + 0, u + 0, d + 0, r + 0 }' "$f")"
  TOPIC_DESC="topic: $msgs messages, $distinct distinct outbox ids, $dup duplicates, $reorder out of order per customer"
  # the sets, not only their sizes: ids on the topic that the write side does not hold (an
  # event of a transaction the failover lost) and outbox rows that never reached the topic
  awk '{ n = split($3, h, ","); for (i = 1; i <= n; i++) if (h[i] ~ /^outbox-id=/) print substr(h[i], 11) + 0 }' "$f" |
    sort -u >"$OUT/topic.ids"
  trio_q 'SELECT id FROM customer.outbox' | sort -u >"$OUT/outbox.ids"
  local extra missing
  extra=$(comm -23 "$OUT/topic.ids" "$OUT/outbox.ids" | wc -l)
  missing=$(comm -13 "$OUT/topic.ids" "$OUT/outbox.ids" | wc -l)
  TOPIC_DESC+=", $extra not on the write side, $missing outbox rows not on the topic"
  echo "$FAULT_NAME: $TOPIC_DESC"
  if [ "$extra" != 0 ] || [ "$missing" != 0 ]; then
    comm -23 "$OUT/topic.ids" "$OUT/outbox.ids" | head -5 | while read -r id; do
      echo "$FAULT_NAME:   on the topic only: $(awk -v id="$id" 'index($3, "outbox-id=" id) { print "partition " $1 ", key " $2; exit }' "$f")  outbox-id $id"
    done
    comm -13 "$OUT/topic.ids" "$OUT/outbox.ids" | head -5 | while read -r id; do
      echo "$FAULT_NAME:   in the outbox only: $(trio_q "SELECT id, aggregate_id, event_type, occurred_at, CASE WHEN id IN (SELECT id FROM customer.outbox_pending) THEN 'unpublished' ELSE 'published' END FROM customer.outbox WHERE id = $id")"
    done
  fi
  [ "$dup" = 0 ] && [ "$reorder" = 0 ] && [ "$distinct" = "$EVENTS" ] && [ "$extra" = 0 ] && [ "$missing" = 0 ] ||
    fail "$TOPIC_DESC (events written $EVENTS)"
}

# account_diff: the customers whose write-side row and read-model row differ (at most 5),
# with their outbox history and their events on the topic — what a mismatch needs to be
# understood from a CI log alone.
account_diff() {
  trio_q "SELECT coalesce(c.id, o.id), c.version, o.version FROM customer.customers c
            FULL JOIN \"order\".customers o USING (id)
           WHERE c.id IS NULL OR o.id IS NULL OR c.version <> o.version LIMIT 5" |
    while IFS='|' read -r id wv rv; do
      echo "$FAULT_NAME:   customer $id: write side version ${wv:-none}, read model ${rv:-none}"
      echo "$FAULT_NAME:     outbox: $(trio_q "SELECT string_agg(id || ' ' || event_type || CASE WHEN id IN (SELECT id FROM customer.outbox_pending) THEN ' unpublished' ELSE ' published' END, '; ' ORDER BY id) FROM customer.outbox WHERE aggregate_id = '$id'")"
      echo "$FAULT_NAME:     topic: $(awk -v k="$id" '$2 == k { printf "p%s %s; ", $1, $3 }' "$OUT/topic" 2>/dev/null)"
    done
}

# requests_check [allow-write-loss]: the failed requests are those FAULT_MAY_FAIL allows.
requests_check() {
  local n k
  for k in 500 other5xx noAnswer timeout; do
    n=$(jnum "$k" "$LOAD")
    [ "$n" = 0 ] || fail "$n requests failed with $k (allowed: ${FAULT_MAY_FAIL/none/nothing}$([ "$FAULT_MAY_FAIL" = 503 ] && echo 's'))"
  done
  n=$(jnum 4xx "$LOAD")
  # (an update or delete of a customer whose acknowledged create the failover lost: 404)
  if [ "$n" != 0 ] && ! { [ "${1:-}" = allow-write-loss ] && [ "$(jnum writeLost "$LOAD")" != 0 ]; }; then
    fail "$n requests answered 4xx"
  fi
  n=$(jnum 503 "$LOAD")
  [ "$FAULT_MAY_FAIL" = 503 ] || [ "$n" = 0 ] || fail "$n requests answered 503 where none may fail"
}

# event_check: each event applied, commit by commit, and the dead-letter topic (event_check.py);
# sets EVENT_DESC.
event_check() {
  local rc=0 t0; t0=$(now_ms)
  python3 "$FAULTS/event_check.py" --bootstrap "$CQ_KAFKA_BOOTSTRAP" --topic "$TRIO_TOPIC" --pg "$PG" \
    --prefix "$FAULT_NAME: event check" >"$OUT/event_check.txt" 2>&1 || rc=$?
  cat "$OUT/event_check.txt"
  say "event check took $(secs $(( $(now_ms) - t0 ))) s"
  [ "$rc" = 0 ] || fail "event_check.py (exit $rc): an event not applied exactly as the topic says, or the record unreadable"
  EVENT_DESC=$(grep -o '[0-9]* rows compared.*' "$OUT/event_check.txt" | head -1)
}

# The services still run (none crashed during the scenario); their exit statuses come at the
# end (fault_end_trap).
services_alive() {
  local f
  for f in "$TRIO_DIR"/*.pid; do
    kill -0 "$(cat "$f")" 2>/dev/null ||
      fail "$(basename "$f" .pid) is not running (exit status $(cat "${f%.pid}.rc" 2>/dev/null || echo '?'))"
  done
}

# fault_account [allow-write-loss]: the account after the load; FAULT_RC=1 on any mismatch.
fault_account() {
  local lost wlost handled
  load_wait
  say "load: $LOAD"
  lost=$(jnum lost "$LOAD"); wlost=$(jnum writeLost "$LOAD")
  [ "$lost" = 0 ] || fail "$lost acknowledged commands not in the read model"
  if [ "${1:-}" != allow-write-loss ]; then
    [ "$wlost" = 0 ] || fail "$wlost acknowledged commands not on the write side"
  fi
  requests_check "${1:-}"
  services_alive
  local differ=0
  trio_account || { fail "write side, read model and topic disagree"; differ=1; }
  topic_check
  [ "$differ" = 1 ] && account_diff
  event_check
  handled=$(curl -s -m 5 "$ORDER_URL/metrics" | awk '/^order_projection_events_total[{ ]/ { s += $NF } END { printf "%d", s }')
  # (order_projection_events_total counts the events of committed batches: one a crash lost
  # and the projection applied again counts twice)
  say "the projection committed $handled events for the $EVENTS on the topic ($((handled - EVENTS)) applied again after a lost commit)"
  failures_report
  echo "$FAULT_NAME: RESULT outage $(secs $((HEAL_T - FAULT_T))) s; $FAIL_DESC; slowest answer $(secs "$(jnum slowestMs "$LOAD")") s;" \
    "converged $(secs "${CONVERGE_MS:-0}") s after the heal;" \
    "acknowledged $(jnum ok "$LOAD") (created $(jnum created "$LOAD"), updated $(jnum updated "$LOAD"), deleted $(jnum deleted "$LOAD")), lost $lost, not on the write side $wlost;" \
    "write side $WRITTEN rows = read model, events $EVENTS = offsets; per commit: ${EVENT_DESC:-not checked};" \
    "lag p50 $(jnum p50 "$LOAD") ms, max $(jnum max "$LOAD") ms"
  if [ "$FAULT_RC" = 0 ]; then echo "$FAULT_NAME: exact"; else echo "$FAULT_NAME: MISMATCH" >&2; fi
  return "$FAULT_RC"
}

# The readiness documents of both services (what they say is down).
readiness() {
  echo "customer-service $(curl -s -m 3 "$CUSTOMER_URL/health/readiness" 2>/dev/null || echo '(no answer in 3 s)')," \
    "order-service $(curl -s -m 3 "$ORDER_URL/health/readiness" 2>/dev/null || echo '(no answer in 3 s)')"
}
