# bench/cqrs-lag/peer/plots.sh — peer/run.sh's SVG charts from the run's own data (sourced):
#   plots → in RUN_DIR, next to table.txt, and prints their paths:
#     lag-cdf.svg   the lag distribution (share of events within x ms) ours vs Debezium at the
#                   fixed rates (lags-PIPE-RATE-fixed.txt, one lag a line, sorted);
#     drain.svg     the backlog drain over time: records on the topic and events applied to
#                   the read model (drain-PIPE-topic.dat, drain-PIPE-applied.dat);
#     scale.svg     the scale curves: CPU-s per 10k events and lag p99 per point (scale.dat).
# gnuplot (Debian's gnuplot-nox) is installed when missing and the bench runs as root.

_plots_gnuplot() {
  command -v gnuplot >/dev/null && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing gnuplot-nox for the plots"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q gnuplot-nox >/dev/null 2>&1 || true
  fi
  command -v gnuplot >/dev/null || { say "no gnuplot: no plots (apt-get install gnuplot-nox)"; return 1; }
}

plots() {
  _plots_gnuplot || return 0
  local d=$RUN_DIR f p r n k cmds=() style
  style="set terminal svg size 900,520 dynamic noenhanced font 'sans,12'; set grid; set key left top"
  # lag distribution
  for r in 200 1000; do
    for p in ours peer; do
      f=$d/lags-$p-$r-fixed.txt
      [ -s "$f" ] || continue
      n=$(wc -l <"$f")
      # at most ~2,000 points a curve (every k-th lag), the last one kept
      k=$((n > 2000 ? n / 2000 : 1))
      cmds+=("'$f' every $k using 1:((\$0 * $k + 1) / $n) with lines lw 2 title '$([ $p = ours ] && echo ours || echo Debezium) @ $r/s'")
    done
  done
  if ((${#cmds[@]})); then
    gnuplot -e "$style; set output '$d/lag-cdf.svg'; set logscale x; set xlabel 'lag, 201 to read-model row (ms, log scale)';
      set ylabel 'share of events'; set yrange [0:1]; set key right bottom;
      set title 'propagation lag, ours vs Debezium (meter: $LAG_METER)'; plot $(IFS=,; echo "${cmds[*]}")" &&
      echo "$d/lag-cdf.svg"
  fi
  # drain progress
  cmds=()
  for p in ours peer; do
    local name
    name=$([ $p = ours ] && echo ours || echo Debezium)
    [ -s "$d/drain-$p-topic.dat" ] && cmds+=("'$d/drain-$p-topic.dat' using 1:2 with lines lw 2 dt 2 title '$name: records on the topic'")
    [ -s "$d/drain-$p-applied.dat" ] && cmds+=("'$d/drain-$p-applied.dat' using 1:2 with lines lw 2 title '$name: events applied to the read model'")
  done
  if ((${#cmds[@]})); then
    gnuplot -e "$style; set output '$d/drain.svg'; set xlabel 'seconds since the pipeline was started';
      set ylabel 'events / rows'; set format y '%.0s%c'; set title 'backlog drain, ours vs Debezium';
      plot $(IFS=,; echo "${cmds[*]}")" && echo "$d/drain.svg"
  fi
  # scale curves: "label cpu10k pg10k allpg10k p99" per point
  if [ -s "$d/scale.dat" ]; then
    gnuplot -e "$style; set output '$d/scale.svg'; set style data histograms; set style fill solid 0.6 border -1;
      set yrange [0:*]; set y2range [0:*]; set ylabel 'CPU s per 10k events'; set y2label 'lag p99 (ms)'; set y2tics; set ytics nomirror;
      set key right top; set title 'ours at scale: cost and lag per point';
      plot '$d/scale.dat' using 2:xtic(1) title 'pipeline processes', '' using 3 title 'their PG backends',
           '' using 4 title 'all of PostgreSQL', '' using 0:5 axes x1y2 with linespoints lw 2 title 'lag p99 (right axis)'" &&
      echo "$d/scale.svg"
  fi
}
