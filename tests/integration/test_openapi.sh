#!/usr/bin/env bash
# test_openapi.sh — integration (ctest it_openapi): the OpenAPI specs (customer-service/openapi.yaml,
# order-service/openapi.yaml) checked against the running services with schemathesis (PyPI, a
# cached venv: scripts/schemathesis.sh).
#
# Both services run with admin tokens on the fixture's config-server, PostgreSQL (a database of
# their own) and Kafka (a topic, dead-letter topic and consumer group of their own), so every
# operation of the specs is exercised — the destructive ones too (pause, replay, rebuild, redrive,
# backfill) — without touching the fixture's services or another test's data. A customer (the
# specs' example id) and an order are made first, and their ids are offered to the generator
# (dictionaries, half of the time), so the 200 answers of GET/PUT/DELETE are checked as well as
# the 4xx ones. Then schemathesis runs, per spec, its four phases (the spec's examples,
# coverage — boundary and invalid values, unexpected methods —, fuzzing, stateful sequences
# over the Location links) with every check: no 5xx, every status, content type, header and body
# as documented, schema-invalid requests rejected with a 4xx, schema-valid ones accepted (except
# the statuses listed per operation in the configs below, with the reason), 401 without the
# token. Deterministic: schemathesis' deterministic generation, OPENAPI_EXAMPLES (default 10)
# cases per operation and phase, one worker.
# Env: OPENAPI_EXAMPLES, OPENAPI_ONLY=customer|order (one spec).
set -euo pipefail
IT_NAME=openapi
IT_DB=cq_openapi_$$
# root off dir pids say fail psqlc it_db_create it_start it_ready
# shellcheck source=lib_it.sh
. "$(dirname "$0")/lib_it.sh"
cs_port=$((27470 + off)) # 27430-27438: compat.sh (config_server_spring), which may run at the same time
os_port=$((27471 + off))
topic=openapi-$$
token=openapi-admin-token
examples=${OPENAPI_EXAMPLES:-10}
cid=d215b5f8-0249-4dc5-89a3-51fd148cfb41   # the specs' example customer

st=$("$root/scripts/schemathesis.sh")
say "$("$st" --version)"

it_db_create
common=(CUSTOMER_SERVICE_CUSTOMER_TOPIC_NAME="$topic" ORDER_SERVICE_CUSTOMER_TOPIC_NAME="$topic"
  ORDER_SERVICE_DLQ_TOPIC_NAME="$topic.DLQ" KAFKA_CONSUMER_CONFIG_CUSTOMER_GROUP_ID="$topic")
it_start customer-service "$cs_port" "$dir/cs.log" "${common[@]}" CUSTOMER_ADMIN_TOKEN="$token"
cs_pid=$started
# a short read-your-writes wait: the generated requests ask for customers that never come
it_start order-service "$os_port" "$dir/os.log" "${common[@]}" ORDER_ADMIN_TOKEN="$token" \
  ORDER_SERVICE_CUSTOMER_WAIT_MS=100 RECONCILIATION_CUSTOMER_SERVICE_URL="http://127.0.0.1:$cs_port" \
  RECONCILIATION_CUSTOMER_SERVICE_TOKEN="$token"
os_pid=$started
it_ready "$cs_pid" "$cs_port" "$dir/cs.log"
it_ready "$os_pid" "$os_port" "$dir/os.log"

# the data the 200 answers need: the example customer, in the read model, and an order of it
curl -fsS -o /dev/null -H 'Content-Type: application/json' "http://127.0.0.1:$cs_port/customers" \
  -d "{\"customerId\":\"$cid\",\"username\":\"user_1\",\"firstName\":\"First\",\"lastName\":\"User\"}" ||
  fail "POST /customers (the seed customer)"
for _ in $(seq 100); do curl -fsS -o /dev/null "http://127.0.0.1:$os_port/customers/$cid" 2>/dev/null && break; sleep 0.3; done
curl -fsS -o /dev/null "http://127.0.0.1:$os_port/customers/$cid" || fail "the seed customer is not in the read model"
order=$(curl -fsS -H 'Content-Type: application/json' "http://127.0.0.1:$os_port/orders" -d "{\"customerId\":\"$cid\",
  \"restaurantId\":\"d215b5f8-0249-4dc5-89a3-51fd148cfb45\",\"price\":50,\"address\":{\"street\":\"s\",\"postalCode\":\"1\",
  \"city\":\"c\"},\"items\":[{\"productId\":\"d215b5f8-0249-4dc5-89a3-51fd148cfb48\",\"quantity\":1,\"price\":50,\"subTotal\":50}]}" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["orderTrackingId"])') || fail "POST /orders (the seed order)"

# The settings common to both runs (schemathesis.toml format).
base() {
  cat <<TOML
# no integers past 64 bits in bodies (openapi/hooks.py says why)
hooks = "$root/tests/integration/openapi/hooks.py"
[generation]
deterministic = true
max-examples = $examples
# no example database: each run starts from nothing (a database replays earlier failures)
database = "none"
# no NUL characters: the services' JSON library (jansson) refuses them in object keys (400), and
# the specs allow any extra member in a body
allow-x00 = false
# a request refused as too large (413, documented) is rejected too
[checks.negative_data_rejection]
expected-statuses = [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429]
[auth.openapi.bearer]
bearer = "$token"
[dictionaries.customer-ids]
values = ["$cid"]
[dictionaries.order-ids]
values = ["$order"]
TOML
}

# order-service runs first: customer-service's run deletes the example customer.
base >"$dir/order.toml"
cat >>"$dir/order.toml" <<'TOML'
[parameters]
"path.trackingId" = {dictionary = "order-ids", probability = 0.5}
"path.customerId" = {dictionary = "customer-ids", probability = 0.5}
"body.customerId" = {dictionary = "customer-ids", probability = 0.5}

# A schema-valid order is still refused (400) when its customer is not in the read model or its
# amounts do not add up (price = Σ subTotal, subTotal = price × quantity): rules of the domain
# that a JSON schema cannot state (README "Orders"); and with many items its body can pass
# server.max-body-bytes (413, documented).
[[operations]]
include-name = "POST /orders"
checks.positive_data_acceptance.expected-statuses = [201, 400, 413]

# A schema-valid minVersion newer than the read model's row ends in 412 after the wait (documented).
[[operations]]
include-name = "GET /customers/{customerId}"
checks.positive_data_acceptance.expected-statuses = [200, 404, 412]

# A schema-valid partition number can be past the topic's partitions (400, documented): the
# topic's shape is not in the schema. And a redrive's "from" must be of the "partition" asked
# (400 otherwise, a rule between two members that the schema cannot state).
[[operations]]
include-name = ["GET /admin/dlq", "POST /admin/dlq/redrive", "POST /admin/projection/replay"]
checks.positive_data_acceptance.expected-statuses = [200, 400]

TOML

base >"$dir/customer.toml"
cat >>"$dir/customer.toml" <<'TOML'
[parameters]
"path.customerId" = {dictionary = "customer-ids", probability = 0.5}

# A schema-valid If-Match naming another version than the customer's is refused with 412
# (documented): the customer's version is state, not schema.
[[operations]]
include-name = "DELETE /customers/{customerId}"
checks.positive_data_acceptance.expected-statuses = [204, 404, 412]

# The same for PUT; and its body's optional customerId must be the path's (400 otherwise, a rule
# between two parameters that the schema cannot state).
[[operations]]
include-name = "PUT /customers/{customerId}"
checks.positive_data_acceptance.expected-statuses = [200, 400, 404, 409, 412]
TOML

# run NAME PORT: schemathesis over NAME's spec against 127.0.0.1:PORT; 0 when every check held.
run() {
  local t0 rc=0; t0=$(now_ms)
  say "$1: schemathesis, $examples examples per operation and phase"
  (cd "$dir" && "$st" --config-file "$dir/${1%%-*}.toml" run "$root/$1/openapi.yaml" --url "http://127.0.0.1:$2" \
    --checks all --workers 1 --no-color --max-failures 50 \
    --report junit --report-junit-path "$dir/$1.junit.xml" >"$dir/$1.out" 2>&1) || rc=$?
  cat "$dir/$1.out"
  say "$1: schemathesis exit $rc in $(( $(now_ms) - t0 )) ms"
  return "$rc"
}

failed=()
[ "${OPENAPI_ONLY:-order}" = order ] && { run order-service "$os_port" || failed+=(order-service); }
[ "${OPENAPI_ONLY:-customer}" = customer ] && { run customer-service "$cs_port" || failed+=(customer-service); }
kill -0 "$cs_pid" 2>/dev/null || { tail -30 "$dir/cs.log"; fail "customer-service exited during the run"; }
kill -0 "$os_pid" 2>/dev/null || { tail -30 "$dir/os.log"; fail "order-service exited during the run"; }
[ ${#failed[@]} -eq 0 ] || fail "the running ${failed[*]} and the spec disagree (see above)"
say "both specs match the running services"
