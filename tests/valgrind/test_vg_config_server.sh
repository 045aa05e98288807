#!/usr/bin/env bash
# test_vg_config_server.sh — config-server under valgrind: every URL form, errors, a live
# reload after an edit, then SIGTERM; no memory errors, no definitely-lost leaks, exit 0.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(mktemp -d); trap 'rm -rf "$repo"' EXIT
cp -r "$CQ_SOURCE_DIR/config-repo/." "$repo/"
port=$((27890 + ${CQ_TEST_PORT_OFFSET:-0}))
export REPO=$repo
"$here/vg_check.sh" config-server $port /actuator/health '
  set -e
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
' -- "$CQ_VG_BIN_DIR/config-server" --repo "$repo" --port $port --threads 2
