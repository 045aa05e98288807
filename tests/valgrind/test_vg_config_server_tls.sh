#!/usr/bin/env bash
# test_vg_config_server_tls.sh — config-server under valgrind serving HTTPS with client
# certificates wanted (a CA made here with openssl): requests with and without a client
# certificate, one from another CA refused, the certificate files rotated twice (the second
# time to a key that does not match: ignored) and picked up by new connections, then
# SIGTERM; no memory errors, no definitely-lost leaks (the SSL contexts and the reload
# thread included), exit 0.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
mkdir "$dir/repo"; cp -r "$CQ_SOURCE_DIR/config-repo/." "$dir/repo/"
port=$((27892 + ${CQ_TEST_PORT_OFFSET:-0}))
cd "$dir"
ca() { openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -keyout "$1.key" \
  -out "$1.crt" -subj "/CN=$1" >/dev/null 2>&1; }
leaf() { # leaf CA NAME CN
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$2.ext"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$2.key" -subj "/CN=$3" \
    -out "$2.csr" >/dev/null 2>&1
  openssl x509 -req -in "$2.csr" -CA "$1.crt" -CAkey "$1.key" -CAcreateserial -days 2 -extfile "$2.ext" \
    -out "$2.crt" >/dev/null 2>&1
}
ca ca; ca other; leaf ca server localhost; leaf ca rotated localhost-rotated; leaf ca client order-service
leaf other intruder intruder
cp server.crt tls.crt; cp server.key tls.key
export CONFIG_SERVER_SSL_CERTIFICATE=$dir/tls.crt CONFIG_SERVER_SSL_CERTIFICATE_PRIVATE_KEY=$dir/tls.key \
  CONFIG_SERVER_SSL_TRUST_CERTIFICATE=$dir/ca.crt CONFIG_SERVER_SSL_CLIENT_AUTH=want \
  CONFIG_SERVER_SSL_RELOAD_INTERVAL_MS=200 CURL_CA_BUNDLE=$dir/ca.crt VG_BASE=https://localhost:$port DIR=$dir
"$here/vg_check.sh" config-server-tls $port /actuator/health '
  set -e
  cn() { openssl s_client -connect 127.0.0.1:'"$port"' -servername localhost </dev/null 2>/dev/null |
         sed -n "s/^subject=.*CN *= *//p"; }
  curl -fsS -o /dev/null "$BASE/customer-service/local"
  curl -fsS -o /dev/null --cert "$DIR/client.crt" --key "$DIR/client.key" "$BASE/order-service/local"
  if curl -s -o /dev/null --cert "$DIR/intruder.crt" --key "$DIR/intruder.key" "$BASE/order-service/local"; then
    echo "a certificate from another CA was accepted"; exit 1
  fi
  [ "$(cn)" = localhost ]
  cp "$DIR/rotated.key" "$DIR/tls.key.new"; cp "$DIR/rotated.crt" "$DIR/tls.crt.new"
  mv "$DIR/tls.key.new" "$DIR/tls.key"; mv "$DIR/tls.crt.new" "$DIR/tls.crt"
  for _ in $(seq 1 100); do [ "$(cn)" = localhost-rotated ] && break; sleep 0.1; done
  [ "$(cn)" = localhost-rotated ]
  cp "$DIR/client.key" "$DIR/tls.key"   # a key that does not match: ignored, logged
  sleep 1
  [ "$(cn)" = localhost-rotated ]
  curl -fsS -o /dev/null "$BASE/customer-service/local"
' -- "$CQ_VG_BIN_DIR/config-server" --repo "$dir/repo" --port "$port" --host 127.0.0.1
