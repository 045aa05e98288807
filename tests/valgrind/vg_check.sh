#!/usr/bin/env bash
# vg_check.sh — runs one long-running program under valgrind, exercises it over HTTP,
# stops it with SIGTERM and fails unless it exited 0 with no memory errors and no
# definitely-lost leaks.
#
#   vg_check.sh NAME PORT HEALTH_PATH EXERCISE_CMD -- PROGRAM [ARGS...]
#
# EXERCISE_CMD runs with $BASE set to http://127.0.0.1:PORT (or $VG_BASE) once HEALTH_PATH
# answers.
# The valgrind log stays in valgrind-logs/ beside $CQ_STACK_DIR (or /tmp/cq-valgrind-logs).
set -euo pipefail
name=$1 port=$2 health=$3 exercise=$4; shift 4
[ "${1:-}" = "--" ] && shift
here=$(cd "$(dirname "$0")" && pwd)
logdir=${CQ_STACK_DIR:+$(dirname "$CQ_STACK_DIR")/valgrind-logs}; logdir=${logdir:-/tmp/cq-valgrind-logs}; mkdir -p "$logdir"
vlog=$logdir/valgrind-$name.log out=$logdir/valgrind-$name.out

valgrind --error-exitcode=99 --leak-check=full --show-leak-kinds=definite \
  --errors-for-leak-kinds=definite --track-origins=no --num-callers=30 \
  --suppressions="$here/cq.supp" --log-file="$vlog" "$@" >"$out" 2>&1 &
pid=$!
# Never leave the program behind, whatever happens below.
trap 'kill -KILL $pid 2>/dev/null || true' EXIT
export BASE=${VG_BASE:-http://127.0.0.1:$port}  # VG_BASE: e.g. https://localhost:PORT
deadline=$(( $(date +%s) + 120 ))
until curl -fsS -o /dev/null "$BASE$health" 2>/dev/null; do
  if ! kill -0 $pid 2>/dev/null; then tail -n 30 "$out" "$vlog"; echo "vg_check: $name exited during start" >&2; exit 1; fi
  [ "$(date +%s)" -lt "$deadline" ] || { kill -KILL $pid; tail -n 30 "$out"; echo "vg_check: $name not ready" >&2; exit 1; }
  sleep 0.3
done
echo "vg_check: $name is up under valgrind; exercising"
bash -c "$exercise" || { echo "vg_check: exercising $name failed" >&2; tail -20 "$out" >&2; exit 1; }
kill -0 $pid 2>/dev/null || { echo "vg_check: $name died while exercised" >&2; tail -20 "$out" >&2; exit 1; }
kill -TERM $pid
rc=0; wait $pid || rc=$?
grep -E 'ERROR SUMMARY|definitely lost|indirectly lost' "$vlog" || true
if [ "$rc" != 0 ]; then
  echo "vg_check: $name exited $rc (99 = valgrind found errors); log: $vlog" >&2
  grep -B2 -A25 -E '^==[0-9]+== (Invalid|Conditional|Syscall|Mismatched)|definitely lost in' "$vlog" | head -120 >&2 || true
  tail -20 "$out" >&2
  exit 1
fi
echo "vg_check: $name clean under valgrind"
