# bench/cqrs-lag/peer/table.sh — peer/run.sh's table (sourced): print_table reads $RES (one line
# per step, account, drain and write-path measurement) and prints the figures side by side
# with ours/peer ratios and the goals of issues 13 and 20.
print_table() {
  echo
  echo "CQRS pipeline vs Debezium — $(nproc) cores, one PostgreSQL 15 (wal_level=logical), one Kafka 4.1.1 broker, os_lagbench open loop"
  echo "peer: ${DBZ_VERSIONS:-not run}; lag meter: $LAG_METER; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  _table_steps
  _table_drain
  _table_write
  _table_scale
  _table_meters
}

# the meters phase: "ours meter-poll RATE …" and "ours meter-commit-ts RATE …" (steps.sh's fields)
_table_meters() {
  grep -q ' meter-poll ' "$RES" || return 0
  awk '
    $2 ~ /^meter-/ { k = substr($2, 7); R[$3] = 1; P50[k, $3] = $7; P99[k, $3] = $8; M[k, $3] = $20; PG[k, $3] = $12 }
    END {
      print ""
      printf "lag meters on the same pipeline (ours)      lag p50/p99 (ms): poll    commit-ts   meter, %% of one core: poll  commit-ts\n"
      for (j = split("200 1000", RR, " "); j >= 1; j--) if ((r = RR[3 - j]) in R)
        printf "  @%5s/s %40s/%-8s %9s/%-8s %14s %10s\n", r, P50["poll", r], P99["poll", r], P50["commit-ts", r], P99["commit-ts", r],
          M["poll", r], M["commit-ts", r]
      printf "goal (issue 20): the meter under 5%% of one core (at 2,000/s: see the steps above 1,000/s)\n"
    }' "$RES"
}

# the open-loop steps: "PIPE LABEL RATE …" (steps.sh's fields), the best rates, the accounts
_table_steps() {
  grep -qE '^[a-z]+ (fixed|search|bisect) ' "$RES" || return 0
  awk -v lim="$LAG_LIMIT_MS" '
  function g(p, l, r, f) { return V[p, l, r, f] }
  function ratio(a, b, inv) { if (a == "" || b == "" || a + 0 == 0 || b + 0 == 0) return "n/a"; return sprintf("%.2f", a / b) }
  $2 == "fixed" || $2 == "search" || $2 == "bisect" {
    p = $1; r = $3; n = split("lab rate ach ok lost p50 p99 max cpu pgcpu allpg rss backlog held src srcpg mc mp mpct", F, " ")
    for (i = 2; i <= n; i++) V[p, r, F[i]] = $(i + 1)
    if ($13 + 0 > PEAKRSS[p]) PEAKRSS[p] = $13
  }
  $2 == "best" { BEST[$1] = $3 }
  $2 == "account" { for (i = 3; i <= 9; i++) A[$1, i] = $i }
  function row(name, a, b, rr) { printf "%-52s %16s %16s %10s\n", name, a, b, rr }
  END {
    row("", "ours", "debezium", "ours/peer")
    row("highest rate held (creates/s)", BEST["ours"], BEST["peer"], ratio(BEST["ours"], BEST["peer"]))
    split("200 1000", R, " ")
    for (k = 1; k <= 2; k++) {
      r = R[k]
      row("lag @" r "/s p50 (ms)", V["ours", r, "p50"], V["peer", r, "p50"], ratio(V["ours", r, "p50"], V["peer", r, "p50"]))
      row("lag @" r "/s p99 (ms)", V["ours", r, "p99"], V["peer", r, "p99"], ratio(V["ours", r, "p99"], V["peer", r, "p99"]))
      row("lag @" r "/s max (ms)", V["ours", r, "max"], V["peer", r, "max"], ratio(V["ours", r, "max"], V["peer", r, "max"]))
      row("CPU s / 10k events @" r "/s, pipeline processes", V["ours", r, "cpu"], V["peer", r, "cpu"], ratio(V["ours", r, "cpu"], V["peer", r, "cpu"]))
      row("CPU s / 10k events @" r "/s, their PG backends", V["ours", r, "pgcpu"], V["peer", r, "pgcpu"], ratio(V["ours", r, "pgcpu"], V["peer", r, "pgcpu"]))
      row("  of which relay / Debezium source (process)", V["ours", r, "src"], V["peer", r, "src"], ratio(V["ours", r, "src"], V["peer", r, "src"]))
      row("  of which relay / Debezium source (PG backends)", V["ours", r, "srcpg"], V["peer", r, "srcpg"], ratio(V["ours", r, "srcpg"], V["peer", r, "srcpg"]))
      for (q = 0; q < 2; q++) { p = q ? "peer" : "ours"; TOT[p, r] = V[p, r, "cpu"] == "" ? "" : sprintf("%.2f", V[p, r, "cpu"] + V[p, r, "pgcpu"]) }
      row("CPU s / 10k events @" r "/s, processes + PG backends", TOT["ours", r], TOT["peer", r], ratio(TOT["ours", r], TOT["peer", r]))
      row("CPU s / 10k events @" r "/s, all of PostgreSQL", V["ours", r, "allpg"], V["peer", r, "allpg"], ratio(V["ours", r, "allpg"], V["peer", r, "allpg"]))
      row("  lag meter (" ENVIRON["LAG_METER"] ") @" r "/s, % of one core", V["ours", r, "mpct"], V["peer", r, "mpct"], "")
    }
    for (p in PEAKRSS) MIB[p] = sprintf("%.1f", PEAKRSS[p] / 1024)
    row("RSS of the pipeline processes, peak (MiB)", MIB["ours"], MIB["peer"], ratio(MIB["ours"], MIB["peer"]))
    row("RSS @1000/s, peak (MiB)", sprintf("%.1f", V["ours", 1000, "rss"] / 1024), sprintf("%.1f", V["peer", 1000, "rss"] / 1024),
        ratio(V["ours", 1000, "rss"], V["peer", 1000, "rss"]))
    for (q = 0; q < 2; q++) {
      p = q ? "peer" : "ours"
      if (A[p, 9] == "") continue
      printf "account %-4s: write side %s, read model %s, identical %s; events written %s, on the topic %s, applied by the %s %s: %s\n",
        p, A[p, 3], A[p, 4], A[p, 5], A[p, 6], A[p, 7], p == "ours" ? "projection (stored offsets)" : "sink (committed offsets)",
        A[p, 8], A[p, 9] == 1 ? "EXACT" : "MISMATCH"
    }
    printf "goals (issue 13): rate >= 3x the peer: %s; p99 @1000/s <= 1/5 of the peer: %s; RSS <= 1/10 of the peer: %s\n",
      (BEST["ours"] != "" && BEST["peer"] && BEST["ours"] >= 3 * BEST["peer"]) ? "met" : "NOT met",
      (V["ours", 1000, "p99"] != "" && V["peer", 1000, "p99"] && V["ours", 1000, "p99"] <= V["peer", 1000, "p99"] / 5) ? "met" : "NOT met",
      (PEAKRSS["ours"] && PEAKRSS["peer"] && PEAKRSS["ours"] <= PEAKRSS["peer"] / 10) ? "met" : "NOT met"
    printf "goals (issue 20) @1000/s: processes + PG backends <= 0.5x the peer: %s; PG backends alone <= 1x: %s; lag p99 <= 0.2x: %s\n",
      (TOT["ours", 1000] != "" && TOT["peer", 1000] + 0 && TOT["ours", 1000] + 0 <= 0.5 * TOT["peer", 1000]) ? "met" : "NOT met",
      (V["ours", 1000, "pgcpu"] != "" && V["peer", 1000, "pgcpu"] && V["ours", 1000, "pgcpu"] <= V["peer", 1000, "pgcpu"]) ? "met" : "NOT met",
      (V["ours", 1000, "p99"] != "" && V["peer", 1000, "p99"] && V["ours", 1000, "p99"] <= 0.2 * V["peer", 1000, "p99"]) ? "met" : "NOT met"
    printf "(a rate holds: written at >= 95%% of it, every 201 in the read model, lag p99 <= %s ms)\n", lim
  }' "$RES"
}

# the scale rows: step lines labelled scale-POINT (steps.sh's fields)
_table_scale() {
  grep -q ' scale-base ' "$RES" || return 0
  awk -v rows="${SCALE_ROWS:-10000000}" '
    $1 == "ours" && $2 ~ /^scale-(base|outbox|readmodel|wide)$/ {
      k = substr($2, 7); N[++n] = k; R = $3; A[k] = $4; P50[k] = $7; P99[k] = $8; C[k] = $10; G[k] = $11; T[k] = $12
    }
    function rel(k, v, b) { return (b + 0 > 0) ? sprintf("%+.0f%%", (v / b - 1) * 100) : "" }
    END {
      print ""
      printf "scale curves, ours (%s/s offered; outbox and readmodel: %s rows)   achieved  lag p50/p99 ms   CPU s/10k: pipeline  PG backends  all PG\n", R, rows
      for (i = 1; i <= n; i++) {
        k = N[i]
        printf "  %-22s %8s/s %8s/%-8s %9s %-6s %7s %-6s %7s %-6s\n", k, A[k], P50[k], P99[k], C[k], rel(k, C[k], C["base"]),
          G[k], rel(k, G[k], G["base"]), T[k], rel(k, T[k], T["base"])
      }
      flat = 1
      for (i = 1; i <= n; i++) { k = N[i]; if (C["base"] && (C[k] > 1.2 * C["base"] || G[k] > 1.2 * G["base"])) flat = 0 }
      printf "goal (issue 20): per-event cost (pipeline, its PG backends) flat within 20%% of base: %s\n", flat ? "met" : "NOT met"
    }' "$RES"
}

# the write-path rows: "ours write http C rate cs10k pg10k bad", "pgbench write sql C rate 0 pg10k 0"
_table_write() {
  grep -q ' write ' "$RES" || return 0
  awk '
    $2 == "write" && $3 == "http" { C = $4; HR = $5; HC = $6; HP = $7; BAD = $8 }
    $2 == "write" && $3 == "sql" { R[$4] = $5; P[$4] = $7 }
    $2 == "write" && $3 == "pool" { POOL = $4 }
    END {
      print ""
      printf "write path (closed loop, %s connections; customer-service pool %s)       creates/s   CPU s/10k: service    all PG\n", C, POOL
      printf "  %-58s %9s %20s %9s\n", "customer-service (HTTP, wrk; non-2xx " BAD ")", HR, HC, HP
      printf "  %-58s %9s %20s %9s\n", "pgbench, the same statement, " C " clients", R[C], "-", P[C]
      if (POOL != C) printf "  %-58s %9s %20s %9s\n", "pgbench, the same statement, " POOL " clients (the pool)", R[POOL], "-", P[POOL]
      share = R[C] ? HR / R[C] * 100 : 0
      printf "goal (issue 20): the write path >= 70%% of pgbench'"'"'s rate at the same concurrency: %.0f%% — %s\n", share, (share >= 70 ? "met" : "NOT met")
    }' "$RES"
}

# the drain rows: "PIPE drain N written_eps total span eps_total eps_span cpu pgcpu allpg first" (drain.sh)
_table_drain() {
  grep -q ' drain ' "$RES" || return 0
  awk '
    function ratio(a, b) { if (a == "" || b == "" || a + 0 == 0 || b + 0 == 0) return "n/a"; return sprintf("%.2f", a / b) }
    function row(name, a, b, rr) { printf "%-52s %16s %16s %10s\n", name, a, b, rr }
    $2 == "drain" { for (i = 3; i <= 12; i++) D[$1, i] = $i }
    $2 == "drain-account" { for (i = 3; i <= 9; i++) A[$1, i] = $i }
    END {
      print ""
      row("backlog drain (events: " (D["ours", 3] ? D["ours", 3] : D["peer", 3]) ")", "ours", "debezium", "ours/peer")
      row("  events/s, first event applied to the last row", D["ours", 8], D["peer", 8], ratio(D["ours", 8], D["peer", 8]))
      row("  events/s from the start (start-up included)", D["ours", 7], D["peer", 7], ratio(D["ours", 7], D["peer", 7]))
      row("  start to the first event applied (s)", D["ours", 12], D["peer", 12], ratio(D["ours", 12], D["peer", 12]))
      row("  start to the last row (s)", D["ours", 5], D["peer", 5], ratio(D["ours", 5], D["peer", 5]))
      row("  CPU s / 10k events, pipeline processes", D["ours", 9], D["peer", 9], ratio(D["ours", 9], D["peer", 9]))
      row("  CPU s / 10k events, their PG backends", D["ours", 10], D["peer", 10], ratio(D["ours", 10], D["peer", 10]))
      for (q = 0; q < 2; q++) { p = q ? "peer" : "ours"; if (D[p, 9] != "") S[p] = sprintf("%.2f", D[p, 9] + D[p, 10]) }
      row("  CPU s / 10k events, processes + PG backends", S["ours"], S["peer"], ratio(S["ours"], S["peer"]))
      row("  CPU s / 10k events, all of PostgreSQL", D["ours", 11], D["peer", 11], ratio(D["ours", 11], D["peer", 11]))
      row("  backlog written at (events/s, cs_backlog)", D["ours", 4], D["peer", 4], "")
      for (q = 0; q < 2; q++) {
        p = q ? "peer" : "ours"
        if (A[p, 9] == "") continue
        printf "drain account %-4s: write side %s, read model %s, identical %s; events written %s, on the topic %s, applied %s: %s\n",
          p, A[p, 3], A[p, 4], A[p, 5], A[p, 6], A[p, 7], A[p, 8], A[p, 9] == 1 ? "EXACT" : "MISMATCH"
      }
      printf "goal (issue 20): drain >= 3x the peer'"'"'s events/s (first event applied to the last row): %s\n",
        (D["peer", 8] && D["ours", 8] >= 3 * D["peer", 8]) ? "met" : "NOT met"
    }' "$RES"
}
