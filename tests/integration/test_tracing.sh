#!/usr/bin/env bash
# test_tracing.sh — integration: one trace from POST /customers to the read-model write, in a
# real OpenTelemetry Collector.
#
# The collector is cq-otelcol (scripts/otelcol.sh: the collector's OTLP receiver and file
# exporter, built from the Go module proxy and cached). Both services run with
# tracing.otlp-endpoint pointing at its OTLP/HTTP receiver (env TRACING_OTLP_ENDPOINT), on
# the fixture's PostgreSQL (a database of their own) and Kafka (a topic of their own). The test
#   - POSTs a customer with a W3C traceparent of its own (trace T, span P),
#   - waits for the customer in order-service's read model,
#   - reads the spans the collector's file exporter wrote (OTLP JSON lines) and checks the
#     chain, all in trace T: customer-service's SERVER span "POST /customers" (parent P) →
#     customer-service's PRODUCER span "<topic> publish" (parent: the SERVER span; it comes from
#     the traceparent stored with the outbox row) → order-service's CONSUMER span "<topic>
#     process" (parent: the PRODUCER span, from the record's traceparent header), which ends
#     after the read model's commit;
#   - checks customer-service's log lines of that request carry trace_id T and the SERVER
#     span's span_id, and that a request without traceparent starts a trace of its own.
set -euo pipefail
IT_NAME=tracing
IT_DB=cq_trace_$$
# root off dir pids say fail psqlc it_db_create it_start it_ready
# shellcheck source=lib_it.sh
. "$(dirname "$0")/lib_it.sh"
otlp_port=$((27490 + off))
cs_port=$((27491 + off))
os_port=$((27492 + off))
topic=trace-$$

otelcol=$("$root/scripts/otelcol.sh")
cat >"$dir/otelcol.yaml" <<YAML
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:$otlp_port
exporters:
  file:
    path: $dir/spans.jsonl
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [file]
YAML
"$otelcol" --config "file:$dir/otelcol.yaml" >"$dir/otelcol.log" 2>&1 &
pids+=($!)
for _ in $(seq 300); do (exec 3<>"/dev/tcp/127.0.0.1/$otlp_port") 2>/dev/null && break; sleep 0.1; done
(exec 3<>"/dev/tcp/127.0.0.1/$otlp_port") 2>/dev/null || { cat "$dir/otelcol.log"; fail "the collector does not listen on $otlp_port"; }
say "collector $("$otelcol" --version 2>/dev/null | head -1) receiving OTLP/HTTP on 127.0.0.1:$otlp_port"

it_db_create
start() { # program port log
  it_start "$1" "$2" "$3" \
    CUSTOMER_SERVICE_CUSTOMER_TOPIC_NAME="$topic" ORDER_SERVICE_CUSTOMER_TOPIC_NAME="$topic" \
    ORDER_SERVICE_DLQ_TOPIC_NAME="$topic.DLQ" KAFKA_CONSUMER_CONFIG_CUSTOMER_GROUP_ID="trace-$$" \
    TRACING_OTLP_ENDPOINT="http://127.0.0.1:$otlp_port" LOGGING_LEVEL_ROOT=debug
  it_ready "$started" "$2" "$3"
}
start customer-service "$cs_port" "$dir/cs.log"
start order-service "$os_port" "$dir/os.log"

tid=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
psid=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
body=$(curl -fsS -H 'Content-Type: application/json' -H "traceparent: 00-$tid-$psid-01" \
  -d "{\"username\":\"trace-$RANDOM$RANDOM\",\"firstName\":\"T\",\"lastName\":\"R\"}" "http://127.0.0.1:$cs_port/customers") \
  || fail "POST /customers"
id=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["customerId"])' <<<"$body")
for _ in $(seq 300); do curl -fsS -o /dev/null "http://127.0.0.1:$os_port/customers/$id" 2>/dev/null && break; sleep 0.1; done
curl -fsS -o /dev/null "http://127.0.0.1:$os_port/customers/$id" || fail "customer $id not in the read model"
# a request that brings no traceparent starts a trace of its own
curl -fsS -o /dev/null -H 'Content-Type: application/json' \
  -d "{\"username\":\"trace-$RANDOM$RANDOM\",\"firstName\":\"T\",\"lastName\":\"R\"}" "http://127.0.0.1:$cs_port/customers" \
  || fail "POST /customers without traceparent"
say "customer $id created with traceparent 00-$tid-$psid-01 and in the read model"

# the spans reach the collector within the exporters' interval (1 s) and its file flush
check() {
  python3 - "$dir/spans.jsonl" "$tid" "$psid" "$topic" <<'PY'
import json, sys
path, tid, psid, topic = sys.argv[1:]
spans = []
try:
    lines = open(path).read().splitlines()
except FileNotFoundError:
    sys.exit("no spans file yet")
for line in lines:
    if not line.strip():
        continue
    doc = json.loads(line)
    for rs in doc.get("resourceSpans", []):
        svc = next((a["value"]["stringValue"] for a in rs["resource"]["attributes"] if a["key"] == "service.name"), "?")
        for ss in rs.get("scopeSpans", []):
            for s in ss.get("spans", []):
                spans.append((svc, s))
mine = [(svc, s) for svc, s in spans if s["traceId"] == tid]
def one(svc, kind, name, parent):
    c = [s for v, s in mine if v == svc and s.get("kind") == kind and s["name"] == name]
    if len(c) != 1:
        sys.exit("want one %s span %r of %s in trace %s, have %d (all of the trace: %s)" % (
            kind, name, svc, tid, len(c), [(v, s["name"], s.get("kind")) for v, s in mine]))
    if c[0].get("parentSpanId", "") != parent:
        sys.exit("%s span %r: parent %s, want %s" % (kind, name, c[0].get("parentSpanId"), parent))
    return c[0]
server = one("customer-service", 2, "POST /customers", psid)
producer = one("customer-service", 4, topic + " publish", server["spanId"])
consumer = one("order-service", 5, topic + " process", producer["spanId"])
others = [s for v, s in spans if s["traceId"] != tid and v == "customer-service" and s["name"] == "POST /customers"]
if not others:
    sys.exit("the request without traceparent has no trace of its own")
t = lambda s, k: int(s[k])
print("server %s [%.1f ms] -> producer %s [%.2f ms] -> consumer %s [%.1f ms]; end to end %.1f ms" % (
    server["spanId"], (t(server, "endTimeUnixNano") - t(server, "startTimeUnixNano")) / 1e6,
    producer["spanId"], (t(producer, "endTimeUnixNano") - t(producer, "startTimeUnixNano")) / 1e6,
    consumer["spanId"], (t(consumer, "endTimeUnixNano") - t(consumer, "startTimeUnixNano")) / 1e6,
    (t(consumer, "endTimeUnixNano") - t(server, "startTimeUnixNano")) / 1e6))
print(server["spanId"])
PY
}
out=""
for _ in $(seq 100); do out=$(check 2>&1) && break; sleep 0.2; done
check >/dev/null 2>"$dir/check.err" || { cat "$dir/check.err"; cat "$dir/otelcol.log"; fail "the trace in the collector"; }
say "one trace in the collector: $(head -1 <<<"$out")"
ssid=$(tail -1 <<<"$out")

# the request's log lines carry the trace
n=$(python3 - "$dir/cs.log" "$tid" "$ssid" <<'PY'
import json, sys
path, tid, sid = sys.argv[1:]
n = 0
for line in open(path):
    try:
        o = json.loads(line)
    except ValueError:
        continue
    if o.get("trace_id") == tid:
        if o.get("span_id") is None:
            sys.exit("a line of trace %s without span_id: %s" % (tid, line))
        n += 1
print(n)
PY
)
[ "$n" -ge 1 ] || { cat "$dir/cs.log"; fail "no customer-service log line carries trace_id $tid"; }
grep -q "\"trace_id\":\"$tid\"" "$dir/os.log" || { cat "$dir/os.log"; fail "no order-service log line carries trace_id $tid"; }
say "$n customer-service log line(s) and order-service's read-model line carry trace_id $tid"
kill -TERM "${pids[1]}" "${pids[2]}"
wait "${pids[1]}" || fail "customer-service did not stop cleanly"
wait "${pids[2]}" || fail "order-service did not stop cleanly"
say "PASS"
