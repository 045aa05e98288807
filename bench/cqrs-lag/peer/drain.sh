# bench/cqrs-lag/peer/drain.sh — the backlog drain of peer/run.sh (sourced; uses pipes.sh and
# cpu.sh): DRAIN_EVENTS events (a share DRAIN_UPDATES of them updates, the rest creates)
# written while the pipeline is stopped, then the pipeline started and timed until the read
# model holds them all.
#   drain PIPE → ours: customer-service with its relay held off, no order-service; the backlog;
#                order-service started; the relay released.
#                peer: customer-service (relay held off), the Debezium slot created first,
#                the backlog; the Connect worker (source + sink) started.
# The backlog is written by cs_backlog (customer-service/tests/cs_backlog.c): the write path's
# statement shape (customer row + outbox row, the peer's trigger row), batches of 1,000, the
# real Avro codec. Then VACUUM ANALYZE and a CHECKPOINT, so neither pipeline pays for the
# other's leftovers. Measured from the start (the lock released / the worker launched):
#   total  — to the last read-model commit (pg_xact_commit_timestamp of the rows' xmin);
#   span   — from the first event applied to the last read-model commit: the drain rate without
#            the start-up (the JVM's start, the relay's lock poll of up to outbox.lock-poll-ms).
#            The first event applied is the first sample (every 0.5 s) in which the read model's
#            table statistics (n_tup_ins + n_tup_upd + n_tup_del of "order".customers, flushed
#            by PostgreSQL at most once a second) count a write: the same meter for both, up to
#            ~1.5 s late. (Later on, a session busy without pause can flush them less often;
#            the plot's line shows it.) (The rows' own commit times cannot say it: an update
#            replaces the create's row, so the first row in its final state is one applied
#            late.);
#   CPU-s per 10k events of the pipeline's processes (their start-up included: order-service's,
#   the Connect JVM's), of their PostgreSQL backends (those alive at the end, since before the
#   start) and of all of PostgreSQL; then the exact account.
# Progress, for the plot: records on the topic (kcat, every 0.5 s) in RUN_DIR/drain-PIPE-topic.dat,
# events applied to the read model (its table statistics, every 0.5 s) in RUN_DIR/drain-PIPE-applied.dat
# and read-model rows by the commit time of their final state in RUN_DIR/drain-PIPE-rm.dat;
# the database's sessions and the CPU each used in RUN_DIR/sessions-drain-PIPE.txt (with
# PG_STATEMENTS=1 its statements in statements-drain-PIPE.txt).

_pid_ticks() { local p; for p in "$@"; do echo "$p $(ticks "$p")"; done; } # → "pid ticks" lines
_ticks_since() { # file_of_"pid ticks" pids… → ticks since then (a pid not in the file: all of it)
  local f=$1 s=0 p b
  shift
  for p in "$@"; do
    b=$(awk -v p="$p" '$1 == p {print $2}' "$f")
    s=$((s + $(ticks "$p") - ${b:-0}))
  done
  echo $s
}

drain() {
  local pipe=$1 n=${DRAIN_EVENTS:-1000000} out t0 c0 c1 a0 a1 g1 pgp done_at end sink
  if [ "$pipe" = ours ]; then ours_up drain-ours norelay; else peer_up drain-peer nostart; fi
  say "$pipe drain: writing $n events (updates ${DRAIN_UPDATES:-0.5}) with the pipeline stopped"
  out=$("$BIN/cs_backlog" --pg "$PG" --events "$n" --updates "${DRAIN_UPDATES:-0.5}")
  say "$pipe drain: backlog written: $out"
  q "$PG" "VACUUM ANALYZE customer.customers, customer.outbox$([ "$pipe" = peer ] && echo ', customer.dbz_outbox')" >/dev/null
  q "$PG" CHECKPOINT >/dev/null
  # from here on the start-up counts too: order-service's, the Connect JVM's
  local base=$RUN_DIR/drain-$pipe.base
  # shellcheck disable=SC2046
  _pid_ticks $(pg_pipeline_pids) >"$base"
  # every client session now, for the sessions file (one started later: all of its CPU)
  # shellcheck disable=SC2046
  _pid_ticks $(client_sessions | cut -d'|' -f1) >"$base.all"
  DBZ_PID=${DBZ_PID:-} c0=$(pipeline_cpu) a0=$(pg_all_ticks)
  stmts_reset
  [ "$pipe" = ours ] && ours_readers
  t0=$(date +%s.%N)
  : >"$RUN_DIR/drain-$pipe-topic.dat"
  : >"$RUN_DIR/drain-$pipe-applied.dat"
  (
    while :; do
      now=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
      echo "$now $(topic_end "$TRIO_TOPIC")" >>"$RUN_DIR/drain-$pipe-topic.dat"
      echo "$now $(q "$PG" "SELECT n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_user_tables
                            WHERE schemaname = 'order' AND relname = 'customers'")" >>"$RUN_DIR/drain-$pipe-applied.dat"
      sleep 0.5
    done
  ) 2>/dev/null &
  SAMPLER=$!
  if [ "$pipe" = ours ]; then relay_release; else peer_connect; fi
  # done: ours, the projection's stored offsets reach the events; peer, the sink's committed ones
  for ((i = 0; i < 36000; i++)); do
    if [ "$pipe" = ours ]; then
      done_at=$(q "$PG" 'SELECT coalesce(sum(next_offset), 0) FROM "order".projection_offsets') || done_at=0
    else
      done_at=$(curl -fsS "http://127.0.0.1:$CONNECT_PORT/connectors/readmodel-sink/offsets" 2>/dev/null |
        grep -o '"kafka_offset":[0-9]*' | awk -F: '{s += $2} END {print s + 0}') || done_at=0
    fi
    [ "${done_at:-0}" -ge "$n" ] && break
    sleep 0.5
  done
  c1=$(pipeline_cpu) a1=$(pg_all_ticks)
  pgp=$(pg_pipeline_pids | tr '\n' ' ')
  # shellcheck disable=SC2086
  g1=$(_ticks_since "$base" $pgp)
  kill "$SAMPLER" 2>/dev/null; wait "$SAMPLER" 2>/dev/null || true; SAMPLER=
  # each client session of the database, its last statement and the CPU ticks it used in
  # the drain (those of a session started meanwhile: all of them)
  client_sessions |
    while IFS='|' read -r p app sql; do echo "$(_ticks_since "$base.all" "$p") ticks, pid $p: $app | $sql"; done |
    sort -rn >"$RUN_DIR/sessions-drain-$pipe.txt" || true
  stmts_dump "$RUN_DIR/statements-drain-$pipe.txt"
  # the read model's rows by the commit time of their final state, in 100 ms buckets
  q "$PG" "SELECT round(extract(epoch FROM pg_xact_commit_timestamp(xmin)) - $t0, 1) t, count(*)
           FROM \"order\".customers GROUP BY 1 ORDER BY 1" | tr '|' ' ' |
    awk '{ s += $2; print $1, s }' >"$RUN_DIR/drain-$pipe-rm.dat"
  local first last total span
  last=$(awk '{l = $1} END {print l + 0}' "$RUN_DIR/drain-$pipe-rm.dat")
  first=$(awk '$2 > 0 {print $1; exit}' "$RUN_DIR/drain-$pipe-applied.dat")
  total=$last span=$(awk -v a="${first:-0}" -v b="$last" 'BEGIN { printf "%.2f", b - a }')
  if [ "$pipe" = ours ]; then ours_account drain-account; else peer_account drain-account; fi
  local wr eps_total eps_span
  wr=$(num eventsPerSecond "$out")
  eps_total=$(awk -v n="$n" -v t="$total" 'BEGIN { printf "%.0f", (t > 0 ? n / t : 0) }')
  eps_span=$(awk -v n="$n" -v t="$span" 'BEGIN { printf "%.0f", (t > 0 ? n / t : 0) }')
  echo "$pipe drain $n $wr $total $span $eps_total $eps_span $(per10k $((c1 - c0)) "$n") $(per10k "$g1" "$n") $(per10k $((a1 - a0)) "$n") $first" >>"$RES"
  say "$pipe drain of $n events: $total s from the start ($first s to the first event applied), $span s from it to the last row:" \
    "$eps_total events/s overall, $eps_span events/s in the span; CPU s/10k events: pipeline $(per10k $((c1 - c0)) "$n")," \
    "its PG backends $(per10k "$g1" "$n"), all PG $(per10k $((a1 - a0)) "$n") (the backlog was written at $wr events/s)"
  if [ "$pipe" = ours ]; then ours_down; else peer_down; fi
}
