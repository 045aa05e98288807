# bench/cqrs-lag/peer/table.sh — peer/run.sh's table (sourced): print_table reads $RES (one line
# per step, account, drain and write-path measurement) and prints the figures side by side
# with ours/peer ratios and the goals of issues 13 and 20.
print_table() {
echo
echo "CQRS pipeline vs Debezium — $(nproc) cores, one PostgreSQL 15 (wal_level=logical), one Kafka 4.1.1 broker, os_lagbench open loop"
echo "peer: ${DBZ_VERSIONS:-not run}"
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
      (BEST["peer"] && BEST["ours"] >= 3 * BEST["peer"]) ? "met" : "NOT met",
      (V["peer", 1000, "p99"] && V["ours", 1000, "p99"] <= V["peer", 1000, "p99"] / 5) ? "met" : "NOT met",
      (PEAKRSS["peer"] && PEAKRSS["ours"] <= PEAKRSS["peer"] / 10) ? "met" : "NOT met"
    printf "(a rate holds: written at >= 95%% of it, every 201 in the read model, lag p99 <= %s ms)\n", lim
  }' "$RES"
}
