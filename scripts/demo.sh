#!/usr/bin/env bash
# demo.sh — shows the CQRS flow on the running local stack (scripts/up.sh runs it last).
#
# A customer is created on the write side (customer-service), travels through the
# transactional outbox and the Kafka topic `customer` into the read side's read model
# (order-service), an order is placed against it, then an update and a delete propagate
# the same way. The steps are scripts/smoke.sh's (the same flow the e2e tests and the
# Helm test hook run); this wrapper points it at the local ports and shows where things are.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
customer=http://127.0.0.1:${CQ_CUSTOMER_PORT:-8184}
order=http://127.0.0.1:${CQ_ORDER_PORT:-8181}
config=http://127.0.0.1:${CQ_CONFIG_PORT:-8888}

echo "== config-server: the settings customer-service starts with ($config/customer-service/${CQ_PROFILE:-local})"
curl -fsS "$config/customer-service/${CQ_PROFILE:-local}" \
  | python3 -c 'import json,sys; e=json.load(sys.stdin); print("   version", e["version"][:12], "sources:", ", ".join(p["name"].rsplit("/",1)[-1] for p in e["propertySources"]))'
echo
echo "== the CQRS flow: write side $customer -> Kafka topic 'customer' -> read side $order"
CUSTOMER_URL=$customer ORDER_URL=$order "$root/scripts/smoke.sh"
echo
echo "== what the services counted (GET /metrics)"
curl -fsS "$customer/metrics" | grep -E '^(http_requests_total|customer_outbox_backlog|customer_outbox_published_total|customer_outbox_relay_leader)' | head -10 | sed 's/^/   customer-service: /' || true
curl -fsS "$order/metrics" | grep -E '^(order_projection_events_total|order_projection_newest_event_age_seconds|order_consumer_lag)' | head -10 | sed 's/^/   order-service:    /' || true
