#!/usr/bin/env bash
# test_vg_order_service.sh — a second order-service replica under valgrind (it joins the
# projection's consumer group): orders for unknown customers (the bounded read-your-writes
# wait), unknown orders, bad input, metrics, then SIGTERM; no memory errors, no
# definitely-lost leaks, exit 0.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
port=26181
export CONFIG_SERVER_URL=$CQ_CONFIG_URL APP_PROFILES=test SERVER_PORT=$port ORDER_SERVICE_CUSTOMER_WAIT_MS=300
"$here/vg_check.sh" order-service $port /health/readiness '
  set -e
  id=$(cat /proc/sys/kernel/random/uuid)
  body="{\"customerId\":\"$id\",\"restaurantId\":\"$id\",\"price\":200.00,\"items\":[{\"productId\":\"$id\",\"quantity\":1,\"price\":200,\"subTotal\":200.00}],\"address\":{\"street\":\"s\",\"postalCode\":\"1000AB\",\"city\":\"c\"}}"
  code=$(curl -s -o /dev/null -w "%{http_code}" -X POST -H "Content-Type: application/json" -d "$body" "$BASE/orders"); [ "$code" = 400 ]
  code=$(curl -s -o /dev/null -w "%{http_code}" "$BASE/orders/$id"); [ "$code" = 404 ]
  code=$(curl -s -o /dev/null -w "%{http_code}" -X POST -H "Content-Type: application/json" -d "[1,2" "$BASE/orders"); [ "$code" = 400 ]
  code=$(curl -s -o /dev/null -w "%{http_code}" "$BASE/customers/$id"); [ "$code" = 404 ]
  curl -fsS -o /dev/null "$BASE/metrics"
  sleep 2
' -- "$CQ_VG_BIN_DIR/order-service"
