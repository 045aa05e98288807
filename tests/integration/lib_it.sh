# lib_it.sh — the preamble shared by the shell integration tests that run customer-service
# and order-service instances of their own against the ctest fixture's config-server and
# PostgreSQL (test_kafka_sasl.sh, test_tracing.sh). Sourced, never run; the caller sets
#   IT_NAME  its message prefix ("kafka_sasl")   IT_DB  the name of its own database
# and gets: root (the repository root), off (CQ_TEST_PORT_OFFSET), dir (a temporary
# directory), pids (what the EXIT trap kills), the shared shell of scripts/lib/stackfns.sh
# (say, die, now_ms, ...), fail, psqlc, it_db_create, it_start and it_ready. On EXIT: pids are
# killed -9, it_cleanup_more runs when the caller defined it, the database is dropped and dir
# removed.
: "${IT_NAME:?}" "${IT_DB:?}"
: "${CQ_CONFIG_URL:?the config-server of the ctest fixture}" "${CQ_BIN_DIR:?}" "${CQ_PG_PORT:?}"
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
off=${CQ_TEST_PORT_OFFSET:-0}
dir=$(mktemp -d "/tmp/cq-$IT_NAME.XXXXXX")
pids=()
SAY=$IT_NAME
# shellcheck source=../../scripts/lib/stackfns.sh
. "$root/scripts/lib/stackfns.sh"

fail() { echo "$IT_NAME: FAIL: $*" >&2; exit 1; }
psqlc() { psql -X -Atq -h 127.0.0.1 -p "$CQ_PG_PORT" -U postgres "$@"; }
it_cleanup() {
  local p
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  if declare -F it_cleanup_more >/dev/null; then it_cleanup_more || true; fi
  psqlc -d postgres -c "DROP DATABASE IF EXISTS $IT_DB" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap it_cleanup EXIT

it_db_create() { psqlc -d postgres -c "CREATE DATABASE $IT_DB" >/dev/null; }

# it_start PROGRAM PORT LOG [VAR=VALUE...]: starts PROGRAM on PORT with the fixture's
# config-server (profile test) and the database IT_DB, VAR=VALUEs added to its environment;
# its pid in $started and in pids. Does not wait.
started=""
it_start() {
  local prog=$1 port=$2 log=$3; shift 3
  env CONFIG_SERVER_URL="$CQ_CONFIG_URL" APP_PROFILES=test SERVER_PORT="$port" DATASOURCE_DBNAME="$IT_DB" \
    "$@" "$CQ_BIN_DIR/$prog" </dev/null >"$log" 2>&1 &
  started=$!
  pids+=("$started")
}

# it_ready PID PORT LOG: waits 60 s for /health/readiness on PORT; fails (showing LOG) when
# PID exits first or the time is up.
it_ready() {
  local i
  for i in $(seq 600); do
    curl -fsS -o /dev/null "http://127.0.0.1:$2/health/readiness" 2>/dev/null && return 0
    kill -0 "$1" 2>/dev/null || { cat "$3"; fail "$3: exited during start"; }
    sleep 0.1
  done
  cat "$3"; fail "$3: not ready after 60 s"
}
