#!/usr/bin/env bash
# test_pg_tls.sh — integration: the services' PostgreSQL connection over TLS with
# `sslmode=verify-full` (datasource.sslrootcert / .sslcert / .sslkey, common/svc/svc_pg.c).
#
# The test makes its own CAs and certificates with openssl (the server's for the name
# "localhost" only), starts a private PostgreSQL 15 with ssl=on that accepts nothing but TLS
# (and one user only with a client certificate), and starts customer-service against it with
# the fixture's config-server and Kafka:
#   - the right CA, host "localhost"            → ready, a customer is stored, pg_stat_ssl: TLS
#   - another CA                                → exits 69, the log says the certificate failed
#                                                  verification
#   - the right CA, host "127.0.0.1"            → exits 69, the log names the host name mismatch
#   - sslmode=require, no CA given              → connects to whatever answers: `require`
#                                                  encrypts but does not authenticate the server
#                                                  (why the docs recommend verify-full)
#   - a user that needs a client certificate    → ready with datasource.sslcert + .sslkey;
#                                                  exits 69 without them
#   - an unreadable datasource.sslrootcert      → exits 78 naming the key
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
: "${CQ_CONFIG_URL:?the config-server of the ctest fixture}" "${CQ_BIN_DIR:?}"
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
off=${CQ_TEST_PORT_OFFSET:-0}
pg_port=$((27460 + off))
svc_port=$((27462 + off))
topic=pgtls-$$
dir=$(mktemp -d /tmp/cq-pgtls.XXXXXX)
chmod 755 "$dir"
svc_pid=""

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
say() { echo "pg_tls: $*"; }
fail() { echo "pg_tls: FAIL: $*" >&2; exit 1; }
cleanup() {
  [ -n "$svc_pid" ] && kill -9 "$svc_pid" 2>/dev/null || true
  as_pg "$PGBIN/pg_ctl" -D "$dir/pg" stop -m immediate >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT

# ---- certificates: a CA, another CA, the server's (localhost only), a client's
cd "$dir"
mkca() { # name
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=$1" \
    -keyout "$1.key" -out "$1.crt" 2>/dev/null
}
mkcert() { # name cn ca [san]
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$2" \
    -keyout "$1.key" -out "$1.csr" 2>/dev/null
  local ext=/dev/null
  if [ -n "${4:-}" ]; then printf 'subjectAltName=%s\n' "$4" >"$1.ext"; ext=$1.ext; fi
  openssl x509 -req -in "$1.csr" -CA "$3.crt" -CAkey "$3.key" -CAcreateserial -days 2 \
    -extfile "$ext" -out "$1.crt" 2>/dev/null
}
mkca ca
mkca otherca
mkcert server localhost ca DNS:localhost
mkcert client certuser ca
chmod 600 ./*.key
[ "$(id -u)" = 0 ] && chown postgres: server.key server.crt ca.crt

# ---- a private PostgreSQL that speaks TLS only
mkdir -p "$dir/pg" "$dir/run"
[ "$(id -u)" = 0 ] && chown postgres: "$dir/pg" "$dir/run"
as_pg "$PGBIN/initdb" -D "$dir/pg" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log"; fail "initdb"; }
cat >"$dir/pg/pg_hba.conf" <<EOF
local     all  all                    trust
hostssl   all  certuser  127.0.0.1/32 cert
hostssl   all  postgres  127.0.0.1/32 trust
hostnossl all  all       127.0.0.1/32 reject
EOF
as_pg "$PGBIN/pg_ctl" -D "$dir/pg" -l "$dir/run/pg.log" -w -t 60 -o "-p $pg_port -k $dir/run -c listen_addresses=127.0.0.1 \
  -c ssl=on -c ssl_cert_file=$dir/server.crt -c ssl_key_file=$dir/server.key -c ssl_ca_file=$dir/ca.crt" \
  start >/dev/null || { cat "$dir/run/pg.log"; fail "PostgreSQL with ssl=on did not start"; }
psql -X -q -h "$dir/run" -p "$pg_port" -U postgres -d postgres -c "CREATE DATABASE cqrs" -c "CREATE USER certuser SUPERUSER" \
  || fail "could not create the database"
say "PostgreSQL with TLS only on 127.0.0.1:$pg_port"

# ---- customer-service against it
start_svc() { # log env...
  local log=$1; shift
  env CONFIG_SERVER_URL="$CQ_CONFIG_URL" APP_PROFILES=test SERVER_PORT="$svc_port" \
    DATASOURCE_PORT="$pg_port" DATASOURCE_DBNAME=cqrs DATASOURCE_CONNECT_TIMEOUT_S=2 \
    CUSTOMER_SERVICE_CUSTOMER_TOPIC_NAME="$topic" "$@" \
    "$CQ_BIN_DIR/customer-service" </dev/null >"$log" 2>&1 &
  svc_pid=$!
}
# expect_ready LOG ENV...: ready within 60 s, a customer created, then stopped (exit 0)
expect_ready() {
  local log=$1 i; start_svc "$@"
  for i in $(seq 600); do
    curl -fsS -o /dev/null "http://127.0.0.1:$svc_port/health/readiness" 2>/dev/null && break
    kill -0 "$svc_pid" 2>/dev/null || { cat "$log"; fail "customer-service exited ($*)"; }
    sleep 0.1
  done
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    -d "{\"username\":\"tls-$RANDOM$RANDOM\",\"firstName\":\"T\",\"lastName\":\"L\"}" "http://127.0.0.1:$svc_port/customers")
  [ "$code" = 201 ] || { cat "$log"; fail "POST /customers answered $code ($*)"; }
  kill -TERM "$svc_pid"; wait "$svc_pid" || fail "customer-service did not stop cleanly ($*)"
  svc_pid=""
}
# expect_exit LOG CODE NEEDLE ENV...: exits CODE within 90 s with NEEDLE in its log
expect_exit() {
  local log=$1 want=$2 needle=$3 rc=0; shift 3
  start_svc "$log" "$@"
  local t0; t0=$(date +%s)
  while kill -0 "$svc_pid" 2>/dev/null; do
    [ $(( $(date +%s) - t0 )) -lt 90 ] || fail "customer-service still running after 90 s ($*)"
    sleep 0.2
  done
  wait "$svc_pid" || rc=$?
  svc_pid=""
  [ "$rc" = "$want" ] || { cat "$log"; fail "exit $rc, wanted $want ($*)"; }
  grep -q -- "$needle" "$log" || { cat "$log"; fail "the log does not say '$needle' ($*)"; }
  say "refused as expected (exit $rc): $(grep -m1 -o -- "$needle.\{0,60\}" "$log")"
}

expect_ready "$dir/ok.log" DATASOURCE_HOST=localhost DATASOURCE_SSLMODE=verify-full DATASOURCE_SSLROOTCERT="$dir/ca.crt"
n=$(psql -X -Atq -h "$dir/run" -p "$pg_port" -U postgres -d cqrs -c "SELECT count(*) FROM customer.customers")
[ "$n" = 1 ] || fail "expected 1 customer over TLS, found $n"
say "verify-full with the right CA: ready, customer stored"
# the service's connections were TLS (pg_stat_ssl keeps no history: check with a live one)
start_svc "$dir/ssl.log" DATASOURCE_HOST=localhost DATASOURCE_SSLMODE=verify-full DATASOURCE_SSLROOTCERT="$dir/ca.crt"
for _ in $(seq 600); do curl -fsS -o /dev/null "http://127.0.0.1:$svc_port/health/readiness" 2>/dev/null && break; sleep 0.1; done
ssl=$(psql -X -Atq -h "$dir/run" -p "$pg_port" -U postgres -d cqrs -c \
  "SELECT bool_and(s.ssl) || ':' || count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
   WHERE a.application_name = 'customer-service'")
kill -TERM "$svc_pid"; wait "$svc_pid" || true; svc_pid=""
case $ssl in true:[1-9]*) say "pg_stat_ssl: every customer-service connection is TLS ($ssl)";;
  *) fail "customer-service connections not all TLS: $ssl";; esac

expect_exit "$dir/otherca.log" 69 "certificate verify failed" \
  DATASOURCE_HOST=localhost DATASOURCE_SSLMODE=verify-full DATASOURCE_SSLROOTCERT="$dir/otherca.crt"
expect_exit "$dir/host.log" 69 "does not match host name" \
  DATASOURCE_HOST=127.0.0.1 DATASOURCE_SSLMODE=verify-full DATASOURCE_SSLROOTCERT="$dir/ca.crt"
# HOME without ~/.postgresql/root.crt: libpq has no CA to check against
expect_ready "$dir/require.log" HOME="$dir" DATASOURCE_HOST=127.0.0.1 DATASOURCE_SSLMODE=require
say "sslmode=require connected to a server whose certificate nobody checked (and by its address): it does not authenticate the server"
expect_ready "$dir/cert.log" DATASOURCE_HOST=localhost DATASOURCE_USER=certuser DATASOURCE_SSLMODE=verify-full \
  DATASOURCE_SSLROOTCERT="$dir/ca.crt" DATASOURCE_SSLCERT="$dir/client.crt" DATASOURCE_SSLKEY="$dir/client.key"
say "client certificate (user certuser): ready"
expect_exit "$dir/nocert.log" 69 "valid client certificate" \
  DATASOURCE_HOST=localhost DATASOURCE_USER=certuser DATASOURCE_SSLMODE=verify-full DATASOURCE_SSLROOTCERT="$dir/ca.crt"
expect_exit "$dir/nofile.log" 78 "datasource.sslrootcert" \
  DATASOURCE_HOST=localhost DATASOURCE_SSLMODE=verify-full DATASOURCE_SSLROOTCERT="$dir/missing.crt"
say "PASS"
