#!/bin/sh
# smoke.sh — the CQRS smoke flow against running services, in POSIX sh + curl only (so it runs
# in a tiny image: it is the `helm test` hook of the chart and the e2e test tests/e2e/test_smoke.sh).
#
#   1. wait (bounded) until customer-service and order-service report ready;
#   2. POST $CUSTOMER_URL/customers                      -> 201 (write side);
#   3. poll GET $ORDER_URL/customers/{id} until 200      (the read model, fed through Kafka);
#   4. POST $ORDER_URL/orders for that customer          -> 201 with an orderTrackingId;
#   5. GET  $ORDER_URL/orders/{trackingId}               -> 200, orderStatus PENDING;
#   6. PUT  $CUSTOMER_URL/customers/{id}                 -> 200, version 2, and poll the read
#      model until it shows the new name and version 2 (an update propagates);
#   7. DELETE $CUSTOMER_URL/customers/{id}               -> 204, and poll the read model until
#      GET $ORDER_URL/customers/{id} is 404 (a delete, i.e. a tombstone, removes the row).
#
# Environment: CUSTOMER_URL, ORDER_URL (required, e.g. http://127.0.0.1:8184),
#   SMOKE_TIMEOUT (seconds to wait for readiness and for the read model, default 30),
#   SMOKE_HTTP_TIMEOUT (seconds per HTTP request, default 10).
# Prints each step; exits 0 when the whole flow worked, 1 on any failure, 2 on bad usage.
set -u

case "${1:-}" in
  -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  '') ;;
  *) echo "smoke: unknown argument '$1' (try --help)" >&2; exit 2 ;;
esac
if [ -z "${CUSTOMER_URL:-}" ] || [ -z "${ORDER_URL:-}" ]; then
  echo "smoke: CUSTOMER_URL and ORDER_URL must be set (e.g. http://127.0.0.1:8184)" >&2
  exit 2
fi
CUSTOMER_URL=${CUSTOMER_URL%/}
ORDER_URL=${ORDER_URL%/}
TIMEOUT=${SMOKE_TIMEOUT:-30}
HTTP_TIMEOUT=${SMOKE_HTTP_TIMEOUT:-10}

fail() { echo "smoke: FAIL: $*" >&2; exit 1; }
now() { date +%s; }
# Milliseconds since the epoch where date knows %N (GNU, busybox), else seconds * 1000.
now_ms() {
  n=$(date +%s%N 2>/dev/null)
  case "$n" in *[!0-9]*|'') echo $(( $(date +%s) * 1000 )) ;; *) echo $(( n / 1000000 )) ;; esac
}
# Sleeps a fraction of a second where sleep allows it (busybox and coreutils do).
nap() { sleep 0.2 2>/dev/null || sleep 1; }

# http METHOD URL [JSON-BODY] -> sets CODE and BODY. Never exits: CODE=000 on transport error.
http() {
  if [ $# -ge 3 ]; then
    out=$(curl -sS --connect-timeout 5 --max-time "$HTTP_TIMEOUT" -X "$1" \
      -H 'Content-Type: application/json' --data-binary "$3" -w '\n%{http_code}' "$2" 2>&1)
  else
    out=$(curl -sS --connect-timeout 5 --max-time "$HTTP_TIMEOUT" -X "$1" \
      -w '\n%{http_code}' "$2" 2>&1)
  fi
  CODE=$(printf '%s\n' "$out" | tail -n 1)
  BODY=$(printf '%s\n' "$out" | sed '$d')
  case "$CODE" in [0-9][0-9][0-9]) ;; *) CODE=000 ;; esac
}

# json_str NAME -> the value of the first "NAME": "..." string in BODY (flat JSON is enough).
json_str() {
  printf '%s' "$BODY" | tr -d '\n' |
    sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\"\([^\"]*\)\".*/\1/p"
}

uuid() {
  if [ -r /proc/sys/kernel/random/uuid ]; then
    cat /proc/sys/kernel/random/uuid
  else
    od -An -N16 -tx1 /dev/urandom | tr -d ' \n' |
      sed 's/^\(.\{8\}\)\(.\{4\}\)\(.\)\(.\{3\}\)\(.\{4\}\)\(.\{12\}\)$/\1-\2-4\4-a\5-\6/' | cut -c1-36
  fi
}

# 1. readiness of both services (bounded).
for url in "$CUSTOMER_URL" "$ORDER_URL"; do
  deadline=$(( $(now) + TIMEOUT ))
  while :; do
    http GET "$url/health/readiness"
    [ "$CODE" = 200 ] && break
    [ "$(now)" -gt "$deadline" ] &&
      fail "$url/health/readiness not ready after ${TIMEOUT}s (last HTTP $CODE: $BODY)"
    nap
  done
  echo "smoke: $url is ready"
done

# 2. create a customer on the write side.
id=$(uuid)
[ -n "$id" ] || fail "could not generate a UUID"
user="smoke-$(echo "$id" | cut -c1-8)"
http POST "$CUSTOMER_URL/customers" \
  "{\"customerId\":\"$id\",\"username\":\"$user\",\"firstName\":\"Smoke\",\"lastName\":\"Test\"}"
[ "$CODE" = 201 ] || fail "POST $CUSTOMER_URL/customers: expected 201, got $CODE: $BODY"
got=$(json_str customerId)
[ "$got" = "$id" ] || fail "POST /customers answered customerId '$got', expected '$id': $BODY"
echo "smoke: created customer $id ($user) on customer-service: 201"

# 3. wait for the read model (customer-service -> outbox -> Kafka -> order-service).
start=$(now_ms)
deadline=$(( $(now) + TIMEOUT ))
while :; do
  http GET "$ORDER_URL/customers/$id"
  [ "$CODE" = 200 ] && break
  case "$CODE" in 404|000) ;; *) fail "GET $ORDER_URL/customers/$id: unexpected $CODE: $BODY" ;; esac
  [ "$(now)" -gt "$deadline" ] &&
    fail "customer $id not in order-service's read model after ${TIMEOUT}s (last HTTP $CODE: $BODY)"
  nap
done
[ "$(json_str username)" = "$user" ] ||
  fail "read model row for $id has username '$(json_str username)', expected '$user': $BODY"
echo "smoke: customer $id visible in order-service's read model after $(( $(now_ms) - start )) ms"

# 4. place an order for that customer (seed's sample order: 1 x 50.00 + 3 x 50.00 = 200.00).
restaurant=d215b5f8-0249-4dc5-89a3-51fd148cfb45
product=d215b5f8-0249-4dc5-89a3-51fd148cfb48
order="{\"customerId\":\"$id\",\"restaurantId\":\"$restaurant\",\"price\":200.00,\
\"items\":[{\"productId\":\"$product\",\"quantity\":1,\"price\":50.00,\"subTotal\":50.00},\
{\"productId\":\"$product\",\"quantity\":3,\"price\":50.00,\"subTotal\":150.00}],\
\"address\":{\"street\":\"street_1\",\"postalCode\":\"1000AB\",\"city\":\"Amsterdam\"}}"
http POST "$ORDER_URL/orders" "$order"
[ "$CODE" = 201 ] || fail "POST $ORDER_URL/orders: expected 201, got $CODE: $BODY"
tracking=$(json_str orderTrackingId)
[ -n "$tracking" ] || fail "POST /orders answered no orderTrackingId: $BODY"
echo "smoke: placed order $tracking for customer $id: 201"

# 5. read the order back.
http GET "$ORDER_URL/orders/$tracking"
[ "$CODE" = 200 ] || fail "GET $ORDER_URL/orders/$tracking: expected 200, got $CODE: $BODY"
status=$(json_str orderStatus)
[ "$status" = PENDING ] || fail "order $tracking has orderStatus '$status', expected PENDING: $BODY"
echo "smoke: order $tracking is $status"

# json_num NAME -> the value of the first "NAME": <number> in BODY.
json_num() {
  printf '%s' "$BODY" | tr -d '\n' | sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\([0-9][0-9]*\).*/\1/p"
}

# 6. an update propagates to the read model.
http PUT "$CUSTOMER_URL/customers/$id" \
  "{\"username\":\"$user\",\"firstName\":\"Smoke\",\"lastName\":\"Updated\"}"
[ "$CODE" = 200 ] || fail "PUT $CUSTOMER_URL/customers/$id: expected 200, got $CODE: $BODY"
[ "$(json_num version)" = 2 ] || fail "PUT /customers/$id answered version '$(json_num version)', expected 2: $BODY"
echo "smoke: updated customer $id on customer-service: 200, version 2"
start=$(now_ms)
deadline=$(( $(now) + TIMEOUT ))
while :; do
  http GET "$ORDER_URL/customers/$id"
  [ "$CODE" = 200 ] && [ "$(json_num version)" = 2 ] && break
  [ "$(now)" -gt "$deadline" ] &&
    fail "update of $id not in the read model after ${TIMEOUT}s (last HTTP $CODE: $BODY)"
  nap
done
[ "$(json_str lastName)" = Updated ] || fail "read model row for $id has lastName '$(json_str lastName)': $BODY"
echo "smoke: update visible in the read model (version 2) after $(( $(now_ms) - start )) ms"

# 7. a delete (a tombstone on the topic) removes the read-model row.
http DELETE "$CUSTOMER_URL/customers/$id"
[ "$CODE" = 204 ] || fail "DELETE $CUSTOMER_URL/customers/$id: expected 204, got $CODE: $BODY"
echo "smoke: deleted customer $id on customer-service: 204"
start=$(now_ms)
deadline=$(( $(now) + TIMEOUT ))
while :; do
  http GET "$ORDER_URL/customers/$id"
  [ "$CODE" = 404 ] && break
  [ "$(now)" -gt "$deadline" ] &&
    fail "customer $id still in the read model ${TIMEOUT}s after its delete (last HTTP $CODE: $BODY)"
  nap
done
echo "smoke: customer $id gone from the read model after $(( $(now_ms) - start )) ms"
echo "smoke: OK"
