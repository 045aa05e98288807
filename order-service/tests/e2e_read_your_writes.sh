#!/usr/bin/env bash
# e2e_read_your_writes.sh — order-service with the real customer-service and config-server
# (ctest fixtures `stack;services`, or any running trio via CQ_CUSTOMER_URL/CQ_ORDER_URL):
#   1. create a customer, then IMMEDIATELY an order for it (no polling) → 201, because
#      POST /orders waits for the projection (read-your-writes);
#   2. the read model shows the customer with version 1; an update → version 2 with the
#      new names; 3. a delete removes the row (404 with the id in the detail);
#   4. an order for a customer that never existed → 400 naming the id, after the wait;
#   5. read-your-writes on a read: GET /customers/{id} with the version the write answered
#      (minVersion=, or X-Min-Version: with customer-service's ETag) → that version at once,
#      under a steady load of 200 commands/s (os_lagbench) for 40 write-then-read rounds;
#      with the projection deliberately held (the test locks its stored offsets rows) a
#      short waitMs answers 412 + Read-Model-Version + Retry-After, and a read that waits
#      gets the new version as soon as the hold ends.
set -euo pipefail
C=${CQ_CUSTOMER_URL:?CQ_CUSTOMER_URL}; O=${CQ_ORDER_URL:?CQ_ORDER_URL}
fail() { echo "e2e_read_your_writes: FAIL: $*" >&2; exit 1; }
req() { # method url [body [header]] → sets CODE, BODY, HDRS
  local out hf; hf=$(mktemp)
  out=$(curl -sS -m 15 -X "$1" -H 'Content-Type: application/json' ${4:+-H "$4"} ${3:+--data "$3"} -D "$hf" \
    -w '\n%{http_code}' "$2") || { rm -f "$hf"; fail "$1 $2: curl failed"; }
  CODE=${out##*$'\n'}; BODY=${out%$'\n'*}; HDRS=$(tr -d '\r' <"$hf"); rm -f "$hf"
}
hdr() { sed -n "s/^$1: //Ip" <<<"$HDRS" | head -1; } # a response header's value
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
echo "e2e: unknown customer refused after the wait"

# ---- 5. read-your-writes on a read
id=$(uuid)
req POST "$C/customers" "{\"customerId\":\"$id\",\"username\":\"rywr-$id\",\"firstName\":\"A\",\"lastName\":\"B\"}"
[[ $CODE == 201 ]] || fail "create: $CODE $BODY"
req GET "$O/customers/$id?minVersion=1"
[[ $CODE == 200 && $BODY == *'"version":1'* && $(hdr etag) == '"1"' ]] || fail "minVersion=1 right after create: $CODE $BODY"
req GET "$O/customers/$id?minVersion=x"
[[ $CODE == 400 && $BODY == *minVersion* ]] || fail "minVersion=x: $CODE $BODY"
req GET "$O/customers/$id" "" "X-Min-Version: 0"
[[ $CODE == 400 && $BODY == *X-Min-Version* ]] || fail "X-Min-Version: 0: $CODE $BODY"
pg=${CQ_PG_CONNINFO:?CQ_PG_CONNINFO}
"$CQ_BIN_DIR/os_lagbench" --customer-url "$C" --pg "$pg" --rate 200 --seconds 15 --updates 0.3 \
  >/tmp/ryw-load.$$ 2>&1 &
load=$!
sleep 1
for round in $(seq 1 40); do
  req PUT "$C/customers/$id" "{\"username\":\"rywr-$id\",\"firstName\":\"R$round\",\"lastName\":\"B\"}"
  [[ $CODE == 200 ]] || fail "update $round: $CODE $BODY"
  tag=$(hdr etag)
  req GET "$O/customers/$id" "" "X-Min-Version: $tag"
  [[ $CODE == 200 && $BODY == *"\"firstName\":\"R$round\""* && $(hdr etag) == "$tag" ]] ||
    fail "round $round: read at version $tag answered $CODE $BODY"
done
wait "$load" || { cat /tmp/ryw-load.$$; fail "the background load failed"; }
echo "e2e: 40 writes each read back at their version (X-Min-Version = the write's ETag) under $(sed -n 's/.*"createsPerSecond":\([0-9]*\).*/\1/p' /tmp/ryw-load.$$ | head -1) creates/s of background load"
rm -f /tmp/ryw-load.$$
# the projection held: the test locks its stored offsets, so its next batch waits on them
psql -X -q "$pg" -c "BEGIN" -c 'SELECT 1 FROM "order".projection_offsets FOR UPDATE' -c "SELECT pg_sleep(2.0)" \
  -c "COMMIT" >/dev/null &
hold=$!
sleep 0.3
req PUT "$C/customers/$id" "{\"username\":\"rywr-$id\",\"firstName\":\"Held\",\"lastName\":\"B\"}"
[[ $CODE == 200 ]] || fail "update while held: $CODE $BODY"
tag=$(hdr etag); v=${tag//\"/}
req GET "$O/customers/$id?minVersion=$v&waitMs=300"
[[ $CODE == 412 && $(hdr read-model-version) == $((v - 1)) && -n $(hdr retry-after) && $BODY == *"version $v was asked"* ]] ||
  fail "held projection, waitMs=300: wanted 412 with Read-Model-Version $((v - 1)): $CODE $(hdr read-model-version) $BODY"
echo "e2e: projection held: minVersion=$v&waitMs=300 → 412, Read-Model-Version $((v - 1)), Retry-After $(hdr retry-after)"
t0=$(date +%s%3N)
req GET "$O/customers/$id?minVersion=$v"
t1=$(date +%s%3N)
wait "$hold"
[[ $CODE == 200 && $BODY == *'"firstName":"Held"'* ]] || fail "a read waiting out the hold: $CODE $BODY"
echo "e2e: a read waiting for version $v got it $((t1 - t0)) ms later, when the hold ended"
echo "e2e_read_your_writes: OK"
