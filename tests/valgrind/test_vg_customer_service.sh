#!/usr/bin/env bash
# test_vg_customer_service.sh — a second customer-service replica under valgrind (config
# from the test config-server, the test PostgreSQL and Kafka; its config watcher long-polling
# throughout): creates, updates, reads, deletes and bad input, POST /actuator/refresh (401
# without the token, 200 with it), then SIGTERM; no memory errors, no definitely-lost leaks,
# exit 0.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
port=$((27854 + ${CQ_TEST_PORT_OFFSET:-0}))
export CONFIG_SERVER_URL=$CQ_CONFIG_URL APP_PROFILES=test SERVER_PORT=$port \
  DATASOURCE_PORT=$CQ_PG_PORT KAFKA_CONFIG_BOOTSTRAP_SERVERS=$CQ_KAFKA_BOOTSTRAP CUSTOMER_ADMIN_TOKEN=vg-token
"$here/vg_check.sh" customer-service $port /health/readiness '
  set -e
  for i in 1 2 3; do
    id=$(cat /proc/sys/kernel/random/uuid)
    curl -fsS -o /dev/null -X POST -H "Content-Type: application/json" \
      -d "{\"customerId\":\"$id\",\"username\":\"vg-$id\",\"firstName\":\"V\",\"lastName\":\"G\"}" "$BASE/customers"
    curl -fsS -o /dev/null -X PUT -H "Content-Type: application/json" \
      -d "{\"username\":\"vg-$id\",\"firstName\":\"V2\",\"lastName\":\"G\"}" "$BASE/customers/$id"
    curl -fsS -o /dev/null "$BASE/customers/$id"
    curl -fsS -o /dev/null -X DELETE "$BASE/customers/$id"
  done
  code=$(curl -s -o /dev/null -w "%{http_code}" -X POST -H "Content-Type: application/json" -d "{bad json" "$BASE/customers"); [ "$code" = 400 ]
  code=$(curl -s -o /dev/null -w "%{http_code}" "$BASE/customers/not-a-uuid"); [ "$code" = 400 ]
  curl -fsS -o /dev/null "$BASE/metrics"
  code=$(curl -s -o /dev/null -w "%{http_code}" -X POST "$BASE/actuator/refresh"); [ "$code" = 401 ]
  curl -fsS -X POST -H "Authorization: Bearer vg-token" "$BASE/actuator/refresh" | grep -q "^\["
  curl -fsS "$BASE/health" | grep -q "\"config\":{\"version\""
  sleep 2
' -- "$CQ_VG_BIN_DIR/customer-service"
