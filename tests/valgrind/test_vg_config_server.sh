#!/usr/bin/env bash
# test_vg_config_server.sh — config-server under valgrind: every URL form, errors, a live
# reload after an edit, watch requests (answered by a wait's end, by a change, abandoned by
# their client, held at SIGTERM), per-application access from a credentials file (401, 403,
# the admin everywhere), then SIGTERM; no memory errors, no definitely-lost leaks, exit 0.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(mktemp -d); trap 'rm -rf "$repo"' EXIT
cp -r "$CQ_SOURCE_DIR/config-repo/." "$repo/"
port=$((27890 + ${CQ_TEST_PORT_OFFSET:-0}))
export REPO=$repo
# per-application access: an admin (every request below) and a client of customer-service only
hash=$(printf 'vg-pw' | "$CQ_VG_BIN_DIR/config-server" hash-password --iterations 10000)
creds=$(mktemp -d); trap 'rm -rf "$repo" "$creds"' EXIT
printf 'clients:\n  - name: admin\n    password: "%s"\n    admin: true\n  - name: customer-service\n    password: "%s"\n' \
  "$hash" "$hash" > "$creds/credentials.yml"
"$here/vg_check.sh" config-server $port /actuator/health/liveness '
  set -e
  # a hash under valgrind spends the server'"'"'s hashing budget for a second: 429, tried again
  code() { local c i; for i in $(seq 1 40); do c=$(command curl -s -o /dev/null -w "%{http_code}" "$@");
           [ "$c" != 429 ] && break; sleep 0.5; done; echo "$c"; }
  [ "$(code -u admin:vg-pw "$BASE/customer-service/local")" = 200 ] # remembered from now on
  curl() { command curl -u admin:vg-pw "$@"; }
  [ "$(code "$BASE/customer-service/local")" = 401 ]
  [ "$(code -u customer-service:nope "$BASE/customer-service/local")" = 401 ]
  [ "$(code -u customer-service:vg-pw "$BASE/order-service/local")" = 403 ]
  [ "$(code -u customer-service:vg-pw "$BASE/customer-service-local.yml")" = 200 ]
  command curl -fsS "$BASE/actuator/health" | grep -q "^{\"status\":\"UP\"}$"
  for u in /customer-service/local /order-service/test,k8s /customer-service/local/main \
           /customer-service-local.yml /order-service-test.properties /customer-service-local.json \
           /main/customer-service-local.yaml /health; do
    curl -fsS -o /dev/null "$BASE$u"
  done
  for u in /nope/default/nolabel /customer-service/local/nolabel /..%252f..%252fetc%252fpasswd/x; do
    code=$(curl -s -o /dev/null -w "%{http_code}" "$BASE$u"); case $code in 4??) ;; *) echo "bad $u: $code"; exit 1;; esac
  done
  echo "extra: {reloaded: true}" >> "$REPO/customer-service.yml"
  for i in $(seq 1 50); do curl -fsS "$BASE/customer-service-local.yml" | grep -q reloaded && break; sleep 0.1; done
  curl -fsS "$BASE/customer-service-local.yml" | grep -q reloaded
  # the watch API: 304 at the end of a wait, 200 on a change, a client that goes away, held at SIGTERM
  u="$BASE/customer-service/local"
  e=$(curl -fsS -D - -o /dev/null "$u" | tr -d "\r" | sed -n "s/^[Ee][Tt][Aa][Gg]: //p")
  [ "$(curl -s -o /dev/null -w "%{http_code}" -H "If-None-Match: $e" "$u?wait=1")" = 304 ]
  curl -s -o /dev/null -w "%{http_code}" -H "If-None-Match: $e" "$u?wait=30" > "$REPO/.w1" & w1=$!
  curl -s --max-time 1 -o /dev/null -H "If-None-Match: $e" "$u?wait=30" || true
  echo "watched: {edit: 1}" >> "$REPO/customer-service.yml"
  wait $w1; [ "$(cat "$REPO/.w1")" = 200 ]
  e=$(curl -fsS -D - -o /dev/null "$u" | tr -d "\r" | sed -n "s/^[Ee][Tt][Aa][Gg]: //p")
  for i in 1 2 3; do curl -s -o /dev/null -H "If-None-Match: $e" "$u?wait=60" & done
  sleep 1
' -- "$CQ_VG_BIN_DIR/config-server" --repo "$repo" --port $port --threads 2 --credentials-file "$creds/credentials.yml"
