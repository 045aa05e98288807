#!/usr/bin/env bash
# cluster_fixture.sh up|down — the ctest fixture `cluster` of the fault suite (label faults):
# `up` removes what a previous run left in $CQ_CLUSTER_DIR and starts a fresh replicated
# stack (scripts/cluster.sh up --async: 3 KRaft brokers, a PostgreSQL primary + streaming
# standby, on ports 26100-26199, none of the ctest stack's); `down` stops it and deletes it.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
case ${1:-} in
  up) "$root/scripts/cluster.sh" destroy >/dev/null 2>&1 || true
      exec "$root/scripts/cluster.sh" up --async ;;
  down) exec "$root/scripts/cluster.sh" destroy ;;
  -h|--help) sed -n '2,5s/^# \{0,1\}//p' "$0" ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
