#!/usr/bin/env bash
# test_schema_registry.sh — integration: the CQRS flow with a real Confluent-API schema registry
# (Apicurio Registry, scripts/registry.sh: built from Maven Central and cached, its
# Confluent-compatible API at /apis/ccompat/v7), on the fixture's PostgreSQL (a database of its
# own) and Kafka (a topic of its own). The test
#   - starts the registry, sets its compatibility level to BACKWARD and registers a few schemas
#     of another subject first, so that the registry's ids for customer-value differ from the
#     embedded catalog's;
#   - starts customer-service with kafka-config.schema-registry-url pointing at the registry
#     (env KAFKA_CONFIG_SCHEMA_REGISTRY_URL) and checks that it registered both catalog schemas
#     of customer-value, oldest first, and writes the newest one's registry id;
#   - creates, updates and deletes customers over HTTP and waits until the outbox is published;
#   - reads the whole topic with a consumer that knows only the registry (registry_consume.py:
#     Python confluent-kafka, AvroDeserializer + SchemaRegistryClient, in the venv of
#     `scripts/registry.sh venv`): every record decodes, every frame carries the registry's id,
#     the decoded events are the outbox's rows (key, version, event type; tombstones for the
#     deletions) and the last event of each key is the write model's row (or its deletion);
#   - starts order-service on the registry: its read model becomes the write model through the
#     registry's id (schema_registry_lookups_total{result="found"}), nothing dead-lettered;
#   - stops the registry and starts a fresh order-service (a database and consumer group of its
#     own, an empty schema cache): its batches wait (order_projection_batches_total
#     {result="registry_unavailable"}, "waiting for the schema registry" in its log), nothing is
#     applied or dead-lettered; the registry started again (same storage, same ids): the read
#     model becomes the write model, still nothing dead-lettered.
set -euo pipefail
IT_NAME=schema_registry
IT_DB=cq_reg_$$
# root off dir pids say fail psqlc it_db_create it_start it_ready
# shellcheck source=lib_it.sh
. "$(dirname "$0")/lib_it.sh"
reg_port=$((27493 + off))
cs_port=$((27494 + off))
os_port=$((27495 + off))
os2_port=$((27496 + off))
topic=registry-$$
: "${CQ_KAFKA_PORT:?the Kafka port of the ctest fixture}"
registry=http://127.0.0.1:$reg_port/apis/ccompat/v7
it_cleanup_more() {
  "$root/scripts/registry.sh" stop "$dir/registry"
  psqlc -d postgres -c "DROP DATABASE IF EXISTS ${IT_DB}_b" >/dev/null 2>&1 || true
}

python=$("$root/scripts/registry.sh" venv)
"$root/scripts/registry.sh" start "$reg_port" "$dir/registry"
ctype='Content-Type: application/vnd.schemaregistry.v1+json'
for n in 1 2 3 4 5; do
  curl -fsS -o /dev/null -H "$ctype" \
    -d "{\"schema\":\"{\\\"type\\\":\\\"record\\\",\\\"name\\\":\\\"Other$n\\\",\\\"fields\\\":[]}\"}" \
    "$registry/subjects/registry-test-other-value/versions" || fail "registering a schema of another subject"
done
# the level the catalog evolves under (Apicurio's default is NONE)
curl -fsS -o /dev/null -X PUT -H "$ctype" -d '{"compatibility":"BACKWARD"}' "$registry/config" \
  || fail "PUT /config BACKWARD"
say "registry $registry up (compatibility BACKWARD); 5 schemas of another subject registered first"

it_db_create
it_start customer-service "$cs_port" "$dir/cs.log" CUSTOMER_SERVICE_CUSTOMER_TOPIC_NAME="$topic" \
  KAFKA_CONFIG_SCHEMA_REGISTRY_URL="$registry"
it_ready "$started" "$cs_port" "$dir/cs.log"

# customer-service registered both catalog schemas of customer-value, oldest (fewest fields) first
latest=$(curl -fsS "$registry/subjects/customer-value/versions/latest") || fail "customer-value not in the registry"
versions=$(curl -fsS "$registry/subjects/customer-value/versions")
reg_id=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' <<<"$latest")
python3 - "$versions" "$latest" <<'PY' || fail "the registered versions of customer-value"
import json, sys
versions, latest = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert versions == [1, 2], "versions %s, want [1, 2]" % versions
fields = [f["name"] for f in json.loads(latest["schema"])["fields"]]
assert "occurredAt" in fields, "the latest schema is not the catalog's newest: %s" % fields
PY
[ "$reg_id" -gt 2 ] || fail "customer-value's id $reg_id is not past the other subject's ids"
grep -Eq "subject customer-value( \([^)]*\))? has id $reg_id" "$dir/cs.log" || { cat "$dir/cs.log"; fail "customer-service's log does not name id $reg_id"; }
say "customer-service registered customer-value (versions 1 and 2), writes id $reg_id"

# the writes: 12 creates, 6 updates (two of them twice), 4 deletes
cs=http://127.0.0.1:$cs_port
ids=()
for i in $(seq 12); do
  body=$(curl -fsS -H 'Content-Type: application/json' \
    -d "{\"username\":\"reg-$$-$i\",\"firstName\":\"First $i\",\"lastName\":\"Läst $i\"}" "$cs/customers") \
    || fail "POST /customers"
  ids+=("$(python3 -c 'import json,sys; print(json.load(sys.stdin)["customerId"])' <<<"$body")")
done
for i in 0 1 2 3 4 5 0 1; do
  curl -fsS -o /dev/null -X PUT -H 'Content-Type: application/json' \
    -d "{\"username\":\"reg-$$-$i-u$RANDOM\",\"firstName\":\"Updated $i\",\"lastName\":\"L $i\"}" \
    "$cs/customers/${ids[$i]}" || fail "PUT /customers/${ids[$i]}"
done
for i in 2 6 7 11; do
  curl -fsS -o /dev/null -X DELETE "$cs/customers/${ids[$i]}" || fail "DELETE /customers/${ids[$i]}"
done
# published: the relay's position covers every outbox row
published="SELECT coalesce((SELECT upto FROM customer.outbox_relay) >= (SELECT max(id) FROM customer.outbox), false)"
end=$(($(date +%s) + 60))
until [ "$(psqlc -d "$IT_DB" -c "$published")" = t ]; do
  [ "$(date +%s)" -lt "$end" ] || fail "the outbox is not published after 60 s"
  sleep 0.2
done
say "12 creates, 8 updates, 4 deletes written and published on $topic"

# the consumer that knows only the registry
t0=$(now_ms)
"$python" "$(dirname "$0")/registry_consume.py" "127.0.0.1:$CQ_KAFKA_PORT" "$topic" "$registry" \
  >"$dir/consumed.json" || fail "the registry-only consumer"
psqlc -d "$IT_DB" -c "SELECT coalesce(json_agg(json_build_object('key', aggregate_id::text, 'version', version,
  'eventType', event_type) ORDER BY id), '[]') FROM customer.outbox" >"$dir/outbox.json"
psqlc -d "$IT_DB" -c "SELECT coalesce(json_agg(json_build_object('customerId', id::text, 'username', username,
  'firstName', first_name, 'lastName', last_name, 'version', version)), '[]') FROM customer.customers" \
  >"$dir/write.json"
summary=$(python3 - "$dir/consumed.json" "$dir/outbox.json" "$dir/write.json" "$reg_id" <<'PY'
import json, sys
got, outbox, write = (json.load(open(p)) for p in sys.argv[1:4])
reg_id = int(sys.argv[4])
if got["ids"] != [reg_id]:
    sys.exit("schema ids in the frames %s, want only the registry's %d" % (got["ids"], reg_id))
# per key, the topic's events in order must be the outbox's rows in order
def per_key(evs, f):
    d = {}
    for e in evs:
        d.setdefault(e["key"], []).append(f(e))
    return d
topic = per_key(got["events"], lambda e: (e.get("version"), e.get("eventType", "DELETED")))
rows = per_key(outbox, lambda e: (None if e["eventType"] == "DELETED" else e["version"], e["eventType"]))
if topic != rows:
    sys.exit("the decoded events differ from the outbox:\n topic  %s\n outbox %s" % (topic, rows))
for e in got["events"]:
    if "id" in e and e["customerId"] != e["key"]:
        sys.exit("record key %s carries customer %s" % (e["key"], e["customerId"]))
last = {}
for e in got["events"]:
    last[e["key"]] = e
live = {k: {f: e[f] for f in ("customerId", "username", "firstName", "lastName", "version")}
        for k, e in last.items() if "id" in e}
want = {w["customerId"]: w for w in write}
if live != want:
    sys.exit("the topic's last events differ from the write model:\n topic %s\n write %s" % (live, want))
print("%d records decoded through the registry (schema id %d), %d tombstones, %d live customers = write model"
      % (got["records"], reg_id, got["tombstones"], len(live)))
PY
) || fail "what the registry-only consumer decoded"
say "$summary ($(($(now_ms) - t0)) ms)"

# order-service resolves the registry's ids: its read model = the write model, nothing dead-lettered
readmodel() { # DB: the read model's rows, one a line
  psqlc -d "$1" -c "SELECT id || '|' || username || '|' || first_name || '|' || last_name || '|' || version
                    FROM \"order\".customers ORDER BY id"
}
writemodel=$(psqlc -d "$IT_DB" -c "SELECT id || '|' || username || '|' || first_name || '|' || last_name || '|' || version
                                 FROM customer.customers ORDER BY id")
metric() { # PORT NAME LABEL-FILTER: the sum of the samples of NAME whose labels contain the filter
  curl -fsS "http://127.0.0.1:$1/metrics" | awk -v n="$2" -v f="$3" \
    'index($1, n) == 1 && (substr($1, length(n) + 1, 1) == "{" || length($1) == length(n)) && index($1, f) { s += $NF }
     END { printf "%d\n", s }'
}
os_start() { # PORT DB GROUP LOG: order-service on the registry, its pid in $started
  it_start order-service "$1" "$4" ORDER_SERVICE_CUSTOMER_TOPIC_NAME="$topic" \
    ORDER_SERVICE_DLQ_TOPIC_NAME="$topic.DLQ" KAFKA_CONSUMER_CONFIG_CUSTOMER_GROUP_ID="$3" \
    KAFKA_CONFIG_SCHEMA_REGISTRY_URL="$registry" DATASOURCE_DBNAME="$2"
}
wait_readmodel() { # DB PORT SECONDS
  local end=$(($(date +%s) + $3))
  until [ "$(readmodel "$1")" = "$writemodel" ]; do
    [ "$(date +%s)" -lt "$end" ] || {
      diff <(echo "$writemodel") <(readmodel "$1") >&2 || true
      fail "order-service's read model ($1) is not the write model after $3 s"
    }
    sleep 0.5
  done
}
t0=$(now_ms)
os_start "$os_port" "$IT_DB" "reg-$$-a" "$dir/os.log"
os_pid=$started
it_ready "$os_pid" "$os_port" "$dir/os.log"
wait_readmodel "$IT_DB" "$os_port" 60
[ "$(metric "$os_port" order_projection_dlq_total "")" = 0 ] || { cat "$dir/os.log"; fail "order-service dead-lettered records"; }
found=$(metric "$os_port" schema_registry_lookups_total 'result="found"')
[ "$found" -ge 1 ] || fail "order-service did not look schema id $reg_id up in the registry"
say "order-service's read model = the write model ($(wc -l <<<"$writemodel") customers) in $(($(now_ms) - t0)) ms; \
$found registry lookup(s), nothing dead-lettered"
kill -TERM "$os_pid"
wait "$os_pid" || fail "order-service did not stop cleanly"

# the registry down while a fresh order-service (own database, own group, empty cache) starts:
# the records wait (not dead-lettered, not applied, not committed) and are applied once it is back
IT_DB2=${IT_DB}_b
psqlc -d postgres -c "CREATE DATABASE $IT_DB2" >/dev/null
"$root/scripts/registry.sh" stop "$dir/registry"
os_start "$os2_port" "$IT_DB2" "reg-$$-b" "$dir/os2.log"
os2_pid=$started
it_ready "$os2_pid" "$os2_port" "$dir/os2.log"
end=$(($(date +%s) + 60))
until [ "$(metric "$os2_port" order_projection_batches_total 'result="registry_unavailable"')" -ge 2 ]; do
  [ "$(date +%s)" -lt "$end" ] || { cat "$dir/os2.log"; fail "no batch waited for the registry within 60 s"; }
  sleep 0.5
done
[ -z "$(readmodel "$IT_DB2")" ] || fail "records applied while the registry was down"
[ "$(metric "$os2_port" order_projection_dlq_total "")" = 0 ] || { cat "$dir/os2.log"; fail "records dead-lettered while the registry was down"; }
grep -q "waiting for the schema registry" "$dir/os2.log" || { cat "$dir/os2.log"; fail "order-service's log does not say it waits for the registry"; }
say "registry down: order-service waits ($(metric "$os2_port" order_projection_batches_total 'result="registry_unavailable"') batches), nothing applied or dead-lettered"
"$root/scripts/registry.sh" start "$reg_port" "$dir/registry"
t0=$(now_ms)
wait_readmodel "$IT_DB2" "$os2_port" 180
[ "$(metric "$os2_port" order_projection_dlq_total "")" = 0 ] || { cat "$dir/os2.log"; fail "records dead-lettered after the registry came back"; }
say "registry back (same ids): the read model = the write model $(($(now_ms) - t0)) ms after it answered, nothing dead-lettered"

kill -TERM "${pids[0]}" "$os2_pid"
wait "${pids[0]}" || fail "customer-service did not stop cleanly"
wait "$os2_pid" || fail "order-service did not stop cleanly"
say "PASS"
