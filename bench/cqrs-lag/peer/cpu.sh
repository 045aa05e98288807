# bench/cqrs-lag/peer/cpu.sh — what peer/run.sh reads of the processes (sourced): CPU ticks
# (/proc) of the pipeline's processes, of their threads and of PostgreSQL's backends, RSS,
# per-10k-events arithmetic, a number from os_lagbench's JSON. PIPE (ours|peer), TRIO_DIR,
# DBZ_PID, PG and CQ_STACK_DIR say which processes.
q() { psql -X -Atq "$1" -c "$2"; }
ticks() { # pid [tid] → utime+stime of the process (or of one thread); 0 without a pid
  [ -n "$1" ] || { echo 0; return; }
  local f=/proc/$1/stat
  [ -n "${2:-}" ] && f=/proc/$1/task/$2/stat
  [ -r "$f" ] && sed 's/.*) //' "$f" | awk '{print $12 + $13}' || echo 0
}
relay_tids() { # customer-service pid → its librdkafka threads and the relay thread (newest other)
  local p=$1 t newest=0
  for t in /proc/"$p"/task/*; do
    t=${t##*/}
    if [[ $(cat "/proc/$p/task/$t/comm" 2>/dev/null) == rdk:* ]]; then echo "$t"; elif ((t > newest && t != p)); then newest=$t; fi
  done
  echo "$newest"
}
rss_kb() { local s=0 p; for p in "$@"; do s=$((s + $(awk '/VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0))); done; echo $s; }
pg_all_ticks() { # every process of the bench's PostgreSQL
  local pm s=0 c
  pm=$(head -1 "$(readlink -f "$CQ_STACK_DIR/pg")/data/postmaster.pid")
  for c in $pm $(pgrep -P "$pm"); do s=$((s + $(ticks "$c"))); done
  echo $s
}
pg_all_ticks_x() { # the same plus the backends that have exited meanwhile (the postmaster's cutime + cstime)
  local pm
  pm=$(head -1 "$(readlink -f "$CQ_STACK_DIR/pg")/data/postmaster.pid")
  echo $(($(pg_all_ticks) + $(sed 's/.*) //' "/proc/$pm/stat" | awk '{print $14 + $15}')))
}
sum_ticks() { local s=0 p; for p in "$@"; do s=$((s + $(ticks "$p"))); done; echo $s; }
# pipeline_cpu → ticks of the measured pipeline processes (PIPE: ours|peer)
pipeline_cpu() {
  if [ "$PIPE" = ours ]; then
    local cs os s=0 t
    cs=$(cat "$TRIO_DIR/customer-service.pid") os=$(cat "$TRIO_DIR"/order-service*.pid 2>/dev/null)
    for t in $(relay_tids "$cs"); do s=$((s + $(ticks "$cs" "$t"))); done
    echo $((s + $(sum_ticks $os)))
  else
    ticks "$DBZ_PID"
  fi
}
# source_cpu → ticks of the relay half only (ours: the relay's threads; peer: the JVM threads of
# the source task, its producer and Debezium's own — the Linux thread names are 15 characters)
source_cpu() {
  if [ "$PIPE" = ours ]; then
    local cs s=0 t
    cs=$(cat "$TRIO_DIR/customer-service.pid")
    for t in $(relay_tids "$cs"); do s=$((s + $(ticks "$cs" "$t"))); done
    echo $s
  else
    local s=0 t
    for t in /proc/"$DBZ_PID"/task/*; do
      [[ $(cat "$t/comm" 2>/dev/null) =~ ^(task-thread-out|kafka-producer-|debezium) ]] && s=$((s + $(ticks "$DBZ_PID" "${t##*/}")))
    done
    echo $s
  fi
}
# Ours: the relay's session is customer-service's backend whose last statement is neither
# the write path's (which names customer.customers) nor the pool's health probe ("SELECT 1",
# which a pool connection runs after 2 s without a request: such a connection, and the
# writes it then serves, would otherwise count as the relay's).
pg_source_pids() { # the relay's session; Debezium's walsender and its other session
  if [ "$PIPE" = ours ]; then
    q "$PG" "SELECT pid FROM pg_stat_activity WHERE datname = current_database()
             AND application_name = 'customer-service' AND query !~ 'customer\.customers' AND query <> 'SELECT 1'"
  else
    q "$PG" "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'Debezium %'"
  fi
}
pipeline_pids() { if [ "$PIPE" = ours ]; then cat "$TRIO_DIR/customer-service.pid" "$TRIO_DIR"/order-service*.pid 2>/dev/null; else echo "$DBZ_PID"; fi; }
pg_pipeline_pids() {
  if [ "$PIPE" = ours ]; then
    q "$PG" "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND (application_name = 'order-service'
             OR (application_name = 'customer-service' AND query !~ 'customer\.customers' AND query <> 'SELECT 1'))"
  else
    q "$PG" "SELECT pid FROM pg_stat_activity WHERE datname = current_database()
             AND application_name IN ('Debezium Streaming', 'Debezium General', 'PostgreSQL JDBC Driver')"
  fi
}
# client_sessions → "pid|application_name|last statement" of every client session of the
# bench's database but this query's own: which session a PostgreSQL figure came from
client_sessions() {
  q "$PG" "SELECT pid, application_name, left(regexp_replace(query, '\s+', ' ', 'g'), 90) FROM pg_stat_activity
           WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
}
# The database's statements, with PG_STATEMENTS=1 (run.sh loads pg_stat_statements then):
# stmts_reset before a measurement, stmts_dump FILE after it writes the 20 statements that
# took the most time — calls, rows, ms, µs a call, WAL records and bytes, the text.
stmts_reset() {
  [ "${PG_STATEMENTS:-0}" = 1 ] || return 0
  q "$PG" "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
  q "$PG" "SELECT pg_stat_statements_reset()" >/dev/null
}
stmts_dump() {
  [ "${PG_STATEMENTS:-0}" = 1 ] || return 0
  q "$PG" "SELECT calls, rows, round(total_exec_time::numeric), round((total_exec_time / greatest(calls, 1) * 1000)::numeric, 1),
                  wal_records, wal_bytes, left(regexp_replace(query, '\s+', ' ', 'g'), 110)
           FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
           ORDER BY total_exec_time DESC LIMIT 20" |
    awk -F'|' 'BEGIN { printf "%8s %9s %8s %10s %9s %11s  %s\n", "calls", "rows", "ms", "us/call", "wal rec", "wal bytes", "statement" }
               { printf "%8s %9s %8s %10s %9s %11s  %s\n", $1, $2, $3, $4, $5, $6, $7 }' >"$1" || true
}
per10k() { awk -v d="$1" -v n="$2" -v hz="$HZ" 'BEGIN { printf "%.2f", n ? d / hz / n * 10000 : 0 }'; } # ticks events
# a number of os_lagbench's JSON by key; p50/p99/max are the lag's (lagMs), not the answer
# time's (answerMs has p50/p99 too, and sed's .* would find its keys last)
num() { sed 's/"answerMs":{[^}]*}//' <<<"$2" | sed -n "s/.*\"$1\":\(-\?[0-9.]*\).*/\1/p" | head -1; }

