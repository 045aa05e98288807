#!/usr/bin/env bash
# test_kafka_sasl.sh — integration: both services on a Kafka broker that accepts clients only
# over SASL_SSL, through the shared client settings kafka-config.properties.*
# (common/svc/svc_kafka.c → every librdkafka handle: the relay's producer and its takeover
# consumer, the projection's consumer, the dead-letter producer, the admin clients).
#
# The test makes a CA and the broker's certificate with openssl (another CA too), a PKCS12
# keystore for the broker, and starts a private broker from the project's Kafka jars
# (.stack/kafka-libs, as scripts/stack.sh does) whose storage is formatted with a SCRAM-SHA-512
# user (kafka-storage format --add-scram); the same user and password are also a PLAIN user of
# the SASL_SSL listener. Its PLAINTEXT listener is for the broker itself and for this test's own
# reading of the topics (kcat); the services get only the SASL_SSL one.
#
# The mechanism: SCRAM-SHA-512 when the librdkafka the programs link is 2.6.1 or newer. Older
# ones (Debian 12 ships 2.0.2) send a SCRAM client-final nonce that brokers checking it
# strictly (Kafka 4.x, and 3.7.2 / 3.8.1 / 3.9 on) refuse; then the test shows that refusal is
# the clear start-up error "Kafka authentication failed" (with the right password), and runs
# the flow over SASL_SSL with PLAIN.
#   - the CQRS flow: customers created on customer-service reach order-service's read model
#   - a relay hand-over: the leader killed -9, the relay's stored position moved back by 3
#     rows (as if it died between the broker's ack and storing its position), a new replica
#     takes over: its takeover consumer reads the partitions' tails over SASL_SSL and finds the
#     3 rows there, none is sent twice
#   - a dead-letter write: a poison record on the topic is written to the DLQ topic
#   - a wrong password: each service exits 78 within seconds, its log saying "Kafka
#     authentication failed"; a CA that did not sign the broker: "Kafka TLS handshake failed"
set -euo pipefail
IT_NAME=kafka_sasl
IT_DB=cq_sasl_$$
# root off dir pids say fail psqlc now_ms kafka_props_write kafka_format kafka_start stop_pid it_start it_ready
# shellcheck source=lib_it.sh
. "$(dirname "$0")/lib_it.sh"
plain_port=$((27480 + off))
sasl_port=$((27481 + off))
ctrl_port=$((27482 + off))
cs_a=$((27483 + off))
cs_b=$((27484 + off))
os_port=$((27485 + off))
topic=customer
dlq=customer.DLQ
db=$IT_DB
user=cqrs-client
pass=s3cret-$RANDOM$RANDOM
KAFKA_LIBS=${CQ_KAFKA_LIBS:-$root/.stack/kafka-libs}
LOGS=$dir/logs
it_cleanup_more() { stop_pid kafka "$dir/kafka.pid" 30 >/dev/null 2>&1; }
kafka_jars_check

# ---- a CA, the broker's certificate (localhost and 127.0.0.1), another CA
cd "$dir"
mkca() { openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$1" -keyout "$1.key" -out "$1.crt" 2>/dev/null; }
mkca ca
mkca otherca
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout broker.key -out broker.csr 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >broker.ext
openssl x509 -req -in broker.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile broker.ext \
  -out broker.crt 2>/dev/null
openssl pkcs12 -export -in broker.crt -inkey broker.key -certfile ca.crt -name broker \
  -passout pass:keystore-pw -out broker.p12
say "test CA and broker keystore made"

# ---- the broker: PLAINTEXT (inter-broker, this test's kcat) + SASL_SSL (the services)
mkdir -p "$dir/data" "$LOGS"
t0=$(now_ms)
kafka_props_write "$dir/server.properties" "test_kafka_sasl.sh — PLAINTEXT + SASL_SSL broker" \
  node.id=1 controller.quorum.voters="1@127.0.0.1:$ctrl_port" \
  listeners="PLAINTEXT://127.0.0.1:$plain_port,SASL_SSL://127.0.0.1:$sasl_port,CONTROLLER://127.0.0.1:$ctrl_port" \
  advertised.listeners="PLAINTEXT://127.0.0.1:$plain_port,SASL_SSL://127.0.0.1:$sasl_port" \
  listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL log.dirs="$dir/data" \
  sasl.enabled.mechanisms=SCRAM-SHA-512,PLAIN \
  "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;" \
  "listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$user=\"$pass\";" \
  ssl.keystore.type=PKCS12 ssl.keystore.location="$dir/broker.p12" ssl.keystore.password=keystore-pw \
  ssl.key.password=keystore-pw
kafka_format "$dir/server.properties" cqSaslTest00000000000w "$LOGS/format.log" \
  --add-scram "SCRAM-SHA-512=[name=$user,password=$pass]"
kafka_start kafka "$dir/server.properties" "$LOGS/kafka.log" "$dir/kafka.pid" "$plain_port" "-Xms128m -Xmx384m"
say "SASL_SSL listener on 127.0.0.1:$sasl_port (user $user: SCRAM-SHA-512 and PLAIN), formatted and started in $(( $(now_ms) - t0 )) ms"

# the librdkafka the programs link (kcat links the same Debian library)
rdk=$(kcat -V 2>&1 | sed -n 's/.*librdkafka \([0-9][0-9.]*\).*/\1/p' | head -1)
if printf '2.6.1\n%s\n' "$rdk" | sort -V -C; then mech=SCRAM-SHA-512; else mech=PLAIN; fi
say "librdkafka $rdk: the flow runs with SASL mechanism $mech"

it_db_create

# ---- the services on SASL_SSL only
sasl_env=(KAFKA_CONFIG_BOOTSTRAP_SERVERS="127.0.0.1:$sasl_port"
  KAFKA_CONFIG_PROPERTIES_SECURITY_PROTOCOL=SASL_SSL
  KAFKA_CONFIG_PROPERTIES_SASL_MECHANISMS="$mech"
  KAFKA_CONFIG_PROPERTIES_SASL_USERNAME="$user"
  KAFKA_CONFIG_PROPERTIES_SASL_PASSWORD="$pass"
  KAFKA_CONFIG_PROPERTIES_SSL_CA_LOCATION="$dir/ca.crt")
start() { # program port log env...: a service on SASL_SSL only
  local prog=$1 port=$2 log=$3; shift 3
  it_start "$prog" "$port" "$log" OUTBOX_LOCK_POLL_MS=200 "${sasl_env[@]}" "$@"
}
create() { # port → prints the new customer's id
  local body
  body=$(curl -fsS -H 'Content-Type: application/json' \
    -d "{\"username\":\"sasl-$RANDOM$RANDOM\",\"firstName\":\"S\",\"lastName\":\"L\"}" "http://127.0.0.1:$1/customers") \
    || fail "POST /customers on port $1"
  python3 -c 'import json,sys; print(json.load(sys.stdin)["customerId"])' <<<"$body"
}
in_read_model() { # id: waits 30 s for the read model's row
  local i
  for i in $(seq 300); do
    curl -fsS -o /dev/null "http://127.0.0.1:$os_port/customers/$1" 2>/dev/null && return 0
    sleep 0.1
  done
  fail "customer $1 not in order-service's read model after 30 s"
}
# records on a topic, read over the PLAINTEXT listener: one line per record, "<outbox-id header>"
topic_ids() {
  kcat -b "127.0.0.1:$plain_port" -C -t "$1" -e -q -f '%h\n' 2>/dev/null | tr ',' '\n' | sed -n 's/^outbox-id=//p'
}

start customer-service "$cs_a" "$dir/cs-a.log"; a=$started
start order-service "$os_port" "$dir/os.log"; o=$started
it_ready "$a" "$cs_a" "$dir/cs-a.log"
it_ready "$o" "$os_port" "$dir/os.log"
grep -q "connected over SASL_SSL" "$dir/cs-a.log" || { cat "$dir/cs-a.log"; fail "customer-service did not say it connected over SASL_SSL"; }
ids=()
for _ in 1 2 3 4 5; do ids+=("$(create "$cs_a")"); done
for id in "${ids[@]}"; do in_read_model "$id"; done
say "CQRS flow over SASL_SSL: 5 customers created, all 5 in the read model"

# ---- relay hand-over: the new leader's takeover consumer reads the tails over SASL_SSL
kill -9 "$a"; wait "$a" 2>/dev/null || true
# the relay's stored position moved back by 3 rows, without its offsets: as if A had published
# them and died before storing its position
psqlc -d "$db" -c "UPDATE customer.outbox_relay SET upto = x.u, top = x.u, gaps = '{}', offsets = NULL
      FROM (SELECT min(id) - 1 AS u FROM (SELECT id FROM customer.outbox ORDER BY id DESC LIMIT 3) l) x" >/dev/null
n=$(psqlc -d "$db" -c "SELECT count(*) FROM customer.outbox_pending")
[ "$n" = 3 ] || fail "expected 3 outbox rows past the moved position, found $n"
start customer-service "$cs_b" "$dir/cs-b.log"; b=$started
it_ready "$b" "$cs_b" "$dir/cs-b.log"
for _ in $(seq 300); do grep -q "outbox takeover: 3 of 3 unpublished rows were already on the topic" "$dir/cs-b.log" && break; sleep 0.1; done
grep -q "outbox takeover: 3 of 3 unpublished rows were already on the topic" "$dir/cs-b.log" \
  || { cat "$dir/cs-b.log"; fail "the new leader's takeover scan did not find the 3 rows on the topic"; }
ids+=("$(create "$cs_b")")
in_read_model "${ids[5]}"
rows=$(psqlc -d "$db" -c "SELECT count(*) FROM customer.outbox")
on_topic=$(topic_ids "$topic" | sort | uniq | wc -l)
records=$(topic_ids "$topic" | wc -l)
[ "$rows" = 6 ] && [ "$on_topic" = 6 ] && [ "$records" = 6 ] \
  || fail "hand-over: outbox rows $rows, distinct outbox-ids on the topic $on_topic, records $records (want 6/6/6)"
say "relay hand-over over SASL_SSL: takeover found 3 rows already on the topic; 6 rows = 6 records, none sent twice"

# ---- a dead-letter write: a poison record (not an Avro frame) on the topic
printf 'poison' | kcat -b "127.0.0.1:$sasl_port" -X security.protocol=SASL_SSL -X sasl.mechanisms="$mech" \
  -X sasl.username="$user" -X sasl.password="$pass" -X ssl.ca.location="$dir/ca.crt" \
  -P -t "$topic" -k "11111111-1111-1111-1111-111111111111" 2>"$dir/kcat.err" || { cat "$dir/kcat.err"; fail "kcat over SASL_SSL"; }
for _ in $(seq 300); do
  [ "$(kcat -b "127.0.0.1:$plain_port" -C -t "$dlq" -e -q -f '%s\n' 2>/dev/null | grep -c '^poison$')" = 1 ] && break
  sleep 0.1
done
[ "$(kcat -b "127.0.0.1:$plain_port" -C -t "$dlq" -e -q -f '%s\n' 2>/dev/null | grep -c '^poison$')" = 1 ] \
  || { cat "$dir/os.log"; fail "the poison record did not reach $dlq"; }
ids+=("$(create "$cs_b")")
in_read_model "${ids[6]}"
say "dead-letter write over SASL_SSL: the poison record is on $dlq, the projection went on"
kill -TERM "$b" "$o"
wait "$b" || fail "customer-service did not stop cleanly"
wait "$o" || fail "order-service did not stop cleanly"

# ---- refused: wrong password, wrong CA → exit 78 at once, a clear message
expect_refused() { # program log needle env...
  local prog=$1 log=$2 needle=$3 rc=0 t; shift 3
  t=$(now_ms)
  start "$prog" "$cs_a" "$log" "$@"
  wait "$started" || rc=$?
  [ "$rc" = 78 ] || { cat "$log"; fail "$prog exited $rc, wanted 78 ($*)"; }
  grep -q "$needle" "$log" || { cat "$log"; fail "$prog's log does not say '$needle'"; }
  say "$prog refused in $(( $(now_ms) - t )) ms (exit 78): $(grep -m1 -o "$needle.\{0,100\}" "$log")"
}
if [ "$mech" != SCRAM-SHA-512 ]; then
  # the right SCRAM password, refused by this broker because of the old client's nonce
  expect_refused customer-service "$dir/cs-scram.log" "Kafka authentication failed" \
    KAFKA_CONFIG_PROPERTIES_SASL_MECHANISMS=SCRAM-SHA-512
  grep -q "librdkafka $rdk" "$dir/cs-scram.log" || { cat "$dir/cs-scram.log"; fail "the SCRAM refusal does not name the librdkafka version"; }
fi
expect_refused customer-service "$dir/cs-badpw.log" "Kafka authentication failed" KAFKA_CONFIG_PROPERTIES_SASL_PASSWORD=wrong
expect_refused order-service "$dir/os-badpw.log" "Kafka authentication failed" KAFKA_CONFIG_PROPERTIES_SASL_PASSWORD=wrong
expect_refused customer-service "$dir/cs-badca.log" "Kafka TLS handshake failed" \
  KAFKA_CONFIG_PROPERTIES_SSL_CA_LOCATION="$dir/otherca.crt"
say "PASS"
