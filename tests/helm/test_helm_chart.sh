#!/usr/bin/env bash
# test_helm_chart.sh — the chart's offline validation as a test: runs scripts/helm-check.sh
# (helm lint --strict, helm template for default, external and observability values,
# kubeconform -strict against the vendored schemas, the alerts' and dashboard's metric names,
# values.schema.json negative cases, Dockerfile COPY paths).
# First run installs helm/kubeconform with `go install` (Go module proxy); later runs are offline.
set -euo pipefail
exec bash "$(cd "$(dirname "$0")/../.." && pwd)/scripts/helm-check.sh"
