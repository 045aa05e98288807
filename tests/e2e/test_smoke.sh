#!/usr/bin/env bash
# test_smoke.sh — e2e: the chart's `helm test` smoke flow (scripts/smoke.sh: create a customer,
# see it in order-service's read model, place an order) against the locally running services.
# The ctest fixtures start them and export CQ_CUSTOMER_URL / CQ_ORDER_URL.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
: "${CQ_CUSTOMER_URL:?CQ_CUSTOMER_URL must point at customer-service}"
: "${CQ_ORDER_URL:?CQ_ORDER_URL must point at order-service}"
CUSTOMER_URL=$CQ_CUSTOMER_URL ORDER_URL=$CQ_ORDER_URL exec sh "$root/scripts/smoke.sh"
