#!/usr/bin/env bash
# cgexec.sh PROGRAM [ARGS...] — trio.sh's exec prefix in the partition scenario: when PROGRAM's
# name is $FAULT_CG_PROGRAM, moves itself into the cgroup $FAULT_CG_DIR first (every socket the
# program then opens belongs to that cgroup, which iptables' -m cgroup matches); then execs
# PROGRAM. Set up by netcut_prepare in lib.sh.
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ] || [ $# = 0 ]; then
  sed -n '2,6s/^# \{0,1\}//p' "$0"; [ $# = 0 ] && exit 2; exit 0
fi
if [ -n "${FAULT_CG_DIR:-}" ] && [ "$(basename "$1")" = "${FAULT_CG_PROGRAM:-}" ]; then
  echo $$ >"$FAULT_CG_DIR/cgroup.procs" || { echo "cgexec: cannot join $FAULT_CG_DIR" >&2; exit 1; }
fi
exec "$@"
