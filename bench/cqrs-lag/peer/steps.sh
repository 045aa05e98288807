# bench/cqrs-lag/peer/steps.sh — the open-loop steps of peer/run.sh (sourced; uses cpu.sh):
#   step RATE SECONDS LABEL → one os_lagbench run at RATE creates/s on the pipeline $PIPE; one
#                             line in $RES, the step's lags (ms) in $RUN_DIR/lags-PIPE-RATE-LABEL.txt,
#                             the database's sessions and the CPU ticks each used in the step in
#                             $RUN_DIR/sessions-PIPE-RATE-LABEL.txt (with PG_STATEMENTS=1 its
#                             statements too: statements-PIPE-RATE-LABEL.txt)
#   measure                 → the warm-up, the fixed rates 200 and 1,000/s, the search for the
#                             highest rate held, the bisection
# The lag meter is LAG_METER (commit-ts: the read-model row's commit time, read once after the
# step; poll: the 1 ms poll while the step runs); its cost is printed beside the figures. All of
# PostgreSQL counts the processes alive at the step's end: the meter's backend, gone by then,
# is not in it (its cost is the meter's column).
step() {
  local rate=$1 secs=$2 label=$3 out c0 c1 g0 g1 a0 a1 s0 s1 h0 h1 pgp pgs ok lost ach p50 p99 mx held=0
  pgp=$(pg_pipeline_pids | tr '\n' ' ') pgs=$(pg_source_pids | tr '\n' ' ')
  # every client session of the database at the start, its last statement, and (at the end)
  # the CPU it used in the step: which session the PostgreSQL figures below came from
  local sessions=$RUN_DIR/sessions-$PIPE-$rate-$label.txt
  client_sessions | while IFS='|' read -r p app sql; do echo "$p $(ticks "$p") $app | $sql"; done >"$sessions.0" || true
  stmts_reset
  c0=$(pipeline_cpu) g0=$(sum_ticks $pgp) a0=$(pg_all_ticks) s0=$(source_cpu) h0=$(sum_ticks $pgs)
  local backlog_sql='SELECT (SELECT count(*) FROM customer.customers) - (SELECT count(*) FROM "order".customers)'
  [ -n "${BACKLOG_FROM_STATS:-}" ] && backlog_sql="SELECT (SELECT n_tup_ins FROM pg_stat_user_tables WHERE relid = 'customer.customers'::regclass)
    - (SELECT n_tup_ins FROM pg_stat_user_tables WHERE relid = '\"order\".customers'::regclass)"
  (
    while :; do
      echo "$(rss_kb $(pipeline_pids)) $(q "$PG" "$backlog_sql")"
      sleep 1
    done
  ) >"$BENCH_DIR/samples" 2>/dev/null &
  SAMPLER=$!
  local t0 t1 lags=$RUN_DIR/lags-$PIPE-$rate-$label.txt
  t0=$(date +%s.%N)
  # senders: one per 20/s offered (16 at least), so a request may take 50 ms before the
  # open loop falls behind its schedule on these two shared cores
  out=$("$BIN/os_lagbench" --customer-url "$CUSTOMER_URL" --pg "$PG" --rate "$rate" --seconds "$secs" \
    --threads $((rate / 20 > 16 ? rate / 20 : 16)) --timeout-ms 120000 --meter "$LAG_METER" --lags "$lags" \
    2>>"$BENCH_DIR/lagbench.err" || true)
  t1=$(date +%s.%N)
  kill "$SAMPLER" 2>/dev/null; wait "$SAMPLER" 2>/dev/null || true; SAMPLER=
  c1=$(pipeline_cpu) g1=$(sum_ticks $pgp) a1=$(pg_all_ticks) s1=$(source_cpu) h1=$(sum_ticks $pgs)
  while read -r p t rest; do echo "$(($(ticks "$p") - t)) ticks, pid $p: $rest"; done <"$sessions.0" | sort -rn >"$sessions"
  rm -f "$sessions.0"
  stmts_dump "$RUN_DIR/statements-$PIPE-$rate-$label.txt"
  # achieved: the step's creates over the span of their commits (os_lagbench's own figure
  # divides by the planned seconds even when its senders fell behind the schedule)
  ok=$(num ok "$out") lost=$(num lost "$out")
  ach=$(q "$PG" "SELECT CASE WHEN count(*) > 1 THEN round((count(*) - 1) / greatest(extract(epoch FROM max(created_at) - min(created_at)), 0.001)) ELSE 0 END
                 FROM customer.customers WHERE created_at >= to_timestamp($t0)")
  p50=$(num p50 "$out") p99=$(num p99 "$out") mx=$(num max "$out")
  [ -n "$ok" ] || { say "os_lagbench failed at $rate/s: $(tail -3 "$BENCH_DIR/lagbench.err")"; ok=0 lost=1 ach=0 p50=0 p99=0 mx=0; }
  local rss backlog
  rss=$(awk '$1 > m {m = $1} END {print m + 0}' "$BENCH_DIR/samples")
  backlog=$(awk '$2 > m {m = $2} END {print m + 0}' "$BENCH_DIR/samples")
  awk -v a="$ach" -v r="$rate" -v l="$lost" -v p="$p99" -v lim="$LAG_LIMIT_MS" \
    'BEGIN { exit !(a >= 0.95 * r && l == 0 && p <= lim) }' && held=1
  # the meter's own cost: its thread and its PostgreSQL backend, % of one core over the step
  local mc mp mpct
  mc=$(num clientCpuS "$out") mp=$(num pgCpuS "$out")
  mpct=$(awk -v c="${mc:-0}" -v p="${mp:-0}" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (c + (p > 0 ? p : 0)) / (b - a) * 100 }')
  local per10k pg10k all10k src10k srcpg10k
  per10k=$(per10k $((c1 - c0)) "$ok") pg10k=$(per10k $((g1 - g0)) "$ok") all10k=$(per10k $((a1 - a0)) "$ok")
  src10k=$(per10k $((s1 - s0)) "$ok") srcpg10k=$(per10k $((h1 - h0)) "$ok")
  echo "$PIPE $label $rate $ach $ok $lost $p50 $p99 $mx $per10k $pg10k $all10k $rss $backlog $held $src10k $srcpg10k ${mc:-0} ${mp:-0} $mpct" >>"$RES"
  printf '  %-4s %-7s %5s/s offered: %5s/s achieved, %s created, lost %s; lag p50/p99/max %s/%s/%s ms;' \
    "$PIPE" "$label" "$rate" "$ach" "$ok" "$lost" "$p50" "$p99" "$mx" >&2
  printf ' CPU s/10k events: pipeline %s, its PG backends %s, all PG %s; RSS %s MiB; peak backlog %s;' \
    "$per10k ($PIPE_SRC $src10k)" "$pg10k ($PIPE_SRC's $srcpg10k)" "$all10k" "$((rss / 1024))" "$backlog" >&2
  printf ' meter (%s) %s%% of a core (its thread %s s, its PG backend %s s); load %s → %s\n' "$LAG_METER" "$mpct" "$mc" "$mp" \
    "$(cut -d' ' -f1 /proc/loadavg)" "$([ $held = 1 ] && echo held || echo NOT held)" >&2
  [ $held = 1 ]
}

measure() { # the fixed rates, then the search (up or down in coarse steps, then bisected twice)
  local r best=0 fail=0 i
  "$BIN/os_lagbench" --customer-url "$CUSTOMER_URL" --pg "$PG" --rate 200 --seconds "$WARMUP_S" >/dev/null 2>&1 || true
  step 200 "$STEP_S" fixed || true
  if step 1000 "$STEP_S" fixed; then
    best=1000
    for ((r = SEARCH_START; r <= SEARCH_MAX; r += SEARCH_STEP)); do
      step "$r" "$STEP_S" search || { fail=$r; break; }
      best=$r
    done
  else
    fail=1000
    for r in 500 250 125; do
      if step "$r" "$STEP_S" search; then best=$r; break; fi
      fail=$r
    done
  fi
  for i in 1 2; do # to 50/s: the midpoint between the best held and the first failed
    r=$(((best + fail) / 100 * 50))
    ((fail > 0 && r > best && r < fail)) || break
    if step "$r" "$STEP_S" bisect; then best=$r; else fail=$r; fi
  done
  echo "$PIPE best $best" >>"$RES"
  say "$PIPE holds $best creates/s"
}


# meters_compare → the two lag meters on the same pipeline (ours), alternately at 200 and
# 1,000/s: lag p50/p99 and the meter's own cost by each (labels meter-poll, meter-commit-ts)
meters_compare() {
  local r m keep=$LAG_METER
  ours_up meters
  "$BIN/os_lagbench" --customer-url "$CUSTOMER_URL" --pg "$PG" --rate 200 --seconds "$WARMUP_S" >/dev/null 2>&1 || true
  for r in 200 1000; do
    for m in poll commit-ts; do LAG_METER=$m step "$r" "$STEP_S" "meter-$m" || true; done
  done
  LAG_METER=$keep
  ours_account meters-account
  ours_down
}
