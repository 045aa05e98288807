#!/usr/bin/env bash
# test_vg_order_service.sh — an order-service under valgrind with a read model of its own
# (own database and consumer group, so it replays the whole test `customer` topic and
# never takes partitions from the fixture's replica): a customer created on the fixture's
# customer-service reaches this read model (the projection's pipelined batches run under
# valgrind) and an order for it is accepted; orders for unknown customers (the bounded
# read-your-writes wait), unknown orders, bad input, metrics, POST /actuator/refresh (its
# config watcher long-polls throughout); then SIGTERM. No memory errors, no definitely-lost
# leaks, exit 0.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
port=$((27851 + ${CQ_TEST_PORT_OFFSET:-0}))
db=vg_order_$$
psql_() { psql -X -q -v ON_ERROR_STOP=1 "$CQ_PG_CONNINFO" "$@"; }
psql_ -c "CREATE DATABASE $db"
trap 'psql_ -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true' EXIT
export CONFIG_SERVER_URL=$CQ_CONFIG_URL APP_PROFILES=test SERVER_PORT=$port ORDER_SERVICE_CUSTOMER_WAIT_MS=300 \
  DATASOURCE_DBNAME=$db KAFKA_CONSUMER_CONFIG_CUSTOMER_GROUP_ID=vg-order-$$ \
  DATASOURCE_PORT=$CQ_PG_PORT KAFKA_CONFIG_BOOTSTRAP_SERVERS=$CQ_KAFKA_BOOTSTRAP ORDER_ADMIN_TOKEN=vg-token
"$here/vg_check.sh" order-service $port /health/readiness '
  set -e
  order() { # customer-id -> status of POST /orders
    local b="{\"customerId\":\"$1\",\"restaurantId\":\"$1\",\"price\":200.00,\"items\":[{\"productId\":\"$1\",\"quantity\":1,\"price\":200,\"subTotal\":200.00}],\"address\":{\"street\":\"s\",\"postalCode\":\"1000AB\",\"city\":\"c\"}}"
    curl -s -o /dev/null -w "%{http_code}" -X POST -H "Content-Type: application/json" -d "$b" "$BASE/orders"
  }
  id=$(cat /proc/sys/kernel/random/uuid)
  curl -fsS -o /dev/null -X POST -H "Content-Type: application/json" \
    -d "{\"customerId\":\"$id\",\"username\":\"vg-order-$id\",\"firstName\":\"V\",\"lastName\":\"G\"}" \
    "$CQ_CUSTOMER_URL/customers"
  for _ in $(seq 1 300); do
    [ "$(curl -s -o /dev/null -w "%{http_code}" "$BASE/customers/$id")" = 200 ] && break
    sleep 0.1
  done
  code=$(curl -s -o /dev/null -w "%{http_code}" "$BASE/customers/$id"); [ "$code" = 200 ]
  code=$(order "$id"); [ "$code" = 201 ]
  other=$(cat /proc/sys/kernel/random/uuid)
  code=$(order "$other"); [ "$code" = 400 ]
  code=$(curl -s -o /dev/null -w "%{http_code}" "$BASE/orders/$other"); [ "$code" = 404 ]
  code=$(curl -s -o /dev/null -w "%{http_code}" -X POST -H "Content-Type: application/json" -d "[1,2" "$BASE/orders"); [ "$code" = 400 ]
  code=$(curl -s -o /dev/null -w "%{http_code}" "$BASE/customers/$other"); [ "$code" = 404 ]
  curl -fsS "$BASE/metrics" | grep -q "^order_projection_batches_total{result=\"committed\"} [1-9]"
  curl -fsS -X POST -H "Authorization: Bearer vg-token" "$BASE/actuator/refresh" | grep -q "^\["
  curl -fsS "$BASE/metrics" | grep -q "^order_config_info{version="
' -- "$CQ_VG_BIN_DIR/order-service"
