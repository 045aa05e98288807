#!/usr/bin/env bash
# e2e_read_your_writes.sh — order-service with the real customer-service and config-server
# (ctest fixtures `stack;services`, or any running trio via CQ_CUSTOMER_URL/CQ_ORDER_URL):
#   1. create a customer, then IMMEDIATELY an order for it (no polling) → 201, because
#      POST /orders waits for the projection (read-your-writes);
#   2. the read model shows the customer with version 1; an update → version 2 with the
#      new names; 3. a delete removes the row (404 with the id in the detail);
#   4. an order for a customer that never existed → 400 naming the id, after the wait.
set -euo pipefail
C=${CQ_CUSTOMER_URL:?CQ_CUSTOMER_URL}; O=${CQ_ORDER_URL:?CQ_ORDER_URL}
fail() { echo "e2e_read_your_writes: FAIL: $*" >&2; exit 1; }
req() { # method url [body] → sets CODE, BODY
  local out
  out=$(curl -sS -m 15 -X "$1" -H 'Content-Type: application/json' ${3:+--data "$3"} -w '\n%{http_code}' "$2") || fail "$1 $2: curl failed"
  CODE=${out##*$'\n'}; BODY=${out%$'\n'*}
}
uuid() { cat /proc/sys/kernel/random/uuid; }
order() { # customer-id
  echo "{\"customerId\":\"$1\",\"restaurantId\":\"d215b5f8-0249-4dc5-89a3-51fd148cfb45\",\"price\":200,\
\"items\":[{\"productId\":\"d215b5f8-0249-4dc5-89a3-51fd148cfb48\",\"quantity\":1,\"price\":50.00,\"subTotal\":50.00},\
{\"productId\":\"d215b5f8-0249-4dc5-89a3-51fd148cfb48\",\"quantity\":3,\"price\":50,\"subTotal\":150}],\
\"address\":{\"street\":\"street_1\",\"postalCode\":\"1000AB\",\"city\":\"Amsterdam\"}}"
}
for i in 1 2 3 4 5; do
  id=$(uuid)
  req POST "$C/customers" "{\"customerId\":\"$id\",\"username\":\"ryw-$id\",\"firstName\":\"Read\",\"lastName\":\"Writes\"}"
  [[ $CODE == 201 || $CODE == 200 ]] || fail "create customer: $CODE $BODY"
  req POST "$O/orders" "$(order "$id")"
  [[ $CODE == 201 ]] || fail "order right after create: $CODE $BODY"
  [[ $BODY == *'"orderStatus":"PENDING"'* ]] || fail "order status: $BODY"
done
echo "e2e: 5 orders placed immediately after creating their customers: 201"
req GET "$O/customers/$id"
[[ $CODE == 200 && $BODY == *'"version":1'* ]] || fail "read model v1: $CODE $BODY"
req PUT "$C/customers/$id" "{\"username\":\"ryw2-$id\",\"firstName\":\"Updated\",\"lastName\":\"Name\"}"
[[ $CODE == 200 ]] || fail "update: $CODE $BODY"
for _ in $(seq 1 100); do
  req GET "$O/customers/$id"
  [[ $BODY == *'"version":2'* ]] && break
  sleep 0.05
done
[[ $BODY == *'"version":2'* && $BODY == *'"firstName":"Updated"'* ]] || fail "update did not propagate: $BODY"
echo "e2e: update propagated (version 2)"
req DELETE "$C/customers/$id"
[[ $CODE == 204 || $CODE == 200 ]] || fail "delete: $CODE $BODY"
for _ in $(seq 1 100); do
  req GET "$O/customers/$id"
  [[ $CODE == 404 ]] && break
  sleep 0.05
done
[[ $CODE == 404 && $BODY == *"$id"* ]] || fail "delete did not remove the row: $CODE $BODY"
echo "e2e: delete removed the row"
ghost=$(uuid)
req POST "$O/orders" "$(order "$ghost")"
[[ $CODE == 400 && $BODY == *"Could not find customer with customer id: $ghost"* ]] || fail "unknown customer: $CODE $BODY"
echo "e2e_read_your_writes: OK"
